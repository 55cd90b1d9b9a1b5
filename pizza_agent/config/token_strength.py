"""Is a token too easy to guess? A simple, explainable estimate, checked at `check` and at start.

Length alone is not strength: "pizzapizzapizza1" has 16 characters and about 19
bits. The estimate counts each character by its class, but a dictionary word
as one choice among a few thousand, a repeated word as almost nothing, and a
run ("aaaa") or a sequence ("1234", "qwerty") as one character.
"""

from __future__ import annotations

import math
import re

# A token must be at least this hard to guess (bits, by the estimate below).
MIN_TOKEN_BITS = 72
MAKE_A_TOKEN = 'python -c "import secrets; print(secrets.token_urlsafe(24))"'

# Words people build tokens from (and the event's own vocabulary): each counts as one choice of a
# few thousand, not as its letters.
_WORDS = re.compile(
    r"pizza|pepperoni|margherita|cheese|slice|hack(?:athon|er|s)?|organi[sz]er|vendor|dashboard|token|secret|"
    r"pass(?:word|wd)?|admin|root|login|letmein|welcome|qwerty|asdf|zxcv|test(?:ing)?|demo|event|agent|"
    r"fetch|food|table|staff|team|love|hello|dragon|monkey|master|sunshine|summer|winter|spring|autumn|"
    r"football|baseball|iloveyou|default|change(?:me)?|guest|user|example|sample|party|night|day|year|"
    r"abc|xyz|one|two|three|four|five|six|seven|eight|nine|ten|for|the|and|my|our"
)
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm")
_WORD_BITS = math.log2(5000)


def token_bits(token: str) -> float:
    """A simple estimate of how many guesses a token takes (log2): character classes, repeats,
    sequences and dictionary words counted for what they are, not for their length."""
    if not token:
        return 0.0
    lowered = token.lower()
    pool = sum(
        size
        for present, size in (
            (any(c.islower() for c in token), 26),
            (any(c.isupper() for c in token), 26),
            (any(c.isdigit() for c in token), 10),
            (any(not c.isalnum() for c in token), 33),
        )
        if present
    )
    per_char = math.log2(max(pool, 2))
    bits = 0.0
    seen_words: set[str] = set()
    position = 0
    while position < len(lowered):
        word = _WORDS.match(lowered, position)
        if word and len(word.group(0)) >= 3:
            bits += 1.0 if word.group(0) in seen_words else _WORD_BITS  # a repeated word adds almost nothing
            seen_words.add(word.group(0))
            position = word.end()
            continue
        run = _run_length(lowered, position)
        bits += per_char + (math.log2(run) if run > 1 else 0.0)
        position += run
    return bits


def _run_length(text: str, start: int) -> int:
    """How many characters from `start` are one repeat ("aaaa") or one step of a known sequence ("1234")."""
    length = 1
    while start + length < len(text) and text[start + length] == text[start]:
        length += 1
    if length > 1:
        return length
    for sequence in _SEQUENCES:
        at = sequence.find(text[start])
        while at >= 0 and start + length < len(text) and at + length < len(sequence):
            if text[start + length] != sequence[at + length]:
                break
            length += 1
        if length > 2:
            return length
        length = 1
    return 1


def guessable(token: str) -> str | None:
    """Why a token is too easy to guess, or None. Said at `check` and at start, with how to make one."""
    bits = token_bits(token)
    if bits < MIN_TOKEN_BITS:
        return f"is guessable (about {bits:.0f} bits; at least {MIN_TOKEN_BITS} needed): make one with {MAKE_A_TOKEN}"
    return None
