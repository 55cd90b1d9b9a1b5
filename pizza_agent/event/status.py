"""The event's status as one typed model: what chat's `status`, `status json`, the dashboard and `/metrics` render.

Gathered once per request from the parts that know (the LLM service's breakers, the ledger's
counts, the controls, the roster desk, the plan, the rate limiter) into `EventStatus`. Its
verdict is a value (`Verdict.state`), so no reader parses the wording back; `as_json()` is the
one JSON shape (`status json`, the dashboard's API, the metrics snapshot).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pizza_agent.config.settings import Settings
from pizza_agent.domain.tiers import TIERS
from pizza_agent.event.controls import Controls
from pizza_agent.event.front_desk import FrontDesk
from pizza_agent.event.meals import Meals
from pizza_agent.event.rate_limit import SenderRateLimiter
from pizza_agent.event.reply_times import ReplyTimes
from pizza_agent.ledger.errors import LedgerBusy, LedgerUnreachable
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.service import LLMService
from pizza_agent.plan.model import Meal

LAYER_NAMES = {"openai": "OpenAI", "asi1": "ASI1", "static": "static rules", "heuristic": "the local heuristic"}


class ServingState(StrEnum):
    SERVING = "yes"
    PAUSED = "paused"
    DOWN = "no"


@dataclass(frozen=True)
class Verdict:
    """Whether everyone is being served, and the one reason an organizer needs."""

    state: ServingState
    reason: str

    @property
    def serving(self) -> bool:
        return self.state is ServingState.SERVING

    def text(self) -> str:
        return f"serving everyone: {self.state.value} — {self.reason}"


@dataclass(frozen=True)
class EventStatus:
    llm: dict[str, Any]  # LLMService.status(): providers, serving, hedges, forced, spend, calls, layer usage
    verdict: Verdict
    started_at: float
    uptime_seconds: float
    pause_message: str | None  # None: running
    ledger: dict[str, Any]  # the ledger's counts (CouponBook.stats), or unreachable_stats()
    replies: dict[str, Any] | None
    replicas: dict[str, Any] | None
    alerts: dict[str, Any]
    people: dict[str, Any] | None
    plan: dict[str, Any] | None
    scoring_note: str | None
    orders: dict[str, Any]
    rate_limit: dict[str, int]

    @property
    def paused(self) -> bool:
        return self.pause_message is not None

    def as_json(self) -> dict[str, Any]:
        return {
            **self.llm,
            "verdict": self.verdict.text(),
            "serving_everyone": self.verdict.state.value,
            "started_at": datetime.fromtimestamp(self.started_at, UTC).isoformat(timespec="seconds"),
            "uptime_seconds": self.uptime_seconds,
            "paused": self.paused,
            "pause_message": self.pause_message,
            "ledger": self.ledger,
            "replies": self.replies,
            "replicas": self.replicas,
            "alerts": self.alerts,
            "people": self.people,
            "plan": self.plan,
            "scoring_note": self.scoring_note,
            "orders": self.orders,
            "rate_limit": self.rate_limit,
        }


@dataclass
class StatusSources:
    """The parts status reads; each may be absent in a test that builds a smaller event."""

    settings: Settings
    llm: LLMService
    ledger: LedgerWorker
    controls: Controls
    limiter: SenderRateLimiter
    meals: Meals
    reply_times: ReplyTimes | None = None
    replicas: Callable[[], Awaitable[dict[str, object]]] | None = None
    desk: FrontDesk | None = None
    started_at: float = field(default_factory=time.time)
    started_mono: float = field(default_factory=time.monotonic)

    async def gather(self) -> EventStatus:
        llm = self.llm.status()
        # What is left is the meal's: its caps, then the event's (as the grant policy counts them).
        meal = self.meals.serving().meal if self.meals.planned else None
        meal_id = meal.id if meal else ""
        caps = {**self.settings.tier_caps, **(meal.tier_caps if meal else {})}
        try:
            stats = await self.ledger.read(lambda ledger: ledger.coupons.stats(caps, meal_id))
            stats["caps"], stats["caps_of"] = caps, meal.name if meal else None
            stats["tables"] = await self.ledger.read(lambda ledger: ledger.scans.counts_by_table())
            stats["ledger_file_ok"] = await self.ledger.read(lambda ledger: ledger.identity_ok())
            stats["reachable"] = True
        except (LedgerBusy, LedgerUnreachable):
            stats = unreachable_stats()
        heuristic = llm["serving"]["score"] == "heuristic"
        return EventStatus(
            llm=llm,
            verdict=self._verdict(llm, stats),
            started_at=self.started_at,
            uptime_seconds=round(time.monotonic() - self.started_mono, 1),
            pause_message=self.controls.paused,
            ledger=stats,
            replies=self.reply_times.summary() if self.reply_times else None,
            replicas=await self.replicas() if self.replicas else None,
            alerts=self.controls.alerts.status(),
            people=await self._people(),
            plan=self._plan(),
            scoring_note=self.settings.heuristic_note if heuristic else None,
            orders=await self._orders(),
            rate_limit={
                "refused": self.limiter.refused,
                "dropped": self.limiter.dropped,
                "senders_limited": self.limiter.limited_senders(),
            },
        )

    def _verdict(self, llm: dict[str, Any], stats: dict[str, Any]) -> Verdict:
        if not stats["reachable"]:
            return Verdict(
                ServingState.DOWN, "the ledger is unreachable: participants are told to send again in a minute"
            )
        if self.controls.paused is not None:
            told = self.controls.paused or self.llm.content.message("paused")
            return Verdict(ServingState.PAUSED, f"participants are told: {told}")
        if not stats["ledger_file_ok"]:
            return Verdict(
                ServingState.DOWN, "the ledger file was deleted or replaced; restore it and restart the agent"
            )
        if all(stats["left"][t] == 0 for t in TIERS):
            return Verdict(ServingState.DOWN, "every coupon tier has run out (add codes, then `reload`)")
        serving = llm["serving"]
        text = f"intent/prompt/reply via {LAYER_NAMES[serving['text']]}, scoring via {LAYER_NAMES[serving['score']]}"
        if llm["forced"]:
            text += f" (forced {llm['forced']})"
        return Verdict(ServingState.SERVING, text)

    def _plan(self) -> dict[str, Any] | None:
        """Now and next (EVENT_PLAN); None without a plan."""
        if not self.meals.planned:
            return None
        serving = self.meals.serving()
        return {
            "name": self.meals.plan.name,
            "timezone": self.meals.plan.zone.key,
            "now": serving.now.isoformat(timespec="seconds"),
            "serving": _meal(serving.meal),
            "next": _meal(serving.next),
            "meals": [
                {**_meal(m), "tier_caps": {**self.settings.tier_caps, **m.tier_caps}} for m in self.meals.plan.meals
            ],
        }

    async def _orders(self) -> dict[str, Any]:
        """The vendor's numbers: meal id -> tier -> diet -> coupons (live)."""
        try:
            return await self.ledger.read(lambda ledger: ledger.coupons.orders())
        except (LedgerBusy, LedgerUnreachable):
            return {}

    async def _people(self) -> dict[str, Any] | None:
        if self.desk is None:
            return None
        try:
            return await self.desk.status()
        except (LedgerBusy, LedgerUnreachable):
            return None


def _meal(meal: Meal | None) -> dict[str, Any] | None:
    if meal is None or meal.starts is None or meal.ends is None:
        return None
    return {"id": meal.id, "name": meal.name, "starts": meal.starts.isoformat(), "ends": meal.ends.isoformat()}


def unreachable_stats() -> dict[str, Any]:
    """What status shows while the ledger does not answer: nothing it would have to make up."""
    return {
        "reachable": False,
        "ledger_file_ok": True,
        "left": {tier: None for tier in TIERS},
        "coupons_issued": {tier: 0 for tier in TIERS},
        "coupons_redeemed_by_tier": {},
        "coupons_redeemed": 0,
        "coupons_voided": 0,
        "participants": 0,
        "flagged": 0,
        "rescore_waiting": 0,
        "reviews_waiting": 0,
        "pool_left": {},
    }
