"""What the judge and the intent reader say about a message: the types every room shares."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

IntentKind = Literal["pizza_request", "story", "help", "greeting", "other"]


class Intent(BaseModel):
    kind: IntentKind

    @property
    def wants_coupon(self) -> bool:
        return self.kind in ("pizza_request", "greeting", "story")


class StoryScore(BaseModel):
    score: int = Field(ge=1, le=10)
    reason: str
    source: Literal["asi1", "heuristic"]
    flagged: bool = False  # the story addressed the grader (see injection_guard)
    flags: list[str] = Field(default_factory=list)
    criteria: dict[str, int] = Field(default_factory=dict)  # the rubric's points, when a model scored it
    instructions_only: bool = False  # the detector confirmed: nothing but instructions to the judge
    # A suspected story (flagged): the passages suspected of talking to the judge, and the judge's
    # score of the whole story as written (uncapped), which stands if an organizer approves it.
    passages: list[str] = Field(default_factory=list)
    full_score: int | None = None
    full_source: Literal["asi1", "heuristic"] | None = None  # who gave `full_score` (a heuristic is no judge)
