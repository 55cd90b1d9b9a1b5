"""The API organizers already use (openai_functions, asi1_client.score_story) keeps its shape."""

from __future__ import annotations

import pytest
from helpers import settings_for

import asi1_client
import openai_functions
from pizza_agent.domain.scores import Intent
from pizza_agent.llm.service import LLMService


@pytest.fixture
async def configured(openai_server, asi1_server):
    service = LLMService(settings_for(openai_server, asi1_server))
    openai_functions.configure(service)
    yield service
    openai_functions.configure(None)
    await service.aclose()


async def test_the_seed_functions_return_plain_values(configured):
    assert isinstance(await openai_functions.openai_understand_intent("I want pizza"), Intent)
    prompt = await openai_functions.openai_generate_unique_prompt()
    assert isinstance(prompt, str) and len(prompt) > 20
    reply = await openai_functions.openai_generate_response_message("A tale of pizza.", 7, "standard", "CODE-7")
    assert "CODE-7" in reply and "standard" in reply


async def test_the_richer_forms_say_who_answered(configured):
    result = await openai_functions.openai_generate_unique_prompt_result()
    assert (result.layer, result.model, result.attempts) == ("openai", "gpt-4o-mini", 1)
    assert result.latency_ms > 0


async def test_status_has_the_seed_fields_and_reset_recovers(configured, openai_server):
    status = openai_functions.get_openai_status()
    assert {"failures", "status", "using_fallback", "client_available"} <= set(status)
    assert (status["failures"], status["status"], status["using_fallback"]) == (0, "healthy", False)
    openai_server.set_fault("error-503")
    for _ in range(3):
        await openai_functions.openai_understand_intent("hello")
    status = openai_functions.get_openai_status()
    assert (status["failures"], status["status"], status["using_fallback"]) == (3, "degraded", True)
    openai_functions.reset_openai_failures()
    assert openai_functions.get_openai_status()["failures"] == 0


async def test_score_story_in_asi1_client(configured):
    score = await asi1_client.score_story("At dawn the laptop ordered pizza and the demo finally worked.")
    assert 1 <= score.score <= 10 and score.source == "asi1" and score.reason
