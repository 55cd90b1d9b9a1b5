"""Per-sender rate limit and the per-provider call cap."""

from __future__ import annotations

import asyncio

from helpers import settings_for
from uagents_core.identity import Identity

from pizza_agent.app.composition import assemble_event
from pizza_agent.config.settings import load_settings
from pizza_agent.event.rate_limit import Admit, SenderRateLimiter
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.store import Ledger
from pizza_agent.llm.service import LLMService


def test_ten_per_window_then_one_warning_then_silence_until_the_window_frees(clock):
    limiter = SenderRateLimiter(limit=10, window=60, clock=clock)
    assert [limiter.check("spammer") for _ in range(10)] == [Admit.OK] * 10
    assert limiter.check("spammer") is Admit.SLOW_DOWN
    assert limiter.check("spammer") is Admit.DROP
    assert limiter.check("honest") is Admit.OK  # per sender
    assert limiter.limited_senders() == 1
    clock.advance(60.1)
    assert limiter.check("spammer") is Admit.OK
    assert limiter.refused == 2


async def test_organizers_are_exempt(tmp_path):
    organizer = Identity.from_seed("rate-limit-organizer", 0).address
    settings = load_settings({"ORGANIZER_ADDRESSES": organizer, "SENDER_RATE_LIMIT": "2"})
    conversation = assemble_event(
        settings, LLMService(settings), Ledger(tmp_path / "l.db"), CouponSigner("c" * 32)
    ).conversation
    assert all(conversation.admit(organizer) is Admit.OK for _ in range(50))
    assert [conversation.admit("agent1someone") for _ in range(3)] == [Admit.OK, Admit.OK, Admit.SLOW_DOWN]
    assert "rate-limited messages 1" in (await conversation.organizer.status_text())


async def test_a_full_provider_spills_to_the_next_layer_at_once(openai_server, asi1_server, service_factory):
    openai_server.set_fault("slow-0.5")
    service = service_factory(settings_for(openai_server, asi1_server, LLM_MAX_CONCURRENCY="1"))
    first, second = await asyncio.gather(service.generate_prompt(), service.generate_prompt())
    assert {first.layer, second.layer} == {"openai", "asi1"}
    spilled = first if first.layer == "asi1" else second
    assert spilled.trail == ["openai: all 1 slots busy"]
    assert spilled.latency_ms < 400  # it did not queue behind the slow call
    assert openai_server.max_in_flight == 1
    assert service.status()["llm_calls"]["openai"]["turned_away"] == 1
    assert service.status()["failures"] == 0  # busy is not a failure


def test_dropped_messages_are_summed_up_once_per_report(clock):
    limiter = SenderRateLimiter(1, 60, clock=clock)
    assert limiter.drop_report(60) is None
    decisions = [limiter.check("agent1flood") for _ in range(5)]
    assert decisions == [Admit.OK, Admit.SLOW_DOWN, Admit.DROP, Admit.DROP, Admit.DROP]
    assert limiter.drop_report(60) == (
        "rate limit dropped 3 message(s) in the last 60s (3 since start), 1 sender(s) limited now"
    )
    assert limiter.drop_report(60) is None  # nothing new since
