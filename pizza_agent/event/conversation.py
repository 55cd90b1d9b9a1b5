"""What the agent says to one message: prompt, story → score → tier → coupon, or a command.

Independent of uAgents: it takes a sender address and text and returns a
`Reply`, so the whole conversation is testable without a network, and the
agent module only adds transport.

Who a message is from is decided by people/identity.py: the person is the
sender's agent address (authenticated by the envelope signature) in address
mode; in roster mode, the attendee whose badge claim code bound the chat.
Everything after that is keyed on that person, and the chat (sender, session)
the message came in: a coupon remembers it, its code is repeated only there
(domain/identity.py), and what the person may get is the grant policy's
(event/grants.py). What counts as a story is decided in
story_rule.py; organizer commands live in organizer.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import unicodedata
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import replace

from pizza_agent.config.settings import Settings
from pizza_agent.domain.content import StaticContent, TextReading
from pizza_agent.domain.identity import Chat, CouponOwner
from pizza_agent.domain.reply import Reply, sender_id
from pizza_agent.domain.scores import StoryScore
from pizza_agent.event.alerts import Alerts
from pizza_agent.event.diets import Diets
from pizza_agent.event.grants import Grant, GrantPolicy
from pizza_agent.event.meals import Meals, Serving
from pizza_agent.event.organizer import Controls, Organizer, parse_command
from pizza_agent.event.rate_limit import Admit, SenderRateLimiter
from pizza_agent.event.story_rule import Decision, decide
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.conversation_state import HELD_STORY_SECONDS
from pizza_agent.ledger.coupons import Coupon, Issuance, Issued
from pizza_agent.ledger.errors import LedgerBusy, LedgerGone
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.fallback import ChainResult, speculative
from pizza_agent.llm.service import LLMService
from pizza_agent.llm.tasks import finish_reply
from pizza_agent.people.identity import SHARED_SENDER_SESSIONS, Identified, Outcome, People
from pizza_agent.plan.model import Meal

log = logging.getLogger("pizza.conversation")

# Kept back from REPLY_DEADLINE for signing and sending the reply.
REPLY_SEND_MARGIN_SECONDS = 0.2
# What a claim code that was not accepted hears (roster mode).
CLAIM_REFUSALS = {
    Outcome.SLOW_DOWN: "claim_slow_down",
    Outcome.TYPO: "claim_typo",
    Outcome.UNKNOWN_CODE: "claim_unknown",
    Outcome.REMOVED: "claim_removed",
    Outcome.ELSEWHERE: "claim_elsewhere",
}
# Replies to a message that asked for pizza or told a story: address mode's shared-sender tripwire counts
# the chat sessions they came in (a short "I want pizza" from the next person counts too).
ASKED_FOR_PIZZA = frozenset(
    {"prompt", "confirm_story", "coupon", "repeat_coupon", "coupon_in_another_chat", "diet_question", "pool_exhausted"}
)
# A pool or capped tier with this share (or less) of its codes left is logged as low.
POOL_LOW_SHARE = 0.10


def clean_text(text: str) -> str:
    """Text safe to store and show: valid UTF-8, NFC, no control characters but newlines and tabs."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


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


class Conversation:
    """Turns one participant's message into a `Reply`; built by the composition root (app/composition.py)."""

    def __init__(
        self,
        settings: Settings,
        llm: LLMService,
        ledger: LedgerWorker,
        signer: CouponSigner,
        *,
        organizer: Organizer,
        controls: Controls,
        limiter: SenderRateLimiter,
        people: People,
        meals: Meals,
        policy: GrantPolicy,
        alerts: Alerts | None = None,
    ) -> None:
        self.settings = settings
        self.llm = llm
        self.db = ledger
        self.signer = signer
        self.organizer = organizer
        self.controls = controls
        self.limiter = limiter
        self.people = people
        self.meals = meals
        self.policy = policy
        self.diets = Diets(meals, ledger)
        self.alerts = alerts or Alerts()
        self._low_announced: set[tuple[str, str]] = set()
        # Weak: a participant's lock lives only while one of their messages holds it.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def content(self) -> StaticContent:
        return self.llm.content  # an organizer's `reload` replaces it

    def _lock_for(self, address: str) -> asyncio.Lock:
        lock = self._locks.get(address)
        if lock is None:
            lock = self._locks[address] = asyncio.Lock()
        return lock

    def admit(self, sender: str) -> Admit:
        """Rate limit before any work (organizers exempt): OK, SLOW_DOWN once, then DROP."""
        if sender in self.organizer.addresses:
            return Admit.OK
        decision = self.limiter.check(sender)
        if decision is Admit.SLOW_DOWN:
            log.warning("rate limited sender=%s (more than %d messages)", sender_id(sender), self.limiter.limit)
        return decision

    def slow_down(self) -> Reply:
        return Reply(self.content.message("slow_down"), "rate_limited")

    async def handle(self, sender: str, raw_text: str, session: str = "") -> Reply:
        """One message from `sender` in chat `session` (the envelope's session id; "" when unknown)."""
        text = clean_text(raw_text)
        is_organizer = sender in self.organizer.addresses
        command = parse_command(text, is_organizer=is_organizer)
        if command is not None:
            return await self.organizer.run(sender, command)
        if is_organizer:  # an organizer's typo is not a participant's message (no prompt, not counted)
            return self.organizer.unknown_command(text)
        if not text:
            return Reply(self.content.message("empty"), "empty")
        return await self._guarded(lambda: self._identified(sender, session, text))

    async def _identified(self, sender: str, session: str, text: str) -> Reply:
        who = await self.people.identify(sender, session, text)
        if not who.known or who.participant is None:
            return await self._unclaimed(who, sender, session, text)
        # One message per participant at a time: two stories in flight give one coupon.
        chat = Chat(sender, session)
        async with self._lock_for(who.participant):
            if who.outcome is Outcome.CLAIMED:
                return await self._claimed(who, chat)
            reply = await self._converse(who.participant, chat, who.text)
            if not self.people.roster and session and reply.outcome in ASKED_FOR_PIZZA:
                with contextlib.suppress(LedgerBusy):  # a warning for organizers: never worth the reply
                    await self._shared_sender_tripwire(sender, session)
            return reply

    async def _guarded(self, work: Callable[[], Awaitable[Reply]]) -> Reply:
        try:
            return await work()
        except LedgerBusy:
            log.warning("ledger busy (another writer holds it): a participant is asked to send again")
            self.alerts.send("ledger_busy", "the ledger is busy: participants are asked to send again in a minute")
            return Reply(self.content.message("ledger_busy"), "ledger_busy")
        except LedgerGone as exc:
            log.critical("%s: no coupon is issued until an organizer restores it and restarts the agent", exc)
            self.alerts.send("ledger_gone", "the ledger file is gone: no coupon is issued until it is restored")
            return Reply(self.content.message("ledger_gone"), "ledger_gone")

    # --- roster mode: the claim code --------------------------------------------------------
    async def _unclaimed(self, who: Identified, sender: str, session: str, text: str) -> Reply:
        """Nobody known yet: a refused code hears why; a story waits for the code; anything else is asked for it."""
        refusal = CLAIM_REFUSALS.get(who.outcome)
        if refusal is not None:
            if who.outcome is Outcome.ELSEWHERE and who.attendee is not None:
                self.alerts.send(
                    "claim_elsewhere",
                    f"the badge code of {who.attendee.display_name} (attendee {who.attendee.key}) was presented from "
                    f"another address ({sender_id(sender)}): a stolen badge? `lookup {who.attendee.key}`, "
                    "`reissue` if the owner asks",
                )
            return Reply(self.content.message(refusal), f"claim_{who.outcome.value}")
        if self.controls.paused is not None:
            return Reply(self.controls.paused or self.content.message("paused"), "paused")
        reading = self.content.read(text, self.settings.story_min_chars)
        if reading.story_shaped and len(text) >= self.settings.story_min_chars:
            if len(text) > self.settings.story_max_chars:
                message = self.content.message(
                    "story_too_long", max_chars=self.settings.story_max_chars, length=len(text)
                )
                return Reply(message, "story_too_long", intent="story")
            await self.people.hold_before_claim(sender, session, text)
            return Reply(self.content.message("claim_story_waits"), "claim_story_waits", intent="story")
        # A prompt from the static list: asking for the code costs no model call (guessers get nothing to spend).
        prompt = self.content.pick_prompt(set(), self.llm.rng)
        return Reply(self.content.message("claim_ask", prompt=prompt), "claim_ask", layers={"prompt": "static"})

    async def _claimed(self, who: Identified, chat: Chat) -> Reply:
        """A claim code bound this chat just now: welcome, then the story that waited for it, the one in this
        message, or a prompt."""
        assert who.participant is not None and who.attendee is not None
        participant, rest = who.participant, who.text
        welcome = self.content.message("claim_welcome", person=who.attendee.display_name)
        now_serving = self.meals.serving().meal
        owner = CouponOwner(participant, now_serving.id if now_serving else "")
        coupon = await self.db.read(lambda ledger: ledger.coupons.coupon_for(owner))
        if coupon is not None:
            return _after(welcome, self._already(coupon, chat))
        held = await self.people.held_before_claim(chat.sender, chat.session)
        if len(rest) < self.settings.story_min_chars:
            rest = ""  # "my code is …": nothing else to answer
        serving = self.meals.serving()
        deadline = asyncio.get_running_loop().time() + self.settings.reply_deadline - REPLY_SEND_MARGIN_SECONDS
        if held is not None and not rest:
            if self.controls.paused is None and serving.meal is not None:
                story = await self._story(participant, chat, held, {"intent": "claimed"}, deadline, meal=serving.meal)
                return _after(welcome, story)
            # Not served now (paused, or between meals): the story is kept for the person's "yes" later, and
            # they are told so (it was promised to be saved).
            await self.db.write(lambda ledger: ledger.state.hold_story(participant, held))
            welcome = f"{welcome} {self.content.message('claim_story_kept')}"
        if rest:
            return _after(welcome, await self._converse(participant, chat, rest))
        if self.controls.paused is not None:
            return _after(welcome, Reply(self.controls.paused or self.content.message("paused"), "paused"))
        if serving.meal is None:
            return _after(welcome, await self._closed(participant, serving))
        prompt = await self._prompt(participant, "request", {"intent": "claim"}, deadline, meal=serving.meal)
        return _after(welcome, prompt)

    async def _shared_sender_tripwire(self, sender: str, session: str) -> None:
        """Address mode: one sender carrying stories in several chat sessions may be many people."""
        sessions = await self.people.note_request(sender, session)
        if sessions == SHARED_SENDER_SESSIONS:
            log.warning(
                "sender=%s carried stories in %d chat sessions: participants may share one address "
                "(one coupon per address would serve only the first): consider PARTICIPANTS=roster",
                sender_id(sender),
                sessions,
            )
            self.alerts.send(
                "shared_sender",
                f"sender {sender_id(sender)} carried stories in {sessions} chat sessions: participants may be sharing "
                "one address (one coupon per address serves only the first); consider PARTICIPANTS=roster",
            )

    async def _converse(self, sender: str, chat: Chat, text: str) -> Reply:
        # One deadline for the whole message: intent, score and reply share REPLY_DEADLINE.
        deadline = asyncio.get_running_loop().time() + self.settings.reply_deadline - REPLY_SEND_MARGIN_SECONDS
        serving = self.meals.serving()
        changed = await self.diets.command(sender, text, serving.meal, self.content)
        if changed is not None:
            return changed
        meal = serving.meal
        if meal is None:  # between meals, or after the last: no story is scored, no model is asked
            return await self._closed(sender, serving)
        coupon = await self.db.read(lambda ledger: ledger.coupons.coupon_for(CouponOwner(sender, meal.id)))
        if coupon is not None:
            return self._already(coupon, chat)
        if self.controls.paused is not None:
            return Reply(self.controls.paused or self.content.message("paused"), "paused")
        if len(text) > self.settings.story_max_chars:
            message = self.content.message("story_too_long", max_chars=self.settings.story_max_chars, length=len(text))
            return Reply(message, "story_too_long", intent="story")
        diet = await self.diets.answer(sender, text, meal)
        if diet is not None:  # the answer to the diet question: the story that waited for it, or a prompt
            noted = self.content.message("diet_set", diet=diet)
            waiting = await self.diets.take_held(sender)
            if waiting is not None:
                return _after(noted, await self._story(sender, chat, waiting, {"intent": "diet"}, deadline, meal=meal))
            return _after(noted, await self._prompt(sender, "request", {"intent": "diet"}, deadline, meal=meal))
        held = await self.db.read(lambda ledger: ledger.state.held_story(sender, HELD_STORY_SECONDS))
        if held is not None and (self.content.is_confirmation(text) or text == held):
            return await self._story(sender, chat, held, {"intent": "confirmed"}, deadline, meal=meal)
        reading = self.content.read(text, self.settings.story_min_chars)
        if reading.no_words:
            return Reply(self.content.message("no_words"), "no_words", intent="other")
        # A story the keyword rules are sure of is scored (and its reply drafted) while the intent is read;
        # if the intent disagrees, that work is dropped (never a provider failure).
        ahead = StoryWork(self.llm, text, deadline) if reading.story_shaped and reading.sure else None
        try:
            kind, layers = await self._intent(text, reading, deadline)
            decision = decide(reading, kind, len(text), self.settings.story_min_chars)
            if decision is Decision.SCORE:
                work, ahead = ahead, None
                return await self._story(sender, chat, text, layers, deadline, work, meal=meal)
        finally:
            if ahead is not None:
                await ahead.drop()
        if decision is Decision.TOO_SHORT:
            message = self.content.message("story_too_short", min_chars=self.settings.story_min_chars, length=len(text))
            return Reply(message, "story_too_short", intent="story", layers=layers)
        if decision is Decision.HELP:
            return Reply(self.content.message("help"), "help", intent=kind, layers=layers)
        if decision is Decision.CONFIRM:
            await self.db.write(lambda ledger: ledger.state.hold_story(sender, text))
            return await self._prompt(sender, kind, layers, deadline, "confirm_story", meal=meal)
        return await self._prompt(sender, kind, layers, deadline, meal=meal)

    async def _closed(self, participant: str, serving: Serving) -> Reply:
        """Outside every window: when the next meal is (or a closing line), and a past coupon named as past."""
        text = self.meals.closed(self.content, serving)
        past = await self.db.read(lambda ledger: ledger.coupons.coupons_of(participant))
        if past:
            text += " " + self.content.message("meal_past_coupon", meal=self.meals.name_of(past[-1].meal))
        return Reply(text, "meal_closed")

    async def _intent(self, text: str, reading: TextReading, deadline: float) -> tuple[str, dict[str, str]]:
        """An unambiguous message ("I want pizza", "hi", "help") needs no model to read it."""
        if reading.obvious:
            return reading.kind, {"intent": "keywords"}
        intent = await self.llm.understand_intent(text, deadline)
        return intent.value.kind, {"intent": intent.layer}

    async def _prompt(
        self,
        sender: str,
        kind: str,
        layers: dict[str, str],
        deadline: float,
        message: str = "prompt_intro",
        *,
        meal: Meal,
    ) -> Reply:
        given = set(await self.db.read(lambda ledger: ledger.state.prompts_for(sender)))
        pooled = await self.db.read(lambda ledger: ledger.state.pooled_prompts(given))
        prompt = await self.llm.generate_prompt(given, deadline, pooled=pooled)
        try:
            await self.db.write(lambda ledger: ledger.state.record_prompt(sender, prompt.value, prompt.layer))
        except LedgerBusy:
            log.warning("ledger busy: the prompt given to sender=%s is not on record", sender_id(sender))
        layers["prompt"] = prompt.layer
        outcome = "prompt" if message == "prompt_intro" else message
        text = self.content.message(message, prompt=prompt.value)
        opened = self.meals.open_line(self.content, meal)
        text = f"{opened} {text}" if opened else text
        card = None
        if await self.diets.needed(sender, meal):
            question, card = self.diets.question(self.content, meal)
            text += "\n\n" + question
        return Reply(text, outcome, intent=kind, layers=layers, card=card)

    async def _story(
        self,
        sender: str,
        chat: Chat,
        story: str,
        layers: dict[str, str],
        deadline: float,
        work: StoryWork | None = None,
        *,
        meal: Meal,
    ) -> Reply:
        if len(story) < self.settings.story_min_chars or await self.diets.needed(sender, meal):
            if work is not None:
                await work.drop()
            if len(story) >= self.settings.story_min_chars:  # the diet first (asked once): the story waits for it
                await self.diets.hold(sender, story)
                question, card = self.diets.question(self.content, meal)
                return Reply(question, "diet_question", intent="story", layers=layers, card=card)
            message = self.content.message(
                "story_too_short", min_chars=self.settings.story_min_chars, length=len(story)
            )
            return Reply(message, "story_too_short", intent="story", layers=layers)
        work = work or StoryWork(self.llm, story, deadline)  # scoring and the reply draft, side by side
        try:
            return await self._scored_story(sender, chat, story, layers, work, meal)
        finally:
            await work.drop()  # whatever was not used (a refusal, a tier that ran out)

    async def _scored_story(
        self, sender: str, chat: Chat, story: str, layers: dict[str, str], work: StoryWork, meal: Meal
    ) -> Reply:
        scored = await work.score
        layers["score"] = scored.layer
        score = scored.value
        if score.instructions_only:
            await self._drop_held_story(sender)
            log.info("story of sender=%s was only instructions to the judge: not scored", sender_id(sender))
            return Reply(self.content.message("instructions_only"), "instructions_only", intent="story", layers=layers)
        grant = self.policy.for_story(story, score, meal.id)
        request = Issuance(
            person=sender,
            tier=grant.tier,
            score=score.score,
            score_source=score.source,
            reason=score.reason,
            prompt=await self.db.read(lambda ledger: ledger.state.last_prompt(sender)),
            story_hash=hashlib.sha256(story.encode()).hexdigest(),
            flagged=score.flagged,
            meal=meal.id,
            diet=await self.diets.of(sender),
            pickup_groups=tuple(g.name for g in meal.groups),
            event_at=self.meals.clock.timestamp(),
            chat=chat,
        )
        issued, review_id = await self._issue(request, grant)
        if review_id is not None:
            log.warning(
                "story of sender=%s waits for the judges: review %s (%s)",
                sender_id(sender),
                review_id,
                grant.review.why if grant.review else "",
            )
            layers["review"] = review_id
            waiting = await self.db.read(lambda ledger: ledger.reviews.count_waiting())
            stories = "1 story waits" if waiting == 1 else f"{waiting} stories wait"
            self.alerts.send("review_waiting", f"{stories} for the judges: send `review` or open the dashboard")
        await self._drop_held_story(sender)
        coupon = issued.coupon
        if coupon is not None and not issued.existing and score.source == "heuristic":
            # ASI1 scores it again when it is back: upgrades only
            await self.db.write(lambda ledger: ledger.state.queue_rescore(request.owner, story))
        if coupon is None:
            log.warning(
                "coupons ran out for every tier offered (%s) sender=%s score=%d",
                ", ".join(issued.ran_out),
                sender_id(sender),
                score.score,
            )
            return Reply(self.content.message("tier_exhausted"), "pool_exhausted", intent="story", layers=layers)
        reply = await self._coupon_reply(sender, story, request, issued, coupon, layers, work)
        lines = self.meals.coupon_lines(self.content, meal, coupon.pickup_group)
        return replace(reply, text=f"{reply.text}\n\n{lines}") if lines else reply

    async def _issue(self, request: Issuance, grant: Grant) -> tuple[Issued, str | None]:
        """The coupon the grant policy allowed, and its place in the judges' queue when a human must look."""
        make_code, caps, pending = self.signer.new_code, grant.caps, grant.review
        fall_down = self.settings.tier_fallback_down
        if pending is None:
            issued = await self.db.write(
                lambda ledger: ledger.coupons.issue(request, make_code, fall_down=fall_down, caps=caps)
            )
            return issued, None
        return await self.db.write(
            lambda ledger: ledger.reviews.issue_for_review(request, make_code, pending, fall_down=fall_down, caps=caps)
        )

    async def _coupon_reply(
        self,
        sender: str,
        story: str,
        request: Issuance,
        issued: Issued,
        coupon: Coupon,
        layers: dict[str, str],
        work: StoryWork,
    ) -> Reply:
        log.info(
            "coupon issued sender=%s tier=%s score=%d source=%s flagged=%s",
            sender_id(sender),
            coupon.tier,
            coupon.score,
            coupon.score_source,
            coupon.flagged,
        )
        await self._warn_if_running_low(coupon.tier, coupon.meal)
        if issued.ran_out:
            log.warning(
                "tier ran out: %s (sender=%s scored %d, gave %s)",
                ", ".join(issued.ran_out),
                sender_id(sender),
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

    async def _drop_held_story(self, sender: str) -> None:
        await self.db.write(lambda ledger: ledger.state.drop_held_story(sender))

    async def _warn_if_running_low(self, tier: str, meal_id: str = "") -> None:
        """One WARNING when a limited tier gets low (≤ 10 % left) and one when it is empty."""
        meal = self.meals.plan.meal(meal_id)
        caps = (meal.tier_caps if meal else None) or self.settings.tier_caps
        left = (await self.db.read(lambda ledger: ledger.coupons.left(caps, meal_id)))[tier]
        if left is None:
            return
        pools = await self.db.read(lambda ledger: ledger.coupons.pool_sizes(meal_id))
        total = pools[tier][1] if tier in pools else caps[tier]  # type: ignore[index]
        level = "empty" if left == 0 else "low" if left <= POOL_LOW_SHARE * total else None
        if level is not None and (tier, level) not in self._low_announced:
            self._low_announced.add((tier, level))
            log.warning("%s coupons %s: %d of %d left", tier, level, left, total)
            self.alerts.send(
                f"tier_{level}",
                f"{tier} coupons {'ran out' if level == 'empty' else 'are low'}: {left} of {total} left",
            )

    def _already(self, coupon: Coupon, chat: Chat) -> Reply:
        """The person's coupon for this meal, again. Its code only in the chat it was issued in, or (roster
        mode) in a chat the person bound with their claim code: another chat of one sender may be another
        person (a platform speaking for many), who must not be shown it."""
        if not self.people.roster and coupon.chat.sender and coupon.chat != chat:  # nothing of it, not even a void
            return Reply(self.content.message("coupon_in_another_chat"), "coupon_in_another_chat", end_session=True)
        if coupon.voided_at is not None:  # never repeat a dead code as if it were valid
            text = self.content.message("coupon_voided", reason=coupon.void_reason or "no reason given")
            return Reply(text, "coupon_voided", end_session=True)
        text = self.content.message("already_has_coupon", code=coupon.code, tier=coupon.tier)
        meal = self.meals.plan.meal(coupon.meal)
        lines = self.meals.coupon_lines(self.content, meal, coupon.pickup_group) if meal else ""
        return Reply(f"{text}\n\n{lines}".strip(), "repeat_coupon", end_session=True, code=coupon.code)


def _after(first: str, reply: Reply) -> Reply:
    """The reply with a line before it (the welcome of a claim code)."""
    return replace(reply, text=f"{first}\n\n{reply.text}")
