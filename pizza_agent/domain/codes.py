"""The grammar of our coupon codes: TIER-RANDOM-TAG, each part 8 characters of an unambiguous alphabet.

The ledger signs and checks them (ledger/codes.py); the reply check (llm) refuses
a model's text that carries anything in this grammar, however it is spelled.
"""

from __future__ import annotations

import re

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, no 1/I: a code read aloud or typed survives
PART_LENGTH = 8
TIER_WORDS = {"premium": "PREMIUM", "standard": "STANDARD", "basic": "BASIC"}
# A generated code inside a reply, as we write it (vendor pool codes have their own format).
CODE_PATTERN = re.compile(
    rf"\b(?:PREMIUM|STANDARD|BASIC)-[{ALPHABET}]{{{PART_LENGTH}}}-[{ALPHABET}]{{{PART_LENGTH}}}\b"
)
