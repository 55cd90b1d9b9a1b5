"""The multilingual corpora and the one question both the tests and `make bench-languages` ask of a reply:
which language is it in?

The corpora were written for this project (tests/data/): the same ~70-word story in English and ten
hand translations; a natural first message in each shipped language; coupon requests, greetings and
questions in 30 languages and romanized forms, written before the defence against them. The held-out
corpus (bench/data/held_out_requests.toml) was written afterwards by someone who had not seen the rules.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.domain.content import StaticContent
from pizza_agent.domain.languages import BASE_LANGUAGE

DATA = PROJECT_DIR / "tests" / "data"
HELD_OUT = PROJECT_DIR / "bench" / "data" / "held_out_requests.toml"
# The languages the project ships (static_content/languages/).
SHIPPED = ("en", "es", "fr", "pt", "de", "hi", "zh", "ar")


def _messages(path: Path) -> list[dict[str, str]]:
    return tomllib.loads(path.read_text(encoding="utf-8"))["message"] if path.exists() else []


def story_translations() -> dict[str, str]:
    return tomllib.loads((DATA / "story_translations.toml").read_text(encoding="utf-8"))["stories"]


def first_messages() -> list[dict[str, str]]:
    return _messages(DATA / "first_messages.toml")


def multilingual_requests() -> list[dict[str, str]]:
    return _messages(DATA / "multilingual_requests.toml")


def held_out_requests() -> list[dict[str, str]]:
    return _messages(HELD_OUT)


def fragments(content: StaticContent, code: str) -> set[str]:
    """The fixed words of a language's messages, prompts and reply templates (12+ characters between
    placeholders)."""
    if code == BASE_LANGUAGE:
        texts = [
            *content.messages.values(),
            *content.prompts,
            *(t for items in content.templates.values() for t in items),
        ]
    else:
        pack = content.pack(code)
        texts = [*pack.messages.values(), *pack.prompts, *(t for items in pack.templates.values() for t in items)]
    # Split where every language says the same: placeholders, commands, the example claim code.
    pieces = {part.strip() for text in texts for part in re.split(r"\{\w+\}|\n|`[^`]*`|K7Q2-M9XA-4F3T", text)}
    # Twelve characters, or six of a script that writes a word in one or two (Chinese).
    long_enough = [p for p in pieces if len(p) >= 12 or (len(p) >= 6 and any(ord(ch) >= 0x2E80 for ch in p))]
    return set(long_enough)


def languages_in(reply: str, content: StaticContent, codes: tuple[str, ...] = SHIPPED) -> set[str]:
    """The languages whose fixed words the reply contains (one, for a reply in one language)."""
    return {code for code in codes if any(piece in reply for piece in fragments(content, code))}
