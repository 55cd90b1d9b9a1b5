"""What this event is, said the same way by `agent.py check` and the start banner.

An event set up wrong looks right until the first participant arrives: roster mode with nobody
imported, a rehearsal clock left in `.env` (every meal moved), a cap nobody sees. So both say,
before anyone is served: who the participants are (the mode, and the roster's size), whether
the event's clock is moved, which meal is now or next, and each meal's caps with what is left.
"""

from __future__ import annotations

from dataclasses import dataclass

from pizza_agent.config.settings import Settings
from pizza_agent.event.meals import Meals, waiting_time
from pizza_agent.ledger.store import Ledger


@dataclass(frozen=True)
class Fact:
    level: str  # "ok", "warn" or "FAIL" (the agent would serve nobody as intended)
    what: str
    detail: str


def event_facts(settings: Settings, meals: Meals, ledger: Ledger | None) -> list[Fact]:
    """`ledger`: None when it cannot be read yet (a new event: nothing imported, nothing issued)."""
    return [_people(settings, ledger), *_clock(settings, meals), *_meals(settings, meals, ledger)]


def _people(settings: Settings, ledger: Ledger | None) -> Fact:
    counts = ledger.roster.counts() if ledger is not None else {"attendees": 0, "claimed": 0}
    if settings.participants == "address" and counts["attendees"]:
        return Fact(
            "warn",
            "participants",
            f"address mode (one coupon per sender address), but {counts['attendees']} attendee(s) are on the roster: "
            "set PARTICIPANTS=roster to give one coupon per attendee",
        )
    if settings.participants == "address":
        return Fact("ok", "participants", "address mode: one coupon per sender address (PARTICIPANTS=address)")
    if counts["attendees"] == 0:
        return Fact(
            "FAIL",
            "participants",
            "roster mode with 0 attendees on the roster: nobody can claim a coupon. Import the registration export "
            "(python agent.py roster import FILE.csv, with the same ENV_FILE) or set PARTICIPANTS=address",
        )
    return Fact(
        "ok",
        "participants",
        f"roster mode: {counts['attendees']} attendee(s) on the roster, {counts['claimed']} claimed their badge",
    )


def _clock(settings: Settings, meals: Meals) -> list[Fact]:
    if not settings.plan_clock:
        return []
    now = meals.clock.now()
    return [
        Fact(
            "warn",
            "event clock",
            f"the event's clock is moved (PLAN_CLOCK={settings.plan_clock}): it is {now:%a %Y-%m-%d %H:%M} for the "
            "agent. A rehearsal setting: blank PLAN_CLOCK for the real event",
        )
    ]


def _meals(settings: Settings, meals: Meals, ledger: Ledger | None) -> list[Fact]:
    if not meals.planned:
        return []
    serving = meals.serving()
    if serving.meal is not None and serving.meal.ends is not None:
        when = f"now {serving.meal.name} (until {serving.meal.ends:%a %H:%M})"
    elif serving.next is not None and serving.next.starts is not None:
        wait = waiting_time((serving.next.starts - serving.now).total_seconds())
        when = f"next {serving.next.name} at {serving.next.starts:%a %H:%M} (in {wait})"
    else:
        when = "every meal is over"
    facts = [Fact("ok", "meals", f"{when}; times in {meals.plan.zone.key}")]
    for meal in meals.plan.meals:
        caps = {**settings.tier_caps, **meal.tier_caps}
        if not caps:
            continue
        left = ledger.coupons.left(caps, meal.id) if ledger is not None else dict.fromkeys(caps)
        shown = ", ".join(
            f"{tier} {cap}" + ("" if left.get(tier) is None else f" ({left[tier]} left)") for tier, cap in caps.items()
        )
        facts.append(Fact("ok", "caps", f"{meal.name}: {shown}"))
    return facts
