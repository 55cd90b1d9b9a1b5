"""The scorer that never fails: a local heuristic while ASI1 cannot answer.

The static layer's other answers (keyword intent, static prompts, reply
templates) are the event's own words and live in `domain/content.py`.
"""

from __future__ import annotations

import re

from pizza_agent.domain.scores import StoryScore

_THEME_WORDS = {"pizza", "hack", "hackathon", "code", "bug", "agent", "demo", "laptop", "team", "slice", "debug"}


def heuristic_score(story: str) -> StoryScore:
    """A deterministic 1-10 score from length, variety, structure and theme.

    Used only when ASI1 cannot answer; it rewards effort, not gaming: repeated
    words do not raise the variety term, and the length term saturates.
    """
    words = re.findall(r"[a-zA-Z']+", story.lower())
    if not words:
        return StoryScore(score=1, reason="no words to judge", source="heuristic")
    sentences = [s for s in re.split(r"[.!?]+", story) if len(s.split()) >= 3]
    variety = len(set(words)) / len(words)
    points = 1.0
    points += min(4.0, len(set(words)) / 20)  # distinct words: repetition earns nothing
    points += min(2.0, variety * 2.5) if len(words) >= 20 else 0.0
    points += 1.0 if len(sentences) >= 3 else 0.0
    points += 1.0 if _THEME_WORDS & set(words) else 0.0
    points += 1.0 if ('"' in story or "!" in story) and len(words) >= 30 else 0.0
    score = max(1, min(10, round(points)))
    reason = f"local estimate from length ({len(words)} words), variety and theme"
    return StoryScore(score=score, reason=reason, source="heuristic")
