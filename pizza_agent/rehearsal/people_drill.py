"""People drills: one coupon per person, whatever addresses they use and however many share one.

    python agent.py drill --sybil [--people 20] [--addresses 4] [--guessers 100]
    python agent.py drill --shared-sender [--people 10]

Each runs the real agent twice, in address mode and in roster mode (a roster imported
with `agent.py roster import`, claim codes derived as the badges print them), with real
signed envelopes on loopback, and prints one table row per mode.

- `--sybil`: N people each try K addresses (every address sends the person's badge code
  and a story); beside them, `--guessers` addresses send 10 made-up claim codes each, and
  the honest people's reply times are measured throughout. Promise (roster mode): exactly
  N coupons, 0 guesses accepted, every honest reply within REPLY_DEADLINE.
- `--shared-sender`: N people through one sender address, each in their own chat session
  (opened as ASI:One opens one). Promises: roster mode, N coupons; address mode, the
  shared-address warning in `status` by the 3rd person's story.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from uagents_core.identity import Identity

from pizza_agent.config.secret_files import read_secret
from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.store import Ledger
from pizza_agent.people.claim_codes import ClaimCodes
from pizza_agent.rehearsal.agent_process import AgentProcess, base_env
from pizza_agent.workarounds.fast_crypto import use_libsecp256k1

ORGANIZER_SEED = "pizza-people-drill-organizer"
REPLY_DEADLINE = 10.0
GUESSES_EACH = 10
STORY = (
    "At 3 a.m. our robot arm learned to slice pizza, then it refused to stop, and the judges "
    "had to eat their way through the demo while we fixed the loop."
)
SHARED_WARNING = "participants may be sharing one address"


@dataclass
class Row:
    mode: str
    people: int
    messages: int = 0
    coupons: int = 0
    guesses: int = 0
    guesses_accepted: int = 0
    latencies: list[float] = field(default_factory=list)
    warned_at: int | None = None  # shared-sender: the person whose story first showed the warning

    def pct(self, q: float) -> str:
        if not self.latencies:
            return "-"
        ordered = sorted(self.latencies)
        return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.2f}s"


async def _agent(workdir: Path, mode: str, people: int) -> tuple[AgentProcess, dict[int, str]]:
    data = workdir / f"data-{mode}"
    codes: dict[int, str] = {}
    if mode == "roster":
        export = workdir / "registrations.csv"
        export.write_text("name,email\n" + "".join(f"Person{i} Drill,p{i}@drill.test\n" for i in range(people)))
        subprocess.run(
            [sys.executable, str(PROJECT_DIR / "agent.py"), "roster", "import", str(export)],
            env=base_env(data),
            check=True,
            capture_output=True,
        )
        claim = ClaimCodes.from_signer(CouponSigner(read_secret(data / "coupon_secret") or ""))
        ledger = Ledger(data / "ledger.sqlite3")
        by_name = {a.display_name: claim.code_for(a.key, a.generation) for a in ledger.roster.everyone()}
        ledger.close()
        codes = {i: by_name[f"Person{i} D."] for i in range(people)}
    agent = AgentProcess(
        data,
        PARTICIPANTS=mode,
        SENDER_RATE_LIMIT="1000",
        LOG_LEVEL="WARNING",
        REPLY_DEADLINE=str(REPLY_DEADLINE),
        ORGANIZER_ADDRESSES=Identity.from_seed(ORGANIZER_SEED, 0).address,
    )
    return await agent.start(), codes


def _count_coupons(agent: AgentProcess) -> int:
    ledger = Ledger(agent.data_dir / "ledger.sqlite3", read_only=True)
    try:
        return len(ledger.coupons.all())
    finally:
        ledger.close()


async def sybil(workdir: Path, mode: str, people: int, addresses: int, guessers: int) -> Row:
    agent, codes = await _agent(workdir, mode, people)
    row = Row(mode, people)
    outsider = ClaimCodes.from_signer(CouponSigner("a-guesser-never-knows-the-secret-0"))

    async def person(i: int) -> None:
        for k in range(addresses):
            async with agent.client(f"sybil-{mode}-{i}-{k}") as client:
                started = time.monotonic()
                await client.ask(f"{codes.get(i, '')} {STORY}".strip(), timeout=REPLY_DEADLINE + 5)
                row.latencies.append(time.monotonic() - started)
                row.messages += 1

    async def guesser(n: int) -> None:
        async with agent.client(f"guesser-{mode}-{n}") as client:
            for k in range(GUESSES_EACH):
                reply = await client.ask(outsider.code_for(f"{n}-{k}", 1), timeout=REPLY_DEADLINE + 5)
                row.guesses += 1
                row.guesses_accepted += reply.startswith("Welcome")

    try:
        await asyncio.gather(*(person(i) for i in range(people)), *(guesser(n) for n in range(guessers)))
    finally:
        agent.stop()
    row.coupons = _count_coupons(agent)
    return row


async def shared_sender(workdir: Path, mode: str, people: int) -> Row:
    agent, codes = await _agent(workdir, mode, people)
    row = Row(mode, people)
    try:
        async with agent.client("one-platform-address") as platform, agent.client(ORGANIZER_SEED) as organizer:
            for i in range(people):
                chat = platform.chat()
                await chat.open()
                started = time.monotonic()
                if mode == "roster":
                    await chat.ask(codes[i], timeout=REPLY_DEADLINE + 5)
                    row.messages += 1
                await chat.ask(STORY, timeout=REPLY_DEADLINE + 5)
                row.latencies.append(time.monotonic() - started)
                row.messages += 1
                if row.warned_at is None and SHARED_WARNING in await organizer.ask("status"):
                    row.warned_at = i + 1
    finally:
        agent.stop()
    row.coupons = _count_coupons(agent)
    return row


def table(kind: str, rows: list[Row], addresses: int = 1) -> tuple[str, list[str]]:
    failures = []
    lines = [
        "| mode | people | addresses each | messages | coupons | guesses (accepted) | shared-address warning "
        "| reply p50 | reply p95 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        warned = "-" if kind == "sybil" else (f"by person {row.warned_at}" if row.warned_at else "never")
        lines.append(
            f"| {row.mode} | {row.people} | {addresses} | {row.messages} | {row.coupons} | "
            f"{row.guesses} ({row.guesses_accepted}) | {warned} | {row.pct(0.5)} | {row.pct(0.95)} |"
        )
        if row.mode == "roster" and row.coupons != row.people:
            failures.append(f"roster mode gave {row.coupons} coupons to {row.people} people")
        if row.guesses_accepted:
            failures.append(f"{row.guesses_accepted} guessed claim codes were accepted")
        if row.latencies and max(row.latencies) > REPLY_DEADLINE:
            failures.append(f"{row.mode}: a reply took {max(row.latencies):.1f}s (REPLY_DEADLINE {REPLY_DEADLINE:g}s)")
        if kind == "shared-sender" and row.mode == "address" and (row.warned_at or 99) > 3:
            failures.append("address mode: the shared-address warning did not show by the 3rd person")
    return "\n".join(lines), failures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="agent.py drill --sybil | --shared-sender",
        description=__doc__.split("\n\n")[0],
        epilog="exit codes: 0 every promise kept · 1 a promise broken (the lines say which) · 2 bad arguments",
    )
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--sybil", action="store_true", help="N people each trying K addresses, and code guessers")
    kind.add_argument("--shared-sender", action="store_true", help="N people through one sender address")
    parser.add_argument("--people", type=int, default=None, help="people (default 20 for --sybil, 10 otherwise)")
    parser.add_argument("--addresses", type=int, default=4, help="--sybil: addresses each person tries (default 4)")
    parser.add_argument("--guessers", type=int, default=100, help="--sybil: addresses guessing 10 codes each")
    args = parser.parse_args(argv)
    people = args.people if args.people is not None else (20 if args.sybil else 10)
    if people < 1 or args.addresses < 1 or args.guessers < 0:
        print("--people and --addresses must be at least 1, --guessers at least 0", file=sys.stderr)
        return 2
    use_libsecp256k1()
    with tempfile.TemporaryDirectory(prefix="pizza-people-drill-") as tmp:
        workdir = Path(tmp)

        async def run() -> list[Row]:
            if args.sybil:
                return [await sybil(workdir, mode, people, args.addresses, args.guessers) for mode in MODES]
            return [await shared_sender(workdir, mode, people) for mode in MODES]

        rows = asyncio.run(run())
    kind_name = "sybil" if args.sybil else "shared-sender"
    text, failures = table(kind_name, rows, args.addresses if args.sybil else 1)
    title = (
        f"drill --sybil: {people} people × {args.addresses} addresses, {args.guessers} guessers × {GUESSES_EACH}"
        if args.sybil
        else f"drill --shared-sender: {people} people through one sender address, one chat session each"
    )
    print(title)
    print(text)
    for failure in failures:
        print(f"BROKEN: {failure}")
    print("every promise kept" if not failures else f"{len(failures)} promise(s) broken")
    return 1 if failures else 0


MODES = ("address", "roster")
