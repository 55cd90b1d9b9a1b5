"""Diets: asked once per person before their first coupon, remembered, changed with `diet NAME`.

The question is a short numbered list in the text, and the same choice as a card
(ASI:One's form card, drawn by transport/cards.py) for clients that render cards; the
text is always there, and answering the card is the same as typing the name.
A story that arrives before the answer waits (like a story waiting for a claim
code) and is scored when the answer comes. The diet is stored with each coupon,
so the vendor's counts are per tier and diet; a change before the coupon is
eaten follows the coupon of the meal being served. Every change is kept with the
event's time (ledger `diet_changes`), so a meal's numbers at its cut-off stay
what they were then (ledger/vendor_numbers.py).
"""

from __future__ import annotations

import re

from pizza_agent.domain.content import StaticContent
from pizza_agent.domain.identity import CouponOwner
from pizza_agent.domain.reply import CardSpec, Reply
from pizza_agent.event.meals import Meals
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.plan.diet_words import match_diet
from pizza_agent.plan.model import Meal

WAITING_PREFIX = "diet:"  # where a story waits for the diet answer


def parse_diet(text: str, choices: tuple[str, ...], *, combine: bool = False) -> str | None:
    """ "2", "vegan", "Vegan!", "diet vegan", "gluten free", "veggie", (combine) "halal, gluten free" → the
    choice; anything else → None."""
    answer = re.sub(r"^diet\b", "", text.strip().lower()).strip(" .!:")
    if answer.isdigit() and 1 <= int(answer) <= len(choices):
        return choices[int(answer) - 1]
    folded = answer.replace("-", " ")
    exact = next((c for c in choices if c.lower().replace("-", " ") == folded), None)
    return exact or (match_diet(answer, choices, combine=combine).diet if answer else None)


class Diets:
    def __init__(self, meals: Meals, ledger: LedgerWorker) -> None:
        self.meals = meals
        self.ledger = ledger

    def choices(self, meal: Meal | None) -> tuple[str, ...]:
        return self.meals.diets(meal)

    def question(self, content: StaticContent, meal: Meal | None) -> tuple[str, CardSpec]:
        """The numbered list in the text, and the same choice as a card (answered like typing the name)."""
        choices = self.choices(meal)
        listed = " · ".join(f"{i} {name}" for i, name in enumerate(choices, start=1))
        card = CardSpec(
            "choice",
            "diet",
            content.message("card_diet"),
            options=tuple(choices),
            buttons=(content.message("card_send"),),
        )
        return content.message("diet_question", choices=listed), card

    async def needed(self, participant: str, meal: Meal | None) -> bool:
        if not self.choices(meal):
            return False
        return await self.ledger.read(lambda ledger: ledger.state.diet_of(participant)) is None

    async def of(self, participant: str) -> str:
        return await self.ledger.read(lambda ledger: ledger.state.diet_of(participant)) or ""

    async def command(self, participant: str, text: str, meal: Meal | None, content: StaticContent) -> Reply | None:
        """`diet NAME` at any time: set and confirmed (the coupon of the meal being served follows it)."""
        if not re.match(r"^diet\b", text.strip().lower()) or not self.meals.planned:
            return None
        choices = self.choices(meal) or self.meals.plan.diets
        diet = parse_diet(text, choices, combine=self.meals.plan.combine_diets)
        listed = " · ".join(f"{i} {name}" for i, name in enumerate(choices, start=1))
        if diet is None:
            return Reply(content.message("diet_unknown", choices=listed), "diet_unknown")
        await self._set(participant, diet, meal)
        return Reply(content.message("diet_set", diet=diet), "diet_set")

    async def answer(self, participant: str, text: str, meal: Meal | None) -> str | None:
        """The answer to the question (a number or a name), taken only while the question is open."""
        choices = self.choices(meal)
        if not choices or len(text) > 40 or not await self.needed(participant, meal):
            return None
        diet = parse_diet(text, choices, combine=self.meals.plan.combine_diets)
        if diet is not None:
            await self._set(participant, diet, meal)
        return diet

    async def _set(self, participant: str, diet: str, meal: Meal | None) -> None:
        at = self.meals.clock.timestamp()
        await self.ledger.write(lambda ledger: ledger.state.set_diet(participant, diet, at))
        if meal is not None:
            owner = CouponOwner(participant, meal.id)
            await self.ledger.write(lambda ledger: ledger.coupons.set_diet_of_open_coupon(owner, diet))

    async def hold(self, participant: str, story: str) -> None:
        await self.ledger.write(lambda ledger: ledger.state.hold_waiting_story(WAITING_PREFIX + participant, story))

    async def take_held(self, participant: str) -> str | None:
        return await self.ledger.write(
            lambda ledger: ledger.state.take_waiting_story(WAITING_PREFIX + participant, None)
        )
