"""Two replicas, one giveaway: a real PostgreSQL, the Agentverse stand-in, kill -9 and SIGSTOP.

Both replicas run `python agent.py` in agentverse mode with the same seed,
coupon secret and LEDGER_URL. One polls the mailbox; the other stands by and
takes over when the first dies or freezes.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from helpers import chromium_path
from playwright.async_api import async_playwright, expect
from uagents_core.contrib.protocols.chat import ChatMessage, TextContent
from uagents_core.identity import Identity

from pizza_agent.client.chat_client import AgentRef, ChatClient
from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import CODE_PATTERN, CouponSigner
from pizza_agent.ledger.coupons import Issuance
from pizza_agent.ledger.store import Ledger
from pizza_agent.llm.health import ProviderHealth
from pizza_agent.rehearsal.agent_process import AgentProcess, base_env, free_port
from pizza_agent.rehearsal.agentverse_standin import AgentverseStandIn
from pizza_agent.rehearsal.asi_one import MailboxParticipant
from pizza_agent.replicas.lease import ActiveLease
from pizza_agent.replicas.notifications import ControlsListener

STORY = (
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon. "
    "The judges were confused, but our demo ran on pepperoni power and we shipped it."
)
pytestmark = pytest.mark.slow  # PostgreSQL, the agent processes, Chromium

FAILOVER = 3.0
ORGANIZER_SEED = "replica-organizer"
DASHBOARD_TOKEN = "replica-dashboard-token-0123456789"


class Pair:
    def __init__(self, standin: AgentverseStandIn, url: str, replicas: dict[str, AgentProcess]) -> None:
        self.standin, self.url, self.replicas = standin, url, replicas

    async def dashboard(self, replica: str, command: str, args: str = "") -> str:
        """Run an organizer command from one replica's dashboard (as its API is called by the page)."""
        port = int(self.replicas[replica].env["DASHBOARD_PORT"])
        await wait_until(lambda: f"dashboard on http://127.0.0.1:{port}/" in self.replicas[replica].logs())
        headers = {"Authorization": f"Bearer {DASHBOARD_TOKEN}", "X-Pizza": "1"}
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"http://127.0.0.1:{port}/api/control", json={"command": command, "args": args}, headers=headers
            ) as answer,
        ):
            assert answer.status == 200, await answer.text()
            return (await answer.json())["result"]

    def active(self) -> str:
        ledger = Ledger(self.url)
        try:
            row = ledger.db.execute("SELECT holder FROM leases WHERE name='active'").fetchone()
        finally:
            ledger.close()
        return row[0] if row else ""

    def participant(self, seed: str) -> MailboxParticipant:
        address = next(iter(self.replicas.values())).address
        return MailboxParticipant(seed, self.standin, address)

    def coupons(self) -> list:
        ledger = Ledger(self.url)
        try:
            return ledger.coupons.all()
        finally:
            ledger.close()


async def wait_until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)  # polling for an event, with a deadline


@contextlib.asynccontextmanager
async def running_pair(tmp_path, postgres_server, **per_replica: dict[str, str]) -> AsyncIterator[Pair]:  # type: ignore[no-untyped-def]
    """alpha (active) and beta (standby) in agentverse mode; `per_replica`: extra variables by name."""
    standin = await AgentverseStandIn().start()
    url = postgres_server.database(f"replicas_{tmp_path.name}"[:60].lower().replace("-", "_"))
    env = {
        "AGENT_MODE": "agentverse",
        "AGENTVERSE_URL": standin.url,
        "AGENTVERSE_API_KEY": "av-test-key-0123456789",
        "LEDGER_URL": url,
        "AGENT_SEED": "replicated-agent-seed-0123456789",
        "COUPON_SECRET": "replicated-coupon-secret-0123456789",
        "FAILOVER_SECONDS": str(FAILOVER),
        "ORGANIZER_ADDRESSES": Identity.from_seed(ORGANIZER_SEED, 0).address,
    }
    replicas = {
        name: AgentProcess(
            tmp_path / name / "data",
            REPLICA_NAME=name,
            DASHBOARD_TOKEN=DASHBOARD_TOKEN,
            DASHBOARD_PORT=str(free_port()),
            **{**env, **per_replica.get(name, {})},
        )
        for name in ("alpha", "beta")
    }
    running = Pair(standin, url, replicas)
    try:
        await replicas["alpha"].start(ready=lambda: running.active() == "alpha")
        await replicas["beta"].start()
        yield running
    finally:
        for replica in replicas.values():
            if replica.proc is not None and replica.proc.poll() is None:
                replica.proc.send_signal(signal.SIGCONT)
            await replica.shutdown()
        await standin.stop()


@pytest.fixture
async def pair(tmp_path, postgres_server) -> AsyncIterator[Pair]:
    async with running_pair(tmp_path, postgres_server) as running:
        yield running


async def test_one_replica_polls_and_the_other_stands_by(pair):
    async with pair.participant("early") as early:
        assert "story prompt" in await early.ask("I want pizza")
    await asyncio.sleep(1.5)  # a few heartbeats: the standby must still not poll
    assert pair.active() == "alpha"
    assert "polls the mailbox (active)" in pair.replicas["alpha"].logs()
    assert "polls the mailbox" not in pair.replicas["beta"].logs()
    assert "outcome=prompt" not in pair.replicas["beta"].logs()


async def test_kill_9_of_the_active_replica_loses_nobody_and_doubles_nothing(pair):
    async with pair.participant("through-the-crash") as alice, pair.participant("after-the-crash") as bob:
        assert "story prompt" in await alice.ask("I want pizza")
        # Answered, recorded, deleted from the mailbox: then the crash (a crash in the milliseconds
        # between sending a reply and recording it could only repeat that same reply).
        await wait_until(lambda: not pair.standin.mailboxes[pair.replicas["alpha"].address])
        pair.replicas["alpha"].stop(signal.SIGKILL)
        killed_at = time.monotonic()
        code = CODE_PATTERN.search(await alice.ask(STORY, timeout=30)).group(0)
        gap = time.monotonic() - killed_at
        assert "story prompt" in await bob.ask("I want pizza", timeout=30)
    assert pair.active() == "beta"
    assert gap < FAILOVER + 3  # the new poller answered soon after the crash
    assert [c.code for c in pair.coupons()] == [code]
    assert "took over from alpha" in pair.replicas["beta"].logs()


async def test_a_frozen_active_replica_is_fenced_off_and_the_standby_takes_over(pair):
    alpha = pair.replicas["alpha"]
    async with pair.participant("patient") as patient:
        alpha.proc.send_signal(signal.SIGSTOP)  # frozen: its connection stays open, it renews nothing
        assert "story prompt" in await patient.ask("I want pizza", timeout=30)
        assert pair.active() == "beta"
        alpha.proc.send_signal(signal.SIGCONT)  # it wakes up and must not poll again
        await wait_until(lambda: "stops being the active one" in alpha.logs())
        code = CODE_PATTERN.search(await patient.ask(STORY, timeout=30)).group(0)
        await asyncio.sleep(1.0)  # time for a duplicate to show, were alpha still polling
        assert patient.inbox.empty()
    assert [c.code for c in pair.coupons()] == [code]
    assert "ending its session to take over" in pair.replicas["beta"].logs()


async def test_status_names_the_active_replica_and_its_peers(pair):
    """Waits for the standby's first heartbeat (it may not have beaten yet on a busy machine), then reads."""
    deadline = time.monotonic() + 20
    async with pair.participant(ORGANIZER_SEED) as organizer:
        while True:
            status = await organizer.ask("status")
            line = next(line for line in status.splitlines() if line.startswith("replicas:"))
            if "beta (standby" in line or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)  # polling for the heartbeat, with a deadline
    assert line.startswith("replicas: this is alpha (active); polling the mailbox: alpha; seen: alpha (active")
    assert "beta (standby" in line


async def test_the_breaker_travels_with_the_mailbox(postgres_server):
    """A provider skipped on the dying replica stays skipped on the next, its probe on the same schedule."""
    url = postgres_server.database("breaker_handover")
    Ledger(url).close()  # the agent's ledger migrates first
    clock = {"now": 1000.0}
    dying_openai = ProviderHealth("openai", threshold=3, probe_interval=30, clock=lambda: clock["now"])
    for _ in range(3):
        dying_openai.record_failure(dying_openai.admit(), "TransientError: 503", 5.0)
    assert dying_openai.skipping
    clock["now"] += 12.0  # skipped for 12 s when it dies
    dying = await ActiveLease(url, "dying", 1.0, breakers={"openai": dying_openai}).start()
    await wait_until(lambda: dying.active)
    await dying.tick()  # one heartbeat: the breaker is published
    await dying._conn.close()  # its process dies: the session ends, the lock goes

    fresh_openai = ProviderHealth("openai", threshold=3, probe_interval=30, clock=lambda: clock["now"])
    taking_over = await ActiveLease(url, "taking-over", 1.0, breakers={"openai": fresh_openai}).start()
    try:
        await wait_until(lambda: taking_over.active)
        assert fresh_openai.failures == 3 and fresh_openai.skipping
        assert not fresh_openai.admit().allowed  # no probe yet: 12 of its 30 s had passed
        clock["now"] += 18.5
        assert fresh_openai.admit().probe  # due when it would have been on the dead replica
    finally:
        await taking_over.stop()
        dying._task.cancel()


async def test_a_standby_shows_the_active_replicas_breakers(postgres_server):
    """Every replica skips OpenAI together: the standby's status says what the active one lives with."""
    url = postgres_server.database("breaker_mirror")
    Ledger(url).close()
    clock = {"now": 1000.0}
    active_openai = ProviderHealth("openai", threshold=3, probe_interval=30, clock=lambda: clock["now"])
    standby_openai = ProviderHealth("openai", threshold=3, probe_interval=30, clock=lambda: clock["now"])
    active = await ActiveLease(url, "active-one", 5.0, breakers={"openai": active_openai}).start()
    standby = ActiveLease(url, "standby-one", 5.0, breakers={"openai": standby_openai})
    await standby._connect()  # ticked by hand below
    try:
        await wait_until(lambda: active.active)
        for _ in range(3):
            active_openai.record_failure(active_openai.admit(), "TransientError: 503", 5.0)
        await active.tick()
        await standby.tick()
        assert standby_openai.skipping and not standby.active
        assert not standby_openai.admit().allowed
        clock["now"] += 30
        probe = active_openai.admit()
        assert probe.probe
        active_openai.record_success(probe, 80.0)  # OpenAI is back
        await active.tick()
        await standby.tick()
        assert not standby_openai.skipping
    finally:
        await active.stop()
        await standby.stop()


async def test_a_pause_set_on_the_dying_replica_holds_on_the_next(pair):
    async with pair.participant(ORGANIZER_SEED) as organizer, pair.participant("told-to-wait") as carol:
        assert (await organizer.ask("pause Pizza at 8pm!")).startswith("Paused")
        await wait_until(lambda: not pair.standin.mailboxes[pair.replicas["alpha"].address])
        pair.replicas["alpha"].stop(signal.SIGKILL)
        assert await carol.ask("I want pizza", timeout=30) == "Pizza at 8pm!"
    assert pair.active() == "beta"
    assert "controls read from the ledger: paused" in pair.replicas["beta"].logs()


async def test_a_pause_pressed_on_the_standbys_dashboard_holds_on_the_active_replica(pair):
    """Each replica serves its own dashboard: a switch flipped on any of them reaches the one answering."""
    assert (await pair.dashboard("beta", "pause", "Pizza at 8pm!")).startswith("Paused")
    await wait_until(lambda: "controls read from the ledger: paused" in pair.replicas["alpha"].logs())
    async with pair.participant("told-by-the-standby") as dave:
        assert await dave.ask("I want pizza") == "Pizza at 8pm!"
        await pair.dashboard("beta", "resume")
        await wait_until(lambda: "controls read from the ledger: running" in pair.replicas["alpha"].logs())
        assert "story prompt" in await dave.ask("I want pizza")
    assert pair.active() == "alpha"


async def test_every_replica_hears_a_switch_change_even_one_that_was_away(postgres_server):
    """NOTIFY reaches listeners at commit; a listener that lost its connection reads the switches again."""
    url = postgres_server.database("controls_notify")
    ledger = Ledger(url)
    heard: asyncio.Queue[str | None] = asyncio.Queue()

    async def read_again() -> None:
        await heard.put(ledger.controls.get("pause"))

    listener = await ControlsListener(url, read_again).start()
    try:
        await asyncio.wait_for(listener.listening.wait(), 10)
        ledger.controls.set("pause", '{"message": ""}', "organizer")
        assert await asyncio.wait_for(heard.get(), 10) == '{"message": ""}'
        # Its session ends (a restarted database, a dropped link) and a switch changes meanwhile.
        ledger.db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE 'LISTEN%%' AND pid <> pg_backend_pid()"
        )
        ledger.db.execute("DELETE FROM controls WHERE name='pause'")  # no notification sent
        assert await asyncio.wait_for(heard.get(), 10) is None  # read again after reconnecting
    finally:
        await listener.stop()
        ledger.close()


# --- local mode: replicas on one machine, on different ports, one DATA_DIR --------------------------------
@pytest.fixture
async def local_pair(tmp_path, postgres_server) -> AsyncIterator[Pair]:
    url = postgres_server.database(f"local_{tmp_path.name}"[:60].lower().replace("-", "_"))
    env = {
        "AGENT_MODE": "local",
        "LEDGER_URL": url,
        "AGENT_SEED": "replicated-agent-seed-0123456789",
        "COUPON_SECRET": "replicated-coupon-secret-0123456789",
        "FAILOVER_SECONDS": str(FAILOVER),
        "ORGANIZER_ADDRESSES": Identity.from_seed(ORGANIZER_SEED, 0).address,
    }
    shared = tmp_path / "data"  # both replicas share it: one peers/ folder, one agent.json listing both
    replicas = {
        name: AgentProcess(shared, REPLICA_NAME=name, shared_data_dir=True, **env) for name in ("alpha", "beta")
    }
    running = Pair(None, url, replicas)  # type: ignore[arg-type]
    await replicas["alpha"].start(ready=lambda: running.active() == "alpha")
    await replicas["beta"].start(ready=lambda: len(AgentRef.from_data_dir(shared).endpoints) == 2)
    yield running
    for replica in replicas.values():
        replica.stop()


async def test_local_replicas_list_both_endpoints_and_only_the_active_one_answers(local_pair):
    alpha, beta = local_pair.replicas["alpha"], local_pair.replicas["beta"]
    ref = AgentRef.from_data_dir(alpha.data_dir)
    assert ref.endpoints == (alpha.endpoint, beta.endpoint)  # the active replica first
    standby_only = AgentRef(ref.address, beta.endpoint)
    async with ChatClient("standby-knocks", standby_only, alpha.data_dir / "peers", reach_seconds=0.5) as knock:
        status, body = await knock.send_model(ChatMessage(content=[TextContent(text="I want pizza")]))
    assert status == 503 and "standby" in body  # a sender goes on to the next endpoint
    async with ChatClient("anyone", ref, alpha.data_dir / "peers") as anyone:
        assert "story prompt" in await anyone.ask("I want pizza")
    assert "outcome=prompt" not in beta.logs()
    async with ChatClient(ORGANIZER_SEED, ref, alpha.data_dir / "peers") as organizer:
        status = await organizer.ask("status")
    line = next(line for line in status.splitlines() if line.startswith("replicas:"))
    assert line.startswith("replicas: this is alpha (active); answering on its endpoint: alpha; seen: alpha (active")


async def test_kill_9_of_the_active_local_replica_the_sender_moves_on_to_the_next_endpoint(local_pair):
    alpha, beta = local_pair.replicas["alpha"], local_pair.replicas["beta"]
    async with ChatClient(
        "through-the-crash", AgentRef.from_data_dir(alpha.data_dir), alpha.data_dir / "peers"
    ) as erin:
        assert "story prompt" in await erin.ask("I want pizza")
        alpha.stop(signal.SIGKILL)
        killed_at = time.monotonic()
        code = CODE_PATTERN.search(await erin.ask(STORY, timeout=30)).group(0)
        gap = time.monotonic() - killed_at
    assert local_pair.active() == "beta"
    assert gap < FAILOVER + 3
    assert [c.code for c in local_pair.coupons()] == [code]
    # The dead one is dropped from the list once it has been silent for FAILOVER_SECONDS.
    await wait_until(lambda: AgentRef.from_data_dir(beta.data_dir).endpoints == (beta.endpoint,))


async def test_a_standby_calls_no_provider_not_even_to_score_a_story_again(tmp_path, postgres_server, asi1_server):
    """While ASI1 is down every re-scoring round tries it: only the active replica's rounds may."""
    asi1_server.set_fault("error-503")
    keys = {
        name: {
            "ASI1_API_KEY": f"asi1-key-of-{name}-0123456789",
            "ASI1_BASE_URL": asi1_server.base_url,
            "RESCORE_SECONDS": "1",  # rounds every second: two of alpha's come quickly, beta had its turns too
            "FAILOVER_SECONDS": "15",  # a loaded machine's stall is no takeover here: beta stays the standby
        }
        for name in ("alpha", "beta")
    }
    async with running_pair(tmp_path, postgres_server, **keys) as pair:
        ledger = Ledger(pair.url)
        try:  # a story the heuristic scored while ASI1 was down, waiting for ASI1
            ledger.coupons.issue(
                Issuance("agent1qwaiting", "basic", 5, "heuristic", "ok", "a prompt", "h"),
                CouponSigner("c" * 32).new_code,
            )
            ledger.state.queue_rescore("agent1qwaiting", STORY)
        finally:
            ledger.close()

        def asked_by(name: str) -> int:
            return sum(keys[name]["ASI1_API_KEY"] in r.authorization for r in asi1_server.requests_for("score-story"))

        await wait_until(lambda: asked_by("alpha") >= 1, timeout=30)  # the active replica's round
        rounds = asked_by("alpha")
        await wait_until(lambda: asked_by("alpha") > rounds, timeout=30)  # and its next: beta had a round too
        # beta asks nobody while it stands by. (If a loaded machine froze alpha long enough for beta to take the
        # lease, beta was the active replica for a while, and its rounds were its duty: the log says so.)
        beta_asked, beta_was_active = asked_by("beta"), "took over" in pair.replicas["beta"].logs()
    # (Counted before the pair stops: alpha stops first, and beta then takes over, as it should.)
    assert beta_was_active or beta_asked == 0


async def test_the_agent_outlives_its_database_sessions_ending(tmp_path, postgres_server):
    """A managed PostgreSQL restarts at dinner: every session of the agent ends under it."""
    url = postgres_server.database("sessions_end")
    agent = await AgentProcess(
        tmp_path / "data",
        AGENT_MODE="local",
        LEDGER_URL=url,
        AGENT_SEED="replicated-agent-seed-0123456789",
        COUPON_SECRET="replicated-coupon-secret-0123456789",
    ).start()
    try:
        async with agent.client("outlives-the-restart") as frank:
            assert "story prompt" in await frank.ask("I want pizza")
            ledger = Ledger(url)
            try:
                ledger.db.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            finally:
                ledger.close()
            replies = [await frank.ask(STORY)]
            while "coupon book is busy" in replies[-1] and len(replies) < 5:
                await asyncio.sleep(1.0)  # as the reply asks: send it again a moment later
                replies.append(await frank.ask(STORY))
        assert CODE_PATTERN.search(replies[-1]), replies
        assert [c.code for c in Ledger(url).coupons.all()] == [CODE_PATTERN.search(replies[-1]).group(0)]
        assert "Traceback" not in agent.logs()
    finally:
        agent.stop()


async def test_a_replica_name_in_use_is_refused_but_a_crashed_replicas_name_is_free(tmp_path, postgres_server):
    """Two machines cloned from one image, both `pizza:8000`: the second must not pass for the first."""
    url = postgres_server.database("replica_names")
    env = {
        "AGENT_MODE": "local",
        "LEDGER_URL": url,
        "AGENT_SEED": "replicated-agent-seed-0123456789",
        "COUPON_SECRET": "replicated-coupon-secret-0123456789",
        "REPLICA_NAME": "pizza-1",
    }
    first = await AgentProcess(tmp_path / "one" / "data", **env).start()
    clone = AgentProcess(tmp_path / "two" / "data", **env)
    try:
        await wait_until(lambda: "answers on its endpoint (active)" in first.logs())
        with pytest.raises(RuntimeError, match="exited with 2"):
            await clone.start()
        assert "REPLICA_NAME pizza-1 is used by a running replica" in clone.logs()
        first.stop(signal.SIGKILL)  # its session ends with it: the name is free for the restart
        restarted = await AgentProcess(tmp_path / "one" / "data", **env).start()
        restarted.stop()
    finally:
        first.stop()
        clone.stop()


async def test_chat_py_rides_out_a_local_takeover_quietly(local_pair):
    alpha = local_pair.replicas["alpha"]
    alpha.stop(signal.SIGKILL)  # agent.json still lists it first: chat.py finds it dead, then beta standing by
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROJECT_DIR / "chat.py"),
        "--seed",
        "chatting-through-it",
        "I want pizza",
        env=base_env(alpha.data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, (out, err)
    assert "story prompt" in out.decode()
    assert "Traceback" not in err.decode() and "stamina" not in err.decode()
    assert local_pair.active() == "beta"


async def test_the_standbys_dashboard_says_it_is_the_standby_and_who_answers(pair):
    port = int(pair.replicas["beta"].env["DASHBOARD_PORT"])
    await wait_until(lambda: f"dashboard on http://127.0.0.1:{port}/" in pair.replicas["beta"].logs())
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(f"http://127.0.0.1:{port}/login")
            await page.fill("input[name=name]", "Sam")
            await page.fill("input[name=token]", DASHBOARD_TOKEN)
            await page.click("button[type=submit]")
            replicas = page.locator("#replicas")
            await expect(replicas).to_contain_text("this is beta (standby)", timeout=10_000)
            await expect(replicas).to_contain_text("polling the mailbox: alpha")
        finally:
            await browser.close()


async def test_with_the_database_down_a_local_endpoint_still_answers_instead_of_a_503():
    """Nobody can hold the lease while PostgreSQL is away (and no coupon can be issued): the local
    endpoint keeps answering, so a participant is told "the coupon book is busy", not sent a 503."""
    from pizza_agent.rehearsal.postgres_server import TemporaryPostgres

    server = TemporaryPostgres().start()
    lease = None
    try:
        url = server.database("outage")
        Ledger(url).close()
        lease = await ActiveLease(url, "alone", 2.0, serves="endpoint").start()
        await wait_until(lambda: lease.active)
        assert lease.may_answer()
        server.stop()  # the database goes away
        await wait_until(lambda: lease.database_down, timeout=20)
        assert not lease.is_active()  # it cannot renew: as far as the lease goes it stands by...
        assert lease.may_answer()  # ...but nobody else can be active either: it answers ("busy")
    finally:
        server.stop()
        if lease is not None:
            lease._task.cancel()


async def test_handled_message_ids_wait_while_the_database_is_unreachable():
    """A managed PostgreSQL restarting: the bookkeeping connection cannot be opened again for a moment. The ids
    wait for the next write (the message was answered), and nothing escapes into the chat handler."""
    from pizza_agent.app.composition import LedgerHandledStore
    from pizza_agent.ledger.worker import LedgerWorker
    from pizza_agent.rehearsal.postgres_server import TemporaryPostgres

    server = TemporaryPostgres().start()
    try:
        ledger = Ledger(server.database("restarting"))
        store = LedgerHandledStore(LedgerWorker(ledger))
        server.stop()  # the database goes away before the first id is written (its own connection opens then)
        assert not await store.remember([("during", time.time() + 60)])  # not taken now; tried again later
        assert not await store.seen("during")  # unknown: the message is handled, never dropped
    finally:
        server.stop()
