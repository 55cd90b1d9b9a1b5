"""Time to prompt and time to coupon at realistic model latencies, through the real agent process.

Both providers answer correctly after a fixed latency (OpenAI 0.6 s, ASI1 1.0 s: the fault
provider's `latency`). A participant asks for pizza (time to prompt), then sends a story (time
to coupon), measured from outside, the way a participant waits. Each is given as a ratio to the
floor: the slowest single model call on its path (one OpenAI call for a prompt; for a coupon,
the slowest of the calls it needs: ASI1's scoring). "skip mode": OpenAI failing and skipped by
the breaker, so every call goes to ASI1 and the floor is one ASI1 call.

Run: `python bench/time_to_coupon.py` (part of `make bench`); writes bench/results/time_to_coupon.json.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pizza_agent.rehearsal.agent_process import AgentProcess, provider_env  # noqa: E402
from pizza_agent.rehearsal.fault_provider import FaultProvider  # noqa: E402

OPENAI_S = 0.6
ASI1_S = 1.0
PARTICIPANTS = 8
STORY = (
    "At midnight our team finally got the pizza-ordering robot to talk to the venue's API, and it ordered "
    "forty margheritas for the judges. We spent the rest of the night eating the evidence and fixing the bug."
)


async def one_participant(agent: AgentProcess, seed: str) -> tuple[float, float]:
    async with agent.client(seed) as participant:
        started = time.monotonic()
        await participant.ask("I want pizza", timeout=30)
        to_prompt = time.monotonic() - started
        started = time.monotonic()
        await participant.ask(STORY, timeout=30)
        return to_prompt, time.monotonic() - started


async def measure(skip_openai: bool, script: Path | None = None) -> dict[str, float]:
    openai, asi1 = await FaultProvider().start(), await FaultProvider().start()
    openai.set_latency(OPENAI_S)
    asi1.set_latency(ASI1_S)
    with tempfile.TemporaryDirectory() as tmp:
        env = provider_env(openai.base_url, asi1.base_url, OPENAI_TIMEOUT="5", ASI1_TIMEOUT="5", REPLY_DEADLINE="20")
        agent = await AgentProcess(Path(tmp) / "data", script=script, **env).start()
        try:
            if skip_openai:
                openai.set_fault("error-503")
                for n in range(3):  # the breaker trips: OpenAI is skipped from here on
                    await one_participant(agent, f"warm-{n}")
            waits = [await one_participant(agent, f"bench-{n}") for n in range(PARTICIPANTS)]
        finally:
            agent.stop()
            await openai.stop()
            await asi1.stop()
    prompt_floor = ASI1_S if skip_openai else OPENAI_S
    coupon_floor = ASI1_S
    to_prompt = statistics.median(w[0] for w in waits)
    to_coupon = statistics.median(w[1] for w in waits)
    return {
        "to_prompt_s": round(to_prompt, 3),
        "to_coupon_s": round(to_coupon, 3),
        "prompt_floor_s": prompt_floor,
        "coupon_floor_s": coupon_floor,
        "prompt_ratio": round(to_prompt / prompt_floor, 2),
        "coupon_ratio": round(to_coupon / coupon_floor, 2),
    }


async def main(script: Path | None = None) -> dict[str, object]:
    return {"both answer": await measure(False, script), "OpenAI skipped": await measure(True, script)}


if __name__ == "__main__":
    # --agent-script FILE: measure another agent program (e.g. a shim running an older checkout's agent.py)
    script = Path(sys.argv[sys.argv.index("--agent-script") + 1]) if "--agent-script" in sys.argv else None
    results = asyncio.run(main(script))
    if script is None:
        (ROOT / "bench" / "results" / "time_to_coupon.json").write_text(json.dumps(results, indent=1))
    for mode, r in results.items():
        print(
            f"{mode}: time to prompt {r['to_prompt_s']:.2f} s ({r['prompt_ratio']:.2f}x one call), "
            f"time to coupon {r['to_coupon_s']:.2f} s ({r['coupon_ratio']:.2f}x the slowest call)"
        )
