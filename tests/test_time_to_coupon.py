"""A participant waits for one model call, not for several in a row.

The providers answer after a latency (OpenAI 0.6 s, ASI1 1.0 s), so calls made one after
another show in the fault providers' records: a call that arrived after another was answered
was waiting for it. The story path makes every call it needs side by side (intent, score,
detection, the reply draft); an unambiguous request makes exactly one (the prompt). What the
design keeps sequential is in docs/fallback-design.md ("Time to coupon").
"""

from __future__ import annotations

import pytest
from helpers import settings_for

from pizza_agent.app.composition import assemble_event
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.store import Ledger
from pizza_agent.rehearsal.fault_provider import FaultProvider

STORY = (
    "At midnight our team finally got the pizza-ordering robot to talk to the venue's API, and it ordered "
    "forty margheritas for the judges. We spent the rest of the night eating the evidence and fixing the bug."
)


def calls(*servers: FaultProvider) -> list[tuple[float, float, str]]:
    """(arrived, answered, task) of every request the servers saw, in order of arrival."""
    seen = [(r.at, s.answered_at.get(i, float("inf")), r.task) for s in servers for i, r in enumerate(s.requests)]
    return sorted(seen)


def one_after_another(seen: list[tuple[float, float, str]]) -> list[str]:
    """Calls that arrived after an earlier call of the same message had been answered."""
    first_answer = min(answered for _, answered, _ in seen)
    return [task for arrived, _, task in seen if arrived > first_answer]


@pytest.fixture
def event(openai_server, asi1_server, service_factory, tmp_path):  # type: ignore[no-untyped-def]
    openai_server.set_latency(0.6)
    asi1_server.set_latency(1.0)

    def make(**env: str):  # type: ignore[no-untyped-def]
        settings = settings_for(
            openai_server, asi1_server, tmp_path, OPENAI_TIMEOUT="5", ASI1_TIMEOUT="5", REPLY_DEADLINE="20", **env
        )
        return assemble_event(settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("t" * 32))

    return make


async def test_a_story_makes_every_model_call_side_by_side(event, openai_server, asi1_server):
    parts = event()
    reply = await parts.conversation.handle("agent1fast", STORY)
    assert reply.outcome == "coupon" and reply.layers["reply"] == "openai"
    seen = calls(openai_server, asi1_server)
    assert {task for _, _, task in seen} >= {"classify-intent", "score-story", "detect-injection", "write-reply"}
    assert one_after_another(seen) == [], seen


async def test_an_unambiguous_request_makes_one_call(event, openai_server, asi1_server):
    parts = event()
    reply = await parts.conversation.handle("agent1hungry", "I want pizza")
    assert reply.outcome == "prompt"
    assert [task for _, _, task in calls(openai_server, asi1_server)] == ["write-story-prompt"]


async def test_a_message_the_intent_says_is_no_story_drops_the_work_started_ahead(event, openai_server, asi1_server):
    """Scoring started while the intent was read is cancelled, and a cancelled speculation is no failure."""
    openai_server.set_fault("intent-other")
    parts = event()
    reply = await parts.conversation.handle("agent1unsure", STORY)
    assert reply.outcome == "confirm_story" and parts.ledger.coupons.coupon_for("agent1unsure") is None
    status = parts.llm.status()["providers"]
    assert status["openai"]["failures"] == 0 and status["asi1"]["failures"] == 0
    assert parts.llm.score_chain.speculative_cancelled + parts.llm.text_chain.speculative_cancelled >= 1


async def test_with_openai_skipped_the_story_still_waits_for_one_call(event, openai_server, asi1_server):
    openai_server.set_fault("error-503")
    parts = event(OPENAI_RETRY_COUNT="1")
    for _ in range(3):  # the breaker trips
        await parts.llm.generate_prompt()
    assert parts.llm.status()["providers"]["openai"]["status"] == "degraded"
    asi1_server.requests.clear()
    asi1_server.answered_at.clear()
    reply = await parts.conversation.handle("agent1skip", STORY)
    assert reply.outcome == "coupon"
    assert one_after_another(calls(asi1_server)) == []
