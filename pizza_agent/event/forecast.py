"""The vendor's forecast for one meal: how many people to bake for, per diet, before anyone has a coupon.

Coupons are issued only inside a meal's window, after its order cut-off, so what the kitchen bakes
from is the people expected (ledger/vendor_numbers.py says who counts: attendees on the roster,
holders of a coupon of any meal) with the diet each had told by the cut-off (at the registration,
or in chat). Each person is counted once: under their diet when this meal offers it (a combined
diet too, when the plan combines), under "not offered" when it does not (the organizer can act:
order one more, or tell them), or under "not said". Roles the meal feeds without a story
(mentors, volunteers) are counted again on their own line. After the cut-off the forecast is as
of the cut-off and never moves.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pizza_agent.event.meals import Meals
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.plan.model import Meal


@dataclass(frozen=True)
class Forecast:
    meal: Meal
    final: bool  # the cut-off has passed: these are the numbers the vendor was given
    by_diet: dict[str, int]  # offered diet -> people
    not_said: int
    not_offered: dict[str, int] = field(default_factory=dict)  # a diet this meal has no option for -> people
    roles: dict[str, int] = field(default_factory=dict)  # a role the meal feeds without a story -> people

    @property
    def people(self) -> int:
        return sum(self.by_diet.values()) + self.not_said + sum(self.not_offered.values())

    def line(self) -> str:
        """One line for an alert or a chat: "regular 12, vegan 5 · not said 3 · not offered: halal 1"."""
        parts = [", ".join(f"{diet} {n}" for diet, n in self.by_diet.items()) or "no diets asked"]
        parts.append(f"not said {self.not_said}")
        if self.not_offered:
            parts.append("not offered: " + ", ".join(f"{d} {n}" for d, n in sorted(self.not_offered.items())))
        if self.roles:
            parts.append("of which without a story: " + ", ".join(f"{r} {n}" for r, n in sorted(self.roles.items())))
        return f"{self.people} people · " + " · ".join(parts)


async def forecast(ledger: LedgerWorker, meals: Meals, meal: Meal) -> Forecast:
    now = meals.clock.now()
    final = meal.order_cutoff is not None and meal.order_cutoff <= now
    until = meal.order_cutoff.timestamp() if final and meal.order_cutoff else None
    people, diets, roles = await ledger.read(
        lambda ledger: (ledger.vendor.people(until), ledger.vendor.diets_as_of(until), ledger.vendor.roles())
    )
    by_diet = dict.fromkeys(meals.diets(meal), 0)
    not_offered: Counter[str] = Counter()
    not_said = 0
    for person in people:
        diet = diets.get(person)
        if diet is None:
            not_said += 1
        elif meals.plan.offers(meal, diet):
            by_diet[diet] = by_diet.get(diet, 0) + 1
        else:
            not_offered[diet] += 1
    fed = Counter(role for person, role in roles.items() if person in people and role in meal.roles)
    return Forecast(meal, final, by_diet, not_said, dict(not_offered), dict(fed))
