"""Renders BENCHMARKS.md from one run's results (bench/results/latest.json) and the drill tables."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _drill(name: str) -> str:
    path = ROOT / "bench" / "results" / name
    if not path.exists():
        return f"(not run yet: see the command above; it writes bench/results/{name})"
    return "```\n" + path.read_text().strip() + "\n```"


def write_benchmarks(results: dict, machine: str, when: str) -> None:
    o, t, s, n = results["overhead"], results["throughput"], results["silent"], results["onset"]
    rounds = ", ".join(f"{p:.0f}/{e:.0f}" for p, e in zip(t["rounds"]["pizza"], t["rounds"]["echo"], strict=True))
    before = ", ".join(f"{x:.2f}" for x in s["before_trip_s"])
    text = f"""# Benchmarks

Measured {when} on this project's machine kind: {machine}.
Command: `make bench` (runs `bench/run_all.py`, about 3 minutes, writes this file and
`bench/results/latest.json`). Every comparison is taken within one run, the two sides
interleaved where possible, because these machines are noisy; re-running moves the absolute
figures by 10-20 % and the ratios much less.

| # | what | figure | target | |
|---|---|---|---|---|
| 1 | fallback-layer overhead: a task through the provider layer vs the bare SDK call, same local provider answering at once (median) | +{o["layer_added_us"]:.0f} µs ({o["layer_median_us"]:.0f} vs {o["sdk_median_us"]:.0f} µs); the chain alone, no HTTP: +{o["chain_added_us"]:.0f} µs | ≤ 50 µs | {_met(o["layer_added_us"] <= 50)} |
| 2 | throughput, static path (no keys) vs a bare uAgents echo agent, same settings and load generator | {t["pizza_msgs_per_s"]:.0f} vs {t["echo_msgs_per_s"]:.0f} msg/s: ratio {t["throughput_ratio"]:.2f} | ≥ 0.8 | {_met(t["throughput_ratio"] >= 0.8)} |
| 3 | participant wait while OpenAI is silent (deadline {s["deadline_s"]:g} s, OpenAI time-out {s["openai_timeout_s"]:g} s) | before the counter trips: {before} s; in skip mode p50 {s["after_p50_ms"]:.2f} ms / p99 {s["after_p99_ms"]:.2f} ms vs ASI1 alone p50 {s["asi1_alone_p50_ms"]:.2f} / p99 {s["asi1_alone_p99_ms"]:.2f} ms (added p50 {s["skip_added_p50_ms"]:+.2f} ms) | never above the deadline; skip mode ≤ ASI1 + 10 ms | {_met(max(s["before_trip_s"]) <= s["deadline_s"] and s["skip_added_p50_ms"] <= 10)} |
| 4 | outage onset: {n["participants"]} participants arriving at {n["arrivals_per_s"]:.0f}/s, OpenAI goes silent (time-out {n["openai_timeout_s"]:g} s) | {n["paid_timeout"]} paid an OpenAI time-out: {n["paid_and_in_flight_at_onset"]} of the {n["in_flight_at_onset"]} in flight at the onset, {n["paid_arriving_in_stall_window"]} arriving within `LLM_STALL_AFTER`={n["stall_after_s"]:g} s of it, {n["paid_arriving_later"]} after; longest wait {n["max_wait_s"]:.1f} s | only those already waiting at the onset | {_met(n["paid_timeout"] <= n["in_flight_at_onset"])} |
| 5 | agent memory (RSS) vs the bare echo agent | idle {t["idle_rss_mb"]["pizza"]:.0f} vs {t["idle_rss_mb"]["echo"]:.0f} MB: ratio {t["idle_ratio"]:.2f}; peak under 500 participants {t["loaded_peak_mb"]["pizza"]:.0f} vs {t["loaded_peak_mb"]["echo"]:.0f} MB: ratio {t["loaded_ratio"]:.2f} | ≤ 1.3 | {_met(max(t["idle_ratio"], t["loaded_ratio"]) <= 1.3)} |

## Notes on each figure

1. **Overhead.** Profiled: `stamina`'s retry loop cost ~30 µs to set up per call (tenacity
   objects), more than the rest of the chain together. The first attempt now runs outside it;
   only a retryable failure enters the loop, which replays that failure so stamina still
   computes the wait before attempt 2. Reading the SDK's response object directly instead of
   `model_dump()` saved a few µs more. Half of what is left is the two `asyncio.timeout`
   scopes (deadline and per attempt), which are the point of the layer. The HTTP comparison
   sits on a ~1.7 ms round trip and moves between runs: three runs on 2026-11-23 gave +41,
   +34 and +48 µs, so the target is met but without much room; the in-memory figure
   (+12 to +16 µs) is the stable one.
2. **Throughput** (best of three interleaved rounds of 20 participants × 10 messages,
   pizza/echo per round: {rounds} msg/s). The Pizza Agent is *faster* than the bare echo
   agent because its outgoing messages go through our concurrent dispenser, while the bare
   framework sends one envelope at a time (defect 2). Per message the cost is the framework's:
   pure-Python ECDSA, ~1.4 ms to verify and ~0.4 ms to sign with gmpy2 installed (2.1 / 0.5 ms
   without; gmpy2 is in requirements.txt for this reason), three signatures and two
   verifications per exchange.
3. **Silent OpenAI.** Before the trip each request pays OpenAI's time-out and one retry cut to
   the deadline, then ASI1 answers: always inside the deadline. After the trip OpenAI costs
   nothing: the skip decision is a few attribute reads.
4. **Onset.** Not met, and it cannot be met exactly: a silent provider looks like a slow one
   until time passes. Without stall detection every participant arriving in the first
   `OPENAI_TIMEOUT` × attempts (here 16 s) paid; the counter only moves when attempts fail.
   Stall detection (`LLM_STALL_AFTER`, default 2 s: an attempt has waited that long and the
   provider has answered nothing since it began) now skips OpenAI for new requests, so the
   cost is bounded by the stall window; a handful just after it still pay, because an answer
   that came back just after the onset restarts the window. In-flight requests also stop
   retrying once the provider trips or stalls. Nobody waited past the deadline.
5. **Memory.** The Pizza Agent adds the ledger, static content and the provider clients to the
   same framework; the `openai` SDK is imported only when an OpenAI key is set.

## The outage drill

`python agent.py drill --participants 200` (the default timeline, `drills/default.toml`; `make drill`):

{_drill("drill-200.txt")}

500 participants (not in CI): `python agent.py drill --participants 500`:

{_drill("drill-500.txt")}

The CI-sized drill (100 participants, `drills/ci.toml`) runs in the test suite
(`tests/test_drill.py`) and asserts the same invariants.

## Start and stop

`python agent.py` with no keys and no `.env`, local mode: serving (HEAD /submit ready) in
{results.get("startup", {}).get("start_s", float("nan")):.2f} s, Ctrl+C exits in
{results.get("startup", {}).get("stop_s", float("nan")):.2f} s (median of 3, measured by `bench/run_all.py`).
"""
    (ROOT / "BENCHMARKS.md").write_text(text)
