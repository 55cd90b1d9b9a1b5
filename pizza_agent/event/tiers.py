"""Score to tier: one rule for the conversation and the re-scorer.

May import: pizza_agent.config.
"""

from __future__ import annotations

from pizza_agent.config.settings import Settings


def tier_for(score: int, settings: Settings) -> str:
    if score >= settings.tier_premium_min:
        return "premium"
    if score >= settings.tier_standard_min:
        return "standard"
    return "basic"
