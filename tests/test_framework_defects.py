"""Each uagents 0.26.1 defect reproduced against the real agent: it keeps serving everyone else.

The workarounds live in pizza_agent/workarounds/ (docs/framework-defects.md lists them). Each test sends what broke the
framework, then checks an honest participant is still answered.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid

import ecdsa
import pytest
from aiohttp import web
from uagents_core import identity as core_identity
from uagents_core.contrib.protocols.chat import ChatMessage, TextContent
from uagents_core.identity import Identity

from pizza_agent.client.chat_client import ChatClient, sign_envelope
from pizza_agent.rehearsal.agent_process import AgentProcess, provider_env
from pizza_agent.workarounds.uagents_compat import register_local_peer

HONEST_REPLY_WITHIN = 8.0  # seconds; far below the 30 s a blocked reply queue would take


@pytest.fixture
async def agent(tmp_path):
    process = await AgentProcess(tmp_path / "data", SEND_TIMEOUT="30").start()
    yield process
    process.stop()


async def honest_participant_is_served(agent: AgentProcess, seed: str = "honest") -> None:
    async with agent.client(seed) as honest:
        reply = await honest.ask("I want pizza", timeout=HONEST_REPLY_WITHIN)
    assert "story prompt" in reply


def log_lines(agent: AgentProcess, needle: str) -> list[str]:
    return [line for line in agent.logs().splitlines() if needle in line]


@pytest.mark.slow  # agent.py
async def test_poison_message_does_not_kill_message_processing(agent):
    """Defect 1: a signed envelope whose ChatMessage payload violates the schema."""
    async with agent.client("poisoner") as poisoner:
        envelope = sign_envelope(poisoner.identity, agent.address, ChatMessage(content=[TextContent(text="x")]))
        envelope.encode_payload(json.dumps({"content": 5}))
        envelope.sign(poisoner.identity)
        status, _ = await poisoner.post(envelope.model_dump_json())
        assert status == 200
        for _ in range(3):  # more than once: the processing task must survive each
            envelope.nonce = (envelope.nonce or 0) + 1
            envelope.sign(poisoner.identity)
            await poisoner.post(envelope.model_dump_json())
    await honest_participant_is_served(agent)


@pytest.mark.slow  # agent.py
async def test_an_empty_payload_does_not_kill_message_processing(agent):
    """Found by the property tests: `{}` made ChatMessage's __init__ raise TypeError, not ValidationError."""
    async with agent.client("empty-poisoner") as poisoner:
        envelope = sign_envelope(poisoner.identity, agent.address, ChatMessage(content=[TextContent(text="x")]))
        envelope.encode_payload("{}")
        envelope.sign(poisoner.identity)
        assert (await poisoner.post(envelope.model_dump_json()))[0] == 200
    await honest_participant_is_served(agent)


@pytest.mark.slow  # agent.py
async def test_a_silent_peer_does_not_block_replies_to_others(agent):
    """Defect 2: a peer endpoint that accepts the connection and never answers."""
    silent_app = web.Application()

    async def never_answer(request: web.Request) -> web.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    silent_app.router.add_post("/submit", never_answer)
    runner = web.AppRunner(silent_app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    silent_port = site._server.sockets[0].getsockname()[1]
    try:
        silent = ChatClient("silent-peer", agent.ref, peers_dir=None)
        async with silent:
            register_local_peer(agent.data_dir / "peers", silent.address, f"http://127.0.0.1:{silent_port}/submit")
            for _ in range(3):
                await silent.send("I want pizza")  # each reply to it hangs for SEND_TIMEOUT=30 s
            started = time.monotonic()
            await honest_participant_is_served(agent)
            assert time.monotonic() - started < HONEST_REPLY_WITHIN
    finally:
        await runner.cleanup()


SECP256K1_ORDER = ecdsa.SECP256k1.order


@pytest.mark.slow  # agent.py
async def test_a_replayed_envelope_is_processed_once(agent):
    """Defect 6: the same signed envelope posted twice."""
    async with agent.client("replayer") as replayer:
        body = sign_envelope(
            replayer.identity, agent.address, ChatMessage(content=[TextContent(text="hi")])
        ).model_dump_json()
        assert (await replayer.post(body))[0] == 200
        await replayer.next_reply()
        assert (await replayer.post(body))[0] == 200  # accepted quietly, not processed
        same_id = ChatMessage(
            content=[TextContent(text="hi")], msg_id=json.loads(base64.b64decode(json.loads(body)["payload"]))["msg_id"]
        )
        await replayer.send_model(same_id)  # a new envelope, the same message id
        assert "Organizer" not in await replayer.ask("help")
    assert len(log_lines(agent, "dropped a replayed envelope")) == 1
    assert len(log_lines(agent, "outcome=duplicate_msg_id")) == 1
    assert len(log_lines(agent, "outcome=prompt")) == 1  # "hi" handled exactly once


@pytest.mark.slow  # agent.py
async def test_a_replay_with_the_signature_malleated_is_still_a_replay(agent):
    """ECDSA signatures are malleable: (r, s) and (r, n - s) both verify. A replay memory keyed on the
    signature let the same envelope through a second time with s flipped."""
    async with agent.client("malleator") as malleator:
        envelope = sign_envelope(malleator.identity, agent.address, ChatMessage(content=[TextContent(text="hi")]))
        assert (await malleator.post(envelope.model_dump_json()))[0] == 200
        await malleator.next_reply()
        _, raw = core_identity._decode_bech32(envelope.signature)
        r, s_value = raw[:32], int.from_bytes(raw[32:], "big")
        envelope.signature = core_identity._encode_bech32("sig", r + (SECP256K1_ORDER - s_value).to_bytes(32, "big"))
        assert envelope.verify()  # still a valid signature of the same envelope
        await malleator.post(envelope.model_dump_json())
    assert len(log_lines(agent, "dropped a replayed envelope")) == 1
    assert len(log_lines(agent, "outcome=duplicate_msg_id")) == 0  # stopped at the gate, not deeper


@pytest.mark.slow  # agent.py
async def test_an_expired_envelope_is_refused(agent):
    async with agent.client("late") as late:
        envelope = sign_envelope(late.identity, agent.address, ChatMessage(content=[TextContent(text="hi")]))
        envelope.expires = int(time.time()) - 60
        envelope.sign(late.identity)
        status, body = await late.post(envelope.model_dump_json())
    assert status == 400 and "expired" in body
    await honest_participant_is_served(agent)


@pytest.mark.slow  # agent.py
async def test_a_one_megabyte_message_is_refused_with_a_clear_error(agent):
    """Defect 5: no size limit (50 MB took 5.75 s and 470 MB of memory)."""
    async with agent.client("bulky") as bulky:
        huge = ChatMessage(content=[TextContent(text="x" * 1_000_000)])
        status, body = await bulky.post(sign_envelope(bulky.identity, agent.address, huge).model_dump_json())
        assert status == 413 and "larger than 65536 bytes" in body
        # a story longer than the limit but small enough to read gets a polite chat reply
        long_story = await bulky.ask("pizza and code " * 2000)
        assert "under 4000 characters" in long_story
    await honest_participant_is_served(agent)


@pytest.mark.slow  # agent.py
async def test_an_invalid_base64_payload_is_a_400_not_a_500(agent):
    """Defect 7: invalid base64 gave HTTP 500 with a traceback."""
    async with agent.client("garbler") as garbler:
        envelope = sign_envelope(garbler.identity, agent.address, ChatMessage(content=[TextContent(text="hi")]))
        envelope.payload = "!!!not-base64!!!"
        envelope.sign(garbler.identity)  # correctly signed: only the payload is broken
        status, body = await garbler.post(envelope.model_dump_json())
    assert status == 400 and "base64" in body
    assert "Traceback" not in agent.logs()
    await honest_participant_is_served(agent)


@pytest.mark.slow  # agent.py
async def test_a_forged_signature_is_refused(agent):
    async with agent.client("forger") as forger:
        victim = Identity.from_seed("victim", 0)
        envelope = sign_envelope(forger.identity, agent.address, ChatMessage(content=[TextContent(text="hi")]))
        envelope.sender = victim.address  # claims to be someone else, signed by the forger
        status, _ = await forger.post(envelope.model_dump_json())
    assert status == 400
    await honest_participant_is_served(agent)


@pytest.mark.slow  # agent.py
async def test_a_reply_to_an_unknown_address_does_not_stall_others(agent):
    """No Almanac offline: a sender the resolver cannot find gets no reply, and nobody waits for it."""
    stranger = ChatClient(f"stranger-{uuid.uuid4()}", agent.ref, peers_dir=None)
    async with stranger:
        for _ in range(5):
            await stranger.send("I want pizza")
        await honest_participant_is_served(agent)


@pytest.mark.slow  # agent.py
async def test_handlers_run_concurrently(tmp_path, openai_server):
    """Defect 3: the framework runs one handler at a time unless told otherwise.

    Two participants ask at once while OpenAI takes 3 s to answer each call: both calls are
    at the provider together (serialized handlers would keep it at one)."""
    openai_server.set_fault("slow-3")
    env = provider_env(openai_server.base_url, None, OPENAI_TIMEOUT="10", LLM_STALL_AFTER="20", REPLY_DEADLINE="20")
    agent = await AgentProcess(tmp_path / "data", **env).start()
    try:
        first, second = agent.client("first"), agent.client("second")
        async with first, second:
            await asyncio.gather(first.ask("I want pizza", timeout=30), second.ask("I want pizza", timeout=30))
        assert openai_server.max_in_flight >= 2
    finally:
        agent.stop()


def _listening(port: int) -> set[str]:
    """The local addresses a TCP socket listens on at `port` (Linux's /proc/net tables)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for row in list(handle)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, _, hex_port = local.rpartition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


@pytest.mark.slow  # agent.py
async def test_a_local_agent_listens_on_loopback_only(agent):
    """Defect 17: the framework binds 0.0.0.0 whatever the endpoint says; local mode binds AGENT_HOST."""
    assert _listening(agent.port) == {"0100007F"}  # 127.0.0.1, and no wildcard (00000000) socket


async def test_18_an_interval_sends_in_a_new_session_and_send_in_chat_keeps_the_chat(tmp_path):
    """Defect 18: outside a handler the framework's `send` can only open a new chat (a fresh random session);
    `send_in_chat` puts a later message into the chat the person is in, and reports whether it was delivered."""
    from pizza_agent.client.chat_client import AgentRef, ChatClient
    from pizza_agent.config.settings import load_settings
    from pizza_agent.rehearsal.agent_process import free_port
    from pizza_agent.workarounds.agent_factory import build_uagent, send_in_chat

    settings = load_settings({"ENV_FILE": "", "DATA_DIR": str(tmp_path / "data"), "AGENT_PORT": str(free_port())})
    agent = build_uagent(settings, "defect-18-agent-seed-0123456789")
    assert agent._build_context().session != agent._build_context().session  # the defect: a new chat every time
    dispensing = asyncio.create_task(agent._dispenser.run())
    person = await ChatClient("defect-18-person", AgentRef(agent.address, ""), settings.peers_dir).start()
    try:
        chat = person.chat()  # the conversation the person is in
        delivered = await send_in_chat(
            agent, person.address, str(chat.session), ChatMessage(content=[TextContent(text="your new code")])
        )
        assert delivered
        assert (await asyncio.wait_for(chat.inbox.get(), 10)).text() == "your new code"  # in that chat, not a new one
        await person.stop()  # nobody listening any more: not delivered, and said so
        assert not await send_in_chat(agent, person.address, str(chat.session), ChatMessage(content=[]))
    finally:
        dispensing.cancel()
        await person.stop()


async def test_the_frameworks_profile_has_no_starter_prompts_and_ours_does(tmp_path, monkeypatch):
    """Defect 19: uagents 0.26.1 builds the Agentverse profile without starter prompts; `connect_mailbox` adds
    them (the whole path through the Agentverse stand-in: tests/test_agentverse.py)."""
    from types import SimpleNamespace

    from pizza_agent.config.settings import load_settings
    from pizza_agent.rehearsal.agent_process import free_port
    from pizza_agent.workarounds import mailbox
    from pizza_agent.workarounds.agent_factory import build_uagent

    settings = load_settings({"ENV_FILE": "", "DATA_DIR": str(tmp_path / "data"), "AGENT_PORT": str(free_port())})
    agent = build_uagent(settings, "defect-19-agent-seed-0123456789")
    assert agent._build_registration_profile().starter_prompts == []  # the defect
    sent = []

    async def register(**kwargs):  # what would go to Agentverse, kept instead of sent
        sent.append(kwargs["agent_details"])
        return SimpleNamespace(success=True, detail="")

    monkeypatch.setattr(mailbox, "register_in_agentverse", register)
    assert await mailbox.connect_mailbox(agent, "a-user-token", ["I'd like a pizza", "When is the next meal?"])
    assert sent[0].profile.starter_prompts == ["I'd like a pizza", "When is the next meal?"]
