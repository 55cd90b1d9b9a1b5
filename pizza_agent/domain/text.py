"""Text as it arrives from a chat, made safe to store and show."""

from __future__ import annotations

import unicodedata

# The end of a sentence in the scripts the shipped languages use (Latin, CJK, Devanagari, Arabic).
SENTENCE_END = r"[.!?。！？।؟]"
# Bidirectional controls (marks, embeddings, overrides, isolates): a page or a chat sets direction per
# paragraph itself (dir="auto"), and an override left open in a story quoted in a reply would show the
# rest of that line, the coupon code with it, reversed.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_text(text: str) -> str:
    """Text safe to store and show: valid UTF-8, NFC, no control characters but newlines and tabs, and no
    bidirectional controls."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    return "".join(
        ch for ch in text if (ch in "\n\t" or unicodedata.category(ch) != "Cc") and ch not in BIDI_CONTROLS
    ).strip()
