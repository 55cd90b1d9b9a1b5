"""A story told: scored (with injection detection) and its reply drafted side by side, then the coupon.

The grant policy (grants.py) decides the tier a person may get for the meal; this room asks the
models, issues what the policy allowed (or queues it for the judges), queues a heuristic score
for ASI1's second look, and words the coupon's reply. The diet comes first: a story that arrives
before the diet is known waits for the answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import replace
from typing import Any

from pizza_agent.config.settings import Settings
from pizza_agent.domain.content import StaticContent
from pizza_agent.domain.identity import Chat, attendee_key
from pizza_agent.domain.reply import CardSpec, Reply, sender_id
from pizza_agent.domain.scores import StoryScore
from pizza_agent.event.alerts import Alerts
from pizza_agent.event.diets import Diets
from pizza_agent.event.grants import Grant, GrantPolicy
from pizza_agent.event.meals import Meals
from pizza_agent.event.stock_alerts import StockWatch
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.coupons import Coupon, Issuance, Issued
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.fallback import ChainResult, speculative
from pizza_agent.llm.service import LLMService
from pizza_agent.llm.tasks import finish_reply
from pizza_agent.plan.model import Meal

log = logging.getLogger("pizza.conversation")


class StoryWork:
    """The model calls a story needs, started together: its score (with detection) and the reply draft.

    Started speculatively (before the intent is known) or when the story is confirmed; either
    way the participant waits for the slowest of them, not for one after the other. What is
    not used is cancelled, and a cancelled speculative call is never a provider failure.
    """

    def __init__(self, llm: LLMService, story: str, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        with speculative():
            self.score: asyncio.Task[ChainResult[StoryScore]] = loop.create_task(llm.score_story(story, deadline))
            self.draft: asyncio.Task[ChainResult[str | None]] = loop.create_task(llm.draft_reply(story, deadline))

    async def drop(self) -> None:
        unused = [task for task in (self.score, self.draft) if not task.done()]
        for task in unused:
            task.cancel()
        await asyncio.gather(*unused, return_exceptions=True)


class StoryDesk:
    """Turns a story into a coupon reply (or a refusal), under the grant policy."""

    def __init__(
        self,
        settings: Settings,
        llm: LLMService,
        ledger: LedgerWorker,
        signer: CouponSigner,
        *,
        policy: GrantPolicy,
        diets: Diets,
        meals: Meals,
        alerts: Alerts,
    ) -> None:
        self.settings, self.llm, self.ledger, self.signer = settings, llm, ledger, signer
        self.policy, self.diets, self.meals, self.alerts = policy, diets, meals, alerts
        self.stock = StockWatch(settings, meals, ledger, alerts)

    @property
    def content(self) -> StaticContent:
        return self.llm.content  # an organizer's `reload` replaces it

    async def for_role(self, participant: str, chat: Chat, meal: Meal) -> Reply | None:
        """A mentor, volunteer, sponsor, … whom the meal feeds without a story: their coupon now (None for
        a participant, who tells a story)."""
        key = attendee_key(participant)
        if not meal.roles or key is None:
            return None
        attendee = await self.ledger.read(lambda ledger: ledger.roster.get(key))
        grant = self.policy.for_role(attendee.role if attendee else "attendee", meal.id)
        if grant is None or attendee is None:
            return None
        request = Issuance(
            person=participant,
            tier=grant.tier,
            score=0,
            score_source="role",
            reason=attendee.role,
            prompt=None,
            story_hash="",
            **await self._for_meal(participant, chat, meal),
        )
        issued, _ = await self._issue(request, grant)
        coupon = issued.coupon
        if coupon is None:
            return Reply(self.content.message("tier_exhausted"), "pool_exhausted", intent="pizza_request")
        log.info(
            "coupon issued sender=%s tier=%s role=%s (no story)", sender_id(participant), coupon.tier, attendee.role
        )
        await self.stock.after_issuing(coupon.tier, coupon.meal)
        text = self.content.message("role_coupon", role=attendee.role, tier=coupon.tier, code=coupon.code)
        lines = self._meal_lines(meal, coupon)
        text = f"{text}\n\n{lines}" if lines else text
        card = self.coupon_card(coupon)
        return Reply(text, "coupon", end_session=True, intent="pizza_request", code=coupon.code, cards=(card,))

    async def _for_meal(self, participant: str, chat: Chat, meal: Meal) -> dict[str, Any]:
        """What every coupon of a meal records besides its tier and score: the meal, the person's diet, the
        meal's pickup groups, the event's time and the chat it is issued in."""
        return {
            "meal": meal.id,
            "diet": await self.diets.of(participant),
            "pickup_groups": tuple(g.name for g in meal.groups),
            "event_at": self.meals.clock.timestamp(),
            "chat": chat,
        }

    def coupon_card(self, coupon: Coupon) -> CardSpec:
        """The coupon as a detail card: tier, meal, pickup group and time, the code (and its QR image)."""
        say = self.content.message
        rows = [(say("card_tier"), coupon.tier)]
        meal = self.meals.plan.meal(coupon.meal) if self.meals.planned else None
        if meal is not None:
            rows.append((say("card_meal"), meal.name))
            group = next((g for g in meal.groups if g.name == coupon.pickup_group), None)
            when = meal.group_time(group) if group else None
            if group and when:
                rows.append((say("card_pickup"), say("card_pickup_value", group=group.name, time=f"{when:%H:%M}")))
        rows.append((say("card_code"), coupon.code))
        buttons = (say("card_show_code"),)
        return CardSpec("detail", "coupon", say("card_coupon"), rows=tuple(rows), code=coupon.code, buttons=buttons)

    def _meal_lines(self, meal: Meal, coupon: Coupon) -> str:
        """The meal, the pickup group, and (when this meal has no option for the person's diet) that too."""
        lines = self.meals.coupon_lines(self.content, meal, coupon.pickup_group)
        if coupon.diet and not self.meals.plan.offers(meal, coupon.diet):
            offered = ", ".join(self.meals.diets(meal))
            note = self.content.message("diet_not_offered", meal=meal.name, diet=coupon.diet, offered=offered)
            lines = f"{lines} {note}".strip()
        return lines

    async def tell(
        self,
        participant: str,
        chat: Chat,
        story: str,
        layers: dict[str, str],
        deadline: float,
        work: StoryWork | None = None,
        *,
        meal: Meal,
    ) -> Reply:
        if len(story) < self.settings.story_min_chars or await self.diets.needed(participant, meal):
            if work is not None:
                await work.drop()
            if len(story) >= self.settings.story_min_chars:  # the diet first (asked once): the story waits for it
                await self.diets.hold(participant, story)
                question, card = self.diets.question(self.content, meal)
                return Reply(question, "diet_question", intent="story", layers=layers, cards=(card,))
            message = self.content.message(
                "story_too_short", min_chars=self.settings.story_min_chars, length=len(story)
            )
            return Reply(message, "story_too_short", intent="story", layers=layers)
        work = work or StoryWork(self.llm, story, deadline)  # scoring and the reply draft, side by side
        try:
            return await self._scored_story(participant, chat, story, layers, work, meal)
        finally:
            await work.drop()  # whatever was not used (a refusal, a tier that ran out)

    async def _scored_story(
        self, participant: str, chat: Chat, story: str, layers: dict[str, str], work: StoryWork, meal: Meal
    ) -> Reply:
        scored = await work.score
        layers["score"] = scored.layer
        score = scored.value
        if score.instructions_only:
            await self.ledger.write(lambda ledger: ledger.state.drop_held_story(participant))
            log.info("story of sender=%s was only instructions to the judge: not scored", sender_id(participant))
            return Reply(self.content.message("instructions_only"), "instructions_only", intent="story", layers=layers)
        grant = self.policy.for_story(story, score, meal.id)
        request = Issuance(
            person=participant,
            tier=grant.tier,
            score=score.score,
            score_source=score.source,
            reason=score.reason,
            prompt=await self.ledger.read(lambda ledger: ledger.state.last_prompt(participant)),
            story_hash=hashlib.sha256(story.encode()).hexdigest(),
            flagged=score.flagged,
            **await self._for_meal(participant, chat, meal),
        )
        issued, review_id = await self._issue(request, grant)
        if review_id is not None:
            log.warning(
                "story of sender=%s waits for the judges: review %s (%s)",
                sender_id(participant),
                review_id,
                grant.review.why if grant.review else "",
            )
            layers["review"] = review_id
            waiting = await self.ledger.read(lambda ledger: ledger.reviews.count_waiting())
            stories = "1 story waits" if waiting == 1 else f"{waiting} stories wait"
            self.alerts.send("review_waiting", f"{stories} for the judges: send `review` or open the dashboard")
        await self.ledger.write(lambda ledger: ledger.state.drop_held_story(participant))
        coupon = issued.coupon
        if coupon is not None and not issued.existing and score.source == "heuristic":
            # ASI1 scores it again when it is back: upgrades only
            await self.ledger.write(lambda ledger: ledger.state.queue_rescore(request.owner, story))
        if coupon is None:
            log.warning(
                "coupons ran out for every tier offered (%s) sender=%s score=%d",
                ", ".join(issued.ran_out),
                sender_id(participant),
                score.score,
            )
            return Reply(self.content.message("tier_exhausted"), "pool_exhausted", intent="story", layers=layers)
        reply = await self._coupon_reply(participant, story, request, issued, coupon, layers, work)
        lines = self._meal_lines(meal, coupon)
        text = f"{reply.text}\n\n{lines}" if lines else reply.text
        return replace(reply, text=text, cards=(self.coupon_card(coupon),))

    async def _issue(self, request: Issuance, grant: Grant) -> tuple[Issued, str | None]:
        """The coupon the grant policy allowed, and its place in the judges' queue when a human must look."""
        make_code, caps, pending = self.signer.new_code, grant.caps, grant.review
        fall_down = self.settings.tier_fallback_down
        if pending is None:
            issued = await self.ledger.write(
                lambda ledger: ledger.coupons.issue(request, make_code, fall_down=fall_down, caps=caps)
            )
            return issued, None
        return await self.ledger.write(
            lambda ledger: ledger.reviews.issue_for_review(request, make_code, pending, fall_down=fall_down, caps=caps)
        )

    async def _coupon_reply(
        self,
        participant: str,
        story: str,
        request: Issuance,
        issued: Issued,
        coupon: Coupon,
        layers: dict[str, str],
        work: StoryWork,
    ) -> Reply:
        log.info(
            "coupon issued sender=%s tier=%s score=%d source=%s flagged=%s",
            sender_id(participant),
            coupon.tier,
            coupon.score,
            coupon.score_source,
            coupon.flagged,
        )
        await self.stock.after_issuing(coupon.tier, coupon.meal)
        if issued.ran_out:
            log.warning(
                "tier ran out: %s (sender=%s scored %d, gave %s)",
                ", ".join(issued.ran_out),
                sender_id(participant),
                coupon.score,
                coupon.tier,
            )
            text = self.content.message(
                "tier_fell_down", score=coupon.score, wanted=request.tier, tier=coupon.tier, code=coupon.code
            )
            layers["reply"] = "static"
            return Reply(text, "coupon", end_session=True, intent="story", layers=layers, code=coupon.code)
        draft = await work.draft
        text, drafted = finish_reply(
            draft.value,  # checked when it was written (no tier at all may be named: stricter than any one tier)
            story=story,
            score=coupon.score,
            tier=coupon.tier,
            code=coupon.code,
            content=self.content,
            rng=self.llm.rng,
        )
        layers["reply"] = draft.layer if drafted else "static"
        if "review" in layers:
            text += "\n\n" + self.content.message("under_review", tier=coupon.tier)
        return Reply(text, "coupon", end_session=True, intent="story", layers=layers, code=coupon.code)

    def repeat(self, coupon: Coupon, chat: Chat, *, roster: bool) -> Reply:
        """The person's coupon for this meal, again. Its code only in the chat it was issued in, or (roster
        mode) in a chat the person bound with their claim code: another chat of one sender may be another
        person (a platform speaking for many), who must not be shown it."""
        if not roster and coupon.chat.sender and coupon.chat != chat:  # nothing of it, not even a void
            return Reply(self.content.message("coupon_in_another_chat"), "coupon_in_another_chat", end_session=True)
        if coupon.voided_at is not None:  # never repeat a dead code as if it were valid
            text = self.content.message("coupon_voided", reason=coupon.void_reason or self.content.message("no_reason"))
            return Reply(text, "coupon_voided", end_session=True)
        text = self.content.message("already_has_coupon", code=coupon.code, tier=coupon.tier)
        meal = self.meals.plan.meal(coupon.meal)
        lines = self.meals.coupon_lines(self.content, meal, coupon.pickup_group) if meal else ""
        return Reply(
            f"{text}\n\n{lines}".strip(),
            "repeat_coupon",
            end_session=True,
            code=coupon.code,
            cards=(self.coupon_card(coupon),),
        )
