"""Claim codes: the short code on an attendee's badge that ties a chat to a person.

A code is 11 random-looking symbols and one check symbol in the coupon codes'
unambiguous alphabet (no 0/O, no 1/I), printed as three groups of four:
`K7Q2-M9XA-4F3T`. 11 symbols of 5 bits: 55 bits, so guessing one in a roster
of a thousand takes about 2**45 tries. Codes are derived with HMAC from a key
made from COUPON_SECRET, the attendee's key and a generation number (a lost
badge is reissued with the next generation, and the old code dies): they can
be re-derived for badges at any time and are never stored in clear; the ledger
keeps only a keyed hash to find the attendee.

The check symbol is Luhn mod N over the alphabet (hand-written: no maintained
library does Luhn for a custom 32-symbol alphabet; it is ten lines). It catches
every single mistyped symbol and almost every swap of two neighbours, so a typo
is told apart from a code that is simply not ours.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import Enum

from pizza_agent.domain.codes import ALPHABET
from pizza_agent.ledger.codes import CouponSigner

CLAIM_CODES_PURPOSE = b"claim codes v1"

PAYLOAD_SYMBOLS = 11
GROUP = 4
CODE_LENGTH = PAYLOAD_SYMBOLS + 1
ENTROPY_BITS = PAYLOAD_SYMBOLS * 5
DIGITS = set("23456789")

# A code anywhere in a message: three groups of four, with dashes, spaces or nothing between them (any case).
_CANDIDATE = re.compile(r"(?<![A-Za-z0-9-])([A-Za-z0-9]{4})([- ]?)([A-Za-z0-9]{4})\2([A-Za-z0-9]{4})(?![A-Za-z0-9-])")


def _check_symbol(payload: str) -> str:
    """Luhn mod N: the symbol that makes the weighted sum of the whole code divisible by N."""
    n = len(ALPHABET)
    total, factor = 0, 2
    for symbol in reversed(payload):
        addend = factor * ALPHABET.index(symbol)
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def normalise(text: str) -> str:
    return re.sub(r"[\s-]", "", text).upper()


def grouped(code: str) -> str:
    plain = normalise(code)
    return "-".join(plain[i : i + GROUP] for i in range(0, len(plain), GROUP))


class Shape(Enum):
    """What a string that looks like a claim code turned out to be, before the roster is asked."""

    WELL_FORMED = "well_formed"  # its check symbol is right: ask the roster
    TYPO = "typo"  # the right shape, a wrong check symbol or a symbol not in the alphabet


@dataclass(frozen=True)
class Candidate:
    text: str  # as the participant wrote it
    code: str  # normalised: 12 symbols, upper case
    shape: Shape

    @property
    def hint(self) -> str:
        """The guess shortened for a log line: never the whole guess (it could be someone's real code)."""
        return self.code[:2] + "…"


def shape_of(code: str) -> Shape:
    if len(code) != CODE_LENGTH or set(code) - set(ALPHABET):
        return Shape.TYPO
    return Shape.WELL_FORMED if _check_symbol(code[:-1]) == code[-1] else Shape.TYPO


def find_candidates(text: str, limit: int = 3) -> list[Candidate]:
    """Strings in `text` shaped like a claim code.

    Only strings that mix letters and digits (every code does), so that ordinary words
    ("relationship", "note that said") are never read as a mistyped code; grouped with
    spaces, only when every symbol is one of the alphabet's ("team 2024 demo" is no code).
    Measured on the honest-stories corpus: tests/test_claim_codes.py.
    """
    found = []
    for match in _CANDIDATE.finditer(text):
        plain = "".join(match.group(i) for i in (1, 3, 4)).upper()
        if not (set(plain) & set("0123456789") and set(plain) - set("0123456789")):
            continue  # three words of four letters ("note that said") or a number
        if match.group(2) == " " and set(plain) - set(ALPHABET):
            continue  # spaces between groups: only symbols of the alphabet ("team 2024 demo" is no code)
        found.append(Candidate(match.group(0), plain, shape_of(plain)))
        if len(found) == limit:
            break
    return found


def without(text: str, candidate: Candidate) -> str:
    """The message with the code taken out ("my code is K7Q2-…, here's my story: …" → the story)."""
    return text.replace(candidate.text, " ").strip()


class ClaimCodes:
    """Derives each attendee's code and the keyed hash the ledger finds it by."""

    def __init__(self, key: bytes) -> None:
        self._key = key  # CouponSigner.subkey(CLAIM_CODES_PURPOSE): derived from COUPON_SECRET

    @classmethod
    def from_signer(cls, signer: CouponSigner) -> ClaimCodes:
        return cls(signer.subkey(CLAIM_CODES_PURPOSE))

    def code_for(self, attendee_key: str, generation: int) -> str:
        """The attendee's code for this generation, grouped for a badge (K7Q2-M9XA-4F3T)."""
        counter = 0
        while True:
            digest = hmac.new(self._key, f"{attendee_key}:{generation}:{counter}".encode(), hashlib.sha256).digest()
            number = int.from_bytes(digest[:8], "big")
            payload = ""
            for _ in range(PAYLOAD_SYMBOLS):
                number, index = divmod(number, len(ALPHABET))
                payload += ALPHABET[index]
            # Every code mixes letters and digits, so that a code typed as one word is always recognised.
            if set(payload) & DIGITS and set(payload) - DIGITS:
                return grouped(payload + _check_symbol(payload))
            counter += 1

    def code_hash(self, code: str) -> str:
        """The keyed hash the roster stores (a code is found by it; the code is never stored in clear)."""
        return hmac.new(self._key, b"code:" + normalise(code).encode(), hashlib.sha256).hexdigest()[:32]

    def hash_for(self, attendee_key: str, generation: int) -> str:
        """The stored hash of an attendee's code of this generation (the roster's `CodeHash`)."""
        return self.code_hash(self.code_for(attendee_key, generation))

    def keyed(self, value: str) -> str:
        """A keyed hash of a registration field (ticket id, e-mail): matches re-imports, reveals nothing."""
        return hmac.new(self._key, b"field:" + value.strip().lower().encode(), hashlib.sha256).hexdigest()[:20]
