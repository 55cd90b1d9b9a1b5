"""What the agent says next to one message: a prompt, a story's coupon, a diet answer, or a command.

Independent of uAgents: it takes a sender address and text and returns a `Reply`, so the
whole conversation is testable without a network, and the agent module only adds transport.

Who a message is from is decided by people/identity.py (the sender's address in address mode;
in roster mode, the attendee whose claim code bound the chat), and what someone not yet known
hears by people/sign_in.py. Everything after that is keyed on that person and the chat (sender,
session) the message came in: a coupon remembers it, its code is repeated only there
(domain/identity.py). A story is scored and its coupon issued by story_desk.py under the grant
policy (grants.py); what counts as a story is story_rule.py; organizer commands are organizer.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import replace

from pizza_agent.config.settings import Settings
from pizza_agent.domain.content import StaticContent, TextReading
from pizza_agent.domain.identity import Chat, CouponOwner
from pizza_agent.domain.languages import speaking
from pizza_agent.domain.reply import Reply, after_line, sender_id
from pizza_agent.domain.text import clean_text
from pizza_agent.event.alerts import Alerts
from pizza_agent.event.commands import Command, parse_command
from pizza_agent.event.controls import Controls
from pizza_agent.event.diets import Diets
from pizza_agent.event.grants import GrantPolicy
from pizza_agent.event.languages import SpokenLanguages, chat_key, event_languages
from pizza_agent.event.meals import Meals
from pizza_agent.event.next_step import NextStep
from pizza_agent.event.organizer import Organizer
from pizza_agent.event.rate_limit import Admit, SenderRateLimiter
from pizza_agent.event.story_desk import StoryDesk, StoryWork
from pizza_agent.event.story_rule import StoryDecision, decide
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.errors import LedgerBusy, LedgerGone
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.service import LLMService
from pizza_agent.people.identity import Identified, People, SignIn
from pizza_agent.people.languages import parse_lang_command
from pizza_agent.people.sign_in import ASKED_FOR_PIZZA, FrontDoor

log = logging.getLogger("pizza.conversation")

# Kept back from REPLY_DEADLINE for signing and sending the reply.
REPLY_SEND_MARGIN_SECONDS = 0.2


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
        self.ledger = ledger
        self.signer = signer
        self.organizer = organizer
        self.controls = controls
        self.limiter = limiter
        self.people = people
        self.meals = meals
        self.policy = policy
        self.diets = Diets(meals, ledger)
        self.languages = SpokenLanguages(event_languages(settings, meals.plan), ledger)
        self.alerts = alerts or Alerts()
        self.stories = StoryDesk(
            settings, llm, ledger, signer, policy=policy, diets=self.diets, meals=meals, alerts=self.alerts
        )
        self.next_step = NextStep(llm, ledger, meals, self.diets, self.stories)
        self.front_door = FrontDoor(settings, people, lambda: self.llm.content, llm.rng, self.alerts.send)
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

    def _deadline(self) -> float:
        """One deadline for the whole message: intent, score and reply share REPLY_DEADLINE."""
        return asyncio.get_running_loop().time() + self.settings.reply_deadline - REPLY_SEND_MARGIN_SECONDS

    def _paused(self) -> Reply:
        return Reply(self.controls.paused or self.content.message("paused"), "paused")

    def slow_down(self, text: str = "") -> Reply:
        """Said without reading the ledger: in the language of the message that was refused."""
        with speaking(self.languages.of_text(self.content, clean_text(text))):
            return Reply(self.content.message("slow_down"), "rate_limited")

    def internal_error(self, text: str = "") -> Reply:
        with speaking(self.languages.of_text(self.content, clean_text(text))):
            return Reply(self.content.message("internal_error"), "internal_error")

    async def handle(self, sender: str, raw_text: str, session: str = "", *, typed: bool = True) -> Reply:
        """One message from `sender` in chat `session` (the envelope's session id; "" when unknown); `typed`:
        False for a card's answer (its text is ours, in English: it does not say which language they speak)."""
        text = clean_text(raw_text)
        is_organizer = sender in self.organizer.addresses
        command = parse_command(text, is_organizer=is_organizer)
        if command is not None and is_organizer:
            return await self.organizer.run(sender, command)
        if command is not None:  # `help`, or a refusal: in the participant's language
            return await self._guarded(lambda: self._identified(sender, session, "", None, command))
        if is_organizer:  # an organizer's typo is not a participant's message (no prompt, not counted)
            return self.organizer.unknown_command(text)
        detected = self.languages.detect(self.content, text) if text and typed else None
        with speaking(detected or self.languages.default(self.content)):  # until the person is known
            if not text:
                return Reply(self.content.message("empty"), "empty")
            return await self._guarded(lambda: self._identified(sender, session, text, detected))

    async def _identified(
        self, sender: str, session: str, text: str, detected: str | None, command: Command | None = None
    ) -> Reply:
        who = await self.people.identify(sender, session, text)
        chat = chat_key(sender, session)
        keys = (who.participant, chat) if who.participant else (chat,)
        language = await self.languages.resolve(self.content, keys, detected)
        with speaking(language):
            if command is not None:
                return await self.organizer.run(sender, command)
            return await self._in_language(who, sender, session, text)

    async def _in_language(self, who: Identified, sender: str, session: str, text: str) -> Reply:
        if (asked := parse_lang_command(who.text)) is not None:
            return await self.languages.command(self.content, who.participant or chat_key(sender, session), asked)
        if not who.known or who.participant is None:
            serving = self.meals.serving().meal is not None
            return await self.front_door.unclaimed(who, sender, session, text, self.controls.paused, serving=serving)
        # One message per participant at a time: two stories in flight give one coupon.
        chat = Chat(sender, session)
        async with self._lock_for(who.participant):
            if who.outcome is SignIn.CLAIMED:
                return await self._claimed(who, chat)
            reply = await self._converse(who.participant, chat, who.text)
            if not self.people.roster and session and reply.outcome in ASKED_FOR_PIZZA:
                with contextlib.suppress(LedgerBusy):  # a warning for organizers: never worth the reply
                    await self.front_door.shared_sender_tripwire(sender, session)
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

    async def _claimed(self, who: Identified, chat: Chat) -> Reply:
        """A claim code bound this chat just now: welcome, then the story that waited for it, the one in this
        message, or a prompt."""
        assert who.participant is not None and who.attendee is not None
        participant, rest = who.participant, who.text
        welcome = self.content.message("claim_welcome", person=who.attendee.display_name)
        if diet := await self.diets.of(participant):
            welcome = f"{welcome} {self.content.message('diet_on_record', diet=diet)}"
        now_serving = self.meals.serving().meal
        owner = CouponOwner(participant, now_serving.id if now_serving else "")
        coupon = await self.ledger.read(lambda ledger: ledger.coupons.coupon_for(owner))
        if coupon is not None:
            return after_line(welcome, self.stories.repeat(coupon, chat, roster=self.people.roster))
        held = await self.people.held_before_claim(chat.sender, chat.session)
        if len(rest) < self.settings.story_min_chars:
            rest = ""  # "my code is …": nothing else to answer
        serving = self.meals.serving()
        deadline = self._deadline()
        if held is not None and not rest:
            if self.controls.paused is None and serving.meal is not None:
                story = await self.stories.tell(
                    participant, chat, held, {"intent": "claimed"}, deadline, meal=serving.meal
                )
                return after_line(welcome, story)
            # Paused: kept for the person's "yes" (it was promised to be saved). Between meals, hours may pass:
            # said plainly that it was not kept, rather than kept for a half hour that ends before the meal.
            if self.controls.paused is not None:
                await self.ledger.write(lambda ledger: ledger.state.hold_story(participant, held))
            kept = "claim_story_kept" if self.controls.paused is not None else "claim_story_later"
            welcome = f"{welcome} {self.content.message(kept)}"
        if rest:
            return after_line(welcome, await self._converse(participant, chat, rest))
        if self.controls.paused is not None:
            return after_line(welcome, self._paused())
        if serving.meal is None:  # the diet now, so the vendor's forecast counts them before the cut-off
            closed = await self.next_step.closed(participant, serving)
            if await self.diets.needed(participant, None):
                question, card = self.diets.question(self.content, None)
                closed = replace(closed, text=f"{closed.text}\n\n{question}", cards=(card,))
            return after_line(welcome, closed)
        prompt = await self.next_step.offer(
            participant, chat, "request", {"intent": "claim"}, deadline, meal=serving.meal
        )
        return after_line(welcome, prompt)

    async def _converse(self, participant: str, chat: Chat, text: str) -> Reply:
        deadline = self._deadline()
        serving = self.meals.serving()
        changed = await self.diets.command(participant, text, serving.meal, self.content)
        if changed is not None:
            return changed
        if self.meals.asks_schedule(text):  # from the plan: no model call
            card = self.meals.schedule_card(self.content)
            return Reply(self.meals.schedule(self.content), "schedule", intent="question", cards=(card,))
        meal = serving.meal
        if meal is None:  # between meals, or after the last: no story is scored, no model is asked
            told = await self.diets.answer(participant, text, None)  # a diet told early counts in the forecast
            closed = await self.next_step.closed(participant, serving)
            return after_line(self.content.message("diet_set", diet=told), closed) if told else closed
        coupon = await self.ledger.read(lambda ledger: ledger.coupons.coupon_for(CouponOwner(participant, meal.id)))
        if coupon is not None:
            return self.stories.repeat(coupon, chat, roster=self.people.roster)
        if self.controls.paused is not None:
            return self._paused()
        if len(text) > self.settings.story_max_chars:
            message = self.content.message("story_too_long", max_chars=self.settings.story_max_chars, length=len(text))
            return Reply(message, "story_too_long", intent="story")
        diet = await self.diets.answer(participant, text, meal)
        if diet is not None:  # the answer to the diet question: the story that waited for it, or a prompt
            noted = self.content.message("diet_set", diet=diet)
            waiting = await self.diets.take_held(participant)
            if waiting is not None:
                return after_line(
                    noted, await self.stories.tell(participant, chat, waiting, {"intent": "diet"}, deadline, meal=meal)
                )
            return after_line(
                noted, await self.next_step.offer(participant, chat, "request", {"intent": "diet"}, deadline, meal=meal)
            )
        held = await self.ledger.read(lambda ledger: ledger.state.held_story(participant))
        if held is not None and (self.content.is_confirmation(text) or text == held):
            return await self.stories.tell(participant, chat, held, {"intent": "confirmed"}, deadline, meal=meal)
        reading = self.content.read(text, self.settings.story_min_chars)
        if reading.no_words:
            return Reply(self.content.message("no_words"), "no_words", intent="other")
        # A story the keyword rules are sure of is scored (and its reply drafted) while the intent is read;
        # if the intent disagrees, that work is dropped (never a provider failure).
        ahead = StoryWork(self.llm, text, deadline) if reading.story_shaped and reading.sure else None
        try:
            kind, layers = await self._intent(text, reading, deadline)
            decision = decide(reading, kind, len(text), self.settings.story_min_chars)
            if decision is StoryDecision.SCORE:
                work, ahead = ahead, None
                return await self.stories.tell(participant, chat, text, layers, deadline, work, meal=meal)
        finally:
            if ahead is not None:
                await ahead.drop()
        if decision is StoryDecision.TOO_SHORT:
            message = self.content.message("story_too_short", min_chars=self.settings.story_min_chars, length=len(text))
            return Reply(message, "story_too_short", intent="story", layers=layers)
        if decision is StoryDecision.HELP:
            return Reply(self.meals.help(self.content), "help", intent=kind, layers=layers)
        if decision is StoryDecision.CONFIRM:
            await self.ledger.write(lambda ledger: ledger.state.hold_story(participant, text))
            return await self.next_step.offer(participant, chat, kind, layers, deadline, "confirm_story", meal=meal)
        return await self.next_step.offer(participant, chat, kind, layers, deadline, meal=meal)

    async def _intent(self, text: str, reading: TextReading, deadline: float) -> tuple[str, dict[str, str]]:
        """An unambiguous message ("I want pizza", "hi", "help") needs no model to read it."""
        if reading.obvious:
            return reading.kind, {"intent": "keywords"}
        intent = await self.llm.understand_intent(text, deadline)
        return intent.value.kind, {"intent": intent.layer}
