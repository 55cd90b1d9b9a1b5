"""What a person is offered when no story is on the table: the diet question, a role's coupon, or a prompt.

In that order, one thing per message: the diet question comes alone (never in the same message
as a story prompt: one question at a time is what people answer), a role the meal feeds without
a story (a mentor, a volunteer) gets the coupon at once, and everyone else gets their story
prompt — the same one until they use it, so a person asking again is not handed a new task.
"""

from __future__ import annotations

import logging

from pizza_agent.domain.identity import Chat
from pizza_agent.domain.languages import current_language
from pizza_agent.domain.reply import CardSpec, Reply, sender_id
from pizza_agent.event.diets import Diets
from pizza_agent.event.meals import Meals, Serving
from pizza_agent.event.story_desk import StoryDesk
from pizza_agent.ledger.errors import LedgerBusy
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.service import LLMService
from pizza_agent.plan.model import Meal

log = logging.getLogger("pizza.conversation")


class NextStep:
    def __init__(self, llm: LLMService, ledger: LedgerWorker, meals: Meals, diets: Diets, stories: StoryDesk) -> None:
        self.llm, self.ledger, self.meals, self.diets, self.stories = llm, ledger, meals, diets, stories

    async def offer(
        self,
        participant: str,
        chat: Chat,
        kind: str,
        layers: dict[str, str],
        deadline: float,
        message: str = "prompt_intro",
        *,
        meal: Meal,
    ) -> Reply:
        """`message`: "prompt_intro", or "confirm_story" (a story-shaped message held for a YES: the prompt
        goes with the question, and the diet is asked when the story is confirmed)."""
        content = self.llm.content
        opened = self.meals.open_line(content, meal)
        if message == "prompt_intro" and await self.diets.needed(participant, meal):
            question, card = self.diets.question(content, meal)
            return Reply(f"{opened} {question}".strip(), "diet_question", intent=kind, layers=layers, cards=(card,))
        if message == "prompt_intro":
            coupon = await self.stories.for_role(participant, chat, meal)
            if coupon is not None:
                return coupon
        prompt, layers["prompt"] = await self._prompt(participant, deadline)
        text = content.message(message, prompt=prompt)
        outcome = "prompt" if message == "prompt_intro" else message
        cards = (
            (
                CardSpec(
                    "confirm",
                    "confirm",
                    content.message("card_confirm"),
                    buttons=(content.message("card_yes"), content.message("card_no")),
                ),
            )
            if outcome != "prompt"
            else ()
        )
        return Reply(f"{opened} {text}".strip(), outcome, intent=kind, layers=layers, cards=cards)

    async def _prompt(self, participant: str, deadline: float) -> tuple[str, str]:
        """The person's unused prompt again, or a new one (from the layers, never one they were given)."""
        language = current_language()
        unused = await self.ledger.read(lambda ledger: ledger.state.unused_prompt(participant, language))
        if unused is not None:
            return unused, "repeat"
        given = set(await self.ledger.read(lambda ledger: ledger.state.prompts_for(participant)))
        pooled = await self.ledger.read(lambda ledger: ledger.state.pooled_prompts(given, language=language))
        prompt = await self.llm.generate_prompt(given, deadline, pooled=pooled)
        try:
            await self.ledger.write(
                lambda ledger: ledger.state.record_prompt(participant, prompt.value, prompt.layer, language)
            )
        except LedgerBusy:
            log.warning("ledger busy: the prompt given to sender=%s is not on record", sender_id(participant))
        return prompt.value, prompt.layer

    async def closed(self, participant: str, serving: Serving) -> Reply:
        """Outside every window: when the next meal is (or a closing line), and a past coupon named as past."""
        content = self.llm.content
        text = self.meals.closed(content, serving)
        past = await self.ledger.read(lambda ledger: ledger.coupons.coupons_of(participant))
        if past:
            text += " " + content.message("meal_past_coupon", meal=self.meals.name_of(past[-1].meal))
        return Reply(text, "meal_closed")
