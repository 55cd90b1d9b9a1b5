"""The reply deadline: whatever the providers do, every task answers in time."""

from __future__ import annotations

import asyncio
import time

import pytest
from helpers import TIMER_SLACK, settings_for

DEADLINE = 1.0


@pytest.fixture
def both_silent(openai_server, asi1_server):
    openai_server.set_fault("silent")
    asi1_server.set_fault("silent")
    return openai_server, asi1_server


async def timed(coro):
    started = time.monotonic()
    result = await coro
    return result, time.monotonic() - started


async def test_every_task_answers_from_static_when_both_providers_are_silent(both_silent, service_factory):
    openai, asi1 = both_silent
    service = service_factory(
        settings_for(openai, asi1, OPENAI_TIMEOUT="8", ASI1_TIMEOUT="8", REPLY_DEADLINE=str(DEADLINE))
    )
    calls = [
        service.understand_intent("I want pizza"),
        service.generate_prompt(),
        service.generate_reply("A story about pizza.", 7, "standard", "STD-TEST"),
        service.score_story("A story about a laptop that wanted pizza at 3 a.m."),
    ]
    outcomes = await asyncio.gather(*(timed(c) for c in calls))
    assert [r.layer for r, _ in outcomes] == ["static", "static", "static", "heuristic"]
    assert all(elapsed <= DEADLINE + TIMER_SLACK for _, elapsed in outcomes), [e for _, e in outcomes]
    assert outcomes[3][0].value.source == "heuristic"
    assert "STD-TEST" in outcomes[2][0].value


async def test_openai_cannot_use_up_the_whole_deadline_twice(both_silent, service_factory):
    """The seed could make a participant wait 2 x 8 s + backoff; the deadline cuts each attempt."""
    openai, asi1 = both_silent
    service = service_factory(settings_for(openai, asi1, OPENAI_TIMEOUT="8", REPLY_DEADLINE=str(DEADLINE)))
    result, elapsed = await timed(service.generate_prompt())
    assert result.layer == "static"
    assert elapsed <= DEADLINE + TIMER_SLACK
    assert len(openai.requests) == 1  # the attempt was cut to the deadline; no time for a retry
    assert "no time left" in result.trail[-1] or "asi1" in result.trail[-1]


async def test_skip_mode_goes_straight_to_asi1(openai_server, asi1_server, service_factory):
    openai_server.set_fault("silent")
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_TIMEOUT="0.2", OPENAI_RETRY_COUNT="1"))
    for _ in range(3):
        await service.generate_prompt()
    asked_openai = len(openai_server.requests)
    result, _ = await timed(service.generate_prompt())
    assert result.layer == "asi1"
    assert len(openai_server.requests) == asked_openai  # no OpenAI time-out paid in skip mode: not even asked
    assert result.trail == ["openai: skipped: failures=3"]
