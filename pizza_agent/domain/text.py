"""Text as it arrives from a chat, made safe to store and show."""

from __future__ import annotations

import unicodedata


def clean_text(text: str) -> str:
    """Text safe to store and show: valid UTF-8, NFC, no control characters but newlines and tabs."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()
