"""The reply check with the real agent: a model that hides a fake code behind invisible characters.

The model (a fault provider on loopback standing in for OpenAI) answers the reply task with a warm
sentence carrying a code of its own, a zero-width space (or another invisible character) inside a
block and letters we never print (O). The participant must receive only the real code.
"""

from __future__ import annotations

import unicodedata

import pytest

from pizza_agent.ledger.codes import CODE_PATTERN
from pizza_agent.rehearsal.agent_process import AgentProcess, provider_env

pytestmark = pytest.mark.slow  # the agent process

STORY = (
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon. "
    "The judges were confused, but our demo ran on pepperoni power and we shipped it."
)


def visible(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad"], ids=["zero-width space", "soft hyphen"])
async def test_a_fake_code_with_an_invisible_character_never_reaches_the_participant(
    tmp_path, openai_server, asi1_server, invisible
):
    fake = f"PREMIUM-MMMM{invisible}NNNN-OOOOPPPP"
    openai_server.canned_answer = f"Wonderful story! Bring {fake} to the pizza table."
    agent = await AgentProcess(
        tmp_path / "data", **provider_env(openai_server.base_url, asi1_server.base_url, SENDER_RATE_LIMIT="100")
    ).start()
    try:
        async with agent.client("invisible-code-participant") as participant:
            reply = await participant.ask(STORY, timeout=30)
    finally:
        agent.stop()
    assert openai_server.requests_for("write-reply"), "the model was never asked for the reply"
    assert "MMMMNNNN" not in visible(reply) and "OOOOPPPP" not in reply, reply
    assert len(CODE_PATTERN.findall(reply)) == 1, reply  # only the real code, appended by the agent
