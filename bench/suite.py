"""The suite's own time, as `make test` runs it: `make bench-suite` (add `STRESS=1` for `make test-stress`'s load).

Runs the two passes of `make test` (on `TEST_WORKERS` workers, then the `serial` tests alone),
times each with the wall clock, keeps the ten slowest tests, and adds the run to
bench/results/suite.json (every run is kept: quiet ones and ones under load, so "three in a row"
can be read there), then renders BENCHMARKS.md again. A benchmark, not a test: nothing here
fails a build; the figures are the ones the README and docs/contributing.md quote.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "suite.json"
WORKERS = os.environ.get("TEST_WORKERS", "4")


def run(args: list[str], stress: bool) -> tuple[float, str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    if stress:
        command = [str(ROOT / "scripts" / "with-busy-cores"), *command]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return time.monotonic() - started, done.stdout + done.stderr


def counts(output: str) -> dict[str, int]:
    summary = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    found = {
        word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|error|errors)", summary[-1] if summary else "")
    }
    return {"passed": found.get("passed", 0), "failed": found.get("failed", 0) + found.get("error", 0)}


def slowest(output: str, n: int = 10) -> list[tuple[float, str]]:
    rows = re.findall(r"^([0-9.]+)s (?:call|setup|teardown)\s+(\S+)", output, re.MULTILINE)
    return sorted(((float(s), test) for s, test in rows), reverse=True)[:n]


def main() -> int:
    stress = "--stress" in sys.argv
    parallel_s, parallel = run(["-n", WORKERS, "-m", "not serial", "--durations=10"], stress)
    serial_s, alone = run(["-m", "serial"], stress)
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load": "every core busy (scripts/with-busy-cores)" if stress else "none",
        "workers": int(WORKERS),
        "parallel_s": round(parallel_s, 1),
        "serial_s": round(serial_s, 1),
        "total_s": round(parallel_s + serial_s, 1),
        "tests": {k: counts(parallel)[k] + counts(alone)[k] for k in ("passed", "failed")},
        "slowest": slowest(parallel),
        "failures": re.findall(r"^FAILED (\S+)", parallel + alone, re.MULTILINE),
    }
    runs = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    runs.append(result)
    RESULTS.write_text(json.dumps(runs, indent=1))
    print(json.dumps(result, indent=1))
    (RESULTS.parent / "suite-last-output.txt").write_text(parallel[-20000:] + alone[-5000:])  # what failed, and why
    sys.path.insert(0, str(ROOT))  # the report imports its sections as `bench.*`, as bench/run_all.py runs it
    from bench.report import rerender

    rerender()
    return 0


if __name__ == "__main__":
    sys.exit(main())
