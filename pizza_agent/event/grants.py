"""One grant policy: the tier a person may get for a meal, whichever path asks.

Every path that gives or raises a coupon asks this module, and only this module calls the
ledger's issuing and upgrading (tests/test_grant_policy.py enumerates the paths and fails on
one that goes around it): a participant's story, an organizer's `approve`, ASI1 scoring a
heuristic's story again, an organizer's `grant`, and a role the meal feeds without a story.
The rules, in order:

0. A role a meal lists (`roles = ["mentor", …]`: mentors, volunteers, sponsors, staff, judges)
   eats without a story: standard, within the caps.

1. The score's tier (`TIER_PREMIUM_MIN`, `TIER_STANDARD_MIN`).
2. A score the local heuristic gave is no judge's: at most `HEURISTIC_MAX_TIER`, on every path
   (a suspected story's "uncapped" score too, when ASI1 did not give it).
3. A suspected story gets at most `FLAGGED_TIER_CAP` now; the judge's score waits for a human.
4. `REVIEW_PREMIUM`: a premium a program decided (a story, a re-score) waits for a human;
   standard meanwhile. A human's decision (`approve`, `grant`) is that look.
5. Caps: the meal's `tier_caps`, then `TIER_CAPS` for the tiers the meal leaves open; the ledger
   counts them per meal, and a vendor pool's codes are its own limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pizza_agent.config.settings import Settings
from pizza_agent.domain.scores import StoryScore
from pizza_agent.domain.tiers import capped, tier_for
from pizza_agent.ledger.reviews import PendingReview, Review
from pizza_agent.plan.model import Plan


@dataclass(frozen=True)
class Grant:
    """What the policy allows now: the tier, the caps it is counted against, and what waits for a human."""

    tier: str
    caps: Mapping[str, int] = field(default_factory=dict)
    review: PendingReview | None = None


class GrantPolicy:
    def __init__(self, settings: Settings, plan: Plan) -> None:
        self.settings = settings
        self.plan = plan

    def caps(self, meal_id: str) -> dict[str, int]:
        """The meal's caps, then the event's for the tiers the meal does not cap."""
        meal = self.plan.meal(meal_id)
        return {**self.settings.tier_caps, **(meal.tier_caps if meal is not None else {})}

    def judged_tier(self, score: int, source: str) -> str:
        """Rules 1 and 2: the tier a score earns, a heuristic's never above HEURISTIC_MAX_TIER."""
        tier = tier_for(score, self.settings)
        return capped(tier, self.settings.heuristic_max_tier) if source != "asi1" else tier

    def for_story(self, story: str, score: StoryScore, meal_id: str) -> Grant:
        """A participant's story: the tier given now, and what waits for a human."""
        settings = self.settings
        tier = self.judged_tier(score.score, score.source)
        if score.flagged:
            judge_score = score.full_score if score.full_score is not None else score.score
            judge_source = score.full_source or score.source
            why = "suspected: " + ", ".join(score.flags)
            pending = PendingReview(story, score.passages, why, judge_score, judge_source)
            return Grant(capped(tier, settings.flagged_tier_cap), self.caps(meal_id), pending)
        return self._premium_waits(story, tier, score.score, score.source, meal_id)

    def for_rescore(self, story: str, score: StoryScore, meal_id: str) -> Grant:
        """ASI1 scored a heuristic's story again: its tier, REVIEW_PREMIUM holding as for a new story."""
        return self._premium_waits(story, self.judged_tier(score.score, score.source), score.score, "asi1", meal_id)

    def for_approval(self, review: Review) -> tuple[str, Mapping[str, int]]:
        """An organizer approved a waiting story: the judge's score stands, within rules 2 and 5."""
        return self.judged_tier(review.judge_score, review.judge_source), self.caps(review.meal)

    def for_role(self, role: str, meal_id: str) -> Grant | None:
        """Rule 0: a role the meal feeds without a story gets standard; None for anyone else."""
        meal = self.plan.meal(meal_id)
        if meal is None or role not in meal.roles:
            return None
        return Grant("standard", self.caps(meal_id))

    def for_organizer(self, tier: str, meal_id: str) -> Grant:
        """An organizer's `grant`: the tier asked for, within the meal's caps."""
        return Grant(tier, self.caps(meal_id))

    def judge_line(self, review: Review) -> str:
        """What the queue may tell a judge about a story's score: the judge's (ASI1's), or that none was given."""
        if review.judge_source == "asi1":
            return f"judge's uncapped score {review.judge_score} → {self.for_approval(review)[0]}"
        return (
            f"not scored by ASI1 (heuristic {review.judge_score}, at most {self.settings.heuristic_max_tier}): "
            f"approving gives {self.for_approval(review)[0]}"
        )

    def _premium_waits(self, story: str, tier: str, score: int, source: str, meal_id: str) -> Grant:
        if self.settings.review_premium and tier == "premium":
            pending = PendingReview(story, [], "premium waits for a human look", score, source)
            return Grant("standard", self.caps(meal_id), pending)
        return Grant(tier, self.caps(meal_id))
