"""The rehearsal provider does what the README says: a fault set while it runs wins over the model name."""

from __future__ import annotations

import aiohttp
import pytest

from pizza_agent.rehearsal.fault_provider import FaultProvider


async def completion(base_url: str, model: str) -> int:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    async with aiohttp.ClientSession() as http:
        try:
            async with http.post(
                f"{base_url}/chat/completions", json=body, timeout=aiohttp.ClientTimeout(total=0.5)
            ) as r:
                return r.status
        except TimeoutError:
            return 0  # silent


async def test_control_switches_a_running_agent_from_its_model_fault(openai_server):
    assert await completion(openai_server.base_url, "error-503") == 503  # OPENAI_MODEL=error-503
    async with aiohttp.ClientSession() as http:
        control = openai_server.base_url.removesuffix("/v1") + "/control"
        async with http.post(control, data='{"fault": "silent"}') as response:
            assert response.status == 200
    assert await completion(openai_server.base_url, "error-503") == 0  # now silent, as the README promises
    openai_server.set_fault("ok")
    assert await completion(openai_server.base_url, "error-503") == 200


def test_latency_is_fixed_or_log_normal_through_the_median_and_p95():
    provider = FaultProvider()
    provider.set_latency(0.6)
    assert {provider._delay() for _ in range(20)} == {0.6}
    provider.set_latency(0.5, 2.0)
    samples = sorted(provider._delay() for _ in range(4000))
    median, p95 = samples[2000], samples[3800]
    assert 0.45 < median < 0.55 and 1.7 < p95 < 2.3
    with pytest.raises(ValueError):
        provider.set_latency(1.0, 0.5)


async def test_latency_is_set_live_and_each_answer_waits_for_it(openai_server):
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{openai_server.base_url[:-3]}/control", json={"latency_ms": [300]}) as answer:
            assert (await answer.json())["latency_ms"] == [300.0, 300.0]
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
        async with http.post(f"{openai_server.base_url}/chat/completions", json=body) as answer:
            assert answer.status == 200
    [request] = openai_server.requests
    assert openai_server.answered_at[0] - request.at >= 0.3  # the answer waited the latency
