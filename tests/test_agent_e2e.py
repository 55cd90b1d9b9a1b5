"""The real agent process, real uAgents envelopes on loopback, providers at the local fault server."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys

import pytest
from uagents_core.contrib.protocols.chat import EndSessionContent
from uagents_core.identity import Identity

from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import CODE_PATTERN
from pizza_agent.ledger.store import Ledger
from pizza_agent.rehearsal.agent_process import AgentProcess, base_env, provider_env

pytestmark = pytest.mark.slow  # each test starts the agent process

STORY = (
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon. "
    "The judges were confused, but our demo ran on pepperoni power and we shipped it."
)


def code_in(text: str) -> str:
    match = CODE_PATTERN.search(text)
    assert match, f"no coupon code in reply: {text!r}"
    return match.group(0)


@pytest.fixture
async def start_agent(tmp_path):
    agents: list[AgentProcess] = []

    async def start(**env: str) -> AgentProcess:
        agent = await AgentProcess(tmp_path / "data", **env).start()
        agents.append(agent)
        return agent

    yield start
    for agent in agents:
        agent.stop()


def ledger_of(agent: AgentProcess) -> Ledger:
    return Ledger(agent.data_dir / "ledger.sqlite3")


async def coupon_log_line(agent: AgentProcess, address: str) -> str:
    """The agent logs a message after sending its reply: poll (bounded) until the line is there."""
    for _ in range(250):
        lines = [ln for ln in agent.logs().splitlines() if f"sender=…{address[-8:]}" in ln and "outcome=coupon" in ln]
        if lines:
            assert len(lines) == 1, agent.logs()
            return lines[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no coupon log line for {address}:\n{agent.logs()}")


async def full_flow(agent: AgentProcess, seed: str) -> tuple[str, str]:
    async with agent.client(seed) as participant:
        prompt_reply = await participant.ask("Hi! I want pizza")
        assert "story prompt" in prompt_reply
        await participant.send(STORY)
        reply = await participant.next_reply()
        assert any(isinstance(c, EndSessionContent) for c in reply.content)
        assert len(participant.acks) >= 2  # every ChatMessage was acknowledged
        return participant.address, reply.text()


SCENARIOS = {
    # name: (openai fault, asi1 fault, expected layers in the coupon's log line, score source)
    "both_healthy": ("ok", "ok", "intent:openai,score:asi1,reply:openai", "asi1"),
    "openai_failing": ("error-503", "ok", "intent:asi1,score:asi1,reply:asi1", "asi1"),
    "both_failing": ("error-503", "error-503", "intent:static,score:heuristic,reply:static", "heuristic"),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_full_flow_under_each_provider_condition(start_agent, openai_server, asi1_server, scenario):
    openai_fault, asi1_fault, layers, source = SCENARIOS[scenario]
    openai_server.set_fault(openai_fault)
    asi1_server.set_fault(asi1_fault)
    agent = await start_agent(**provider_env(openai_server.base_url, asi1_server.base_url, OPENAI_RETRY_COUNT="1"))
    address, text = await full_flow(agent, f"e2e-{scenario}")
    code = code_in(text)
    assert f"layers={layers}" in await coupon_log_line(agent, address)
    coupon = ledger_of(agent).coupons.coupon_for(address)
    assert coupon is not None and coupon.code == code and coupon.score_source == source
    assert coupon.tier in text  # the reply names the tier
    assert coupon.prompt is not None  # the prompt the participant was given is on record
    if scenario == "both_healthy":
        assert {r.task for r in openai_server.requests} == {"classify-intent", "write-story-prompt", "write-reply"}
        assert sorted(r.task for r in asi1_server.requests) == ["detect-injection", "score-story"]


async def test_full_flow_with_no_keys_at_all(start_agent):
    agent = await start_agent()
    address, text = await full_flow(agent, "e2e-no-keys")
    code_in(text)
    assert "layers=intent:static,score:heuristic,reply:static" in await coupon_log_line(agent, address)
    assert "OpenAI: no key → skipped · ASI1: no key → skipped · static: ready" in agent.logs()


async def test_two_participants_at_once_each_get_their_own_coupon(start_agent):
    agent = await start_agent()
    async with agent.client("alice") as alice, agent.client("bob") as bob:
        texts = await asyncio.gather(alice.ask(STORY), bob.ask(STORY))
    codes = [code_in(t) for t in texts]
    assert codes[0] != codes[1]
    ledger = ledger_of(agent)
    assert ledger.coupons.coupon_for(alice.address).code == codes[0]
    assert ledger.coupons.coupon_for(bob.address).code == codes[1]


async def test_two_stories_in_flight_from_one_participant_yield_one_coupon(start_agent):
    agent = await start_agent()
    async with agent.client("carol") as carol:
        chat = carol.chat()  # both in one chat: the code is repeated where the coupon was issued
        await asyncio.gather(
            carol.send(STORY, session=chat.session), carol.send(STORY + " Then we ate it all.", session=chat.session)
        )
        replies = [await asyncio.wait_for(chat.inbox.get(), 20) for _ in range(2)]
        codes = {code_in(r.text()) for r in replies}
        assert len(codes) == 1
        again = await chat.ask("Can I have another pizza?")
    assert code_in(again) in codes and "already" in again
    assert ledger_of(agent).coupons.stats()["coupons_issued"] == {"premium": 0, "standard": 0, "basic": 0} | {
        ledger_of(agent).coupons.coupon_for(carol.address).tier: 1
    }


async def test_story_length_limits_get_specific_replies(start_agent):
    agent = await start_agent(STORY_MAX_CHARS="300")
    async with agent.client("dave") as dave:
        short = await dave.ask("The laptop ate my code.")
        long = await dave.ask("word " * 100)
    assert "at least 40 characters (yours has 23)" in short
    assert "under 300 characters" in long and "yours has" in long
    assert ledger_of(agent).coupons.coupon_for(dave.address) is None


async def test_a_participant_asking_again_gets_the_same_prompt_until_they_use_it(start_agent):
    """One task per person: asking again does not hand out a new prompt (nor call a model for one)."""
    agent = await start_agent()
    async with agent.client("erin") as erin, agent.client("fay") as fay:
        prompts = [await erin.ask("pizza please") for _ in range(4)]
        other = await fay.ask("pizza please")
    assert len(set(prompts)) == 1 and "story prompt" in other
    ledger = Ledger(agent.data_dir / "ledger.sqlite3", read_only=True)
    try:  # each person was given one prompt, once
        assert [len(ledger.state.prompts_for(Identity.from_seed(who, 0).address)) for who in ("erin", "fay")] == [1, 1]
    finally:
        ledger.close()


async def test_sigkill_mid_burst_loses_and_doubles_nothing(start_agent, tmp_path):
    agent = await start_agent()
    port = agent.port
    seeds = [f"burst-{i}" for i in range(24)]
    clients = [agent.client(seed) for seed in seeds]
    for client in clients:
        await client.start()
    chats = [client.chat() for client in clients]  # each participant's one chat (its code is repeated there)
    try:
        sends = [asyncio.create_task(c.client.send(STORY, session=c.session)) for c in chats]
        received: dict[str, str] = {}
        first = [asyncio.create_task(asyncio.wait_for(c.inbox.get(), 30)) for c in chats]
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        agent.stop(signal.SIGKILL)
        await asyncio.gather(*sends, return_exceptions=True)
        for client, task in zip(clients, first, strict=True):
            if task.done() and not task.exception():
                received[client.address] = code_in(task.result().text())
            else:
                task.cancel()
        assert received, "at least one participant was answered before the kill"

        restarted = await start_agent(AGENT_PORT=str(port))
        ledger = ledger_of(restarted)
        for address, code in received.items():  # every code a participant saw is on record
            assert ledger.coupons.coupon_for(address).code == code
        for client, chat in zip(clients, chats, strict=True):  # everyone can now get exactly one coupon: theirs
            client.agent = restarted.ref
            text = await chat.ask(STORY if client.address not in received else "hi")
            code = code_in(text)
            if client.address in received:
                assert code == received[client.address]
        codes = [ledger.coupons.coupon_for(c.address).code for c in clients]
        assert len(codes) == len(set(codes)) == len(clients)
    finally:
        for client in clients:
            await client.stop()


async def test_agent_py_without_keys_or_env_file_serves_the_chat_client(tmp_path):
    agent = await AgentProcess(tmp_path / "data").start()
    try:
        env = base_env(tmp_path / "data")
        chat = [sys.executable, str(PROJECT_DIR / "chat.py")]
        first = subprocess.run([*chat, "I want pizza"], env=env, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        assert "story prompt" in first.stdout
        second = subprocess.run([*chat, STORY], env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        code = code_in(second.stdout)
        # interactive, driven by scripted input: same identity, so the same coupon comes back
        session = subprocess.run(
            chat, input="hello again\nhelp\n\n", env=env, capture_output=True, text=True, timeout=60
        )
        assert session.returncode == 0, session.stderr
        assert code in session.stdout and "I'm the Pizza Agent" in session.stdout
    finally:
        assert agent.stop(signal.SIGINT) < 5  # a clean Ctrl+C; the figure is in BENCHMARKS.md
    assert agent.proc.returncode == 0


async def test_organizer_commands_only_from_organizers(start_agent, openai_server):
    organizer_seed = "organizer-seed-for-tests"
    organizer = Identity.from_seed(organizer_seed, 0).address
    openai_server.set_fault("error-503")
    agent = await start_agent(
        ORGANIZER_ADDRESSES=organizer, **provider_env(openai_server.base_url, None, OPENAI_RETRY_COUNT="1")
    )
    async with agent.client(organizer_seed) as org, agent.client("mallory") as mallory:
        # Two people's first prompts each fail at OpenAI (an unambiguous request needs no intent call; a
        # person asking again gets the prompt they were given, without a model call).
        async with agent.client("mallory-2") as other:
            await other.ask("I want pizza")
        await mallory.ask("I want pizza")
        status = await org.ask("status")
        assert "openai: healthy · failures 2/3" in status
        assert "asi1: off (no key)" in status
        assert "failures=2" not in status  # the seed's fields live in `status json` and get_openai_status()
        seed_fields = json.loads(await org.ask("status json"))
        assert (seed_fields["failures"], seed_fields["client_available"]) == (2, True)
        assert "participants 2" in status
        refused = [await mallory.ask(cmd) for cmd in ("status", "reset", "/STATUS")]
        assert all(r == "Sorry, that command is for event organizers only. Ask me for pizza instead!" for r in refused)
        reset = await org.ask("reset")
        assert reset == "Reset. openai: failure counter 2 → 0"
        assert "failures 0/3" in await org.ask("status")
        assert "Organizer commands" in await org.ask("help")
        assert "Organizer commands" not in await mallory.ask("help")
    assert agent.logs().count("refused organizer command") == 3


async def test_a_spent_budget_stays_spent_after_a_restart(start_agent, openai_server, asi1_server):
    env = provider_env(
        openai_server.base_url, asi1_server.base_url, MODEL_PRICES="gpt-4o-mini=100000/100000", OPENAI_BUDGET_USD="1"
    )
    agent = await start_agent(**env)
    async with agent.client("before-the-reboot") as first:
        assert "story prompt" in await first.ask("I want pizza")  # OpenAI answered: more than $1 spent
    assert openai_server.requests
    agent.stop()
    restarted = await start_agent(AGENT_PORT=str(agent.port), **env)
    openai_calls = len(openai_server.requests)
    async with restarted.client("after-the-reboot") as second:
        assert "story prompt" in await second.ask("I want pizza")
    assert len(openai_server.requests) == openai_calls  # OpenAI stays off: its budget was spent before
