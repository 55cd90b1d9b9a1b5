"""Which meal is served now, and what a participant hears outside every window.

Built once from the plan (plan/model.py) and the event's clock (plan/clock.py).
Without a plan there is one implicit meal, always open, whose id is "" — so the
ledger keys, replies and counts are exactly those of an event before plans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pizza_agent.config.settings import Settings
from pizza_agent.domain.content import WORDING_MESSAGES, StaticContent
from pizza_agent.domain.reply import CardSpec
from pizza_agent.ledger.redemption import TableMeal
from pizza_agent.plan.clock import EventClock
from pizza_agent.plan.model import Meal, Plan, load_plan

# A question about the schedule is short; a story that mentions dinner is not one.
SCHEDULE_QUESTION_WORDS = 12
MEAL_WORDS = {"breakfast", "brunch", "lunch", "dinner", "supper", "snack", "meal", "meals", "food", "schedule", "eat"}
QUESTION_OPENERS = {"when", "what", "which", "whats", "what's", "is", "are", "will", "where"}


def waiting_time(seconds: float, content: StaticContent | None = None) -> str:
    """ "2 h 10 min", "25 min", "less than a minute": in the language being spoken with `content` (the
    organizer's banner, without it, in English)."""
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    name = (
        "wait_soon"
        if not hours and not minutes
        else "wait_hours_minutes"
        if hours and minutes
        else ("wait_hours" if hours else "wait_minutes")
    )
    if content is None:
        return WORDING_MESSAGES[name].format(hours=hours, minutes=minutes)
    return content.message(name, hours=hours, minutes=minutes)


def day_and_time(content: StaticContent, when: datetime, *, short: bool = False) -> str:
    """ "Saturday 18:00" ("Sat 18:00" with `short`) with the day named in the language being spoken."""
    names = [name.strip() for name in content.message("weekdays_short" if short else "weekdays").split(",")]
    day = names[when.weekday()] if len(names) == 7 else f"{when:%a}"
    return f"{day} {when:%H:%M}"


@dataclass(frozen=True)
class Serving:
    """What the event serves at one moment: a meal, or none (then `next` says what comes, if anything)."""

    meal: Meal | None
    next: Meal | None
    now: datetime


class Meals:
    def __init__(self, plan: Plan, clock: EventClock) -> None:
        self.plan = plan
        self.clock = clock

    @property
    def planned(self) -> bool:
        return self.plan.planned

    def serving(self) -> Serving:
        now = self.clock.now()
        return Serving(self.plan.current(now), self.plan.next_meal(now), now)

    def at_the_table(self) -> Meal | None:
        """The meal a food table serves now: the open one, or (a late plate) the one that ended last."""
        now = self.clock.now()
        current = self.plan.current(now)
        if current is not None:
            return current
        ended = [m for m in self.plan.meals if m.ends is not None and m.ends <= now]
        return max(ended, key=lambda m: m.ends) if ended else None  # type: ignore[arg-type, return-value]

    def table_meal(self, meal_id: str | None = None) -> TableMeal | None:
        """What a food table checks coupons against: None without a plan (any coupon is good)."""
        if not self.planned:
            return None
        names = {m.id: m.name for m in self.plan.meals}
        if meal_id is None:
            serving = self.at_the_table()
            meal_id = serving.id if serving else ""
        return TableMeal(meal_id, names)

    def early(self, meal_id: str, group: str) -> str | None:
        """ "group B comes at 19:20" when a coupon's pickup group is not due yet."""
        meal = self.plan.meal(meal_id)
        chosen = next((g for g in meal.groups if g.name == group), None) if meal else None
        due = meal.group_time(chosen) if meal and chosen else None
        if due is None or self.clock.now() >= due:
            return None
        return f"EARLY: group {group} comes at {due:%H:%M}"

    def diets(self, meal: Meal | None) -> tuple[str, ...]:
        return self.plan.diets_for(meal) if self.planned else ()

    def closed(self, content: StaticContent, serving: Serving) -> str:
        """Outside every window: when the next meal is, or a kind closing line after the last."""
        nxt = serving.next
        if nxt is None or nxt.starts is None:
            return content.message("meal_over", event=self.plan.name)
        wait = waiting_time((nxt.starts - serving.now).total_seconds(), content)
        return content.message("meal_next", meal=nxt.name, when=day_and_time(content, nxt.starts), wait=wait)

    def open_line(self, content: StaticContent, meal: Meal) -> str:
        if not self.planned or meal.ends is None:
            return ""
        return content.message("meal_open", meal=meal.name, until=f"{meal.ends:%H:%M}")

    def coupon_lines(self, content: StaticContent, meal: Meal, group: str) -> str:
        if not self.planned:
            return ""
        lines = [content.message("meal_coupon", meal=meal.name)]
        chosen = next((g for g in meal.groups if g.name == group), None)
        when = meal.group_time(chosen) if chosen else None
        if chosen and when is not None and when <= self.clock.now():
            lines.append(content.message("meal_group_now", group=chosen.name))
        elif chosen and when is not None:
            lines.append(content.message("meal_group", group=chosen.name, time=f"{when:%H:%M}"))
        return " ".join(lines)

    def _schedule_rows(self, content: StaticContent) -> list[tuple[str, str]]:
        """(meal, its day and times in the event's zone, and whether it is now, next or over): from the plan."""
        serving = self.serving()
        rows = []
        for meal in self.plan.meals if self.planned else ():
            assert meal.starts is not None and meal.ends is not None
            state = (
                "schedule_now"
                if meal is serving.meal
                else "schedule_next"
                if meal is serving.next
                else "schedule_over"
                if meal.ends <= serving.now
                else ""
            )
            label = f" {content.message(state)}" if state else ""
            starts = day_and_time(content, meal.starts, short=True)
            rows.append((meal.name, f"{starts}–{meal.ends:%H:%M}{label}"))
        return rows

    def schedule(self, content: StaticContent) -> str:
        """Every meal with its day and times, and which is now or next (the card says the same)."""
        if not self.planned:
            return content.message("schedule_none")
        listed = " · ".join(f"{name} {times}" for name, times in self._schedule_rows(content))
        return content.message("schedule", event=self.plan.name, meals=listed)

    def schedule_card(self, content: StaticContent) -> CardSpec:
        """The schedule as a card, beside the text: the same rows."""
        title = content.message("card_schedule", event=self.plan.name)
        return CardSpec("list", "schedule", title, rows=tuple(self._schedule_rows(content)))

    def help(self, content: StaticContent) -> str:
        """`help`: how it works, and (with a plan) the meals."""
        text = content.message("help")
        return f"{text}\n\n{self.schedule(content)}" if self.planned else text

    def asks_schedule(self, text: str) -> bool:
        """ "when is breakfast?", "what meals are there?", "is there lunch": a short question about the meals."""
        words = re.findall(r"[\w']+", text.lower())
        if not self.planned or not words or len(words) > SCHEDULE_QUESTION_WORDS:
            return False
        meal_words = MEAL_WORDS | {w for m in self.plan.meals for w in re.findall(r"[\w']+", m.name.lower())}
        asking = text.strip().endswith("?") or words[0] in QUESTION_OPENERS
        return asking and any(w in meal_words for w in words)

    def name_of(self, meal_id: str) -> str:
        meal = self.plan.meal(meal_id)
        return meal.name if meal else (meal_id or "this event")


def meals_for(settings: Settings) -> Meals:
    """The event plan's meals on the event's clock (PlanError, one line per problem, for a bad plan)."""
    plan = Plan.implicit(settings.agent_name) if settings.event_plan is None else load_plan(settings.event_plan)
    return Meals(plan, EventClock.from_setting(plan.zone, settings.plan_clock))
