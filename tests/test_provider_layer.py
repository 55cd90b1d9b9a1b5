"""The provider layer gives the fallback its turn, sizes every answer, and counts every token.

Providers are the local fault server over real HTTP. Timing tests use short real
durations chosen so the outcome (which layer answered, how many requests each
provider saw) is decided by the faults, never by luck; the counter and
cool-down tests move a fake clock.
"""

from __future__ import annotations

import time

import pytest
from helpers import settings_for

from pizza_agent.event.spend_book import SpendBook
from pizza_agent.ledger.store import Ledger
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.fallback import FallbackChain, HedgePolicy
from pizza_agent.llm.health import LATENCY_WINDOW, ProviderHealth


# --- 1. a silent primary is not retried, and the next layer always gets its turn ------------------
async def test_the_next_layer_keeps_its_time_budget(openai_server, asi1_server, service_factory):
    """With the deadline barely above OpenAI's time-out, ASI1 still answers (before: static at the deadline)."""
    openai_server.set_fault("silent")
    settings = settings_for(
        openai_server,
        asi1_server,
        OPENAI_TIMEOUT="1.9",
        REPLY_DEADLINE="2",
        LLM_FALLBACK_FLOOR="0.8",
        LLM_STALL_AFTER="30",  # no hedging here: the time budget alone must leave ASI1 its turn
    )
    service = service_factory(settings)
    result = await service.generate_prompt()
    assert result.layer == "asi1", result.trail
    assert len(openai_server.requests) == 1
    assert result.trail[0].startswith("openai: TransientError"), result.trail


async def test_a_silent_primary_is_hedged_to_asi1_long_before_its_time_out(openai_server, asi1_server, service_factory):
    openai_server.set_fault("silent")
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_TIMEOUT="5", LLM_STALL_AFTER="0.3"))
    started = time.monotonic()
    result = await service.generate_prompt()
    assert (result.layer, result.hedged) == ("asi1", True)
    assert time.monotonic() - started < 1.5
    hedges = service.status()["hedges"]["text"]
    assert (hedges["silent"], hedges["won"], hedges["speculative"]) == (1, 1, 0)


async def test_a_silent_asi1_hedges_to_the_static_answer(asi1_server, service_factory):
    asi1_server.set_fault("silent")
    service = service_factory(settings_for(None, asi1_server, ASI1_TIMEOUT="5", LLM_STALL_AFTER="0.3"))
    started = time.monotonic()
    result = await service.score_story("A story about a laptop that wanted pizza at three in the morning.")
    assert (result.layer, result.hedged) == ("heuristic", True)
    assert time.monotonic() - started < 1.5


def test_speculative_hedges_are_capped_and_silence_is_not(clock):
    """Hedging a provider that is alive but slow costs money: at most LLM_HEDGE_MAX_RATIO of calls."""
    chain = FallbackChain([], reply_deadline=10, hedge=HedgePolicy(max_ratio=0.10))
    chain.hedges.calls = 20
    assert chain._may_hedge(silent=False, another_provider=True)  # 1 of 20
    assert chain._may_hedge(silent=False, another_provider=True)  # 2 of 20 = 10 %
    assert not chain._may_hedge(silent=False, another_provider=True)  # would be 15 %
    assert not chain._may_hedge(silent=False, another_provider=False)  # slow is no reason for static
    assert chain._may_hedge(silent=True, another_provider=False)  # silence is never capped
    assert (chain.hedges.speculative, chain.hedges.silent, chain.hedges.declined) == (2, 1, 1)


def test_the_hedge_waits_for_1_5_times_the_recent_p95_when_that_is_shorter(clock):
    health = ProviderHealth("openai", threshold=3, probe_interval=30, clock=clock, stall_after=2.0)
    assert health.hedge_after() == 2.0  # no history: the full LLM_STALL_AFTER
    for _ in range(20):
        health.record_success(health.admit(), 600.0)
    assert health.hedge_after() == pytest.approx(0.9)  # 1.5 x p95 (600 ms)
    for _ in range(LATENCY_WINDOW):  # the window forgets the slow period
        health.record_success(health.admit(), 5.0)
    assert health.hedge_after() == 0.5  # never below HEDGE_MIN_SECONDS: jitter is not silence


# --- 3. finish_reason ---------------------------------------------------------------------------
async def test_a_cut_off_answer_is_asked_for_once_more_with_more_tokens(openai_server, asi1_server, service_factory):
    openai_server.set_fault("length-below-200")
    service = service_factory(settings_for(openai_server, asi1_server))
    result = await service.generate_prompt()
    assert result.layer == "openai"
    assert [r.max_tokens for r in openai_server.requests] == [120, 240]
    assert service.status()["failures"] == 0


async def test_an_answer_cut_off_twice_goes_to_the_next_layer(openai_server, asi1_server, service_factory):
    openai_server.set_fault("length")
    service = service_factory(settings_for(openai_server, asi1_server))
    result = await service.understand_intent("I want pizza")
    assert result.layer == "asi1"
    assert len(openai_server.requests) == 2
    assert service.status()["failures"] == 0  # the request's trouble, not the provider's


async def test_a_content_filter_finish_goes_to_the_next_provider(openai_server, asi1_server, service_factory):
    openai_server.set_fault("content-filter")
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_MODEL="gpt-4o-mini,gpt-4o"))
    result = await service.generate_prompt()
    assert result.layer == "asi1"
    assert [r.model for r in openai_server.requests] == ["gpt-4o-mini"]  # not the next OpenAI model


async def test_an_empty_answer_falls_through_without_a_health_failure(openai_server, asi1_server, service_factory):
    openai_server.set_fault("empty")
    service = service_factory(settings_for(openai_server, asi1_server))
    assert (await service.generate_prompt()).layer == "asi1"
    assert service.status()["failures"] == 0


# --- 5. max_tokens and temperature per task --------------------------------------------------------
async def test_every_task_sets_max_tokens_and_a_temperature_fitting_its_job(
    openai_server, asi1_server, service_factory
):
    service = service_factory(settings_for(openai_server, asi1_server))
    await service.understand_intent("I want pizza")
    await service.generate_prompt()
    await service.generate_reply("A story about pizza.", 7, "standard", "STANDARD-AAAAAAAA-BBBBBBBB")
    await service.score_story("A story about a laptop that wanted pizza at three in the morning.")
    sent = {r.task: (r.max_tokens, r.temperature) for r in openai_server.requests + asi1_server.requests}
    assert sent == {
        "classify-intent": (20, 0.0),
        "write-story-prompt": (120, 0.9),
        "write-reply": (250, 0.8),
        "score-story": (300, 0.0),  # a judge: the same story, the same score (a rubric with quotes)
        "detect-injection": (300, 0.0),  # run beside scoring
    }


# --- 6. usage, cost and budgets -------------------------------------------------------------------
async def test_tokens_and_cost_are_counted_per_provider_model_and_task(openai_server, asi1_server, service_factory):
    service = service_factory(settings_for(openai_server, asi1_server, MODEL_PRICES="gpt-4o-mini=1000/2000"))
    result = await service.generate_prompt()
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    assert result.cost_usd == pytest.approx((result.prompt_tokens * 1000 + result.completion_tokens * 2000) / 1e6)
    spend = service.status()["spend"]["openai"]
    assert spend["by_model_task"]["gpt-4o-mini/prompt"]["calls"] == 1
    assert spend["cost_usd"] == pytest.approx(result.cost_usd)
    assert service.status()["providers"]["openai"]["p95_latency_ms"] is not None


async def test_a_spent_budget_switches_the_provider_off_with_the_reason(openai_server, asi1_server, service_factory):
    service = service_factory(
        settings_for(openai_server, asi1_server, MODEL_PRICES="gpt-4o-mini=100000/100000", OPENAI_BUDGET_USD="1")
    )
    assert (await service.generate_prompt()).layer == "openai"  # this call spends more than $1
    result = await service.generate_prompt()
    assert result.layer == "asi1"
    assert result.trail[0].startswith("openai: budget spent ($")
    openai = service.status()["providers"]["openai"]
    assert openai["state"] == "off" and openai["unavailable_reason"].startswith("budget spent")


# --- 7. the prompt pool -----------------------------------------------------------------------------
async def test_generated_prompts_are_served_before_static_ones_when_both_providers_are_down(
    openai_server, asi1_server, service_factory
):
    openai_server.set_fault("error-503")
    asi1_server.set_fault("error-503")
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_RETRY_COUNT="1", ASI1_RETRY_COUNT="1"))
    pooled = [
        "A pizza-powered robot joins your team at 2 a.m. What does it build?",
        "Your demo crashes; pizza saves it.",
    ]
    first = await service.generate_prompt(set(), pooled=pooled)
    assert (first.layer, first.value) == ("pool", pooled[0])
    second = await service.generate_prompt({pooled[0]}, pooled=pooled)  # never one this participant had
    assert (second.layer, second.value) == ("pool", pooled[1])
    third = await service.generate_prompt(set(pooled), pooled=pooled)
    assert third.layer == "static"


async def test_a_spent_budget_stays_spent_after_a_restart_or_a_takeover(openai_server, asi1_server, service_factory):
    """The spend is kept in the ledger: the next process (or the replica taking over) starts from it."""
    settings = settings_for(openai_server, asi1_server, MODEL_PRICES="gpt-4o-mini=100000/100000", OPENAI_BUDGET_USD="1")
    ledger = LedgerWorker(Ledger(":memory:"))
    before = service_factory(settings)
    assert (await before.generate_prompt()).layer == "openai"  # more than $1
    await SpendBook(before.spend, ledger).save()

    after = service_factory(settings)
    book = SpendBook(after.spend, ledger)
    await book.load()
    assert (await after.generate_prompt()).layer == "asi1"
    assert after.status()["providers"]["openai"]["unavailable_reason"].startswith("budget spent")
    await book.save()
    await book.load()  # loading again counts nothing twice
    assert after.spend.spent("openai") == pytest.approx(before.spend.spent("openai"))
    assert after.spend.snapshot()["asi1"]["prompt_tokens"] > 0
