"""The languages the agent speaks, and which one the reply being written is in.

English is the base: `messages.toml`, `prompts.toml` and `replies.toml` are its sentences.
Every other language is one file, `static_content/languages/<code>.toml`, written and
checked by people (never machine-translated at run time), so an organizer adds a language
by adding a file. A file may leave a message out: that message is said in English, and
`python agent.py check` lists what is missing. Each file also carries the words people use
in that language for greetings, requests and questions, which the keyword rules read in
every language, and which help tell the languages apart.

Which language a reply is in is a context variable, set for one participant's turn by
`speaking(code)`, in the way Django's `translation.override` works: every message rendered
while that participant's message is handled (the room that renders it need not know who it
is for) is in their language, and an organizer's turn stays in English.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

BASE_LANGUAGE = "en"
# "es", "pt", "hi-latn" (a language's romanized chat form, e.g. Hinglish): ISO 639 and an ISO 15924 script.
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z]{4})?$")
# What a language file's [words] may list (see docs/languages.md).
WORD_LISTS = ("greeting", "pizza_request", "help", "confirm", "request", "question_openers", "romanized")
# Messages said only to organizers (always in English: the commands are English).
ORGANIZER_ONLY = frozenset({"organizer_help"})
SEVEN_DAYS = ("weekdays", "weekdays_short")

_speaking: ContextVar[str] = ContextVar("pizza_agent_language", default=BASE_LANGUAGE)


@contextmanager
def speaking(code: str) -> Iterator[str]:
    """Render every message inside in `code` (a language without a pack falls back to English per message)."""
    token = _speaking.set(code)
    try:
        yield code
    finally:
        _speaking.reset(token)


def current_language() -> str:
    return _speaking.get()


class LanguageError(Exception):
    """A language file is wrong; the message names the file and the entry."""


def check_seven_days(name: str, text: str, where: str) -> None:
    """`weekdays` and `weekdays_short`: seven names, Monday first, separated by commas."""
    if name in SEVEN_DAYS and len(text.split(",")) != 7:
        raise LanguageError(f"{where} {name!r} must be seven names, Monday first, separated by commas")


class LanguagePack(BaseModel):
    """One language's words. English's sentences live in the base files; its pack holds only its words."""

    code: str
    name: str  # in the language itself: "Español"
    english_name: str  # what a model is asked to write in: "Spanish"
    direction: Literal["ltr", "rtl"] = "ltr"
    prompts: list[str] = []
    messages: dict[str, str] = {}
    templates: dict[str, list[str]] = {}
    words: dict[str, list[str]] = {}

    def missing(self, base_messages: dict[str, str]) -> list[str]:
        """The participant-facing messages this language has no sentence for (said in English)."""
        if self.code == BASE_LANGUAGE:
            return []
        return sorted(name for name in base_messages if name not in self.messages and name not in ORGANIZER_ONLY)


def _names(template: str, file: str, entry: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise LanguageError(f"{file}: {entry} has a broken placeholder ({exc})") from None


def _strings(value: object, file: str, entry: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise LanguageError(f"{file}: '{entry}' must be a list of non-empty strings")
    return value


def load_pack(path: Path, doc: dict[str, object], base_messages: dict[str, str]) -> LanguagePack:
    """One language file, checked against the English messages: the same placeholders in each sentence,
    no message English does not have (a misspelt key would otherwise never be said)."""
    file = f"languages/{path.name}"
    code = path.stem.lower()
    if not LANGUAGE_CODE.match(code):
        raise LanguageError(f"{file}: the file name must be a language code such as es.toml or hi-latn.toml")
    for key in ("name", "english_name"):
        if not isinstance(doc.get(key), str) or not str(doc[key]).strip():
            raise LanguageError(f"{file}: '{key}' must be a non-empty string")
    if doc.get("direction", "ltr") not in ("ltr", "rtl"):
        raise LanguageError(f'{file}: \'direction\' must be "ltr" or "rtl"')
    messages = doc.get("messages", {})
    if not isinstance(messages, dict):
        raise LanguageError(f"{file}: [messages] must be a table")
    for name, text in messages.items():
        if name not in base_messages or name in ORGANIZER_ONLY:
            raise LanguageError(f"{file}: [messages] {name!r} is not a message English has (a typo?)")
        if not isinstance(text, str) or not text.strip():
            raise LanguageError(f"{file}: [messages] {name!r} must be a non-empty string")
        check_seven_days(name, text, f"{file}: [messages]")
        wanted = _names(base_messages[name], "messages.toml", name)
        if _names(text, file, f"[messages] {name}") != wanted:
            raise LanguageError(f"{file}: [messages] {name!r} must use exactly the placeholders {sorted(wanted)}")
    replies = doc.get("replies", {})
    if not isinstance(replies, dict):
        raise LanguageError(f"{file}: [replies] must be a table")
    templates: dict[str, list[str]] = {}
    for tier, items in replies.items():
        for i, template in enumerate(_strings(items, file, f"[replies] {tier}")):
            names = _names(template, file, f"[replies] {tier}[{i}]")
            if "code" not in names or names - {"story_detail", "score", "tier", "code"}:
                raise LanguageError(f"{file}: [replies] {tier}[{i}] must contain {{code}} and no unknown placeholder")
        templates[tier] = items
    words_doc = doc.get("words", {})
    if not isinstance(words_doc, dict) or set(words_doc) - set(WORD_LISTS):
        raise LanguageError(f"{file}: [words] may hold only {', '.join(WORD_LISTS)}")
    words = {key: [w.lower().strip() for w in _strings(v, file, f"[words] {key}")] for key, v in words_doc.items()}
    prompts = _strings(doc.get("prompts", []), file, "prompts")
    if any(len(p.strip()) < 10 for p in prompts):
        raise LanguageError(f"{file}: every prompt must have at least 10 characters")
    return LanguagePack(
        code=code,
        name=str(doc["name"]).strip(),
        english_name=str(doc["english_name"]).strip(),
        direction=doc.get("direction", "ltr"),  # type: ignore[arg-type]
        prompts=prompts,
        messages=messages,
        templates=templates,
        words=words,
    )
