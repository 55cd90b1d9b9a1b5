"""The meals drill: a whole event plan played in compressed time against the real agent.

    python agent.py drill --plan drills/two-meals.toml [--speed 60] [--participants 100]
        [--roster] [--shared-sender K] [--asi1-outage] [--replicas 2]

The agent runs with EVENT_PLAN and PLAN_CLOCK=file:…; the drill moves that clock (the agent
reads the same one) to each meal's start and lets it run `--speed` times faster than real time
while the participants play the meal: (roster mode, the first time) the badge's claim code, a
request for pizza, the diet answer (the first time only), a story, and a second story (which
must get the same coupon). Between two meals, and after the last, a sample of participants
writes, and must be told when the next meal is (or the closing line) with no story scored.

The joints an organizer's event puts together, each a switch:
- `--roster`: the participants are imported from a registration export and link their badges.
- `--shared-sender K`: K of them write through one sender address, each in a chat of their own
  (ten people behind one platform address); in roster mode each is their own person, in
  address mode they are one.
- `--asi1-outage`: ASI1 (a local fault provider) is down while the first half of each meal's
  participants are served (the local heuristic scores, capped) and back for the second half; the
  stories scored meanwhile are scored again and every upgrade must reach its own chat.
- `--replicas 2`: two replicas on one real PostgreSQL; the active one is killed (kill -9) in the
  middle of the first meal and the other takes over. A participant who hears nothing for
  `RETRY_AFTER` seconds asks again, as a person would (counted in the table).

Per meal the table gives: messages answered, coupons per tier and per diet, second coupons
within the meal (must be 0), upgrades and how many reached their chat, whether every person's
last code seen equals the ledger's, the right replies outside the windows, and whether the
dashboard's order sheet (the CSV the vendor downloads) equals the meal's issued coupons.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp
from uagents_core.identity import Identity

from pizza_agent.client.chat_client import AgentRef, ChatClient, ChatSession
from pizza_agent.ledger.codes import CODE_PATTERN
from pizza_agent.ledger.store import Ledger
from pizza_agent.plan.model import Meal, Plan, PlanError, load_plan
from pizza_agent.rehearsal.agent_process import AgentProcess, free_port, provider_env
from pizza_agent.rehearsal.fault_provider import FaultProvider
from pizza_agent.rehearsal.postgres_server import TemporaryPostgres
from pizza_agent.rehearsal.registrations import import_roster
from pizza_agent.workarounds.fast_crypto import use_libsecp256k1

REPLY_TIMEOUT = 30.0
# With replicas, a message the killed replica had accepted but not answered is lost (docs/deploy.md):
# the participant asks again after this long, as a person looking at an unanswered chat would.
RETRY_AFTER = 10.0
# Upgrades and re-scores owed at the end of a meal must be settled within this long.
SETTLE_SECONDS = 120.0
BETWEEN_SAMPLE = 20
# Participants in a meal's queue at once: a thousand people do not all type in the same second.
AT_ONCE = 100
ORGANIZER_SEED = "meal-drill-organizer"
VENDOR_TOKEN = "meal-drill-vendor-token-0123456789abcdef"
STORY = (
    "At 3 a.m. our robot arm learned to slice pizza, then it refused to stop, and the judges had to eat "
    "their way through the demo while we fixed the loop. Every slice it cut was perfectly even, which was "
    "more than we could say for our code. My teammate tried to unplug it, but the arm had learned to guard "
    "the power strip with a pizza cutter. In the end we shipped a patch from under the table, the arm took "
    "a bow, and the judges asked whether it could also make coffee for the closing ceremony tomorrow."
)


@dataclass
class Options:
    participants: int = 100
    speed: float = 60.0
    roster: bool = False
    shared_sender: int = 0
    asi1_outage: bool = False
    replicas: int = 1

    def describe(self) -> str:
        parts = ["roster mode" if self.roster else "address mode"]
        if self.shared_sender:
            parts.append(f"{self.shared_sender} behind one sender")
        if self.asi1_outage:
            parts.append("ASI1 down for the first half of each meal")
        if self.replicas > 1:
            parts.append(f"{self.replicas} replicas on PostgreSQL, the active one killed mid-meal")
        return ", ".join(parts)


@dataclass
class Person:
    """One participant: the chat they write in, and the last code they were shown per meal."""

    index: int
    chat: ChatSession
    claim_code: str | None = None
    diet_told: bool = False
    last_code: dict[str, str] = field(default_factory=dict)


@dataclass
class MealRow:
    meal: Meal
    answered: int = 0
    coupons: Counter = field(default_factory=Counter)  # (tier, diet) -> n
    people: int = 0  # persons holding one of the meal's coupons
    expected: int = 0
    second_coupons: int = 0
    unanswered: int = 0
    asked_again: int = 0
    upgrades: int = 0
    upgrades_heard: int = 0
    not_delivered: int = 0
    last_code_wrong: int = 0
    sheet: Counter | None = None  # the dashboard's order sheet, live column: (tier, diet) -> n
    orders_match: bool = False
    between_right: int = 0
    between_asked: int = 0
    latencies: list[float] = field(default_factory=list)


class MealDrill:
    def __init__(self, plan_path: Path, plan: Plan, options: Options, workdir: Path) -> None:
        self.plan_path, self.plan, self.options, self.workdir = plan_path, plan, options, workdir
        self.clock_file = workdir / "clock"
        self.data = workdir / "data"
        self.rows = [MealRow(meal) for meal in plan.meals]
        self.queue = asyncio.Semaphore(AT_ONCE)
        self.replicas: dict[str, AgentProcess] = {}
        self.postgres: TemporaryPostgres | None = None
        self.ledger_url: str | None = None
        self.asi1: FaultProvider | None = None
        self.killed: dict[str, object] = {}
        self.served = 0  # participants done with the current meal (the kill waits for half of them)

    def at(self, when: object) -> None:
        self.clock_file.write_text(f"{when:%Y-%m-%dT%H:%M:%S}@{self.options.speed:g}")  # type: ignore[str-format]

    # --- the event: ledger, providers, replicas, roster -------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {
            "EVENT_PLAN": str(self.plan_path.resolve()),
            "PLAN_CLOCK": f"file:{self.clock_file}",
            "SENDER_RATE_LIMIT": "1000",
            "LOG_LEVEL": "WARNING",
            "ORGANIZER_ADDRESSES": Identity.from_seed(ORGANIZER_SEED, 0).address,
            "VENDOR_TOKEN": VENDOR_TOKEN,
            "DASHBOARD_TOKEN": "meal-drill-dashboard-token-0123456789abcdef",
            "PARTICIPANTS": "roster" if self.options.roster else "address",
            "RESCORE_SECONDS": "1",
        }
        if self.asi1 is not None:
            env.update(provider_env(None, self.asi1.base_url, ASI1_RETRY_COUNT="1", ASI1_PROBE_INTERVAL="1"))
            # The stand-in judge scores STORY 7 and the heuristic is capped at standard: with premium
            # from 7, every story scored during the outage is owed an upgrade once ASI1 is back.
            env["TIER_PREMIUM_MIN"] = "7"
        if self.ledger_url is not None:
            env.update(
                LEDGER_URL=self.ledger_url,
                AGENT_SEED="meal-drill-replicated-seed-0123456789",
                COUPON_SECRET="meal-drill-replicated-coupon-secret-0123456789",
                FAILOVER_SECONDS="3",
            )
        return env

    async def _start_agents(self, env: dict[str, str]) -> None:
        if self.options.replicas == 1:
            agent = AgentProcess(self.data, DASHBOARD_PORT=str(free_port()), **env)
            self.replicas["solo"] = await agent.start()
            return
        names = [f"replica-{chr(ord('a') + i)}" for i in range(self.options.replicas)]
        for name in names:  # one DATA_DIR: one agent.json listing every replica's endpoint, active first
            self.replicas[name] = AgentProcess(
                self.data, REPLICA_NAME=name, DASHBOARD_PORT=str(free_port()), shared_data_dir=True, **env
            )
        await self.replicas[names[0]].start(ready=lambda: self._lease_holder() == names[0])
        for name in names[1:]:
            await self.replicas[name].start(ready=lambda: len(AgentRef.from_data_dir(self.data).endpoints) > 1)

    def _lease_holder(self) -> str | None:
        ledger = Ledger(self.ledger_url or self.data / "ledger.sqlite3")
        try:
            row = ledger.db.execute("SELECT holder FROM leases WHERE name='active'").fetchone()
        finally:
            ledger.close()
        return row[0] if row else None

    def _client(self, seed: str) -> ChatClient:
        return ChatClient(seed, AgentRef.from_data_dir(self.data), self.data / "peers")

    async def run(self) -> list[MealRow]:
        if self.options.replicas > 1:
            self.postgres = TemporaryPostgres().start()
            self.ledger_url = self.postgres.database("meal_drill")
        if self.options.asi1_outage:
            self.asi1 = await FaultProvider().start()
        env = self._env()
        claim_codes: list[str | None] = [None] * self.options.participants
        if self.options.roster:
            ledger_env = {k: env[k] for k in ("LEDGER_URL", "COUPON_SECRET", "AGENT_SEED") if k in env}
            names = [f"Drill{i:04d} Person" for i in range(self.options.participants)]
            codes = import_roster(self.data, names, **ledger_env)
            claim_codes = [codes[f"Drill{i:04d} P."] for i in range(self.options.participants)]
        first = self.plan.meals[0]
        self.at(first.starts - timedelta(minutes=30))  # type: ignore[operator]
        clients: list[ChatClient] = []
        try:
            await self._start_agents(env)
            self.organizer = self._client(ORGANIZER_SEED)
            people = self._people(clients, claim_codes)
            await asyncio.gather(self.organizer.start(), *(c.start() for c in clients))
            await self._play(people)
        finally:
            await asyncio.gather(*(c.stop() for c in clients))
            if hasattr(self, "organizer"):
                await self.organizer.stop()
            for replica in self.replicas.values():
                await replica.shutdown()
            if self.asi1 is not None:
                await self.asi1.stop()
        self._count_from_ledger(people)
        if self.postgres is not None:
            self.postgres.stop()
        return self.rows

    def _people(self, clients: list[ChatClient], claim_codes: list[str | None]) -> list[Person]:
        """Everyone's chat: the first `shared_sender` share one sender, each in a chat session of their own."""
        people = []
        shared = self._client("meal-drill-shared-sender") if self.options.shared_sender else None
        if shared is not None:
            clients.append(shared)
        for i in range(self.options.participants):
            if shared is not None and i < self.options.shared_sender:
                client = shared
            else:
                client = self._client(f"meal-drill-{i}")
                clients.append(client)
            people.append(Person(i, client.chat(), claim_codes[i]))
        return people

    async def _play(self, people: list[Person]) -> None:
        for index, row in enumerate(self.rows):
            row.expected = self._expected_people()
            self.at(row.meal.starts + timedelta(minutes=1))  # type: ignore[operator]
            self.served = 0
            killer = None
            if index == 0 and self.options.replicas > 1:
                killer = asyncio.create_task(self._kill_the_active_replica(len(people) // 2))
            if self.asi1 is not None:
                half = len(people) // 2
                self.asi1.set_fault("error-503")
                await asyncio.gather(*(self._eat(p, row) for p in people[:half]))
                self.asi1.set_fault("ok")
                await asyncio.gather(*(self._eat(p, row) for p in people[half:]))
            else:
                await asyncio.gather(*(self._eat(p, row) for p in people))
            if killer is not None:
                await killer
            await self._settle(row)
            self._hear_later_messages(people, row)
            await self._check_order_sheet(row)
            self.at(row.meal.ends + timedelta(minutes=5))  # type: ignore[operator]
            upcoming = self.rows[index + 1].meal if index + 1 < len(self.rows) else None
            await asyncio.gather(*(self._between(p, row, upcoming) for p in people[:BETWEEN_SAMPLE]))

    def _expected_people(self) -> int:
        """Persons who should eat: in address mode the people behind one sender are one person."""
        shared = self.options.shared_sender
        if self.options.roster or shared <= 1:
            return self.options.participants
        return self.options.participants - shared + 1

    async def _kill_the_active_replica(self, after: int) -> None:
        while self.served < after:
            await asyncio.sleep(0.05)  # polling the drill's own progress: the middle of the meal
        holder = self._lease_holder()
        if holder is None or holder not in self.replicas:
            return
        killed_at = time.monotonic()
        self.replicas[holder].stop(signal.SIGKILL)
        self.killed = {"killed": holder, "after": after}
        while time.monotonic() - killed_at < 60:
            now_holder = self._lease_holder()
            if now_holder and now_holder != holder:
                self.killed.update(taken_by=now_holder, takeover_seconds=round(time.monotonic() - killed_at, 2))
                return
            await asyncio.sleep(0.05)  # polling for the takeover, with a bound

    def _alive(self) -> AgentProcess:
        holder = self._lease_holder()
        if holder in self.replicas:
            return self.replicas[holder]  # type: ignore[index]
        return next(r for r in self.replicas.values() if r.proc is not None and r.proc.poll() is None)

    # --- one participant ----------------------------------------------------------------------------------
    async def _ask(self, person: Person, text: str, row: MealRow) -> str:
        started = time.monotonic()
        retry = RETRY_AFTER if self.options.replicas > 1 else REPLY_TIMEOUT
        try:
            reply = await person.chat.ask(text, timeout=retry)
        except TimeoutError:
            if self.options.replicas == 1:
                raise
            row.asked_again += 1
            reply = await person.chat.ask(text, timeout=REPLY_TIMEOUT)
        row.latencies.append(time.monotonic() - started)
        row.answered += 1
        if code := CODE_PATTERN.search(reply):
            person.last_code[row.meal.id] = code.group(0)
        return reply

    async def _eat(self, person: Person, row: MealRow) -> None:
        async with self.queue:
            try:
                await self._meal_of(person, row)
            except (TimeoutError, OSError, RuntimeError, aiohttp.ClientError) as exc:  # counted in the table
                row.unanswered += 1
                print(f"participant {person.index}: {type(exc).__name__}: {exc}", file=sys.stderr)
            finally:
                self.served += 1

    async def _meal_of(self, person: Person, row: MealRow) -> None:
        choices = self.plan.diets_for(row.meal)
        if person.claim_code is not None:
            await self._ask(person, person.claim_code, row)
            person.claim_code = None  # the badge is linked to this chat from now on
        reply = await self._ask(person, "I want pizza", row)
        if "what do you eat?" in reply:
            person.diet_told = True
            await self._ask(person, str(person.index % len(choices) + 1), row)
        first = CODE_PATTERN.search(await self._ask(person, STORY, row))
        second = CODE_PATTERN.search(await self._ask(person, STORY + " Again!", row))
        if first and second and first.group(0) != second.group(0):
            row.second_coupons += 1

    async def _between(self, person: Person, row: MealRow, upcoming: Meal | None) -> None:
        reply = await person.chat.ask(STORY, timeout=REPLY_TIMEOUT)
        row.between_asked += 1
        expected = f"The next meal is {upcoming.name}" if upcoming else "That was the last meal"
        row.between_right += expected in reply and CODE_PATTERN.search(reply) is None

    # --- after the meal: upgrades owed, what people heard, the order sheet ----------------------------------
    async def _settle(self, row: MealRow) -> None:
        """Waits until no story waits for ASI1 and no new code waits to be sent (or the bound passes)."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            status = json.loads(await self.organizer.ask("status json", timeout=REPLY_TIMEOUT))
            stats = status["ledger"]
            # Keyless, stories wait for an ASI1 that never comes: only the messages owed are waited for.
            rescoring = self.asi1 is not None and stats.get("rescore_waiting")
            if not rescoring and not stats.get("messages_waiting"):
                row.not_delivered = int(stats.get("messages_not_delivered") or 0)
                return
            await asyncio.sleep(0.5)  # polling the agent's own status, with a deadline
        row.not_delivered = -1  # not settled: shown as such in the table

    def _hear_later_messages(self, people: list[Person], row: MealRow) -> None:
        """New codes the agent sent into each chat after its replies (approvals, upgrades)."""
        for person in people:
            while not person.chat.inbox.empty():
                text = person.chat.inbox.get_nowait().text()
                if code := CODE_PATTERN.search(text):
                    row.upgrades_heard += code.group(0) != person.last_code.get(row.meal.id)
                    person.last_code[row.meal.id] = code.group(0)

    async def _check_order_sheet(self, row: MealRow) -> None:
        """The CSV the vendor downloads from the dashboard, its live column: kept for the comparison."""
        url = f"http://127.0.0.1:{self._alive().env['DASHBOARD_PORT']}/orders/{row.meal.id}.csv"
        headers = {"Authorization": f"Bearer {VENDOR_TOKEN}"}
        async with aiohttp.ClientSession(headers=headers) as http, http.get(url) as response:
            text = await response.text()
        listed: Counter = Counter()
        for line in csv.DictReader(io.StringIO(text)):
            if line["tier"] in ("premium", "standard", "basic") and line["live"]:
                listed[(line["tier"], line["diet"])] += int(line["live"])
        row.sheet = +listed

    def _count_from_ledger(self, people: list[Person]) -> None:
        ledger = Ledger(self.ledger_url or self.data / "ledger.sqlite3", read_only=self.ledger_url is None)
        try:
            coupons = ledger.coupons.all()
            replaced = ledger.coupons.replaced()
        finally:
            ledger.close()
        for row in self.rows:
            mine = [c for c in coupons if c.meal == row.meal.id and c.voided_at is None]
            row.coupons = Counter((c.tier, c.diet) for c in mine)
            row.people = len({c.person for c in mine})
            row.upgrades = sum(1 for c in replaced if c.meal == row.meal.id)
            row.orders_match = row.sheet == +row.coupons and row.people == len(mine)
            codes = {c.code for c in mine}
            row.last_code_wrong = sum(1 for p in people if p.last_code.get(row.meal.id) not in codes)


def table(rows: list[MealRow]) -> tuple[str, list[str]]:
    lines = [
        "| meal | answered | coupons | per tier | per diet | second coupons | outside the window | order sheet | "
        "reply p95 | asked again | upgrades (reached their chat) | not delivered | last code seen = ledger |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    failures = []
    for row in rows:
        tiers, diets = Counter(), Counter()
        for (tier, diet), n in row.coupons.items():
            tiers[tier] += n
            diets[diet] += n
        ordered = sorted(row.latencies)
        p95 = f"{ordered[int(0.95 * (len(ordered) - 1))]:.2f}s" if ordered else "-"
        delivered = "not settled" if row.not_delivered < 0 else str(row.not_delivered)
        lines.append(
            f"| {row.meal.name} | {row.answered} | {sum(tiers.values())} | "
            + ", ".join(f"{t} {n}" for t, n in sorted(tiers.items()))
            + " | "
            + ", ".join(f"{d} {n}" for d, n in sorted(diets.items()))
            + f" | {row.second_coupons} | {row.between_right}/{row.between_asked} right | "
            f"{'equal' if row.orders_match else 'DIFFERS'} | {p95} | {row.asked_again} | "
            f"{row.upgrades} ({row.upgrades_heard}) | {delivered} | "
            f"{'yes' if not row.last_code_wrong else f'{row.last_code_wrong} differ'} |"
        )
        failures += _broken(row, sum(tiers.values()))
    return "\n".join(lines), failures


def _broken(row: MealRow, issued: int) -> list[str]:
    name = row.meal.name
    checks = [
        (issued != row.expected, f"{name}: {issued} coupons for {row.expected} people"),
        (row.people != issued, f"{name}: {issued - row.people} second coupons for one person"),
        (row.unanswered > 0, f"{name}: {row.unanswered} participants not answered"),
        (row.second_coupons > 0, f"{name}: {row.second_coupons} second coupons within the meal"),
        (row.between_right != row.between_asked, f"after {name}: {row.between_asked - row.between_right} wrong"),
        (not row.orders_match, f"{name}: the order sheet's counts differ from the issued coupons"),
        (row.not_delivered != 0, f"{name}: new codes not delivered ({row.not_delivered}; -1: not settled)"),
        (row.upgrades_heard != row.upgrades, f"{name}: {row.upgrades} upgrades, {row.upgrades_heard} heard"),
        (row.last_code_wrong > 0, f"{name}: {row.last_code_wrong} people last saw a code the ledger does not hold"),
    ]
    return [text for failed, text in checks if failed]


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="agent.py drill --plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", type=Path, required=True, help="the event plan to play (TOML)")
    parser.add_argument("--speed", type=float, default=60.0, help="event seconds per real second (default 60)")
    parser.add_argument("--participants", type=int, default=100, help="participants (default 100)")
    parser.add_argument("--roster", action="store_true", help="roster mode: attendees imported, badges linked")
    parser.add_argument("--shared-sender", type=int, default=0, metavar="K", help="K participants behind one sender")
    parser.add_argument(
        "--asi1-outage", action="store_true", help="ASI1 down for the first half of each meal (upgrades owed)"
    )
    parser.add_argument(
        "--replicas", type=int, default=1, help="replicas on one PostgreSQL; the active one is killed mid-meal"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    if args.participants < 1 or args.speed <= 0 or args.replicas < 1:
        print("--participants and --replicas must be at least 1 and --speed more than 0", file=sys.stderr)
        return 2
    if not 0 <= args.shared_sender <= args.participants:
        print("--shared-sender must be between 0 and --participants", file=sys.stderr)
        return 2
    try:
        plan = load_plan(args.plan)
    except PlanError as exc:
        for problem in exc.problems:
            print(f"{args.plan}: {problem}", file=sys.stderr)
        return 2
    options = Options(args.participants, args.speed, args.roster, args.shared_sender, args.asi1_outage, args.replicas)
    use_libsecp256k1()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pizza-meal-drill-") as tmp:
        drill = MealDrill(args.plan, plan, options, Path(tmp))
        rows = asyncio.run(drill.run())
    text, failures = table(rows)
    print(
        f"drill --plan {args.plan.name}: {plan.name}, {len(plan.meals)} meals, {args.participants} participants "
        f"({options.describe()}), clock ×{args.speed:g}, {time.monotonic() - started:.0f}s"
    )
    if drill.killed:
        k = drill.killed
        print(
            f"failover: kill -9 of {k['killed']} after {k['after']} participants of the first meal; "
            f"{k.get('taken_by')} took over in {k.get('takeover_seconds')}s"
        )
        if not k.get("taken_by"):
            failures.append("nobody took over after the kill")
    print(text)
    for failure in failures:
        print(f"BROKEN: {failure}")
    print("every promise kept" if not failures else f"{len(failures)} promise(s) broken")
    return 1 if failures else 0
