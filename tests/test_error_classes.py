"""Each provider error class has its own rule: attempts seen, gaps between them, who answered.

All over HTTP: the `openai` SDK and the aiohttp ASI1 client talk to local fault servers.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time

import pytest
from helpers import ASI1_TEST_KEY, settings_for

from pizza_agent.config.settings import load_settings
from pizza_agent.llm.tasks import ScoreTask
from pizza_agent.rehearsal.fault_provider import FaultProvider


def gaps(requests) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(requests)]


# --- transient: time-out, refused, reset, 5xx --------------------------------------
@pytest.mark.parametrize("provider_name", ["openai", "asi1"])
async def test_500_once_is_retried_and_then_served(openai_server, asi1_server, service_factory, provider_name):
    server = openai_server if provider_name == "openai" else asi1_server
    server.set_fault("error-500-once")
    service = service_factory(settings_for(openai_server if provider_name == "openai" else None, asi1_server))
    result = await service.generate_prompt()
    assert (result.layer, result.attempts) == (provider_name, 2)
    assert len(server.requests) == 2
    assert gaps(server.requests)[0] >= 0.05  # backoff before the retry
    assert service.status()["providers"][provider_name]["failures"] == 0


@pytest.mark.parametrize("fault", ["error-503", "error-408"])
async def test_5xx_and_408_exhaust_retries_then_asi1_answers(openai_server, asi1_server, service_factory, fault):
    openai_server.set_fault(fault)
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_RETRY_COUNT="3"))
    result = await service.generate_prompt()
    assert result.layer == "asi1"
    assert len(openai_server.requests) == 3
    assert all(gap >= 0.05 for gap in gaps(openai_server.requests))
    assert service.status()["failures"] == 1
    assert "TransientError" in service.status()["providers"]["openai"]["last_error"]


async def test_a_silent_attempt_is_not_retried_on_the_same_provider(openai_server, asi1_server, service_factory):
    """Issue 13.1: the attempt that just heard nothing counts; ASI1 gets the time, not a second silence."""
    openai_server.set_fault("silent")
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_TIMEOUT="0.3"))
    started = time.monotonic()
    result = await service.understand_intent("I want pizza")
    assert result.layer == "asi1"
    assert len(openai_server.requests) == 1
    assert "openai: TransientError no answer within 0.30s after 1 attempt(s)" in result.trail
    assert time.monotonic() - started < 1.0
    assert service.status()["failures"] == 1


async def test_a_transient_error_with_an_answer_is_still_retried(openai_server, asi1_server, service_factory):
    openai_server.set_fault("error-500-once")
    service = service_factory(settings_for(openai_server, asi1_server))
    result = await service.understand_intent("I want pizza")
    assert (result.layer, result.attempts) == ("openai", 2)


async def test_connection_refused_is_transient(asi1_server, service_factory):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    settings = load_settings(
        {
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{closed_port}/v1",
            "ASI1_API_KEY": ASI1_TEST_KEY,
            "ASI1_BASE_URL": asi1_server.base_url,
            "LLM_BACKOFF_INITIAL": "0.05",
        }
    )
    service = service_factory(settings)
    result = await service.generate_prompt()
    assert (result.layer, result.attempts) == ("asi1", 1)
    assert "openai: TransientError connection failed" in result.trail[0]
    assert "after 2 attempt(s)" in result.trail[0]


@pytest.mark.parametrize("provider_name", ["openai", "asi1"])
async def test_tcp_reset_is_retried_then_falls_through(openai_server, asi1_server, service_factory, provider_name):
    server = openai_server if provider_name == "openai" else asi1_server
    server.set_fault("reset")
    service = service_factory(settings_for(openai_server if provider_name == "openai" else None, asi1_server))
    story = "A story about a laptop that wanted pizza at three in the morning."
    result = (
        await service.score_chain.run(ScoreTask(story)) if provider_name == "asi1" else await service.generate_prompt()
    )
    assert result.layer == ("heuristic" if provider_name == "asi1" else "asi1")
    assert len(server.requests) == 2
    assert service.status()["providers"][provider_name]["failures"] == 1


async def test_slow_answer_within_the_timeout_is_served(openai_server, asi1_server, service_factory):
    openai_server.set_fault("slow-0.2")
    service = service_factory(settings_for(openai_server, asi1_server))
    result = await service.generate_prompt()
    assert (result.layer, result.attempts) == ("openai", 1)
    assert result.latency_ms >= 200


async def test_flapping_provider_comes_back(openai_server, asi1_server, service_factory):
    openai_server.set_fault("flapping-0.3")
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_RETRY_COUNT="1"))
    assert (await service.generate_prompt()).layer == "asi1"
    await asyncio.sleep(0.35)  # the fault's own schedule: down for 0.3 s after its first request
    assert (await service.generate_prompt()).layer == "openai"
    assert service.status()["failures"] == 0


# --- 429 -----------------------------------------------------------------------------
async def test_429_with_retry_after_is_never_retried_sooner(openai_server, asi1_server, service_factory, clock):
    openai_server.set_fault("rate-limit-2")
    service = service_factory(settings_for(openai_server, asi1_server, REPLY_DEADLINE="5"))
    result = await service.generate_prompt()
    assert result.layer == "asi1"
    assert len(openai_server.requests) == 2
    assert gaps(openai_server.requests)[0] >= 2.0
    # after the last 429 the provider cools down for what it asked: no request meanwhile
    assert service.status()["providers"]["openai"]["cooldown_seconds"] == pytest.approx(2.0, abs=0.1)
    await service.generate_prompt()
    assert len(openai_server.requests) == 2
    clock.advance(2.1)
    openai_server.set_fault("ok")
    assert (await service.generate_prompt()).layer == "openai"


async def test_429_retry_after_ms_is_honoured(openai_server, asi1_server, service_factory):
    openai_server.set_fault("rate-limit-ms-300")
    service = service_factory(settings_for(openai_server, asi1_server))
    await service.generate_prompt()
    assert len(openai_server.requests) == 2
    assert gaps(openai_server.requests)[0] >= 0.3


async def test_429_wait_beyond_the_deadline_falls_through_at_once(openai_server, asi1_server, service_factory):
    openai_server.set_fault("rate-limit-30")
    service = service_factory(settings_for(openai_server, asi1_server, REPLY_DEADLINE="5"))
    started = time.monotonic()
    result = await service.generate_prompt()
    assert result.layer == "asi1"
    assert time.monotonic() - started < 1.0
    assert len(openai_server.requests) == 1
    assert service.status()["providers"]["openai"]["cooldown_seconds"] == pytest.approx(30, abs=0.5)


async def test_429_without_header_cools_down_exponentially(openai_server, asi1_server, service_factory, clock):
    """Issue 13.4: one 429 with no Retry-After no longer switches OpenAI off for 60 s for everyone."""
    openai_server.set_fault("rate-limit")
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_FAILURE_THRESHOLD="100"))
    cooldowns = []
    for _ in range(8):
        await service.generate_prompt()
        cooldown = service.status()["providers"]["openai"]["cooldown_seconds"]
        cooldowns.append(cooldown)
        clock.advance(cooldown + 0.01)
    assert cooldowns == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert len(openai_server.requests) == 8  # nothing sent during a cool-down
    openai_server.set_fault("ok")
    assert (await service.generate_prompt()).layer == "openai"
    openai_server.set_fault("rate-limit")
    await service.generate_prompt()
    assert service.status()["providers"]["openai"]["cooldown_seconds"] == 1.0  # a success restarts the series


# --- 401 / 403 / blank key ----------------------------------------------------------
@pytest.mark.parametrize("fault", ["unauthorized", "forbidden"])
async def test_rejected_key_is_tried_once_then_never_until_reset(openai_server, asi1_server, service_factory, fault):
    openai_server.set_fault(fault)
    service = service_factory(settings_for(openai_server, asi1_server))
    assert (await service.generate_prompt()).layer == "asi1"
    for _ in range(3):
        await service.understand_intent("hello")
    assert len(openai_server.requests) == 1
    status = service.status()
    assert status["client_available"] is False
    assert "key rejected" in status["providers"]["openai"]["unavailable_reason"]
    service.reset_openai()
    openai_server.set_fault("ok")
    assert (await service.generate_prompt()).layer == "openai"
    assert service.status()["client_available"] is True


async def test_blank_openai_key_never_reaches_openai(openai_server, asi1_server, service_factory):
    settings = settings_for(openai_server, asi1_server, OPENAI_API_KEY="")
    service = service_factory(settings)
    results = [await service.understand_intent("I want pizza"), await service.generate_prompt()]
    assert [r.layer for r in results] == ["asi1", "asi1"]
    assert openai_server.requests == []
    assert service.status()["client_available"] is False
    assert service.status()["providers"]["openai"]["unavailable_reason"] == "no OPENAI_API_KEY set"
    service.reset_openai()  # reset cannot conjure a key
    assert service.status()["client_available"] is False


async def test_no_keys_at_all_answers_from_static(service_factory):
    service = service_factory(load_settings({}))
    assert (await service.generate_prompt()).layer == "static"
    assert (await service.score_story("Once upon a time.")).layer == "heuristic"


# --- 400: context length / content policy --------------------------------------------
async def test_a_context_length_400_moves_to_the_next_model_without_retry(openai_server, asi1_server, service_factory):
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_MODEL="context-length,gpt-4o-mini"))
    result = await service.generate_prompt()
    assert (result.layer, result.model) == ("openai", "gpt-4o-mini")
    assert [r.model for r in openai_server.requests] == ["context-length", "gpt-4o-mini"]
    assert service.status()["failures"] == 0


async def test_a_content_policy_400_goes_to_the_next_provider_not_the_next_model(
    openai_server, asi1_server, service_factory
):
    """Issue 13.4: every model of one provider refuses the same text; ask the next provider."""
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_MODEL="content-policy,gpt-4o-mini"))
    result = await service.generate_prompt()
    assert result.layer == "asi1"
    assert [r.model for r in openai_server.requests] == ["content-policy"]
    assert service.status()["failures"] == 0


@pytest.mark.parametrize("fault", ["context-length", "content-policy"])
async def test_400_on_the_last_model_goes_to_the_next_layer_without_health_failure(
    openai_server, asi1_server, service_factory, fault
):
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_MODEL=fault))
    result = await service.generate_prompt()
    assert result.layer == "asi1"
    assert len(openai_server.requests) == 1
    assert service.status()["failures"] == 0
    assert service.status()["client_available"] is True


# --- 200 with a useless body ----------------------------------------------------------
@pytest.mark.parametrize("fault", ["malformed", "wrong-shape"])
@pytest.mark.parametrize("provider_name", ["openai", "asi1"])
async def test_useless_200_fails_the_attempt_and_falls_through(
    openai_server, asi1_server, service_factory, fault, provider_name
):
    server = openai_server if provider_name == "openai" else asi1_server
    server.set_fault(fault)
    service = service_factory(settings_for(openai_server if provider_name == "openai" else None, asi1_server))
    result = await service.generate_prompt()
    assert result.layer == ("asi1" if provider_name == "openai" else "static")
    assert len(server.requests) == 1  # no retry on the same model
    assert "BadResponse" in result.trail[-1]
    assert service.status()["providers"][provider_name]["failures"] == 1


async def test_fault_can_be_chosen_per_model_name(asi1_server, service_factory):
    other = await FaultProvider().start()
    try:
        service = service_factory(settings_for(other, asi1_server, OPENAI_MODEL="error-503"))
        assert (await service.generate_prompt()).layer == "asi1"
        assert {r.fault for r in other.requests} == {"error-503"}
    finally:
        await other.stop()
