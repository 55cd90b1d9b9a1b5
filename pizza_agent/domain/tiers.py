"""The coupon tiers, best first, and the one rule from a score to a tier."""

from __future__ import annotations

from typing import Protocol

TIERS = ("premium", "standard", "basic")


class TierThresholds(Protocol):
    """The lowest score of each tier above basic (the settings carry them)."""

    tier_premium_min: int
    tier_standard_min: int


def tier_for(score: int, thresholds: TierThresholds) -> str:
    if score >= thresholds.tier_premium_min:
        return "premium"
    if score >= thresholds.tier_standard_min:
        return "standard"
    return "basic"


def capped(tier: str, cap: str) -> str:
    """`tier`, or `cap` if `tier` is above it."""
    return tier if TIERS.index(tier) >= TIERS.index(cap) else cap
