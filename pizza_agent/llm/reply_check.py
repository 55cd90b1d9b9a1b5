"""Is a model's reply safe to send? Refused only for what could mislead the participant about their coupon.

We append the real code and tier to every reply ourselves, so the model's text
may mislead in exactly three ways, and only those refuse it:

1. **A code in our grammar** (TIER-XXXXXXXX-XXXXXXXX), however it is spelled:
   any case, dashes left out or swapped for spaces, blocks split in two, every
   character spaced out, invisible characters inside (every format character,
   Unicode category Cf, and the other default-ignorable ones), the letters we never
   print (0/O, 1/I) in its blocks — or a loaded vendor pool code, or a token shaped
   like one.
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
# A look-alike of ours: the same layout over every letter and digit, so 0/O and 1/I (which we never
# print, and a reader cannot tell apart) make a code too. Long words can take this shape ("standard
# responsibilities"), so a match counts only when it holds a digit, is written in capitals or is
# joined by dashes as ours are (`_looks_like_ours`); without the tier word, only capitals with digits.
_WIDE_BLOCK = r"[A-Z0-9]{4}[ _.\-]?[A-Z0-9]{4}"
_LOOKALIKE_WITH_TIER = re.compile(
    rf"(?<![A-Z0-9])(?:PREMIUM|STANDARD|BASIC){_SEP}{_WIDE_BLOCK}{_SEP}{_WIDE_BLOCK}(?![A-Z0-9])", re.IGNORECASE
)
_LOOKALIKE_BARE = re.compile(rf"(?<![A-Z0-9]){_WIDE_BLOCK}[ _.\-]{_WIDE_BLOCK}(?![A-Z0-9])", re.IGNORECASE)
# Every character spaced out ("P R E M I U M - A B C D …"): the spaces between single characters dropped.
_SPACED_OUT = re.compile(r"(?<![A-Za-z0-9])([A-Za-z0-9\-])[ \u00a0]+(?=[A-Za-z0-9\-](?![A-Za-z0-9]))")

# The tier names, and what a model writing in another language calls them ("pizza estándar", "高级披萨").
TIER_OF_WORD = {
    **{tier: tier for tier in TIERS},
    **dict.fromkeys(
        ("prémium", "premio", "プレミアム", "प्रीमियम", "高级", "高級", "بريميوم", "مميزة", "المميزة", "ممتازة"),
        "premium",
    ),
    **dict.fromkeys(
        ("estándar", "estandar", "padrão", "padrao", "स्टैंडर्ड", "标准", "標準", "قياسية", "عادية"), "standard"
    ),
    **dict.fromkeys(
        ("básica", "básico", "basica", "basico", "basique", "basis", "बेसिक", "基础", "基本", "أساسية", "الأساسية"),
        "basic",
    ),
}
_TIER_WORD = "(" + "|".join(sorted(map(re.escape, TIER_OF_WORD), key=len, reverse=True)) + ")"
_LATIN_PIZZA = r"(?:pizza|pizzas|coupon|coupons|voucher|tier|slice|prize|reward|cupón|cupon|cupom|bon|gutschein)\b"
# Scripts without spaces or with attached particles: no word boundary after them.
_OTHER_PIZZA = "(?:披萨|比萨|匹萨|ピザ|优惠券|クーポン|पिज़्ज़ा|पिज्जा|कूपन|بيتزا|البيتزا|كوبون|الكوبون|قسيمة|القسيمة)"
_PIZZA_WORD = rf"(?:{_LATIN_PIZZA}|{_OTHER_PIZZA})"
# "premium pizza", "premium tier", "your coupon is premium", "upgraded to premium", "tier: premium";
# "pizza básica", "高级披萨", "بيتزا مميزة" in the other languages.
_TIER_AS_THEIRS = [
    re.compile(rf"(?<![A-Za-z]){_TIER_WORD}[\s\-]*{_PIZZA_WORD}", re.IGNORECASE),
    re.compile(
        rf"{_PIZZA_WORD}\s*(?:is|es|est|ist|é|是|هي|هو|:|：|=|of|-)?\s*"
        rf"(?:a\s+|an\s+|the\s+|una\s+|un\s+|une\s+|eine\s+|ein\s+|uma\s+|um\s+)?{_TIER_WORD}(?![a-z])",
        re.IGNORECASE,
    ),
    re.compile(rf"\b(?:upgraded?|bumped|promoted|moved)\s+(?:you\s+)?(?:up\s+)?to\s+(?:the\s+)?{_TIER_WORD}\b", re.I),
    re.compile(
        rf"\b(?:you(?:'ve| have)?\s+(?:won|earned|get|got|unlocked)|yours\s+is)\s+(?:a\s+|an\s+|the\s+)?{_TIER_WORD}\b",
        re.I,
    ),
]

# A code-like token: letters and digits mixed, or six or more capitals, or six or more digits.
_TOKEN = r"[\"'`*“‘«\[(]*(?P<token>[A-Za-z0-9][A-Za-z0-9\-_]{2,30}[A-Za-z0-9])"
# The same, but only a token with a digit in it, or six capitals: after a few words of any language, the
# first word that follows is rarely the code ("Dein Code lautet XK42PLM9").
_CODE_TOKEN = r"[\"'`*“‘«\[(]*(?P<token>(?=[A-Za-z\-_]*\d)[A-Za-z0-9][A-Za-z0-9\-_]{2,30}[A-Za-z0-9]|(?-i:[A-Z]{6,}))"
_STATES_A_CODE = [
    re.compile(
        rf"\b(?:coupon|voucher|promo|discount|redemption|gift|pizza|claim)[\s\-]*code\b\s*(?:is|was|:|=|-|→)?\s*{_TOKEN}",
        re.I,
    ),
    re.compile(rf"\bcode\s*(?:is|was|:|=|→)\s*:?\s*{_TOKEN}", re.I),
    re.compile(
        rf"\b(?:use|enter|redeem|show|present|quote|apply|type)\s+(?:the\s+|this\s+|your\s+)?(?:code\s+)?{_TOKEN}", re.I
    ),
    re.compile(rf"\b(?:coupon|voucher)\s*(?:is|:|=|-|→)\s*{_TOKEN}", re.I),
    # "tu código es PIZZA2027", "dein Code: SLICE-9981", "代码：PIZZA2027", "الكود: PIZZA2027", "कोड है PIZZA2027".
    # "Ton code est XK42PLM9", "Dein Code lautet …", "كود القسيمة الخاص بك هو …": a word for code, a few words
    # (the language's "your", "is", "of the coupon"), then the token.
    re.compile(
        rf"(?:\bcode|código|codigo|cupón|cupom|gutschein|代码|券码|兑换码|优惠码|コード|कोड|كود|رمز)\w{{0,4}}"
        rf"(?:\s+[^\s.!?。！？؟]+){{0,4}}?\s*[:：=→\-]?\s*{_CODE_TOKEN}",
        re.I,
    ),
]


# Default-ignorable code points that are not format characters (Cf): a combining grapheme joiner,
# Hangul fillers, Khmer and Mongolian invisibles, variation selectors, and the unassigned reserved
# ranges. Written out from Unicode's DerivedCoreProperties (Default_Ignorable_Code_Point) because
# unicodedata does not expose that property and the `regex` module (which does) is not a dependency.
_IGNORABLE_NOT_CF = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2065, 0x2065),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
)


def _invisible(ch: str) -> bool:
    if unicodedata.category(ch) in ("Cf", "Cc"):
        return not ch.isspace()  # a tab or a line break still separates words
    point = ord(ch)
    return any(low <= point <= high for low, high in _IGNORABLE_NOT_CF)


def _visible(text: str) -> str:
    """The text as a person reads it: NFKC, then every character that shows nothing dropped.

    Dropped after NFKC, which can turn one invisible character into another (U+3164 → U+1160):
    every format character (Cf: zero-width space and joiners, word joiner, BOM, soft hyphen,
    bidi controls, tags), control characters other than white space, and the other
    default-ignorable code points. A code with any of them inside is still a code to the reader.
    """
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not _invisible(ch))


def _looks_like_ours(match: str) -> bool:
    """A look-alike match is a code when a digit, capitals or our dashes say so (not just a long word)."""
    has_digit = any(ch.isdigit() for ch in match)
    in_capitals = not any(ch.islower() for ch in match)
    return has_digit or in_capitals or any(ch in "-_" for ch in match)


def _capitals_joined(match: str) -> bool:
    """Two blocks of our alphabet in capitals joined by a dash, as we print them: a code without its tier word
    even when its random part drew no digit (about 1 code in 100)."""
    return "-" in match and not any(ch.islower() for ch in match)


def _bare_lookalike(match: str) -> bool:
    """Without a tier word only capitals with digits and letters count ("absolute-disaster" is prose)."""
    letters = [ch for ch in match if ch.isalpha()]
    return any(ch.isdigit() for ch in match) and bool(letters) and not any(ch.islower() for ch in letters)


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
            if bare and (any(ch.isdigit() for ch in bare.group(0)) or _capitals_joined(bare.group(0))):
                return "contains a coupon code"
            if any(_looks_like_ours(m.group(0)) for m in _LOOKALIKE_WITH_TIER.finditer(candidate)):
                return "contains a coupon code"
            if any(_bare_lookalike(m.group(0)) for m in _LOOKALIKE_BARE.finditer(candidate)):
                return "contains a coupon code"
        squashed = _squash(text)
        if any(code in squashed for code in self.pool_codes):
            return "contains a vendor code"
        if any(shape.search(text) for shape in self.pool_shapes):
            return "contains a vendor-shaped code"
        for pattern in _TIER_AS_THEIRS:
            for match in pattern.finditer(text):
                named = TIER_OF_WORD.get(next(group.lower() for group in match.groups() if group), "")
                if named in TIERS and named != tier:
                    return f"names another tier ({named})"
        for pattern in _STATES_A_CODE:
            for match in pattern.finditer(text):
                if _looks_like_a_code(match.group("token")):
                    return "states a coupon code of its own"
        return None
