"""Attacks on the real agent process over loopback: nobody can starve, silence or double-dip.

Each test is one attack an outside tester made work against the agent before
(issue 11), made again: signed uAgents envelopes and raw HTTP, a second process
holding the ledger, files deleted under the agent, half-open connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import uuid

import aiohttp
import pytest
from uagents_core.contrib.protocols.chat import ChatMessage, TextContent
from uagents_core.envelope import Envelope
from uagents_core.identity import Identity

from pizza_agent.client.chat_client import PROTOCOL_DIGEST, sign_envelope
from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import CODE_PATTERN
from pizza_agent.ledger.store import Ledger
from pizza_agent.ledger.worker import BUSY_COOLDOWN_SECONDS
from pizza_agent.rehearsal.agent_process import AgentProcess, base_env
from pizza_agent.rehearsal.attacker import forged_envelope
from pizza_agent.workarounds.uagents_compat import HeaderTimeoutH11

pytestmark = pytest.mark.slow  # each test starts the agent process

STORY = (
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon. "
    "The judges were confused, but our demo ran on pepperoni power and we shipped it."
)
HONEST_WITHIN = 8.0  # seconds: inside REPLY_DEADLINE, far below the stalls the attacks caused


@pytest.fixture
async def agent(tmp_path):
    process = await AgentProcess(tmp_path / "data", SENDER_RATE_LIMIT="1000000").start()
    yield process
    process.stop()


async def post(url: str, body: bytes, **headers: str) -> int:
    headers = {"content-type": "application/json", **headers}
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as response:
        return response.status


# --- 1. unauthenticated memory growth --------------------------------------------------------------
async def test_rejected_envelopes_leave_nothing_behind(agent):
    """Before: every rejected envelope with a 58 KB signature was kept (8,000 -> +464 MB)."""
    attacker = Identity.from_seed("memory-attacker", 0)
    before = agent.memory_kb()["VmRSS"]
    statuses = []
    for i in range(1500):
        body = forged_envelope(agent.address, attacker.address, "sig1" + f"{i:06d}" + "q" * 58_000)
        statuses.append(await post(agent.endpoint, body))
    grown_mb = (agent.memory_kb()["VmRSS"] - before) / 1024
    assert set(statuses) == {400}
    assert grown_mb < 20, f"RSS grew {grown_mb:.0f} MB for 1,500 rejected envelopes (87 MB sent)"
    async with agent.client("honest-after-memory") as honest:
        assert "story prompt" in await honest.ask("I want pizza", timeout=HONEST_WITHIN)


# --- 2. targeted reply suppression ---------------------------------------------------------------------
async def test_a_forged_sync_request_cannot_swallow_a_victims_reply(agent):
    """Before: a bad-signature sync request naming the victim left a future that ate the victim's replies."""
    async with agent.client("suppression-victim") as victim:
        forged = forged_envelope(agent.address, victim.address, "sig1" + "q" * 100)
        stop = asyncio.Event()

        async def attack() -> list[int]:
            statuses = []
            while not stop.is_set():
                statuses.append(await post(agent.endpoint, forged, **{"x-uagents-connection": "sync"}))
                await asyncio.sleep(0.01)  # the attacker's own pace (every ~10 ms), as measured
            return statuses

        attacker = asyncio.create_task(attack())
        await asyncio.sleep(0.1)  # the attack is running when the victim writes
        reply = await victim.ask(STORY, timeout=HONEST_WITHIN)
        stop.set()
        statuses = await attacker
    assert CODE_PATTERN.search(reply), reply
    assert len(victim.acks) >= 1
    assert statuses and set(statuses) == {400}


# --- 3. one key, two coupons -------------------------------------------------------------------------
async def test_an_uppercase_address_is_not_a_second_participant(agent):
    async with agent.client("case-farmer") as farmer:
        code = CODE_PATTERN.search(await farmer.ask(STORY)).group(0)
        upper = Envelope(
            version=1,
            sender=farmer.address.upper(),
            target=agent.address,
            session=uuid.uuid4(),
            schema_digest=sign_envelope(farmer.identity, agent.address, ChatMessage(content=[])).schema_digest,
            protocol_digest=PROTOCOL_DIGEST,
            expires=int(time.time()) + 60,
        )
        upper.encode_payload(ChatMessage(content=[TextContent(text=STORY + " Again!")]).json())
        upper.sign(farmer.identity)
        upper.verify()  # the signature really is valid for the uppercase string
        assert await post(agent.endpoint, upper.model_dump_json().encode()) == 400
    coupons = Ledger(agent.data_dir / "ledger.sqlite3").coupons.all()
    assert [c.code for c in coupons] == [code]


# --- 4. another process holding the ledger -----------------------------------------------------------
async def test_a_locked_ledger_does_not_stall_the_event_loop(agent):
    """Before: a write lock held elsewhere made everyone wait 11.5 s, even repeat look-ups."""
    async with agent.client("lock-first") as client, agent.client("lock-second") as second:
        first = client.chat()  # one chat: the repeat look-up is asked where the coupon was issued
        code = CODE_PATTERN.search(await first.ask(STORY)).group(0)
        blocker = sqlite3.connect(agent.data_dir / "ledger.sqlite3", isolation_level=None, timeout=1)
        blocker.execute("BEGIN IMMEDIATE")  # another process holds a write transaction
        try:
            started = time.monotonic()
            again, new = await asyncio.gather(
                first.ask("hi, what was my code?", timeout=HONEST_WITHIN), second.ask(STORY, timeout=HONEST_WITHIN)
            )
            waited = time.monotonic() - started
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert code in again  # a repeat look-up reads without waiting for the writer
        assert "again in a minute" in new and not CODE_PATTERN.search(new)  # never a code that is not on record
        assert waited < 4.0
        await asyncio.sleep(BUSY_COOLDOWN_SECONDS)  # writes fail fast this long after a lock was seen
        later = await second.ask(STORY, timeout=HONEST_WITHIN)
    assert CODE_PATTERN.search(later)
    assert Ledger(agent.data_dir / "ledger.sqlite3").coupons.coupon_for(second.address).code in later


# --- 5. the ledger deleted while running ----------------------------------------------------------------
async def test_a_deleted_ledger_stops_issuance_instead_of_writing_into_nothing(agent):
    async with agent.client("gone-first") as first, agent.client("gone-second") as second:
        CODE_PATTERN.search(await first.ask(STORY)).group(0)
        for suffix in ("", "-wal", "-shm"):
            (agent.data_dir / f"ledger.sqlite3{suffix}").unlink(missing_ok=True)
        reply = await second.ask(STORY, timeout=HONEST_WITHIN)
    assert "right back" in reply and not CODE_PATTERN.search(reply)
    assert "CRITICAL" in agent.logs() and "deleted or replaced" in agent.logs()


# --- 6. connection exhaustion ----------------------------------------------------------------------------
# A race against the header time-out (5 s), measured alone: beside the parallel pass's browsers and agents on
# busy cores (make test-stress) the honest reply once took 6.4 s.
@pytest.mark.serial
async def test_half_open_connections_cannot_starve_an_honest_participant(tmp_path):
    """The agent runs with a 1,024-descriptor limit; 1,100 connections send half a request and stay."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))  # the attacker's own descriptors
    agent = await AgentProcess(tmp_path / "data", fd_limit=1024).start()
    sockets: list[socket.socket] = []
    try:
        for _ in range(1100):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(("127.0.0.1", agent.port))
            sockets.append(sock)
        await asyncio.sleep(0.5)  # let the agent accept what it can
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.send(b"POST /submit HTTP/1.1\r\nHost: x\r\n")  # headers never finished
        started = time.monotonic()
        async with agent.client("honest-under-slowloris") as honest:
            reply = await honest.ask("I want pizza", timeout=15)
        assert "story prompt" in reply
        # Served before any half-open connection timed out: the newcomer took the slot of the
        # oldest connection still waiting for its headers. Before: 503, or 5-12 s in the backlog.
        assert time.monotonic() - started < HeaderTimeoutH11.header_timeout
    finally:
        for sock in sockets:
            sock.close()
        agent.stop()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --- 7. peer endpoints -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1@198.51.100.7:8000/submit", "http://localhost.attacker.example/submit", "https://127.0.0.1/x"],
)
async def test_a_peer_file_cannot_send_replies_off_the_machine(agent, endpoint):
    sender = Identity.from_seed(f"peer-{endpoint}", 0)
    peers = agent.data_dir / "peers"
    peers.mkdir(mode=0o700, exist_ok=True)
    (peers / f"{sender.address}.json").write_text(json.dumps({"endpoint": endpoint}))
    (peers / f"{sender.address}.json").chmod(0o600)
    envelope = sign_envelope(sender, agent.address, ChatMessage(content=[TextContent(text="I want pizza")]))
    assert await post(agent.endpoint, envelope.model_dump_json().encode()) == 200
    for _ in range(200):  # until the agent has handled it (its log line)
        if "refused peer endpoint" in agent.logs():
            break
        await asyncio.sleep(0.02)
    assert "refused peer endpoint" in agent.logs()
    assert "198.51.100.7" not in agent.logs() and "attacker.example" not in agent.logs()


# --- 8. files readable by every local user ---------------------------------------------------------------
async def test_data_dir_and_every_file_in_it_are_owner_only(agent):
    async with agent.client("perms") as someone:
        await someone.ask(STORY)
    assert stat.S_IMODE(agent.data_dir.stat().st_mode) == 0o700
    for name in ("ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm", "agent_seed", "coupon_secret"):
        path = agent.data_dir / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, f"{name} is {oct(path.stat().st_mode)}"


# --- 9. verify/redeem against a missing DATA_DIR ------------------------------------------------------------
@pytest.mark.parametrize("command", ["verify", "redeem"])
def test_verify_and_redeem_create_nothing_where_there_is_no_agent(tmp_path, command):
    data = tmp_path / "not-the-agents-data"
    done = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), command, "PREMIUM-AAAAAAAA-BBBBBBBB"],
        env=base_env(data),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"no data directory at {data}: set DATA_DIR to the agent's data directory"
    assert not data.exists()


# --- 10. smaller ones --------------------------------------------------------------------------------------
async def test_deeply_nested_json_is_a_400_with_one_log_line(agent):
    body = b"[" * 5000 + b"]" * 5000
    assert await post(agent.endpoint, body) == 400
    nested = b'{"a":' * 3000 + b"1" + b"}" * 3000
    assert await post(agent.endpoint, nested) == 400
    assert "Traceback" not in agent.logs()


async def test_a_replayed_envelope_is_not_handled_again_after_a_restart(tmp_path):
    agent = await AgentProcess(tmp_path / "data").start()
    port = agent.port
    async with agent.client("replayer") as replayer:
        envelope = sign_envelope(replayer.identity, agent.address, ChatMessage(content=[TextContent(text=STORY)]))
        raw = envelope.model_dump_json().encode()
        assert await post(agent.endpoint, raw) == 200
        first = await replayer.next_reply()
        assert CODE_PATTERN.search(first.text())
        await asyncio.sleep(0.5)  # the answered id is written right after the answer; this is well past it
        agent.stop()
        before = len(agent.logs())  # the restarted agent appends to the same log file
        again = await AgentProcess(tmp_path / "data", AGENT_PORT=str(port)).start()
        try:
            assert await post(again.endpoint, raw) == 200
            for _ in range(200):
                if "duplicate_msg_id" in again.logs()[before:]:
                    break
                await asyncio.sleep(0.02)
            after = again.logs()[before:]
            assert "duplicate_msg_id" in after
            assert "outcome=coupon" not in after and "outcome=repeat_coupon" not in after
        finally:
            again.stop()


def test_an_unwritable_data_dir_is_one_line(tmp_path):
    if os.geteuid() == 0:
        data = tmp_path / "file-not-dir"
        data.write_text("")  # root writes anywhere: a file where the directory should be is unwritable to all
    else:
        data = tmp_path / "ro"
        data.mkdir(mode=0o500)
    done = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py")], env=base_env(data), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "DATA_DIR" in done.stderr
