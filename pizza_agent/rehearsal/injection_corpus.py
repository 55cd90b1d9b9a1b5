"""The public injection corpus, composed: every injection with its clean twin, and the benign look-alikes.

tests/data/injection_corpus.toml holds base stories and snippets by category;
snippet i goes into base story (i mod len(base)) at the start, after the first
sentence, or at the end (i mod 3). The clean twin is the base story alone.
The tests and `make bench-injection` read the corpus through this module only.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

from pizza_agent.config.settings import PROJECT_DIR

DATA = PROJECT_DIR / "tests" / "data"


@dataclass(frozen=True)
class InjectionCase:
    id: str
    category: str
    snippet: str
    story: str  # the injected story
    twin: str  # the same story without the injection
    held_out: bool = False  # written after the guard was tuned, never tuned on


@dataclass(frozen=True)
class BenignCase:
    id: str
    category: str
    story: str


def _insert(base: str, snippet: str, position: int) -> str:
    if position == 0:
        return f"{snippet} {base}"
    if position == 2:
        return f"{base} {snippet}"
    first = re.search(r"[.!?]\s", base)
    cut = first.end() if first else base.rfind(" ", 0, len(base) // 2) + 1
    return f"{base[:cut]}{snippet} {base[cut:]}"


def injection_cases() -> list[InjectionCase]:
    corpus = tomllib.loads((DATA / "injection_corpus.toml").read_text())
    base: list[str] = corpus["base"]
    snippets = [
        (group["name"], snippet, group.get("held_out", False))
        for group in corpus["category"]
        for snippet in group["snippets"]
    ]
    cases = []
    for i, (category, snippet, held_out) in enumerate(snippets):
        twin = base[i % len(base)]
        slug = re.sub(r"\W+", "-", category).strip("-")
        story = _insert(twin, snippet, i % 3)
        cases.append(InjectionCase(f"{slug}-{i:03d}", category, snippet, story, twin, held_out))
    return cases


def benign_cases() -> list[BenignCase]:
    corpus = tomllib.loads((DATA / "benign_lookalikes.toml").read_text())
    cases = []
    for group in corpus["category"]:
        slug = re.sub(r"\W+", "-", group["name"]).strip("-")
        cases += [BenignCase(f"{slug}-{i:02d}", group["name"], story) for i, story in enumerate(group["stories"])]
    return cases
