"""Scoring when ASI1 is down: the heuristic (the rubric and the strict reading are in test_fair_scoring.py)."""

from __future__ import annotations

import pytest
from helpers import settings_for

from pizza_agent.llm.errors import UnusableAnswer
from pizza_agent.llm.static_layer import heuristic_score
from pizza_agent.llm.tasks import extract_json_object

STORY = "At 3 a.m. my laptop ordered pizza for the whole hackathon, and the demo ran on pepperoni power."


async def test_asi1_down_scores_with_the_heuristic(asi1_server, service_factory):
    asi1_server.set_fault("error-503")
    service = service_factory(settings_for(None, asi1_server))
    result = await service.score_story(STORY)
    assert result.value.source == "heuristic"
    assert 1 <= result.value.score <= 10


def test_heuristic_is_deterministic_and_bounded():
    assert heuristic_score(STORY) == heuristic_score(STORY)
    assert heuristic_score("").score == 1
    long_story = " ".join(f"word{i} pizza hack." for i in range(400))
    assert 1 <= heuristic_score(long_story).score <= 10
    assert heuristic_score("pizza " * 500).score <= 3  # repetition is not effort


def test_extract_json_object_rejects_text_without_an_object():
    with pytest.raises(UnusableAnswer):
        extract_json_object("no json [1, 2] here")
