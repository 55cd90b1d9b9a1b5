"""All six benchmarks; writes BENCHMARKS.md. Run with `make bench` (about 4 minutes).

Every comparison is a ratio or a difference measured within one run,
interleaving the two sides where possible, because these machines are noisy.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openai  # noqa: E402

from pizza_agent.config.settings import load_settings  # noqa: E402
from pizza_agent.domain.content import StaticContent  # noqa: E402
from pizza_agent.llm.fallback import ChainResult, FallbackChain, ProviderLayer  # noqa: E402
from pizza_agent.llm.health import ProviderHealth  # noqa: E402
from pizza_agent.llm.service import LLMService  # noqa: E402
from pizza_agent.llm.tasks import PromptTask  # noqa: E402
from pizza_agent.llm.usage import Completion  # noqa: E402
from pizza_agent.rehearsal.agent_process import AgentProcess  # noqa: E402
from pizza_agent.rehearsal.fault_provider import FaultProvider  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ECHO = ROOT / "bench" / "echo_agent.py"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- 1. fallback-layer overhead --------------------------------------------------------------
class InstantProvider:
    name = "openai"

    async def complete(self, messages, *, model: str, timeout: float, **options) -> Completion:
        return Completion("A pizza-powered robot joins your hackathon team. What does it build with you?", 20, 20)


async def bench_overhead(rounds: int = 2000) -> dict[str, float]:
    """(a) chain vs direct call on an in-memory provider: the chain's own cost, no HTTP noise.
    (b) a task through the provider layer vs the bare SDK call, same local HTTP provider."""
    content = StaticContent.load(ROOT / "static_content")
    rng = random.Random(1)
    provider = InstantProvider()
    health = ProviderHealth("openai", threshold=3, probe_interval=30)
    chain = FallbackChain([ProviderLayer(provider, health, ["m"], 8.0, 2)], reply_deadline=10)
    task = PromptTask(content, rng)
    direct, chained = [], []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        task.parse((await provider.complete(task.messages(), model="m", timeout=8.0)).text)
        t1 = time.perf_counter_ns()
        result: ChainResult = await chain.run(task)
        t2 = time.perf_counter_ns()
        assert result.layer == "openai"
        direct.append((t1 - t0) / 1000)
        chained.append((t2 - t1) / 1000)

    server = await FaultProvider().start()
    env = {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": server.base_url, "ENV_FILE": ""}
    service = LLMService(load_settings(env), content=content, rng=rng)
    bare = openai.AsyncOpenAI(api_key="sk-bench", base_url=server.base_url, max_retries=0)
    messages = PromptTask(content, rng).messages()
    sdk, layer = [], []
    for _ in range(rounds // 4):
        t0 = time.perf_counter_ns()
        await bare.chat.completions.create(  # the same request the layer sends
            model="gpt-4o-mini",
            messages=messages,  # type: ignore[arg-type]
            timeout=8.0,
            max_tokens=PromptTask.max_tokens,
            temperature=PromptTask.temperature,
        )
        t1 = time.perf_counter_ns()
        assert (await service.generate_prompt()).layer == "openai"
        t2 = time.perf_counter_ns()
        sdk.append((t1 - t0) / 1000)
        layer.append((t2 - t1) / 1000)
    await bare.close()
    await service.aclose()
    await server.stop()
    return {
        "chain_median_us": statistics.median(chained),
        "direct_median_us": statistics.median(direct),
        "chain_added_us": statistics.median(chained) - statistics.median(direct),
        "sdk_median_us": statistics.median(sdk),
        "layer_median_us": statistics.median(layer),
        "layer_added_us": statistics.median(layer) - statistics.median(sdk),
    }


# --- 2 and 5. throughput and memory vs a bare echo agent --------------------------------------
async def drive(agent: AgentProcess, clients: int, messages_each: int, text: str) -> float:
    """Replies per second: `clients` participants each send, wait for the reply, send again."""
    pool = [agent.client(f"bench-{agent.port}-{i}", acknowledge=False) for i in range(clients)]
    await asyncio.gather(*(c.start() for c in pool))

    async def one(client) -> None:
        for _ in range(messages_each):
            await client.send(text)
            await client.next_reply(timeout=60)

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in pool))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(c.stop() for c in pool))
    return clients * messages_each / elapsed


async def bench_throughput_and_memory(workdir: Path, clients: int = 20, messages_each: int = 10) -> dict:
    pizza_env = {"SENDER_RATE_LIMIT": "100000", "LOG_LEVEL": "WARNING"}
    pizza = await AgentProcess(workdir / "pizza", **pizza_env).start()
    echo = await AgentProcess(workdir / "echo", script=ECHO).start()
    idle = {"pizza": pizza.memory_kb()["VmRSS"], "echo": echo.memory_kb()["VmRSS"]}
    rates: dict[str, list[float]] = {"pizza": [], "echo": []}
    for _ in range(3):  # interleaved rounds
        rates["echo"].append(await drive(echo, clients, messages_each, "I want pizza"))
        rates["pizza"].append(await drive(pizza, clients, messages_each, "I want pizza"))
    # memory under a 500-participant burst (one message each), the same load on both
    await drive(echo, 500, 1, "I want pizza")
    await drive(pizza, 500, 1, "I want pizza")
    loaded = {"pizza": pizza.memory_kb()["VmHWM"], "echo": echo.memory_kb()["VmHWM"]}
    pizza.stop()
    echo.stop()
    best = {name: max(values) for name, values in rates.items()}
    return {
        "pizza_msgs_per_s": best["pizza"],
        "echo_msgs_per_s": best["echo"],
        "throughput_ratio": best["pizza"] / best["echo"],
        "rounds": rates,
        "idle_rss_mb": {k: v / 1024 for k, v in idle.items()},
        "idle_ratio": idle["pizza"] / idle["echo"],
        "loaded_peak_mb": {k: v / 1024 for k, v in loaded.items()},
        "loaded_ratio": loaded["pizza"] / loaded["echo"],
    }


# --- 3. participant wait while OpenAI is silent -------------------------------------------------
async def bench_silent_wait(requests_after: int = 200) -> dict:
    openai_server, asi1_server = await FaultProvider().start(), await FaultProvider().start()
    openai_server.set_fault("silent")
    env = {
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": openai_server.base_url,
        "ASI1_API_KEY": "asi1-bench",
        "ASI1_BASE_URL": asi1_server.base_url,
        "OPENAI_TIMEOUT": "1.5",
        "REPLY_DEADLINE": "4",
        "ENV_FILE": "",
    }
    service = LLMService(load_settings(env))
    before = []
    for _ in range(3):  # until the counter trips
        t0 = time.perf_counter()
        await service.generate_prompt()
        before.append(time.perf_counter() - t0)
    assert service.status()["failures"] == 3
    after, asi1_alone = [], []
    bare = LLMService(load_settings({**env, "OPENAI_API_KEY": ""}))  # ASI1 first: its own latency
    for _ in range(requests_after):
        t0 = time.perf_counter()
        assert (await service.generate_prompt()).layer == "asi1"
        t1 = time.perf_counter()
        await bare.generate_prompt()
        t2 = time.perf_counter()
        after.append(t1 - t0)
        asi1_alone.append(t2 - t1)
    await service.aclose()
    await bare.aclose()
    await openai_server.stop()
    await asi1_server.stop()
    return {
        "deadline_s": 4.0,
        "openai_timeout_s": 1.5,
        "before_trip_s": before,
        "after_p50_ms": statistics.median(after) * 1000,
        "after_p99_ms": pct(after, 0.99) * 1000,
        "asi1_alone_p50_ms": statistics.median(asi1_alone) * 1000,
        "asi1_alone_p99_ms": pct(asi1_alone, 0.99) * 1000,
        "skip_added_p50_ms": (statistics.median(after) - statistics.median(asi1_alone)) * 1000,
    }


# --- 4. outage onset ---------------------------------------------------------------------------
async def bench_onset(participants: int = 100, spread: float = 6.0, onset: float = 1.0) -> dict:
    """Participants arrive evenly over `spread` s; OpenAI goes silent at `onset` s (default settings
    otherwise: OPENAI_TIMEOUT 8 s, REPLY_DEADLINE 10 s, LLM_STALL_AFTER 2 s).
    Who pays a full OpenAI time-out (waits OPENAI_TIMEOUT or more)?"""
    openai_server, asi1_server = await FaultProvider().start(), await FaultProvider().start()
    openai_server.set_fault("slow-0.3")  # normal latency: requests are in flight at the onset
    env = {
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": openai_server.base_url,
        "ASI1_API_KEY": "asi1-bench",
        "ASI1_BASE_URL": asi1_server.base_url,
        "LLM_MAX_CONCURRENCY": "1000",
        "ENV_FILE": "",
    }
    settings = load_settings(env)
    service = LLMService(settings)
    start = time.perf_counter()
    outcomes: list[tuple[float, float, str, bool]] = []

    async def participant(i: int) -> None:
        await asyncio.sleep(i * spread / participants)
        arrived = time.perf_counter() - start
        result = await service.generate_prompt()
        outcomes.append((arrived, time.perf_counter() - start, result.layer, result.hedged))

    async def go_silent() -> None:
        await asyncio.sleep(onset)
        openai_server.set_fault("silent")

    await asyncio.gather(go_silent(), *(participant(i) for i in range(participants)))
    asi1_p95_ms = service.status()["providers"]["asi1"]["p95_latency_ms"] or 0.0
    hedges = service.status()["hedges"]["text"]
    await service.aclose()
    await openai_server.stop()
    await asi1_server.stop()
    waits = [done - arrived for arrived, done, _, _ in outcomes]
    return {
        "participants": participants,
        "arrivals_per_s": participants / spread,
        "stall_after_s": settings.llm_stall_after,
        "openai_timeout_s": settings.openai_timeout,
        "paid_full_timeout": sum(1 for w in waits if w >= settings.openai_timeout - 0.1),
        "in_flight_at_onset": sum(1 for arrived, done, _, _ in outcomes if arrived < onset < done),
        "hedged": sum(1 for *_, hedged in outcomes if hedged),
        "layers": dict(collections.Counter(layer for _, _, layer, _ in outcomes)),
        "max_wait_s": max(waits),
        "asi1_p95_ms": asi1_p95_ms,
        "bound_s": settings.llm_stall_after + asi1_p95_ms / 1000 + 0.5,
        "hedges": hedges,
    }


# --- 4b. a single request while the primary is silent, default settings --------------------------
async def bench_silent_single(repeats: int = 3) -> dict:
    """A fresh agent (no latency history), OpenAI silent, one request: who answers, and when?"""
    openai_server, asi1_server = await FaultProvider().start(), await FaultProvider().start()
    openai_server.set_fault("silent")
    env = {
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": openai_server.base_url,
        "ASI1_API_KEY": "asi1-bench",
        "ASI1_BASE_URL": asi1_server.base_url,
        "ENV_FILE": "",
    }
    settings = load_settings(env)
    waits, layers, asi1_ms = [], [], []
    for _ in range(repeats):
        service = LLMService(settings)
        t0 = time.perf_counter()
        result = await service.generate_prompt()
        waits.append(time.perf_counter() - t0)
        layers.append(result.layer)
        asi1_ms.append(service.status()["providers"]["asi1"]["p95_latency_ms"] or 0.0)
        await service.aclose()
    await openai_server.stop()
    await asi1_server.stop()
    return {
        "waits_s": waits,
        "layers": layers,
        "stall_after_s": settings.llm_stall_after,
        "asi1_ms": max(asi1_ms),
        "bound_s": settings.llm_stall_after + max(asi1_ms) / 1000 + 0.5,
    }


# --- 4c. hedge rate in healthy operation ------------------------------------------------------------
async def bench_hedge_rate(requests: int = 400, concurrency: int = 20) -> dict:
    """OpenAI healthy with a realistic tail (log-normal latency, median 0.3 s, sigma 0.5): how many calls hedge?"""
    openai_server, asi1_server = await FaultProvider().start(), await FaultProvider().start()
    openai_server.set_fault("lognormal-0.3-0.5")
    env = {
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": openai_server.base_url,
        "ASI1_API_KEY": "asi1-bench",
        "ASI1_BASE_URL": asi1_server.base_url,
        "LLM_MAX_CONCURRENCY": "1000",
        "ENV_FILE": "",
    }
    service = LLMService(load_settings(env))
    queue = list(range(requests))

    async def worker() -> None:
        while queue:
            queue.pop()
            await service.generate_prompt()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    status = service.status()
    await service.aclose()
    await openai_server.stop()
    await asi1_server.stop()
    hedges = status["hedges"]["text"]
    return {
        "requests": requests,
        "calls": hedges["calls"],
        "hedges": hedges["silent"] + hedges["speculative"],
        "rate": hedges["rate"],
        "hedge_after_s": status["providers"]["openai"]["hedge_after_seconds"],
        "p95_ms": status["providers"]["openai"]["p95_latency_ms"],
    }


async def bench_startup(workdir: Path) -> dict:
    starts, stops = [], []
    for i in range(3):
        agent = await AgentProcess(workdir / f"startup-{i}").start()
        starts.append(agent.started_in)
        stops.append(agent.stop())
    return {"start_s": statistics.median(starts), "stop_s": statistics.median(stops)}


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


async def main() -> None:
    # uagents configures the root logger at INFO on import; a log line per request would be measured too.
    logging.getLogger().setLevel(logging.WARNING)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pizza-bench-") as tmp:
        print("1/5 fallback overhead...", flush=True)
        overhead = await bench_overhead()
        print("2,5/5 throughput and memory vs echo agent...", flush=True)
        throughput = await bench_throughput_and_memory(Path(tmp))
        print("3/5 wait while OpenAI is silent...", flush=True)
        silent = await bench_silent_wait()
        print("4/5 outage onset, a single silent request, healthy hedge rate...", flush=True)
        onset = await bench_onset()
        silent_single = await bench_silent_single()
        hedge_rate = await bench_hedge_rate()
        startup = await bench_startup(Path(tmp))
    print("6/6 time to prompt and to coupon at realistic latencies...", flush=True)
    from bench.time_to_coupon import main as bench_time_to_coupon

    time_to_coupon = await bench_time_to_coupon()
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results = {
        "overhead": overhead,
        "throughput": throughput,
        "silent": silent,
        "onset": onset,
        "silent_single": silent_single,
        "hedge_rate": hedge_rate,
        "startup": startup,
        "time_to_coupon": time_to_coupon,
        "measured_at": when,
        "machine": machine(),
    }
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=1, default=str))
    from bench.report import write_benchmarks

    write_benchmarks(results, machine(), when)
    print("wrote BENCHMARKS.md")


if __name__ == "__main__":
    if "--report-only" in sys.argv:  # re-render BENCHMARKS.md (e.g. after a new drill run)
        from bench.report import write_benchmarks

        saved = json.loads((RESULTS / "latest.json").read_text())
        write_benchmarks(saved, machine(), saved.get("measured_at", "see bench/results/latest.json"))
    else:
        asyncio.run(main())
