"""Coupon codes a vendor can check offline: TIER-RANDOM-TAG, TAG = HMAC(COUPON_SECRET, TIER-RANDOM).

40 random bits make codes unguessable; the 40-bit HMAC tag makes a made-up or
altered code fail `verify` without the ledger. The alphabet leaves out 0/O
and 1/I so a code read aloud or typed from a phone survives.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from pizza_agent.domain.codes import ALPHABET, CODE_PATTERN, PART_LENGTH, TIER_WORDS

__all__ = ["ALPHABET", "CODE_PATTERN", "PART_LENGTH", "TIER_WORDS", "CodeCheck", "CouponSigner"]


def _encode(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(ALPHABET))
        chars.append(ALPHABET[index])
    return "".join(chars)


@dataclass(frozen=True)
class CodeCheck:
    well_formed: bool
    authentic: bool
    tier: str | None


class CouponSigner:
    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("COUPON_SECRET must be at least 16 characters")
        self._key = secret.encode()

    def subkey(self, purpose: bytes) -> bytes:
        """A key for another use of COUPON_SECRET (the badges' claim codes), independent of the signatures'."""
        return hmac.new(self._key, b"pizza-agent subkey:" + purpose, hashlib.sha256).digest()

    def _tag(self, body: str) -> str:
        return _encode(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:8], PART_LENGTH)

    def new_code(self, tier: str) -> str:
        body = f"{TIER_WORDS[tier]}-{_encode(secrets.token_bytes(8), PART_LENGTH)}"
        return f"{body}-{self._tag(body)}"

    def check(self, code: str) -> CodeCheck:
        parts = code.strip().upper().split("-")
        if len(parts) != 3 or parts[0] not in TIER_WORDS.values():
            return CodeCheck(False, False, None)
        word, random_part, tag = parts
        if any(len(p) != PART_LENGTH or set(p) - set(ALPHABET) for p in (random_part, tag)):
            return CodeCheck(False, False, None)
        tier = next(t for t, w in TIER_WORDS.items() if w == word)
        authentic = hmac.compare_digest(self._tag(f"{word}-{random_part}"), tag)
        return CodeCheck(True, authentic, tier)
