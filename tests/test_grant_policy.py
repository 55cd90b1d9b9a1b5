"""One grant policy: every path that gives or raises a coupon asks event/grants.py, and none goes around it.

The paths are enumerated from the code: any call of the ledger's issuing or upgrading methods
outside the ledger itself is listed here with the policy question it must ask. A new path (a
command, a job, a page) that calls the ledger without the policy fails this test; so does a
known path that stops asking. The rules themselves are tested on the settings that change them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import settings_for

from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.domain.scores import StoryScore
from pizza_agent.event.grants import GrantPolicy
from pizza_agent.ledger.reviews import Review
from pizza_agent.plan.model import load_plan

# The ledger's methods that give or raise a coupon (ledger/coupons.py, ledger/reviews.py).
GRANTING = {"issue", "issue_for_review", "approve", "rescored", "grant", "upgrade", "issue_within", "upgrade_within"}
# Each path, the module it lives in, the ledger call it makes and the policy question it asks first.
PATHS = {
    ("pizza_agent/event/story_desk.py", "issue"): "for_story",
    ("pizza_agent/event/story_desk.py", "issue_for_review"): "for_story",
    ("pizza_agent/event/judging.py", "approve"): "for_approval",
    ("pizza_agent/event/rescore.py", "rescored"): "for_rescore",
    ("pizza_agent/event/grant_command.py", "grant"): "for_organizer",
}


def ledger_calls(root: Path = PROJECT_DIR) -> set[tuple[str, str]]:
    """(module, method) of every call `ledger.<repository>.<granting method>(...)` outside the ledger room."""
    found = set()
    for path in sorted((root / "pizza_agent").rglob("*.py")):
        module = str(path.relative_to(root))
        if module.startswith("pizza_agent/ledger/"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in GRANTING
                and isinstance(node.func.value, ast.Attribute)
                and node.func.value.attr in ("coupons", "reviews")
            ):
                found.add((module, node.func.attr))
    return found


def test_every_path_that_gives_a_coupon_is_known_and_asks_the_policy():
    assert ledger_calls() == set(PATHS)
    for (module, _), question in PATHS.items():
        assert (
            f".{question}(" in (PROJECT_DIR / module).read_text()
            or f".{question}," in (PROJECT_DIR / module).read_text()
        ), f"{module} calls the ledger without asking GrantPolicy.{question}"


def test_the_enumeration_catches_a_path_that_goes_around_the_policy(tmp_path):
    rogue = tmp_path / "pizza_agent" / "web" / "giveaway.py"
    rogue.parent.mkdir(parents=True)
    rogue.write_text("async def give(ledger, request, code):\n    return ledger.coupons.issue(request, code)\n")
    assert ledger_calls(tmp_path) == {("pizza_agent/web/giveaway.py", "issue")}


PLAN = """
[event]
name = "Caps"
timezone = "UTC"

[[meals]]
id = "lunch"
name = "Lunch"
starts = 2027-03-06T12:00:00
ends = 2027-03-06T14:00:00
tier_caps = { premium = 1 }
"""


@pytest.fixture
def policy(tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(**env: str) -> GrantPolicy:
        (tmp_path / "plan.toml").write_text(PLAN)
        settings = settings_for(None, None, tmp_path, TIER_CAPS="premium:5,standard:9", **env)
        return GrantPolicy(settings, load_plan(tmp_path / "plan.toml"))

    return make


def review(judge_score: int, source: str, meal: str = "lunch") -> Review:
    return Review("ABCDE", "agent1x", "CODE", "story", [], "suspected", "standard", 7, judge_score, 0.0, "waiting",
                  None, None, None, meal, source)  # fmt: skip


def test_the_meals_caps_come_first_then_the_events(policy):
    assert policy().caps("lunch") == {"premium": 1, "standard": 9}
    assert policy().caps("") == {"premium": 5, "standard": 9}  # no such meal: the event's caps


def test_a_heuristic_score_is_never_the_judges_on_any_path(policy):
    rules = policy(HEURISTIC_MAX_TIER="standard")
    assert rules.for_approval(review(10, "heuristic"))[0] == "standard"
    assert rules.for_approval(review(10, "asi1"))[0] == "premium"
    assert "not scored by ASI1" in rules.judge_line(review(10, "heuristic"))
    story = StoryScore(score=10, reason="", source="heuristic")
    assert rules.for_story("s", story, "lunch").tier == "standard"


def test_review_premium_holds_for_a_rescore_as_for_a_story(policy):
    rules = policy(REVIEW_PREMIUM="on")
    asi1_nine = StoryScore(score=9, reason="", source="asi1")
    for grant in (rules.for_story("s", asi1_nine, "lunch"), rules.for_rescore("s", asi1_nine, "lunch")):
        assert grant.tier == "standard" and grant.review is not None and grant.caps == {"premium": 1, "standard": 9}
    assert policy().for_rescore("s", asi1_nine, "lunch").review is None  # off: ASI1's premium stands
