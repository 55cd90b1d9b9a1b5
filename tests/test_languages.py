"""A fair keyless judge for every script (part of issue 33), through the real agent with no keys.

The same ~70-word story in English and ten translations (tests/data/story_translations.toml,
translated by hand for this project) is scored by the local heuristic within one point of the
English one: words are counted in every script (Han and kana without spaces, Arabic, Devanagari,
Hangul, Cyrillic), so no story is "no words to judge" for being written in another alphabet.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from pizza_agent.llm.static_layer import heuristic_score, words_of

STORIES = tomllib.loads((Path(__file__).parent / "data" / "story_translations.toml").read_text())["stories"]


def test_the_keyless_judge_scores_the_same_story_alike_in_every_script():
    english = heuristic_score(STORIES["en"]).score
    scores = {lang: heuristic_score(story).score for lang, story in STORIES.items()}
    assert all(abs(score - english) <= 1 for score in scores.values()), scores
    assert all(len(words_of(story)) >= 40 for story in STORIES.values())  # words in every script


@pytest.mark.slow  # the agent process
async def test_through_the_real_agent_every_translation_is_scored_within_a_point_of_english(event):
    drv = await event()  # no keys: the local heuristic scores
    scored = {}
    for lang, story in STORIES.items():
        reply = await drv.say(f"writer-{lang}", story)
        if "YES" in reply:  # a story the keyword rules were not sure of: confirmed, as a person does
            reply = await drv.say(f"writer-{lang}", "yes")
        scored[lang] = int(re.search(r"(\d+)/10", reply).group(1))
    assert all(abs(score - scored["en"]) <= 1 for score in scored.values()), scored
