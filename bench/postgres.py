"""The PostgreSQL benchmark (`make bench-postgres`): one replica on PostgreSQL vs SQLite, figure 2's method.

The same agent, the same settings and the same load generator as figure 2 of
`make bench` (20 participants × 10 "I want pizza", each waiting for its reply;
every message records a prompt in the ledger), once with the SQLite file and
once with LEDGER_URL pointing at a real PostgreSQL on loopback (started in a
temporary directory, fsync on as in production), three interleaved rounds,
best of each. Writes bench/results/postgres.json and re-renders BENCHMARKS.md.

The failover drill is its own command (its table goes to bench/results/drill-failover.txt):
    python agent.py drill --via agentverse --rtt-ms 100 --replicas 2 --kill-active-at 20s
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run_all import drive  # noqa: E402
from pizza_agent.rehearsal.agent_process import AgentProcess  # noqa: E402
from pizza_agent.rehearsal.postgres_server import TemporaryPostgres  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SHARED = {"AGENT_SEED": "bench-seed-0123456789abcdef", "COUPON_SECRET": "bench-coupon-secret-0123456789"}


async def main() -> dict:
    with TemporaryPostgres(fsync=True) as pg, tempfile.TemporaryDirectory(prefix="pizza-pg-bench-") as tmp:
        env = {"SENDER_RATE_LIMIT": "100000", "LOG_LEVEL": "WARNING", **SHARED}
        sqlite = await AgentProcess(Path(tmp) / "sqlite", **env).start()
        postgres = await AgentProcess(Path(tmp) / "postgres", LEDGER_URL=pg.database("bench"), **env).start()
        rates: dict[str, list[float]] = {"sqlite": [], "postgresql": []}
        try:
            for _ in range(3):  # interleaved rounds
                rates["sqlite"].append(await drive(sqlite, 20, 10, "I want pizza"))
                rates["postgresql"].append(await drive(postgres, 20, 10, "I want pizza"))
        finally:
            sqlite.stop()
            postgres.stop()
    best = {name: max(values) for name, values in rates.items()}
    return {
        "msgs_per_s": best,
        "ratio": best["postgresql"] / best["sqlite"],
        "rounds": rates,
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


if __name__ == "__main__":
    results = asyncio.run(main())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "postgres.json").write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"static path: PostgreSQL {results['msgs_per_s']['postgresql']:.0f} msg/s, "
        f"SQLite {results['msgs_per_s']['sqlite']:.0f} msg/s: ratio {results['ratio']:.2f}"
    )
    from bench.report import rerender

    rerender()
