"""The rehearsal provider does what the README says: a fault set while it runs wins over the model name."""

from __future__ import annotations

import aiohttp


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
