"""Is a model's reply safe to send? Refused only for what could mislead the participant about their coupon.

We append the real code and tier to every reply ourselves, so the model's text
may mislead in exactly three ways, and only those refuse it:

1. **A code in our grammar** (TIER-XXXXXXXX-XXXXXXXX), however it is spelled:
   any case, dashes left out or swapped for spaces, blocks split in two, every
   character spaced out, zero-width characters inside — or a loaded vendor pool
   code, or a token shaped like one.
2. **Another tier named as the participant's** ("your premium pizza" when they won
   standard). "standard library", "a basic CRUD app" and "premium on teamwork"
   are ordinary words: a tier word counts only beside pizza/coupon/tier words.
3. **A sentence that states a coupon code of its own** ("your coupon code is
   PIZZA2027", "use code SLICE-9981 at the table").

Everything else reaches the person: hyphenated words (late-night, open-source),
programming words (code, commit, deploy), numbers, emoji, any language. The
two corpora in tests/test_reply_check.py measure both sides.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from pizza_agent.domain.codes import ALPHABET, PART_LENGTH
from pizza_agent.domain.tiers import TIERS

_CODE_CHAR = f"[{ALPHABET}]"
_BLOCK = rf"{_CODE_CHAR}{{4}}[ _.\-]?{_CODE_CHAR}{{4}}" if PART_LENGTH == 8 else rf"{_CODE_CHAR}{{{PART_LENGTH}}}"
_SEP = r"[ _.:/\-–—]{0,3}"
# Ours, with its tier word: PREMIUM-ABCD2345-EFGH6789 in any case, with any (or no) separators.
_OURS_WITH_TIER = re.compile(rf"(?:PREMIUM|STANDARD|BASIC){_SEP}{_BLOCK}{_SEP}{_BLOCK}(?![A-Z0-9])", re.IGNORECASE)
# Ours without the tier word (two blocks and a dash): must hold a digit, as English words never do.
_OURS_BARE = re.compile(rf"(?<![A-Z0-9]){_BLOCK}[ _.\-]{_BLOCK}(?![A-Z0-9])", re.IGNORECASE)
# Every character spaced out ("P R E M I U M - A B C D …"): the spaces between single characters dropped.
_SPACED_OUT = re.compile(r"(?<![A-Za-z0-9])([A-Za-z0-9\-])[ \u00a0]+(?=[A-Za-z0-9\-](?![A-Za-z0-9]))")

_TIER_WORD = "(premium|standard|basic)"
_PIZZA_WORD = r"(?:pizza|pizzas|coupon|coupons|voucher|tier|slice|prize|reward)"
# "premium pizza", "premium tier", "your coupon is premium", "upgraded to premium", "tier: premium".
_TIER_AS_THEIRS = [
    re.compile(rf"\b{_TIER_WORD}[\s\-]+{_PIZZA_WORD}\b", re.IGNORECASE),
    re.compile(rf"\b{_PIZZA_WORD}\s*(?:is|:|=|of|-)?\s*(?:a\s+|an\s+|the\s+)?{_TIER_WORD}\b", re.IGNORECASE),
    re.compile(rf"\b(?:upgraded?|bumped|promoted|moved)\s+(?:you\s+)?(?:up\s+)?to\s+(?:the\s+)?{_TIER_WORD}\b", re.I),
    re.compile(
        rf"\b(?:you(?:'ve| have)?\s+(?:won|earned|get|got|unlocked)|yours\s+is)\s+(?:a\s+|an\s+|the\s+)?{_TIER_WORD}\b",
        re.I,
    ),
]

# A code-like token: letters and digits mixed, or six or more capitals, or six or more digits.
_TOKEN = r"[\"'`*“‘«\[(]*(?P<token>[A-Za-z0-9][A-Za-z0-9\-_]{2,30}[A-Za-z0-9])"
_STATES_A_CODE = [
    re.compile(
        rf"\b(?:coupon|voucher|promo|discount|redemption|gift|pizza|claim)[\s\-]*code\b\s*(?:is|was|:|=|-|→)?\s*{_TOKEN}",
        re.I,
    ),
    re.compile(rf"\bcode\s*(?:is|was|:|=|→)\s*{_TOKEN}", re.I),
    re.compile(
        rf"\b(?:use|enter|redeem|show|present|quote|apply|type)\s+(?:the\s+|this\s+|your\s+)?(?:code\s+)?{_TOKEN}", re.I
    ),
    re.compile(rf"\b(?:coupon|voucher)\s*(?:is|:|=|-|→)\s*{_TOKEN}", re.I),
]


def _visible(text: str) -> str:
    """The text as a person reads it: zero-width and other format characters dropped, NFKC."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _looks_like_a_code(token: str) -> bool:
    core = re.sub(r"[\-_]", "", token)
    has_digit = any(ch.isdigit() for ch in core)
    has_letter = any(ch.isalpha() for ch in core)
    if has_digit and has_letter and len(core) >= 4:
        return True
    if core.isdigit() and len(core) >= 6:
        return True
    return core.isalpha() and core.isupper() and len(core) >= 6


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).upper()


def _pool_shape(code: str) -> re.Pattern[str] | None:
    """The shape of a vendor code with a digit or separator in it (PIZZA-4821 → [A-Z]{5}-\\d{4})."""
    if not any(ch.isdigit() or ch in "-_" for ch in code) or len(code) < 5:
        return None
    shape = "".join(r"[A-Z]" if ch.isalpha() else r"\d" if ch.isdigit() else re.escape(ch) for ch in code.upper())
    return re.compile(rf"(?<![A-Za-z0-9]){shape}(?![A-Za-z0-9])", re.IGNORECASE)


class ReplyCheck:
    """`problem(message, tier)`: why a model's reply must not be sent, or None. Knows the vendor pools."""

    def __init__(self, pool_codes: Iterable[str] = ()) -> None:
        self.pool_codes = frozenset(_squash(code) for code in pool_codes if len(_squash(code)) >= 4)
        shapes = {_pool_shape(code.strip()) for code in pool_codes}
        self.pool_shapes = [shape for shape in shapes if shape is not None][:64]

    def problem(self, message: str, tier: str) -> str | None:
        text = _visible(message)
        spaced = _SPACED_OUT.sub(r"\1", text)
        for candidate in (text, spaced):
            if _OURS_WITH_TIER.search(candidate):
                return "contains a coupon code"
            bare = _OURS_BARE.search(candidate)
            if bare and any(ch.isdigit() for ch in bare.group(0)):
                return "contains a coupon code"
        squashed = _squash(text)
        if any(code in squashed for code in self.pool_codes):
            return "contains a vendor code"
        if any(shape.search(text) for shape in self.pool_shapes):
            return "contains a vendor-shaped code"
        for pattern in _TIER_AS_THEIRS:
            for match in pattern.finditer(text):
                named = next(group.lower() for group in match.groups() if group)
                if named in TIERS and named != tier:
                    return f"names another tier ({named})"
        for pattern in _STATES_A_CODE:
            for match in pattern.finditer(text):
                if _looks_like_a_code(match.group("token")):
                    return "states a coupon code of its own"
        return None
