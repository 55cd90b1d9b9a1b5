"""The languages benchmark (`make bench-languages`): every participant in their own language (issue 33).

Through the real agent (agent.py processes, signed envelopes on loopback), keyless unless said:

1. The keyless judge: the same ~70-word story in English and ten hand translations, each sent by a
   new participant; the score each is given (within one point of the English one is the target).
2. Every provider down: the first message of a participant in each shipped language, and the
   language the reply is in (its fixed words: pizza_agent/rehearsal/languages_corpus.py).
3. Requests are requests: every message of the request corpus (tests/data, written before the
   defence) and of the held-out corpus (bench/data, written after it by someone who had not seen
   the rules), each from a new participant, while ASI1 (the fault provider) calls every message a
   story; coupons issued. Beside it, what the rule costs honest people: the honest stories of
   tests/data scored at once or asked about first (in process, the same rule).
4. Detection: the time per message over every corpus message (in process, 20 rounds), and the
   agent's memory (VmRSS) with one language and with the eight shipped, idle after start and after
   each has answered the first messages and the stories.

Writes bench/results/languages.json and its section of BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pizza_agent.config.settings import load_settings  # noqa: E402
from pizza_agent.domain.content import StaticContent  # noqa: E402
from pizza_agent.event.story_rule import StoryDecision, decide  # noqa: E402
from pizza_agent.ledger.store import Ledger  # noqa: E402
from pizza_agent.people.languages import LanguageDetector  # noqa: E402
from pizza_agent.rehearsal.agent_process import AgentProcess  # noqa: E402
from pizza_agent.rehearsal.fault_provider import FaultProvider  # noqa: E402
from pizza_agent.rehearsal.languages_corpus import (  # noqa: E402
    DATA,
    SHIPPED,
    first_messages,
    held_out_requests,
    languages_in,
    multilingual_requests,
    story_translations,
)
from pizza_agent.rehearsal.precision_corpus import benign_stories  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ALL = ",".join(SHIPPED)
QUIET = {"LOG_LEVEL": "WARNING", "SENDER_RATE_LIMIT": "100000"}


async def ask(agent: AgentProcess, seed: str, text: str) -> str:
    client = agent.client(seed, acknowledge=False)
    await client.start()
    try:
        return await client.ask(text, timeout=60)
    finally:
        await client.stop()


async def keyless_scores(agent: AgentProcess, content: StaticContent) -> dict[str, int]:
    scores = {}
    for code, story in story_translations().items():
        client = agent.client(f"bench-languages-writer-{code}", acknowledge=False)
        await client.start()
        try:
            reply = await client.ask(story, timeout=60)
            if not re.search(r"\d+/10", reply):  # asked first: answered yes, in the writer's language
                yes = (content.pack(code).words.get("confirm") or ["yes"])[0]
                reply = await client.ask(yes, timeout=60)
        finally:
            await client.stop()
        found = re.search(r"(\d+)/10", reply)
        scores[code] = int(found.group(1)) if found else 0
    return scores


async def first_replies(agent: AgentProcess, content: StaticContent) -> list[dict[str, object]]:
    rows = []
    for i, message in enumerate(first_messages()):
        reply = await ask(agent, f"bench-languages-first-{i}", message["text"])
        rows.append({"language": message["language"], "in": sorted(languages_in(reply, content))})
    return rows


async def corpus_coupons(agent: AgentProcess, corpus: list[dict[str, str]], name: str) -> dict[str, object]:
    sent = 0
    for i, message in enumerate(corpus):
        await ask(agent, f"bench-languages-{name}-{i}", message["text"])
        sent += 1
    target = load_settings(agent.env).ledger_target
    with closing(Ledger(target, read_only=True)) as ledger:
        coupons = ledger.coupons.all()
    return {"messages": sent, "languages": len({m["language"] for m in corpus}), "coupons": len(coupons)}


def honest_cost(content: StaticContent) -> dict[str, int]:
    """Honest stories under the same rule, the intent model saying story: scored at once, or asked first."""
    texts = [text for group in _stories_toml() for text in group["texts"]]
    texts += list(story_translations().values()) + [story for _, story in benign_stories()]
    decisions = [decide(content.read(t, 40), "story", len(t), 40) for t in texts]
    return {
        "stories": len(texts),
        "scored_at_once": sum(d is StoryDecision.SCORE for d in decisions),
        "asked_first": sum(d is StoryDecision.CONFIRM for d in decisions),
    }


def _stories_toml() -> list[dict]:
    import tomllib

    return tomllib.loads((DATA / "stories.toml").read_text(encoding="utf-8"))["story"]


def detection_time(content: StaticContent, rounds: int = 20) -> dict[str, float]:
    detector = LanguageDetector(content, list(SHIPPED))
    texts = [m["text"] for m in first_messages() + multilingual_requests() + held_out_requests()]
    texts += list(story_translations().values())
    detector.detect(texts[0])  # the first call warms the interpreter's caches
    times = []
    for _ in range(rounds):
        for text in texts:
            started = time.perf_counter()
            detector.detect(text)
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "messages": len(texts),
        "median_ms": statistics.median(times),
        "p99_ms": times[int(len(times) * 0.99)],
        "max_ms": times[-1],
    }


def rss_mb(agent: AgentProcess) -> float:
    return agent.memory_kb()["VmRSS"] / 1024


async def main() -> dict[str, object]:
    logging.disable(logging.WARNING)
    content = StaticContent.load(ROOT / "static_content")
    results: dict[str, object] = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        one = await AgentProcess(workdir / "one" / "data", EVENT_LANGUAGES="en", **QUIET).start()
        eight = await AgentProcess(workdir / "eight" / "data", EVENT_LANGUAGES=ALL, **QUIET).start()
        idle = {"one": rss_mb(one), "eight": rss_mb(eight)}
        results["first_messages"] = await first_replies(eight, content)
        results["keyless_scores"] = await keyless_scores(eight, content)
        await first_replies(one, content)
        await keyless_scores(one, content)
        loaded = {"one": rss_mb(one), "eight": rss_mb(eight)}
        results["memory_mb"] = {"idle": idle, "after_answering": loaded}
        one.stop()
        eight.stop()
        judge = await FaultProvider().start()
        judge.set_fault("intent-story")  # the intent model calls every message a story
        keys = {"ASI1_API_KEY": "asi1-bench-languages-key", "ASI1_BASE_URL": judge.base_url, "OPENAI_API_KEY": ""}
        corpora = {}
        for name, corpus in (("requests", multilingual_requests()), ("held_out", held_out_requests())):
            if not corpus:
                continue
            agent = await AgentProcess(workdir / name / "data", EVENT_LANGUAGES=ALL, **keys, **QUIET).start()
            try:
                corpora[name] = await corpus_coupons(agent, corpus, name)
            finally:
                agent.stop()
        await judge.stop()
        results["corpora"] = corpora
    results["honest_cost"] = honest_cost(content)
    results["detection"] = detection_time(content)
    return results


def render(results: dict) -> str:
    scores = results["keyless_scores"]
    english = scores["en"]
    spread = max(abs(score - english) for score in scores.values())
    firsts = results["first_messages"]
    right = [row for row in firsts if row["in"] == [row["language"]]]
    by_language = sorted({row["language"] for row in right})
    memory = results["memory_mb"]
    added_idle = memory["idle"]["eight"] - memory["idle"]["one"]
    added = memory["after_answering"]["eight"] - memory["after_answering"]["one"]
    detection = results["detection"]
    honest = results["honest_cost"]
    lines = [
        "## Every participant in their own language (issue 33)",
        "",
        f"`make bench-languages` (`bench/languages.py`, about two minutes; writes `bench/results/languages.json`),"
        f" {results['when']}. Through the real agent unless said; the corpora are in `tests/data/` and"
        " `bench/data/` (see the script's docstring for the method).",
        "",
        "| target | measured | goal | |",
        "|---|---|---|---|",
        f"| keyless: the same story in en + {len(scores) - 1} translations, the furthest score from English's"
        f" ({english}) | {spread} point(s) ({', '.join(f'{k} {v}' for k, v in scores.items())}) | ≤ 1 |"
        f" {'met' if spread <= 1 else '**not met**'} |",
        f"| every provider down: first messages answered in their own language | {len(right)}/{len(firsts)}"
        f" ({len(by_language)}/{len(SHIPPED)} languages) | 8/8 languages |"
        f" {'met' if len(by_language) == len(SHIPPED) else '**not met**'} |",
    ]
    row = results["corpora"]["requests"]
    lines.append(
        f"| request corpus (written before the defence): {row['messages']} requests, greetings and questions in"
        f" {row['languages']} languages, the intent model calling each a story | {row['coupons']} coupons | 0 |"
        f" {'met' if row['coupons'] == 0 else '**not met**'} |"
    )
    held = results["corpora"].get("held_out")
    if held:
        lines.append(
            f"| held-out corpus (written after the rules, by someone who had not seen them): {held['messages']}"
            f" requests, greetings, questions and follow-ups in {held['languages']} languages, the same way"
            f" | {held['coupons']} coupons (21 at its first measurement) | measured, no target | |"
        )
    lines += [
        f"| detection per message ({detection['messages']} corpus messages × 20, in process) | median"
        f" {detection['median_ms']:.3f} ms, p99 {detection['p99_ms']:.3f} ms, max {detection['max_ms']:.2f} ms"
        f" | ≤ 2 ms | {'met' if detection['p99_ms'] <= 2 else '**not met**'} |",
        f"| agent memory added by the eight shipped languages (VmRSS, eight vs one) | {added_idle:+.1f} MB idle"
        f" ({memory['idle']['eight']:.1f} vs {memory['idle']['one']:.1f}), {added:+.1f} MB after answering in"
        f" every language ({memory['after_answering']['eight']:.1f} vs {memory['after_answering']['one']:.1f})"
        f" | ≤ 100 MB | {'met' if max(added, added_idle) <= 100 else '**not met**'} |",
        "",
        f"What the request rule costs honest people (in process, the intent model saying story): of"
        f" {honest['stories']} honest stories in tests/data, {honest['scored_at_once']} are scored at once and"
        f' {honest["asked_first"]} are asked "is that your story?" first (never lost: a yes scores them). On the'
        " commit before this issue's rules (7961dff), the same stories gave 342 and 21, and 17 of the 97 messages of"
        " the request corpus were scored as stories (the long requests in Polish, Turkish, Russian, Arabic, Hindi,"
        " Bengali, Korean, Vietnamese, Swahili, Persian, Thai and long self-introductions).",
        "",
        "The held-out corpus, first measured through the agent, gave 21 coupons: long requests in Tamil and"
        ' Telugu ("pizza" in scripts the rules did not know), long self-introductions opening with greetings the'
        ' rules did not know ("hiii", "salutare", "tjena", "ahlan", はじめまして), a Swedish question'
        ' about the "kupongen", and follow-ups. After the changes it prompted ("pizza" and "coupon" in'
        " more scripts, more of the world's greetings, letters typed three times read once, a cue's apostrophe"
        " optional; so it is no longer held out) the rest are follow-ups about a code, without a question mark or"
        ' a pizza word ("i didnt get my code yet, my team got theirs 20 minutes ago"): scored if the intent model'
        " calls them stories (a person without a coupon gets one for the complaint; one with a coupon hears it"
        " again). The honest stories' figures above did not move.",
        "",
        "The one-language figure is the default event (`EVENT_LANGUAGES=en`), which does not load the detector;"
        " figure 5's idle memory above is that configuration. lingua runs in its low-accuracy mode: its"
        " high-accuracy models for the same eight languages take about 240 MB (measured in a bare interpreter).",
        "",
    ]
    return "\n".join(lines)


def write(results: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "languages.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    benchmarks = ROOT / "BENCHMARKS.md"
    text = benchmarks.read_text()
    section = render(results)
    start = text.find("## Every participant in their own language")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    benchmarks.write_text(text)


if __name__ == "__main__":
    measured = asyncio.run(main())
    write(measured)
    print(render(measured))
