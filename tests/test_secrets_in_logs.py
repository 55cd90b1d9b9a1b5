"""API keys never appear in a log line or in status, whatever the providers do."""

from __future__ import annotations

import json
import logging

import pytest
from helpers import ASI1_TEST_KEY, OPENAI_TEST_KEY, settings_for


@pytest.mark.parametrize("fault", ["unauthorized", "error-503", "malformed", "rate-limit-30", "reset", "silent"])
async def test_keys_never_reach_logs_or_status(openai_server, asi1_server, service_factory, caplog, fault):
    caplog.set_level(logging.DEBUG)
    openai_server.set_fault(fault)
    asi1_server.set_fault(fault)
    # Long enough for a request to reach the provider on a busy machine (under make test-stress a 0.2-s time-out
    # once expired before the "malformed" provider had seen any request); short where the provider stays silent.
    timeout = "0.5" if fault in ("silent", "reset") else "2.0"
    service = service_factory(settings_for(openai_server, asi1_server, OPENAI_TIMEOUT=timeout, ASI1_TIMEOUT=timeout))
    await service.understand_intent("I want pizza")
    await service.score_story("A story about pizza.")
    captured = [record.getMessage() for record in caplog.records]
    captured += [str(record.exc_info[1]) for record in caplog.records if record.exc_info]
    captured.append(json.dumps(service.status()))
    assert any(captured), "the run should have logged something"
    for text in captured:
        assert OPENAI_TEST_KEY not in text
        assert ASI1_TEST_KEY not in text
    # the providers did receive the key, so the test could have seen it leak
    assert openai_server.requests[0].authorization == f"Bearer {OPENAI_TEST_KEY}"
