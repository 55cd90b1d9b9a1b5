"""Renders BENCHMARKS.md from one run's results (bench/results/latest.json) and the drill tables."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _drill(name: str) -> str:
    path = ROOT / "bench" / "results" / name
    if not path.exists():
        return f"(not run yet: see the command above; it writes bench/results/{name})"
    return "```\n" + path.read_text().strip() + "\n```"


def _mailbox(key: str) -> str:
    path = ROOT / "bench" / "results" / "mailbox.json"
    if not path.exists():
        return "?"
    value = json.loads(path.read_text())[key]
    return f"{value:g} ms" if key == "rtt_ms" else str(value)


def _mailbox_section() -> str:
    path = ROOT / "bench" / "results" / "mailbox.json"
    if not path.exists():
        return "(not run yet: `make bench-mailbox` writes bench/results/mailbox.json)"
    r = json.loads(path.read_text())
    rtt = r["rtt_ms"] / 1000
    poll = r["poll_interval_s"]
    lines = [
        "| client | bursts | messages | reply p50 | reply p95 | reply max | ack p50 | ack p95 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for client, c in r["clients"].items():
        lines.append(
            f"| {client} | {r['rounds'][client]} | {c['messages']} | {c['reply_p50']:.2f} s | {c['reply_p95']:.2f} s "
            f"| {c['reply_max']:.2f} s | {c['ack_p50']:.2f} s | {c['ack_p95']:.2f} s |"
        )
    fast = r["clients"]["fast"]
    d = r["redelivery"]
    targets = f"""
| target (fast client) | figure | |
|---|---|---|
| replies p95 ≤ 2.5 s from send | {fast["reply_p95"]:.2f} s | {_met(fast["reply_p95"] <= 2.5)} |
| replies max ≤ 4 s from send | {fast["reply_max"]:.2f} s | {_met(fast["reply_max"] <= 4.0)} |
| ack p50 ≤ poll interval + 1 RTT = {poll + rtt:.1f} s | {fast["ack_p50"]:.2f} s | {_met(fast["ack_p50"] <= poll + rtt)} |
| every item delivered twice: duplicate replies | {d["duplicate_replies"]} ({d["participants"]} participants, {d["deletes"]} deletes) | {_met(d["duplicate_replies"] == 0)} |
| every item delivered twice: duplicate coupons | {d["duplicate_coupons"]} ({d["coupons"]} coupons, {d["participants_with_code"]} participants told a code) | {_met(d["duplicate_coupons"] == 0)} |
"""
    return "\n".join(lines) + "\n" + targets


def _postgres_section() -> str:
    path = ROOT / "bench" / "results" / "postgres.json"
    if not path.exists():
        return "(not run yet: `make bench-postgres` writes bench/results/postgres.json)"
    r = json.loads(path.read_text())
    rounds = ", ".join(
        f"{p:.0f}/{q:.0f}" for p, q in zip(r["rounds"]["postgresql"], r["rounds"]["sqlite"], strict=True)
    )
    return f"""| what | figure | target | |
|---|---|---|---|
| throughput, static path, PostgreSQL vs SQLite (one replica) | {r["msgs_per_s"]["postgresql"]:.0f} vs {r["msgs_per_s"]["sqlite"]:.0f} msg/s: ratio {r["ratio"]:.2f} (rounds PostgreSQL/SQLite: {rounds}) | ≥ 0.8 | {_met(r["ratio"] >= 0.8)} |
"""


def _injection_section() -> str:
    path = ROOT / "bench" / "results" / "injection.json"
    if not path.exists():
        return "(not run yet: `make bench-injection` writes bench/results/injection.json)"
    r = json.loads(path.read_text())
    rows = r["attacks"]["rows"]
    lines = [
        "| category | cases | flagged | the judge still obeyed | ended in a higher tier than the twin |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['cases']} | {row['flagged']} | {row['obeyed']} | {row['won']} |")
    total = {k: sum(row[k] for row in rows.values()) for k in ("cases", "flagged", "obeyed", "won")}
    tuned = {k: sum(row[k] for n, row in rows.items() if not n.startswith("held out")) for k in total}
    held = {k: total[k] - tuned[k] for k in total}
    lines.append(f"| **all** | {total['cases']} | {total['flagged']} | {total['obeyed']} | {total['won']} |")
    b, h, g = r["benign"], r["heuristic"], r["guard_cost"]
    rate = total["won"] / total["cases"]
    benign_rate = b["punished"] / b["cases"]
    held_rate = held["won"] / held["cases"] if held["cases"] else 0.0
    summary = f"""
| what | figure | target | |
|---|---|---|---|
| injections ending in a higher tier than their clean twin, worst-case judge | {total["won"]} of {total["cases"]}: {rate:.1%} (tuned corpus {tuned["won"]}/{tuned["cases"]}, held out {held["won"]}/{held["cases"]} = {held_rate:.0%}) | ≤ 5 % | {_met(rate <= 0.05)} |
| benign look-alikes scored below their unflagged score (honest judge) | {b["punished"]} of {b["cases"]}: {benign_rate:.1%} ({b["flagged"]} flagged) | ≤ 2 % | {_met(benign_rate <= 0.02)} |
| premium from the heuristic, through the pipeline | {h["pipeline_premium"]} of {2 * (h["stories"] - b["cases"]) // 2} stories (the raw heuristic would give {h["raw_premium"]} of {h["stories"]}) | 0 | {_met(h["pipeline_premium"] == 0)} |
| pre-filter on a 4,000-character input, worst of {len(g["by_input_ms"])} shapes | {g["worst_4000_ms"]:.2f} ms (corpus stories: median {g["corpus_median_ms"]:.3f} ms) | ≤ 5 ms | {_met(g["worst_4000_ms"] <= 5)} |
"""
    return summary + "\n" + "\n".join(lines)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s"


def _suite_section() -> str:
    """The suite's own time (`make bench-suite`, bench/suite.py): every recorded run, the latest's slowest tests."""
    path = RESULTS / "suite.json"
    head = """
## The test suite's time

`make bench-suite` (`bench/suite.py`) runs `make test`'s two passes — the suite on 4 pytest-xdist workers
(`-m "not serial"`), then the `serial` tests alone — times each with the wall clock and keeps the ten
slowest tests; `make bench-suite STRESS=1` does the same while every core is kept busy
(`scripts/with-busy-cores`, as `make test-stress`). Every run is kept in `bench/results/suite.json`.
Before the split (one process, issue 29's starting point): 921 tests in 9 min 15 s – 9 min 50 s, and
13 min 35 s / 14 min 4 s under load. Targets: `make test` ≤ 5 min 30 s, under load ≤ 8 min.
"""
    if not path.exists():
        return head + "\n(not run yet: `make bench-suite` writes bench/results/suite.json)\n"
    runs = json.loads(path.read_text())
    lines = [
        "| measured | load | workers | tests passed / failed | parallel pass | serial pass | total |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        lines.append(
            f"| {r['measured_at']} | {r['load']} | {r['workers']} | {r['tests']['passed']} / {r['tests']['failed']} | "
            f"{_minutes(r['parallel_s'])} | {r['serial_s']:.0f} s | **{_minutes(r['total_s'])}** |"
        )
    failed = [f"- {r['measured_at']}: " + ", ".join(f"`{t}`" for t in r["failures"]) for r in runs if r.get("failures")]
    if failed:
        lines += ["", "Failures:", "", *failed]
    latest = runs[-1]
    slow = ["", f"The ten slowest tests of the latest run ({latest['load']}):", "", "| seconds | test |", "|---|---|"]
    slow += [f"| {seconds:.1f} | `{test}` |" for seconds, test in latest["slowest"]]
    return head + "\n" + "\n".join(lines + slow) + "\n"


def rerender() -> None:
    """BENCHMARKS.md again from every result file on disk (each benchmark command calls this)."""
    latest = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    write_benchmarks(latest, latest.get("machine", "this project's machine kind"), latest.get("measured_at", "?"))


def write_benchmarks(results: dict, machine: str, when: str) -> None:
    o, t, s, n = results["overhead"], results["throughput"], results["silent"], results["onset"]
    one, hedge = results["silent_single"], results["hedge_rate"]
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
| 4 | outage onset: {n["participants"]} participants arriving at {n["arrivals_per_s"]:.0f}/s, OpenAI goes silent (default settings: time-out {n["openai_timeout_s"]:g} s, `LLM_STALL_AFTER` {n["stall_after_s"]:g} s) | {n["paid_full_timeout"]} paid a full OpenAI time-out ({n["in_flight_at_onset"]} were in flight at the onset, {n["hedged"]} were hedged to ASI1); longest wait {n["max_wait_s"]:.2f} s | 0 pay a full time-out; longest wait ≤ `LLM_STALL_AFTER` + ASI1 p95 + 0.5 s = {n["bound_s"]:.2f} s | {_met(n["paid_full_timeout"] == 0 and n["max_wait_s"] <= n["bound_s"])} |
| 4b | a single request, fresh agent, OpenAI silent, default settings | answered by {", ".join(sorted(set(one["layers"])))} in {", ".join(f"{w:.2f}" for w in one["waits_s"])} s | ASI1 (not static) within `LLM_STALL_AFTER` + ASI1 latency + 0.5 s = {one["bound_s"]:.2f} s | {_met(set(one["layers"]) == {"asi1"} and max(one["waits_s"]) <= one["bound_s"])} |
| 4c | hedge rate in healthy operation: {hedge["requests"]} prompts, 20 at a time, OpenAI healthy with a realistic tail (log-normal latency, median 0.3 s, σ 0.5; p95 {hedge["p95_ms"]:.0f} ms) | {hedge["hedges"]} hedges in {hedge["calls"]} calls: {hedge["rate"]:.1%} (hedge after {hedge["hedge_after_s"]:.2f} s) | ≤ 2 % | {_met(hedge["rate"] <= 0.02)} |
| 5 | agent memory (RSS) vs the bare echo agent | idle {t["idle_rss_mb"]["pizza"]:.0f} vs {t["idle_rss_mb"]["echo"]:.0f} MB: ratio {t["idle_ratio"]:.2f}; peak under 500 participants {t["loaded_peak_mb"]["pizza"]:.0f} vs {t["loaded_peak_mb"]["echo"]:.0f} MB: ratio {t["loaded_ratio"]:.2f} | ≤ 1.3 | {_met(max(t["idle_ratio"], t["loaded_ratio"]) <= 1.3)} |
{_time_to_coupon_row(results)}

## Notes on each figure

1. **Overhead.** The bare SDK call sends the same request as the layer (the task's
   `max_tokens` and `temperature` included). The chain alone, in memory, costs the same as
   before hedging (+13 to +14 µs): hedging does not use a task per call (the call runs in
   the caller's task; one watchdog timer per chain arms the hedges), the layer has no time-out
   scope of its own (each attempt is cut to the layer's budget), and latency percentiles are
   refreshed every 16 samples, not sorted on every call. Over HTTP the figure moves between
   runs (+50 to +58 µs in five runs on 2026-11-23, against +39 to +45 µs for the code before
   issue 13 on the same machine, whose requests carried no `max_tokens`/`temperature`). Most
   of a call's CPU is the SDK's own request building (`typing` introspection of its
   parameter types); the remaining ~10 µs over the old figure are the per-call bookkeeping
   issue 13 asks for (token and cost counting, the hedge state, the time budget).
2. **Throughput** (best of three interleaved rounds of 20 participants × 10 messages,
   pizza/echo per round: {rounds} msg/s). The Pizza Agent is *faster* than the bare echo
   agent because its outgoing messages go through our concurrent dispenser over pooled
   connections, while the bare framework sends one envelope at a time on a new connection each
   (defects 2 and 15), and because the agent signs and verifies envelopes with libsecp256k1
   (defect 16: 0.17 ms to verify, 0.10 ms to sign) where the echo agent uses the framework's
   pure-Python ECDSA (1.16 / 0.30 ms with gmpy2). The load generator's own clients still use
   pure-Python ECDSA, so both sides are measured with the same generator.
3. **Silent OpenAI.** Before the trip each request pays OpenAI's time-out and one retry cut to
   the deadline, then ASI1 answers: always inside the deadline. After the trip OpenAI costs
   nothing: the skip decision is a few attribute reads.
4. **Onset.** Met since the provider layer hedges (issue 13). An attempt that has had no
   answer for `LLM_STALL_AFTER` (or 1.5 × OpenAI's recent p95, if that is lower, never under
   0.5 s) starts ASI1 beside it; the first usable answer wins and the silent attempt is
   cancelled and counted as a failure, so the seed's counter still trips (here after three)
   and OpenAI is then skipped with one probe per interval. Those in flight at the onset and
   those arriving before the trip each waited about `LLM_STALL_AFTER`, nobody the 8 s
   time-out. Hedging a silent provider is never capped (the alternative is a full time-out);
   hedging a provider that answers others but is slow on one request is capped at
   `LLM_HEDGE_MAX_RATIO` (10 %). Before: 39 of 100 paid the full 8 s.
   4b: with no latency history the hedge waits the full `LLM_STALL_AFTER` (2 s), then ASI1
   answers in milliseconds; before: static at 9.95 s. 4c: the p95 trigger keeps speculative
   hedges rare on a healthy provider; the 0.5 s floor keeps jitter from looking like silence.
5. **Memory.** The Pizza Agent adds the ledger, static content and the provider clients to the
   same framework; the `openai` SDK is imported only when an OpenAI key is set.
6. **Time to coupon.** Measured from outside, as a participant waits: "I want pizza", then a
   story. An unambiguous request needs no intent call, so a prompt waits for one call; a story's
   score, detection and reply draft run side by side (speculatively while the intent is read), so
   a coupon waits for the slowest call, ASI1's score (docs/fallback-design.md, "Time to coupon").
   Before, both providers answering: 1.23 s to a prompt (intent, then prompt) and 2.24 s to a
   coupon (intent, then score, then reply), the figures the issue measured. Tokens per coupon on
   the default drill timeline: 642 against 757 before (`python agent.py drill`, 0.85×): the calls
   saved (no intent call for "I want pizza") outweigh the speculation.

## The outage drill

`python agent.py drill --participants 200` (the default timeline, `drills/default.toml`; `make drill`):

{_drill("drill-200.txt")}

500 participants (not in CI): `python agent.py drill --participants 500`:

{_drill("drill-500.txt")}

Under attack: `python agent.py drill --participants 200 --hostile` runs the same drill while an
attacker mix runs beside it (`pizza_agent/rehearsal/attacker.py`): 10,000 rejected 60 KB
envelopes, forged sync requests naming honest participants (reply suppression), uppercase
addresses, 300 half-open connections re-opened as the agent closes them, nested JSON, and
signed 4 KB newline-run stories (guard cost). Targets: every honest message answered within
`REPLY_DEADLINE`, 0 duplicate coupons, the agent's RSS growing ≤ 30 MB.

{_drill("drill-hostile.txt")}

The CI-sized drill (100 participants, `drills/ci.toml`) runs in the test suite
(`tests/test_drill.py`) and asserts the same invariants.

## Fair scoring: injections against the worst-case judge

`make bench-injection` (`bench/injection.py`, about a minute; writes `bench/results/injection.json`).
The whole public corpus (`tests/data/injection_corpus.toml`: every injection with its clean
twin, 15 categories, plus 40 held-out injections written after the pre-filter was tuned and
never tuned on) goes through `LLMService.score_story`, the agent's own scoring path:
pre-filter, rubric scoring and the detect task over real HTTP. ASI1 is the worst-case judge
(`gullible`): it obeys any instruction to the grader it can still read after Unicode
normalisation, in any language or encoding the corpus uses, answers the rubric with 10s and
real quotes, and as a detector has been talked out of finding anything. So these figures are
what the agent's own pipeline lets through; spotlighting and the detect task only add to them
with a real model. Benign look-alikes (`tests/data/benign_lookalikes.toml`) are scored by an
honest judge, through the pipeline and unguarded.

{_injection_section()}

## The Agentverse path: a burst through the mailbox

`make bench-mailbox` (`bench/mailbox.py`, about five minutes; writes `bench/results/mailbox.json`).
The agent in agentverse mode against the Agentverse stand-in, which adds one round trip of
{_mailbox("rtt_ms")} to every mailbox call (submit, poll, delete) and two more on a new connection
(the real service is HTTPS: TCP and TLS handshakes). 100 ASI:One-like participants each open a
session (a message with no text) and send "I want pizza" at once, at a random point of the agent's
1 s poll cycle; the static layer answers (no keys), so the mailbox path is what is measured. Times
run from the participant's send to the moment the agent's envelope reached the stand-in's mailbox
(where ASI:One picks it up). Both clients in one run, interleaved: ours (`MAILBOX_CLIENT=fast`)
and the framework's (`MAILBOX_CLIENT=framework`). Then redelivery: the stand-in delivers every
item twice while 100 participants go through the whole flow.
The framework's client pays, per item, a serial dispatch and a delete on a new connection (three
round trips with the handshakes), and a new session per poll; the seed note measured 5.5 s / 11.8 s
with no handshakes and no session openers, which is why its figures here are larger.

{_mailbox_section()}

Through the whole drill: `python agent.py drill --via agentverse --rtt-ms 100` (200 participants,
the default fault timeline, every message through the stand-in's mailbox):

{_drill("drill-agentverse.txt")}

## Two machines, one giveaway: PostgreSQL and failover

`make bench-postgres` (`bench/postgres.py`, about a minute; writes `bench/results/postgres.json`): one
replica with `LEDGER_URL` on a real PostgreSQL on loopback (fsync on) against the SQLite file, figure 2's
method (20 participants × 10 messages, every one a ledger write; three interleaved rounds, best of each).

{_postgres_section()}

The failover drill: `python agent.py drill --via agentverse --rtt-ms 100 --replicas 2 --kill-active-at 20s`
(200 participants through the stand-in, the default fault timeline, two replicas on one PostgreSQL; at 20 s
the active replica gets SIGKILL in the middle of the arrivals and of the OpenAI outage). Targets: every
participant answered, 0 duplicate and 0 lost coupons, the mailbox taken over within 6 s, and OpenAI probed
at most once per probe interval in total across both replicas (the breaker is handed over with the mailbox).
The `spend` line is the total of both replicas (the spend is kept in the ledger and the replica taking over
starts from it): it matches a single agent's whole run above; before, it showed only the second replica's part.

{_drill("drill-failover.txt")}

## Start and stop

`python agent.py` with no keys and no `.env`, local mode: serving (HEAD /submit ready) in
{results.get("startup", {}).get("start_s", float("nan")):.2f} s, Ctrl+C exits in
{results.get("startup", {}).get("stop_s", float("nan")):.2f} s (median of 3, measured by `bench/run_all.py`).
"""
    text += _people_section() + _meals_section() + _house_section() + _precision_section() + _languages_section()
    text += _suite_section()
    (ROOT / "BENCHMARKS.md").write_text(text)


def _people_section() -> str:
    return f"""
## People, not addresses: one coupon per person (roster mode)

Each drill runs the real agent twice, in address mode and in roster mode (a registration
export imported with `agent.py roster import`; claim codes derived as the badges print
them), real signed envelopes on loopback, no model keys (scoring by the local heuristic).

`python agent.py drill --sybil` (`pizza_agent/rehearsal/people_drill.py`): 20 people each
send their badge code and a story from 4 addresses, while 100 other addresses send 10 made-up
claim codes each (1,000 guesses). Promises: roster mode gives exactly 20 coupons, no guess is
accepted, every reply within `REPLY_DEADLINE`. Address mode shows what roster mode is for: one
coupon per address, 80 for 20 people. The reply times are the honest people's, under the
guessers' load, with the drill's 180 clients and the agent sharing the machine's 2 cores.

{_drill("drill-sybil.txt")}

`python agent.py drill --shared-sender`: 10 people through one sender address, each in their
own chat session, opened as ASI:One opens one. Promises: roster mode, 10 coupons (one extra
message each: the claim code); address mode, one coupon for the first person and the
shared-address warning in `status` (and an alert) by the 3rd person's story.

{_drill("drill-shared-sender.txt")}
"""


def _meals_section() -> str:
    return f"""
## Meals, diets and the vendor's numbers (EVENT_PLAN)

`python agent.py drill --plan drills/two-meals.toml --speed 60` (`pizza_agent/rehearsal/meal_drill.py`):
the real agent with the plan and a clock the drill moves to each meal (the agent reads the same
clock, running 60 times faster than real time inside a meal). Each participant asks for pizza,
answers the diet question the first time, sends a story, then a second story (which must get the
same coupon); after each meal 20 of them write again and must be told when the next meal is (or
the closing line after the last) with nothing scored. "Order sheet: equal" means the meal's counts
per tier and diet in the ledger's order sheet equal its issued coupons exactly. No model keys
(scoring by the local heuristic, which gives basic to this story).

{_drill("drill-two-meals.txt")}

A 36-hour event's five meals with 1,000 participants (not in CI):
`python agent.py drill --plan drills/five-meals.toml --participants 1000`

{_drill("drill-five-meals.txt")}
"""


def _time_to_coupon_row(results: dict) -> str:
    """Figure 6: what a participant waits for, as a ratio to the slowest single model call on its path."""
    ttc = results.get("time_to_coupon")
    if not ttc:
        return "| 6 | time to prompt and time to coupon | not measured in this run | | |"
    parts, met = [], True
    for mode, r in ttc.items():
        parts.append(
            f"{mode}: prompt {r['to_prompt_s']:.2f} s ({r['prompt_ratio']:.2f}×), coupon {r['to_coupon_s']:.2f} s "
            f"({r['coupon_ratio']:.2f}×)"
        )
        met = met and r["prompt_ratio"] <= 1.15 and r["coupon_ratio"] <= 1.25
    before_path = RESULTS / "time_to_coupon_before.json"
    if before_path.exists():
        before = json.loads(before_path.read_text())
        parts.append(
            "before (the code without speculation): "
            + "; ".join(
                f"{mode}: prompt {r['to_prompt_s']:.2f} s ({r['prompt_ratio']:.2f}×), coupon {r['to_coupon_s']:.2f} s "
                f"({r['coupon_ratio']:.2f}×)"
                for mode, r in before.items()
                if isinstance(r, dict)
            )
        )
    return (
        "| 6 | time to prompt and time to coupon, OpenAI answering in 0.6 s and ASI1 in 1.0 s (the fault provider's "
        "latency), through the real agent (`python bench/time_to_coupon.py`, 8 participants, medians); ratio to the "
        "slowest single call on the path | " + "; ".join(parts) + f" | prompt ≤ 1.15×, coupon ≤ 1.25× | {_met(met)} |"
    )


def _house_section() -> str:
    """Issue 19's check: figures 1, 2 and 5 for the code before and after the refactor, run back to back."""
    path = RESULTS / "house.json"
    if not path.exists():
        return ""
    house = json.loads(path.read_text())
    lines = [
        "",
        "## The house (issue 19): the same figures before and after the refactor",
        "",
        f"`python bench/run_all.py` in a checkout of {house['old_commit']} (before) and of the refactored code",
        f"(after), alternately, on an idle machine ({house['measured_at']}); the table at the top is the last",
        "round. This machine ran about twice as slow that day as on 2026-11-23 (the bare SDK call alone took",
        "1.6 ms then), so compare the rounds with each other, not with earlier days.",
        "",
        "| round | fig. 1: layer overhead (chain alone) | bare SDK call | fig. 2: throughput ratio | fig. 5: idle RSS ratio |",
        "|---|---|---|---|---|",
    ]
    for name in house["order"]:
        r = house["rounds"][name]
        lines.append(
            f"| {name.replace('_', ' ')} | +{r['layer_added_us']:.0f} µs (+{r['chain_added_us']:.1f} µs) | "
            f"{r['sdk_median_us']} µs | {r['throughput_ratio']:.2f} | {r['idle_rss_ratio']:.3f} ({r['idle_rss_mb']} MB) |"
        )
    rss = house["process_rss_mb"]
    lines += [
        "",
        f"A real agent process at idle, old and new started alternately three times each: "
        f"{sum(rss['old']) / len(rss['old']):.1f} vs {sum(rss['new']) / len(rss['new']):.1f} MB.",
        "Within 10 %: figure 1 is lower after (the rounds' means), figure 2's ratio moves as much between",
        "rounds of the same code as between codes (the bare echo agent's own throughput varies by 25 %),",
        "figure 5's ratio is within 1 %.",
        "",
    ]
    return "\n".join(lines)


def _languages_section() -> str:
    path = RESULTS / "languages.json"
    if not path.exists():
        return ""
    from bench.languages import render

    return "\n" + render(json.loads(path.read_text()))


def _precision_section() -> str:
    path = RESULTS / "precision.json"
    if not path.exists():
        return ""
    from bench.precision import render

    return "\n" + render(json.loads(path.read_text()))
