"""The scorer that never fails: a local heuristic while ASI1 cannot answer.

The static layer's other answers (keyword intent, static prompts, reply
templates) are the event's own words and live in `domain/content.py`.
"""

from __future__ import annotations

import re

from pizza_agent.domain.scores import StoryScore
from pizza_agent.domain.text import SENTENCE_END

# The theme in the languages people write stories in: pizza, code, a bug, the demo, the team, the hack.
_THEME = (
    "pizza", "hack", "code", "bug", "agent", "demo", "laptop", "team", "slice", "debug", "código", "équipe",
    "equipe", "pizz", "पिज़्ज़ा", "पिज़्ज़ा", "कोड", "बग", "डेमो", "टीम", "披萨", "比萨", "代码", "演示", "团队",
    "ピザ", "コード", "バグ", "デモ", "チーム", "بيتزا", "كود", "الكود", "فريق", "피자", "코드", "버그", "데모",
    "팀", "пицц", "код", "баг", "демо", "команд",
)  # fmt: skip
# Between words, in every script: spaces and the punctuation of Latin, Arabic, Devanagari and CJK text.
_BETWEEN = re.compile(r"[\s.,;:!?¿¡\"“”„«»()\[\]{}—–…،؛؟।॥。，、！？；：「」『』（）]+")
_SENTENCE_END = re.compile(SENTENCE_END + "+")
# Han and kana are written without spaces: a word is about this many characters (hand-measured on the
# translations in tests/data/story_translations.toml: Chinese 1.9 a word, Japanese 2.3).
_UNSPACED_CHARS_PER_WORD = 2


def _unspaced(ch: str) -> bool:
    return "\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def words_of(text: str) -> list[str]:
    """The words of a text in any script: split on spaces and punctuation (combining vowel signs stay with
    their letters, as Devanagari needs); Han and kana, written without spaces, in runs of two characters."""
    words: list[str] = []
    for chunk in _BETWEEN.split(text.lower()):
        if not any(ch.isalnum() for ch in chunk):  # a number is a word too ("at 3 a.m.")
            continue
        unspaced = [ch for ch in chunk if _unspaced(ch)]
        if not unspaced:
            words.append(chunk.strip("'-"))
            continue
        words += [
            w for w in "".join(" " if _unspaced(ch) else ch for ch in chunk).split() if any(c.isalpha() for c in w)
        ]
        step = _UNSPACED_CHARS_PER_WORD
        words += ["".join(unspaced[i : i + step]) for i in range(0, len(unspaced), step)]
    return words


def heuristic_score(story: str) -> StoryScore:
    """A deterministic 1-10 score from length, variety, structure and theme, the same in every script.

    Used only when ASI1 cannot answer; it rewards effort, not gaming: repeated
    words do not raise the variety term, and the length term saturates. Words
    are counted in every script (words_of), so a story's score does not depend
    on the language it was written in.
    """
    words = words_of(story)
    if not words:
        return StoryScore(score=1, reason="no words to judge", source="heuristic")
    sentences = [s for s in _SENTENCE_END.split(story) if len(words_of(s)) >= 3]
    variety = len(set(words)) / len(words)
    lowered = story.lower()
    points = 1.0
    points += min(4.0, len(set(words)) / 20)  # distinct words: repetition earns nothing
    points += min(2.0, variety * 2.5) if len(words) >= 20 else 0.0
    points += 1.0 if len(sentences) >= 3 else 0.0
    points += 1.0 if any(word in lowered for word in _THEME) else 0.0
    points += 1.0 if any(mark in story for mark in '"!“”«»！「') and len(words) >= 30 else 0.0
    score = max(1, min(10, round(points)))
    reason = f"local estimate from length ({len(words)} words), variety and theme"
    return StoryScore(score=score, reason=reason, source="heuristic")
