"""The outage drill: the real agent, N simulated participants, and providers failing on a timeline.

    python agent.py drill [--participants 200] [--timeline drills/default.toml] [--hostile]
    python agent.py drill --via agentverse [--rtt-ms 100]
    python agent.py drill --via agentverse --replicas 2 --kill-active-at 20s

Runs on a laptop with no keys and no internet: two local misbehaving providers
(OpenAI and ASI1), the agent in local mode on a free loopback port, and N
participants who each ask for a prompt and send a story over real uAgents
messages, arriving evenly while the fault timeline plays. An organizer identity
samples `status json` to follow the failure counter and the layers used.
With `--via agentverse` the agent runs in agentverse mode against the local
Agentverse stand-in (optionally with a WAN round trip added to every mailbox
call), and every participant and the organizer talk to it the way ASI:One
does: through the mailbox, a session opened by a message with no text, every
reply acknowledged.

It exits non-zero if anyone went unanswered, waited past REPLY_DEADLINE, got a
doubled coupon or none, or OpenAI was probed more than once per probe interval
while skipped: it can gate a deploy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import signal
import sys
import tempfile
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from uagents_core.identity import Identity

from pizza_agent.client.chat_client import Participant
from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import CODE_PATTERN
from pizza_agent.ledger.store import Ledger
from pizza_agent.rehearsal.agent_process import AgentProcess, provider_env
from pizza_agent.rehearsal.agentverse_standin import AgentverseStandIn, Faults
from pizza_agent.rehearsal.asi_one import MailboxParticipant
from pizza_agent.rehearsal.attacker import Attacker
from pizza_agent.rehearsal.fault_provider import FaultProvider, is_fault
from pizza_agent.rehearsal.postgres_server import TemporaryPostgres
from pizza_agent.workarounds.fast_crypto import use_libsecp256k1

DEFAULT_TIMELINE = PROJECT_DIR / "drills" / "default.toml"
ORGANIZER_SEED = "pizza-drill-organizer"
SAMPLE_EVERY_SECONDS = 0.5
# --hostile: rejected 60 KB envelopes sent during the run, and the memory growth allowed meanwhile.
HOSTILE_BIG_ENVELOPES = 10_000
HOSTILE_RSS_GROWTH_MB = 30
# --kill-active-at: the standby must hold the mailbox within this many seconds of the kill.
FAILOVER_TARGET_SECONDS = 6.0
# Participants arrive over this share of the timeline, so the last ones finish inside it.
ARRIVAL_SHARE = 0.85
STORIES = [
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon; the demo ran on pepperoni power.",
    "Our rubber duck refused to help debug until we fed it a slice, then it found the race condition in one quack.",
    "The Wi-Fi died before judging, so we routed packets through the pizza oven and shipped with a crispy crust.",
    "A drone delivered pizza to the wrong table, joined our team, and wrote the cleanest code of the weekend.",
]


@dataclass(frozen=True)
class Phase:
    name: str
    seconds: float
    openai: str
    asi1: str


@dataclass(frozen=True)
class Timeline:
    phases: list[Phase]
    agent_env: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> Timeline:
        doc = tomllib.loads(path.read_text())
        phases = [Phase(p["name"], float(p["seconds"]), p["openai"], p["asi1"]) for p in doc.get("phase", [])]
        if not phases:
            raise ValueError(f"{path.name}: no [[phase]] entries")
        for phase in phases:
            for fault in (phase.openai, phase.asi1):
                if not is_fault(fault):
                    raise ValueError(f"{path.name}: phase {phase.name!r} has unknown fault {fault!r}")
        return cls(phases, {k: str(v) for k, v in doc.get("agent", {}).items()})

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.phases)

    def phase_at(self, offset: float) -> str:
        for phase in self.phases:
            if offset < phase.seconds:
                return phase.name
            offset -= phase.seconds
        return self.phases[-1].name


@dataclass
class Exchange:
    participant: int
    kind: str  # prompt | story
    phase: str
    latency: float | None  # None: unanswered
    text: str = ""
    sent_at: float | None = None  # seconds from the drill's start


@dataclass
class Sample:
    at: float
    phase: str
    status: dict


@dataclass
class DrillResult:
    participants: int
    deadline: float
    exchanges: list[Exchange] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    phase_usage: dict[str, Counter] = field(default_factory=dict)
    codes_seen: dict[str, str] = field(default_factory=dict)  # participant address -> code received
    ledger_codes: dict[str, str] = field(default_factory=dict)  # participant address -> code on record
    ledger_tiers: dict[str, str] = field(default_factory=dict)
    openai_requests_while_skipped: int = 0
    allowed_probes: int = 0
    memory_kb: dict[str, int] = field(default_factory=dict)
    peak_rss_kb: int = 0
    seconds: float = 0.0
    hostile: str | None = None  # the attack mix's summary, for `--hostile`
    big_envelopes: int = 0
    rss_series_kb: list[int] = field(default_factory=list)  # sampled every second
    path: str = "local HTTP (loopback)"
    failover: dict | None = None  # --kill-active-at: who was killed, when, who took over, how fast
    extra_replies: int = 0  # replies nobody was waiting for (a message answered twice)

    @property
    def rss_growth_mb(self) -> float:
        if len(self.rss_series_kb) < 2:
            return 0.0
        return (max(self.rss_series_kb) - self.rss_series_kb[0]) / 1024

    # --- the verdict -------------------------------------------------------------
    @property
    def unanswered(self) -> int:
        return sum(1 for e in self.exchanges if e.latency is None)

    @property
    def late(self) -> int:
        return sum(1 for e in self.exchanges if e.latency is not None and e.latency > self.deadline)

    @property
    def duplicates(self) -> int:
        codes = list(self.ledger_codes.values())
        return len(codes) - len(set(codes))

    @property
    def without_coupon(self) -> int:
        return self.participants - len(self.ledger_codes)

    @property
    def mismatched(self) -> int:
        return sum(1 for a, code in self.codes_seen.items() if self.ledger_codes.get(a) != code)

    def failures(self) -> list[str]:
        problems = []
        if self.unanswered:
            problems.append(f"{self.unanswered} message(s) unanswered")
        if self.late:
            problems.append(f"{self.late} reply(ies) later than REPLY_DEADLINE={self.deadline:g}s")
        if self.duplicates:
            problems.append(f"{self.duplicates} duplicate coupon(s)")
        if self.without_coupon:
            problems.append(f"{self.without_coupon} participant(s) without a coupon")
        if self.mismatched:
            problems.append(f"{self.mismatched} participant(s) told a code the ledger does not hold for them")
        if self.openai_requests_while_skipped > self.allowed_probes:
            problems.append(
                f"OpenAI got {self.openai_requests_while_skipped} requests while skipped "
                f"(at most {self.allowed_probes}: one per probe interval)"
            )
        if self.failover is not None and not self.failover.get("taken_by"):
            problems.append(f"nobody took over after {self.failover['killed']} was killed")
        if self.failover is not None and (self.failover.get("takeover_seconds") or 99) > FAILOVER_TARGET_SECONDS:
            problems.append(
                f"the failover took {self.failover.get('takeover_seconds')}s (at most {FAILOVER_TARGET_SECONDS:g})"
            )
        if self.hostile is not None and self.rss_growth_mb > HOSTILE_RSS_GROWTH_MB:
            problems.append(f"the agent's memory grew {self.rss_growth_mb:.0f} MB under attack (at most 30)")
        return problems

    def table(self, timeline: Timeline) -> str:
        lines = [
            f"Drill: {self.participants} participants, {len(self.exchanges)} messages, {self.seconds:.1f}s",
            f"path: {self.path}",
        ]
        answered = len(self.exchanges) - self.unanswered
        lines.append(
            f"answered {answered}/{len(self.exchanges)} · within {self.deadline:g}s deadline "
            f"{answered - self.late}/{len(self.exchanges)}"
        )
        lines.append("")
        lines.append(f"{'phase':<24}{'msgs':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  layers (step:layer=count)")
        for phase in timeline.phases:
            waits = sorted(e.latency * 1000 for e in self.exchanges if e.phase == phase.name and e.latency is not None)
            usage = self.phase_usage.get(phase.name, Counter())
            layers = ", ".join(f"{k}={v}" for k, v in sorted(usage.items()) if v) or "-"
            lines.append(
                f"{phase.name:<24}{len(waits):>6}{_pct(waits, 50):>9}{_pct(waits, 95):>9}{_pct(waits, 99):>9}  {layers}"
            )
        lines.append("")
        series = " ".join(str(s.status.get("failures", "?")) for s in self.samples[:: max(1, len(self.samples) // 60)])
        lines.append(f"OpenAI failure counter over time: {series}")
        final = self.samples[-1].status if self.samples else {}
        probes = final.get("providers", {}).get("openai", {}).get("probes_sent", 0)
        lines.append(
            f"probes to OpenAI while skipped: {probes} (agent's count); requests reaching OpenAI while skipped: "
            f"{self.openai_requests_while_skipped}, allowed {self.allowed_probes}"
        )
        hedges = final.get("hedges", {})
        lines.append(
            "hedges: "
            + (
                " · ".join(
                    f"{chain} {h['silent'] + h['speculative']} of {h['calls']} calls ({h['rate']:.1%}: "
                    f"silent {h['silent']}, slow {h['speculative']}, won {h['won']})"
                    for chain, h in hedges.items()
                )
                or "-"
            )
        )
        spend = final.get("spend", {})
        lines.append(
            "spend: "
            + (
                " · ".join(
                    f"{name} ${entry['cost_usd']:.4f} ({entry['prompt_tokens']}+{entry['completion_tokens']} tokens)"
                    for name, entry in spend.items()
                )
                or "-"
            )
        )
        coupons = max(1, len(self.ledger_codes))
        tokens = sum(entry["prompt_tokens"] + entry["completion_tokens"] for entry in spend.values())
        cost = sum(entry["cost_usd"] for entry in spend.values())
        lines.append(f"per coupon: {tokens / coupons:.0f} tokens, ${cost / coupons:.5f} (all providers, all messages)")
        issued = Counter(self.ledger_tiers.values())
        lines.append(
            f"coupons issued {len(self.ledger_codes)} ({', '.join(f'{t} {n}' for t, n in sorted(issued.items()))}) · "
            f"duplicates {self.duplicates} · participants without a coupon {self.without_coupon}"
        )
        if self.hostile is not None:
            honest = sorted(e.latency * 1000 for e in self.exchanges if e.latency is not None)
            lines.append(
                f"honest participants under attack: p50 {_pct(honest, 50)} ms · p99 {_pct(honest, 99)} ms · "
                f"max {_pct(honest, 100)} ms"
            )
            lines.append(f"attacks: {self.hostile}")
            series = self.rss_series_kb[:: max(1, len(self.rss_series_kb) // 20)]
            lines.append(
                "agent RSS over time (MB): "
                + " ".join(f"{kb / 1024:.0f}" for kb in series)
                + f" · growth {self.rss_growth_mb:.1f} MB while {self.big_envelopes} rejected 60 KB envelopes arrived"
            )
        rss = self.memory_kb.get("VmRSS", 0) / 1024
        if self.failover is not None:
            f = self.failover
            waits = [
                e.latency
                for e in self.exchanges
                if e.latency is not None
                and e.sent_at is not None
                and e.sent_at <= f["at_seconds"] + (f.get("takeover_seconds") or 0)
                and e.sent_at + e.latency >= f["at_seconds"]
            ]
            lines.append(
                f"failover: kill -9 of {f['killed']} (active) at {f['at_seconds']:.1f}s; "
                + (
                    f"{f['taken_by']} took over the mailbox {f['takeover_seconds']:.2f}s later"
                    if f.get("taken_by")
                    else "NOBODY took over"
                )
                + f"; {len(waits)} message(s) in flight across it, longest wait {max(waits, default=0):.2f}s"
                + f"; replies nobody waited for: {self.extra_replies}"
            )
        hwm = max(self.memory_kb.get("VmHWM", 0), self.peak_rss_kb) / 1024
        lines.append(f"agent memory: RSS {rss:.0f} MB at the end, peak {hwm:.0f} MB")
        problems = self.failures()
        lines.append("")
        lines.append("RESULT: PASS" if not problems else "RESULT: FAIL — " + "; ".join(problems))
        return "\n".join(lines)


def _pct(values: list[float], pct: int) -> str:
    if not values:
        return "-"
    index = min(len(values) - 1, max(0, math.ceil(pct / 100 * len(values)) - 1))
    return f"{values[index]:.0f}"


class Progress:
    """A one-line progress bar on stderr (hand-written: one line does not deserve a dependency)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.phase, self.failures = "", 0

    def show(self) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / max(1, self.total))
        bar = "#" * filled + "-" * (width - filled)
        sys.stderr.write(
            f"\r[{bar}] {self.done}/{self.total} participants · {self.phase:<24} · OpenAI failures={self.failures} "
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


class Drill:
    """One run: providers, the agent, participants, an organizer sampling status, the timeline."""

    def __init__(
        self,
        participants: int,
        timeline: Timeline,
        workdir: Path,
        progress: bool,
        hostile: bool = False,
        via: str = "http",
        rtt_ms: float = 0.0,
        replicas: int = 1,
        kill_active_at: float | None = None,
    ) -> None:
        self.via = via
        self.replica_count = replicas
        self.kill_active_at = kill_active_at
        self.postgres: TemporaryPostgres | None = None
        self.replicas: dict[str, AgentProcess] = {}
        self.ledger_url: str | None = None
        self.rtt_ms = rtt_ms
        self.standin: AgentverseStandIn | None = None
        self.timeline = timeline
        self.workdir = workdir
        self.count = participants
        self.bar = Progress(participants, progress)
        self.started = 0.0
        self.hostile = hostile

    async def run(self) -> DrillResult:
        use_libsecp256k1()  # the simulated participants' signatures cost the drill's process less
        self.openai, self.asi1 = await FaultProvider().start(), await FaultProvider().start()
        env = provider_env(
            self.openai.base_url,
            self.asi1.base_url,
            ORGANIZER_ADDRESSES=Identity.from_seed(ORGANIZER_SEED, 0).address,
            LOG_LEVEL="WARNING",
            SENDER_RATE_LIMIT="1000",
            **self.timeline.agent_env,
        )
        ready = None
        if self.via == "agentverse":
            self.standin = await AgentverseStandIn(Faults(rtt=self.rtt_ms / 1000)).start()
            env.update(
                AGENT_MODE="agentverse", AGENTVERSE_URL=self.standin.url, AGENTVERSE_API_KEY="drill-agentverse-key"
            )
            standin = self.standin

            def ready() -> bool:  # the agent has polled its (connected) mailbox once
                return any(r.method == "GET" and r.path.endswith("/mailbox") and r.status == 200 for r in standin.log)

        if self.replica_count > 1:
            self.agent = await self._start_replicas(env)
        else:
            self.agent = await AgentProcess(self.workdir / "data", **env).start(ready)
        self.result = DrillResult(self.count, float(env.get("REPLY_DEADLINE", "10")))
        self.result.path = (
            f"agentverse mailbox (stand-in, +{self.rtt_ms:g} ms per mailbox call)"
            if self.standin
            else "local HTTP (loopback)"
        )
        if self.replica_count > 1:
            self.result.path += f"; {self.replica_count} replicas on one PostgreSQL"
        self.clients = [self._participant_client(f"drill-participant-{i}") for i in range(self.count)]
        self.org = self._participant_client(ORGANIZER_SEED)
        try:
            await asyncio.gather(self.org.start(), *(c.start() for c in self.clients))
            await self._play_everything()
        finally:
            self.bar.close()
            await asyncio.gather(self.org.stop(), *(c.stop() for c in self.clients))
            for replica in self.replicas.values() or [self.agent]:
                await replica.shutdown()  # the stand-in in this loop keeps answering while it exits
            await self.openai.stop()
            await self.asi1.stop()
            if self.standin is not None:
                await self.standin.stop()
        self._read_ledger()
        if self.postgres is not None:
            self.postgres.stop()
        return self.result

    async def _start_replicas(self, env: dict[str, str]) -> AgentProcess:
        """A real PostgreSQL, then N replicas with one seed, one coupon secret, one LEDGER_URL; the first active."""
        self.postgres = TemporaryPostgres().start()
        self.ledger_url = self.postgres.database("drill")
        env = {
            **env,
            "LEDGER_URL": self.ledger_url,
            "AGENT_SEED": "drill-replicated-seed-0123456789",
            "COUPON_SECRET": "drill-replicated-coupon-secret-0123456789",
        }
        names = [f"replica-{chr(ord('a') + i)}" for i in range(self.replica_count)]
        for name in names:
            self.replicas[name] = AgentProcess(self.workdir / name / "data", REPLICA_NAME=name, **env)
        first = names[0]
        await self.replicas[first].start(ready=lambda: self._lease_holder() == first)
        await asyncio.gather(*(self.replicas[name].start() for name in names[1:]))
        return self.replicas[first]

    def _lease_holder(self) -> str | None:
        assert self.ledger_url is not None
        ledger = Ledger(self.ledger_url)
        try:
            row = ledger.db.execute("SELECT holder, taken_at FROM leases WHERE name='active'").fetchone()
        finally:
            ledger.close()
        return row[0] if row else None

    async def _kill_the_active_replica(self) -> None:
        assert self.kill_active_at is not None
        await asyncio.sleep(self.kill_active_at)  # the moment the timeline says
        holder = self._lease_holder()
        if holder is None or holder not in self.replicas:
            return
        killed_at = time.monotonic()
        self.replicas[holder].stop(signal.SIGKILL)
        self.result.failover = {"killed": holder, "at_seconds": round(killed_at - self.started, 1)}
        while True:  # until another replica holds the lease
            await asyncio.sleep(0.05)  # polling for the takeover
            now_holder = self._lease_holder()
            if now_holder and now_holder != holder:
                self.result.failover.update(
                    taken_by=now_holder, takeover_seconds=round(time.monotonic() - killed_at, 2)
                )
                self.agent = self.replicas[now_holder]
                break
            if time.monotonic() - killed_at > 60:
                self.result.failover.update(taken_by=None, takeover_seconds=None)
                break

    def _participant_client(self, seed: str) -> Participant:
        if self.standin is not None:
            return MailboxParticipant(seed, self.standin, self.agent.address)
        return self.agent.client(seed)

    async def _play_everything(self) -> None:
        self.started = time.monotonic()
        done = asyncio.Event()
        sampling = asyncio.create_task(self._sample_until(done))
        memory = asyncio.create_task(self._sample_memory(done))
        attacker = None
        if self.hostile:
            victims = [c.address for c in self.clients]
            attacker = Attacker(
                self.agent.address, self.agent.endpoint, self.agent.port, victims, HOSTILE_BIG_ENVELOPES
            )
            await attacker.start()
        killer = asyncio.create_task(self._kill_the_active_replica()) if self.kill_active_at is not None else None
        try:
            await asyncio.gather(self._play_timeline(), *(self._participant(i, c) for i, c in enumerate(self.clients)))
        finally:
            if killer is not None:
                await killer
            if attacker is not None:
                await attacker.stop()
                self.result.hostile = attacker.counts.summary()
                self.result.big_envelopes = attacker.counts.sent["big rejected envelope"]
        done.set()
        await sampling
        await memory
        self.result.samples.append(Sample(time.monotonic(), self.timeline.phases[-1].name, await self._status()))
        self.result.memory_kb = self.agent.memory_kb()
        self.result.seconds = time.monotonic() - self.started
        _probe_check(self.result, self.openai, self.timeline)

    async def _sample_memory(self, done: asyncio.Event) -> None:
        while not done.is_set():
            rss = self.agent.memory_kb().get("VmRSS")
            if rss:
                self.result.rss_series_kb.append(rss)
            await asyncio.sleep(1.0)  # the sampling period

    async def _status(self) -> dict:
        return json.loads(await self.org.ask("status json", timeout=30))

    async def _sample_until(self, done: asyncio.Event) -> None:
        while not done.is_set():
            phase = self.timeline.phase_at(time.monotonic() - self.started)
            snapshot = await self._status()
            self.result.samples.append(Sample(time.monotonic(), phase, snapshot))
            self.bar.failures = snapshot.get("failures", 0)
            self.bar.show()
            await asyncio.sleep(SAMPLE_EVERY_SECONDS)  # the sampling period, not a wait for luck

    async def _play_timeline(self) -> None:
        previous = await self._status()
        for phase in self.timeline.phases:
            self.openai.set_fault(phase.openai)
            self.asi1.set_fault(phase.asi1)
            self.bar.phase = phase.name
            await asyncio.sleep(phase.seconds)  # the phase's length is the point of a timeline
            current = await self._status()
            usage = Counter(current["layer_usage"])
            usage.subtract(previous["layer_usage"])
            # After a failover the counts are another replica's: a negative difference means "unknown".
            self.result.phase_usage[phase.name] = +usage
            previous = current

    async def _participant(self, i: int, client: Participant) -> None:
        await asyncio.sleep(i * self.timeline.seconds * ARRIVAL_SHARE / max(1, self.count))  # arrivals
        for kind, text in (("prompt", "Hi! I want pizza"), ("story", f"{STORIES[i % len(STORIES)]} ({i})")):
            phase = self.timeline.phase_at(time.monotonic() - self.started)
            sent = time.monotonic()
            try:
                await client.send(text)
                reply = (await client.next_reply(timeout=self.result.deadline + 20)).text()
            except (TimeoutError, RuntimeError, OSError):
                self.result.exchanges.append(Exchange(i, kind, phase, None))
                break
            self.result.exchanges.append(Exchange(i, kind, phase, time.monotonic() - sent, reply, sent - self.started))
            if kind == "story" and (match := CODE_PATTERN.search(reply)):
                self.result.codes_seen[client.address] = match.group(0)
        self.bar.done += 1
        self.bar.show()

    def _read_ledger(self) -> None:
        self.result.extra_replies = sum(c.inbox.qsize() for c in self.clients)
        ledger = Ledger(self.ledger_url or self.agent.data_dir / "ledger.sqlite3")
        addresses = {c.address for c in self.clients}
        mine = [c for c in ledger.coupons.all() if c.person in addresses]
        self.result.ledger_codes = {c.person: c.code for c in mine}
        self.result.ledger_tiers = {c.person: c.tier for c in mine}
        ledger.close()


async def run_drill(
    participants: int,
    timeline: Timeline,
    workdir: Path,
    *,
    progress: bool = True,
    hostile: bool = False,
    via: str = "http",
    rtt_ms: float = 0.0,
    replicas: int = 1,
    kill_active_at: float | None = None,
) -> tuple[DrillResult, Timeline]:
    drill = Drill(participants, timeline, workdir, progress, hostile, via, rtt_ms, replicas, kill_active_at)
    return await drill.run(), timeline


def _probe_check(result: DrillResult, openai: FaultProvider, timeline: Timeline) -> None:
    """While OpenAI is skipped, requests reaching it must be probes: at most one per interval."""
    interval = float(timeline.agent_env.get("OPENAI_PROBE_INTERVAL", "30"))
    threshold = int(timeline.agent_env.get("OPENAI_FAILURE_THRESHOLD", "3"))
    spans: list[tuple[float, float]] = []
    start = None
    for sample in result.samples:
        skipping = sample.status.get("failures", 0) >= threshold
        if skipping and start is None:
            start = sample.at
        elif not skipping and start is not None:
            spans.append((start, sample.at))
            start = None
    if start is not None:
        spans.append((start, result.samples[-1].at))
    # Requests already in flight at the trip arrive before it; a second of slack keeps them out.
    # A span ends at the first request OpenAI answered (the successful probe): it serves again
    # from there, even if the next status sample comes a little later.
    count = 0
    for a, b in spans:
        for request in sorted((r for r in openai.requests if a + 1.0 < r.at < b), key=lambda r: r.at):
            count += 1
            if request.fault == "ok" or request.fault.startswith("slow-"):
                break
    result.openai_requests_while_skipped = count
    result.allowed_probes = sum(int((b - a) // interval) + 1 for a, b in spans)


def _seconds(text: str) -> float:
    """`20`, `20s` or `1.5s`: seconds into the run."""
    try:
        value = float(text.removesuffix("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r} (e.g. 20s)") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more seconds")
    return value


def main(argv: list[str]) -> int:
    import argparse

    if "--plan" in argv:
        from pizza_agent.rehearsal.meal_drill import main as meal_main

        return meal_main(argv)
    if "--sybil" in argv or "--shared-sender" in argv:
        from pizza_agent.rehearsal.people_drill import main as people_main

        return people_main(argv)

    parser = argparse.ArgumentParser(
        prog="agent.py drill",
        description=__doc__.split("\n\n")[0] + "\n\n" + __doc__.split("\n\n")[2],
        epilog="exit codes: 0 every promise kept · 1 a promise broken (the table says which) · 2 bad arguments\n"
        "example: python agent.py drill --participants 200 --timeline drills/default.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--participants", type=int, default=200, help="simulated participants (default 200)")
    parser.add_argument("--timeline", type=Path, default=DEFAULT_TIMELINE, help="fault timeline (TOML)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (it only shows on a terminal anyway)")
    parser.add_argument(
        "--hostile",
        action="store_true",
        help="an attacker mix beside the honest participants (big rejected envelopes, reply suppression, "
        "uppercase addresses, half-open connections, nested JSON, guard-cost stories)",
    )
    parser.add_argument(
        "--via",
        choices=["http", "agentverse"],
        default="http",
        help="http: participants post to the agent's local endpoint (default) · agentverse: the agent in agentverse "
        "mode, participants reach it through the local Agentverse stand-in's mailbox, as from ASI:One",
    )
    parser.add_argument(
        "--rtt-ms", type=float, default=0.0, help="with --via agentverse: milliseconds added to every mailbox call"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="with --via agentverse: this many replicas on one real PostgreSQL (one polls, the others stand by)",
    )
    parser.add_argument(
        "--kill-active-at",
        type=_seconds,
        help="with --replicas 2 or more: kill -9 the active replica this far into the run (e.g. 20s)",
    )
    args = parser.parse_args(argv)
    if args.replicas < 1 or (args.replicas > 1 and args.via != "agentverse"):
        print(
            "--replicas needs --via agentverse and at least 1: the drill rehearses the mailbox, which keeps "
            "what a dying replica had taken (local replicas: tests/test_replicas.py and docs/deploy.md)",
            file=sys.stderr,
        )
        return 2
    if args.kill_active_at is not None and args.replicas < 2:
        print("--kill-active-at needs --replicas 2 or more (someone must take over)", file=sys.stderr)
        return 2
    if args.rtt_ms < 0 or (args.rtt_ms and args.via != "agentverse"):
        print("--rtt-ms needs --via agentverse and a value of 0 or more", file=sys.stderr)
        return 2
    if args.hostile and args.via == "agentverse":
        print("--hostile attacks the local HTTP endpoint: run it without --via agentverse", file=sys.stderr)
        return 2
    if args.participants < 1:
        print(f"--participants must be at least 1 (got {args.participants})", file=sys.stderr)
        return 2
    try:
        timeline = Timeline.load(args.timeline)
    except OSError as exc:
        print(f"cannot read the timeline {args.timeline}: {exc.strerror}", file=sys.stderr)
        return 2
    except (ValueError, KeyError, TypeError) as exc:
        print(f"the timeline {args.timeline} is not valid: {exc}", file=sys.stderr)
        return 2
    print(
        f"Drill: {args.participants} participants over {timeline.seconds:.0f}s, "
        f"timeline {args.timeline.name}: "
        + " → ".join(p.name for p in timeline.phases)
        + (f", via the Agentverse stand-in (+{args.rtt_ms:g} ms per mailbox call)" if args.via == "agentverse" else ""),
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="pizza-drill-") as tmp:
        progress = not args.quiet and sys.stderr.isatty()
        result, _ = asyncio.run(
            run_drill(
                args.participants,
                timeline,
                Path(tmp),
                progress=progress,
                hostile=args.hostile,
                via=args.via,
                rtt_ms=args.rtt_ms,
                replicas=args.replicas,
                kill_active_at=args.kill_active_at,
            )
        )
    print(result.table(timeline))
    return 1 if result.failures() else 0
