"""Which of the event's languages a participant speaks, decided per message without a model.

A well-kept detector does the statistics: lingua (Rust, with Python bindings), restricted to
the event's languages and run in its low-accuracy mode, which needs about 17 MB for the
eight shipped languages where its high-accuracy mode needs about 240 MB (BENCHMARKS.md).
Low accuracy is weaker on short Latin-script text, so the words each language file lists
(greetings, requests, question words: static_content/languages/) settle short messages
when exactly one language has them. The rules, in order:

1. `lang CODE` is the participant's choice: kept until they choose again.
2. A message mostly in a script only one listed language writes (Devanagari, Arabic, Han)
   is that language; lingua knows scripts exactly.
3. A Latin-script message with words of a language's romanized chat form (Hinglish,
   Arabizi) is answered in the event's default, unless the event lists that form
   ("hi-latn") and has a file for it: a Hindi speaker typing Latin letters may not read
   Devanagari comfortably on a phone, and the English they mix in says they read it.
4. Otherwise lingua's best language, when it leads the next by `MARGIN`, or the one
   language whose own words the message uses.
5. Undecided (short, ambiguous, emoji, a claim code): the participant's last language,
   else the event's default.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from pizza_agent.domain.content import StaticContent
from pizza_agent.domain.languages import BASE_LANGUAGE

log = logging.getLogger("pizza.languages")

# lingua's confidences sum to 1 over the listed languages: the best must lead the next by this much.
MARGIN = 0.25
# A lead this large is statistics enough to overrule one word of another language in the message.
SURE = 0.9
# Fewer Latin letters than this say too little for statistics (the language's own words may still).
MIN_LETTERS = 12
# Only the opening of a message is read for its language.
DETECT_CHARS = 600
CODE_LIKE = re.compile(r"\S*\d\S*")
# "我想要pizza": three Han characters outweigh five Latin letters.
WIDE = 2
# A message opening with this is the language command (`lang es`, `language`, `idioma`, `langue`, `sprache`).
LANG_COMMAND = re.compile(
    r"^\s*(?:/?lang|language|idioma|langue|sprache|भाषा|语言|اللغة)\b\s*(?P<code>[\w-]*)\s*[.!。！]*\s*$", re.I
)


@dataclass(frozen=True)
class LanguageCommand:
    """`lang` (list the choices) or `lang CODE` (choose)."""

    code: str  # "" when only the choices are asked for


def parse_lang_command(text: str) -> LanguageCommand | None:
    match = LANG_COMMAND.match(unicodedata.normalize("NFKC", text))  # "ｌａｎｇ ｅｓ" typed full-width
    return LanguageCommand(match.group("code").lower()) if match else None


def _script(ch: str) -> str:
    point = ord(ch)
    if point < 0x250:
        return "latin"
    if 0x0900 <= point <= 0x097F:
        return "devanagari"
    if 0x0600 <= point <= 0x06FF or 0x0750 <= point <= 0x077F or 0xFB50 <= point <= 0xFEFF:
        return "arabic"
    if 0x3040 <= point <= 0x30FF:
        return "kana"
    if 0x4E00 <= point <= 0x9FFF or 0x3400 <= point <= 0x4DBF:
        return "han"
    if 0xAC00 <= point <= 0xD7AF or 0x1100 <= point <= 0x11FF:
        return "hangul"
    if 0x0400 <= point <= 0x04FF:
        return "cyrillic"
    return "other"


class LanguageDetector:
    """`detect(text)`: the listed language a message is in, or None when it cannot tell (see the module)."""

    def __init__(self, content: StaticContent, listed: list[str]) -> None:
        self.listed = [code for code in listed if code in content.languages] or [BASE_LANGUAGE]
        self.default = self.listed[0]
        self.content = content
        self._romanized_target = {
            code.split("-")[0]: code for code in listed if code.endswith("-latn") and code in content.languages
        }
        packs = [content.languages[code] for code in self.listed]
        # Each language's own words: what it lists and no other listed language does ("hola", not "pizza").
        own: dict[str, set[str]] = {}
        for pack in packs:
            own[pack.code] = {
                w
                for key in ("greeting", "request", "help", "confirm", "question_openers")
                for w in pack.words.get(key, [])
            }
        self._own = {
            code: {w for w in words if not any(w in other for c, other in own.items() if c != code)}
            for code, words in own.items()
        }
        self._romanized = {
            code: set(pack.words.get("romanized", []))
            for code, pack in content.languages.items()
            if pack.words.get("romanized") and "-" not in code
        }
        self._lingua, self._by_lingua = _lingua_for(self.listed)

    def detect(self, text: str) -> str | None:
        # The opening of a long message says its language (a 40 KB message costs no more than a short one);
        # a token with a digit in it (a coupon or claim code, a time, a URL) says nothing.
        text = CODE_LIKE.sub(" ", text[:DETECT_CHARS])
        letters = [ch for ch in text if ch.isalpha()]
        if not letters:
            return None
        scripts: dict[str, int] = {}
        for ch in letters:  # one Han, kana or Hangul character carries about a Latin word's worth
            script = _script(ch)
            scripts[script] = scripts.get(script, 0) + (WIDE if script in ("han", "kana", "hangul") else 1)
        script = max(scripts, key=lambda s: scripts[s])
        if script != "latin":
            return self._statistics(text, short=False)[0]
        lowered = " ".join(text.lower().split())
        words = set(re.findall(r"[\w']+", lowered))
        romanized = [code for code, marks in self._romanized.items() if len(words & marks) >= 1]
        if romanized and not any(len(words & self._own.get(c, set())) > 1 for c in self.listed if c != BASE_LANGUAGE):
            return self._romanized_target.get(romanized[0], self.default)
        hinted = [code for code in self.listed if any(_has(word, lowered, words) for word in self._own.get(code, ()))]
        found, sure = self._statistics(text, short=len(letters) < MIN_LETTERS)
        if found is not None and (not hinted or found in hinted or sure):
            return found
        return hinted[0] if len(hinted) == 1 else None

    def _statistics(self, text: str, *, short: bool) -> tuple[str | None, bool]:
        """lingua's best language when it leads the next by MARGIN (`_sure`: by SURE, which a single word of
        another language does not overrule: "quick question, does the coupon work…" stays English)."""
        if self._lingua is None or short:
            return (self.listed[0] if len(self.listed) == 1 and not short else None), False
        values = self._lingua.compute_language_confidence_values(text)
        if not values:
            return None, False
        best = values[0]
        lead = best.value - (values[1].value if len(values) > 1 else 0.0)
        if lead < MARGIN:
            return None, False
        return self._by_lingua.get(best.language), lead >= SURE


def _has(word: str, lowered: str, words: set[str]) -> bool:
    if " " in word or (not word.isascii() and not word.isalpha()):
        return word in lowered
    return word in words


def _lingua_for(listed: list[str]) -> tuple[Any, dict[Any, str]]:
    """A lingua detector over the listed languages it knows (None with fewer than two: nothing to tell apart,
    and lingua is not even imported, so a one-language event's memory is what it was)."""
    if len({code.split("-")[0] for code in listed}) < 2:
        return None, {}
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError:  # requirements.txt has it; a stripped install still answers in the default
        log.warning("lingua-language-detector is not installed: every participant is answered in the default")
        return None, {}
    by_lingua = {}
    for code in listed:
        try:
            by_lingua[Language.from_iso_code_639_1(IsoCode639_1.from_str(code.split("-")[0]))] = code
        except ValueError:
            log.warning("language %r is unknown to the detector: only `lang %s` chooses it", code, code)
    if len(by_lingua) < 2:
        return None, by_lingua
    # Preloaded (about 17 MB for the eight shipped languages): no participant waits for a model's first load.
    builder = LanguageDetectorBuilder.from_languages(*by_lingua).with_low_accuracy_mode()
    detector = builder.with_preloaded_language_models().build()
    return detector, by_lingua
