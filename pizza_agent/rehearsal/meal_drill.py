"""The meals drill: a whole event plan played in compressed time against the real agent.

    python agent.py drill --plan drills/two-meals.toml [--speed 60] [--participants 100]

The agent runs with EVENT_PLAN and PLAN_CLOCK=file:…; the drill moves that clock (the
agent reads the same one) to each meal's start and lets it run `--speed` times faster
than real time while the participants play the meal: a request for pizza, the diet
answer (the first time only), a story, and a second story (which must get the same
coupon). Between two meals, and after the last, a sample of participants writes, and
must be told when the next meal is (or the closing line) with no story scored. Per
meal the table gives: messages answered, coupons per tier and per diet, second
coupons within the meal (must be 0), the right replies outside the windows, and
whether the order sheet's counts equal the meal's issued coupons exactly.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp

from pizza_agent.client.chat_client import ChatClient
from pizza_agent.ledger.codes import CODE_PATTERN
from pizza_agent.ledger.store import Ledger
from pizza_agent.plan.model import Meal, Plan, PlanError, load_plan
from pizza_agent.rehearsal.agent_process import AgentProcess
from pizza_agent.workarounds.fast_crypto import use_libsecp256k1

REPLY_TIMEOUT = 30.0
BETWEEN_SAMPLE = 20
# Participants in a meal's queue at once: a thousand people do not all type in the same second.
AT_ONCE = 100
STORY = (
    "At 3 a.m. our robot arm learned to slice pizza, then it refused to stop, and the judges "
    "had to eat their way through the demo while we fixed the loop."
)


@dataclass
class MealRow:
    meal: Meal
    answered: int = 0
    coupons: Counter = field(default_factory=Counter)  # (tier, diet) -> n
    second_coupons: int = 0
    unanswered: int = 0
    orders_match: bool = False
    between_right: int = 0
    between_asked: int = 0
    latencies: list[float] = field(default_factory=list)


class MealDrill:
    def __init__(self, plan_path: Path, plan: Plan, participants: int, speed: float, workdir: Path) -> None:
        self.plan_path, self.plan, self.count, self.speed, self.workdir = plan_path, plan, participants, speed, workdir
        self.clock_file = workdir / "clock"
        self.rows = [MealRow(meal) for meal in plan.meals]
        self.diet_told: set[int] = set()
        self.queue = asyncio.Semaphore(AT_ONCE)

    def at(self, when: object) -> None:
        self.clock_file.write_text(f"{when:%Y-%m-%dT%H:%M:%S}@{self.speed:g}")  # type: ignore[str-format]

    async def run(self) -> list[MealRow]:
        first = self.plan.meals[0]
        self.at(first.starts - timedelta(minutes=30))  # type: ignore[operator]
        agent = await AgentProcess(
            self.workdir / "data",
            EVENT_PLAN=str(self.plan_path.resolve()),
            PLAN_CLOCK=f"file:{self.clock_file}",
            SENDER_RATE_LIMIT="1000",
            LOG_LEVEL="WARNING",
        ).start()
        self.agent = agent
        clients = [agent.client(f"meal-drill-{i}") for i in range(self.count)]
        try:
            await asyncio.gather(*(c.start() for c in clients))
            for index, row in enumerate(self.rows):
                self.at(row.meal.starts + timedelta(minutes=1))  # type: ignore[operator]
                await asyncio.gather(*(self._eat(i, c, row) for i, c in enumerate(clients)))
                after = row.meal.ends + timedelta(minutes=5)  # type: ignore[operator]
                self.at(after)
                upcoming = self.rows[index + 1].meal if index + 1 < len(self.rows) else None
                await asyncio.gather(*(self._between(c, row, upcoming) for c in clients[:BETWEEN_SAMPLE]))
        finally:
            await asyncio.gather(*(c.stop() for c in clients))
            agent.stop()
        self._count_from_ledger()
        return self.rows

    async def _ask(self, client: ChatClient, text: str, row: MealRow) -> str:
        started = time.monotonic()
        reply = await client.ask(text, timeout=REPLY_TIMEOUT)
        row.latencies.append(time.monotonic() - started)
        row.answered += 1
        return reply

    async def _eat(self, i: int, client: ChatClient, row: MealRow) -> None:
        async with self.queue:
            try:
                await self._meal_of(i, client, row)
            except (TimeoutError, OSError, RuntimeError, aiohttp.ClientError) as exc:  # counted in the table
                row.unanswered += 1
                print(f"participant {i}: {type(exc).__name__}: {exc}", file=sys.stderr)

    async def _meal_of(self, i: int, client: ChatClient, row: MealRow) -> None:
        choices = self.plan.diets_for(row.meal)
        prompt = await self._ask(client, "I want pizza", row)
        if "what do you eat?" in prompt:
            self.diet_told.add(i)
            await self._ask(client, str(i % len(choices) + 1), row)
        first = CODE_PATTERN.search(await self._ask(client, STORY, row))
        second = CODE_PATTERN.search(await self._ask(client, STORY + " Again!", row))
        if first and second and first.group(0) != second.group(0):
            row.second_coupons += 1

    async def _between(self, client: ChatClient, row: MealRow, upcoming: Meal | None) -> None:
        reply = await client.ask(STORY, timeout=REPLY_TIMEOUT)
        row.between_asked += 1
        expected = f"The next meal is {upcoming.name}" if upcoming else "That was the last meal"
        row.between_right += expected in reply and CODE_PATTERN.search(reply) is None

    def _count_from_ledger(self) -> None:
        ledger = Ledger(self.agent.data_dir / "ledger.sqlite3", read_only=True)
        try:
            coupons = ledger.coupons.all()
            orders = ledger.coupons.orders()
        finally:
            ledger.close()
        for row in self.rows:
            mine = [c for c in coupons if c.meal == row.meal.id and c.voided_at is None]
            row.coupons = Counter((c.tier, c.diet) for c in mine)
            listed = Counter({(t, d): n for t, diets in orders.get(row.meal.id, {}).items() for d, n in diets.items()})
            row.orders_match = listed == row.coupons and len(mine) == len({c.person for c in mine})


def table(rows: list[MealRow], participants: int) -> tuple[str, list[str]]:
    lines = [
        "| meal | answered | coupons | per tier | per diet | second coupons | outside the window | order sheet | "
        "reply p95 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    failures = []
    for row in rows:
        tiers, diets = Counter(), Counter()
        for (tier, diet), n in row.coupons.items():
            tiers[tier] += n
            diets[diet] += n
        ordered = sorted(row.latencies)
        p95 = f"{ordered[int(0.95 * (len(ordered) - 1))]:.2f}s" if ordered else "-"
        lines.append(
            f"| {row.meal.name} | {row.answered} | {sum(tiers.values())} | "
            + ", ".join(f"{t} {n}" for t, n in sorted(tiers.items()))
            + " | "
            + ", ".join(f"{d} {n}" for d, n in sorted(diets.items()))
            + f" | {row.second_coupons} | {row.between_right}/{row.between_asked} right | "
            f"{'equal' if row.orders_match else 'DIFFERS'} | {p95} |"
        )
        if sum(tiers.values()) != participants:
            failures.append(f"{row.meal.name}: {sum(tiers.values())} coupons for {participants} participants")
        if row.unanswered:
            failures.append(f"{row.meal.name}: {row.unanswered} participants not answered")
        if row.second_coupons:
            failures.append(f"{row.meal.name}: {row.second_coupons} second coupons within the meal")
        if row.between_right != row.between_asked:
            failures.append(f"after {row.meal.name}: {row.between_asked - row.between_right} wrong replies")
        if not row.orders_match:
            failures.append(f"{row.meal.name}: the order sheet's counts differ from the issued coupons")
    return "\n".join(lines), failures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="agent.py drill --plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--plan", type=Path, required=True, help="the event plan to play (TOML)")
    parser.add_argument("--speed", type=float, default=60.0, help="event seconds per real second (default 60)")
    parser.add_argument("--participants", type=int, default=100, help="participants (default 100)")
    args = parser.parse_args(argv)
    if args.participants < 1 or args.speed <= 0:
        print("--participants must be at least 1 and --speed more than 0", file=sys.stderr)
        return 2
    try:
        plan = load_plan(args.plan)
    except PlanError as exc:
        for problem in exc.problems:
            print(f"{args.plan}: {problem}", file=sys.stderr)
        return 2
    use_libsecp256k1()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pizza-meal-drill-") as tmp:
        rows = asyncio.run(MealDrill(args.plan, plan, args.participants, args.speed, Path(tmp)).run())
    text, failures = table(rows, args.participants)
    print(
        f"drill --plan {args.plan.name}: {plan.name}, {len(plan.meals)} meals, {args.participants} participants, "
        f"clock ×{args.speed:g}, {time.monotonic() - started:.0f}s"
    )
    print(text)
    for failure in failures:
        print(f"BROKEN: {failure}")
    print("every promise kept" if not failures else f"{len(failures)} promise(s) broken")
    return 1 if failures else 0
