"""Signing in with a badge's claim code (roster mode), and address mode's shared-sender tripwire.

Who a message is from is decided by identity.py; this room says what a person who is not (yet)
known hears: a refused code hears why (a code presented from another address also raises an
alert: a stolen badge?), a story waits for the code (it is kept, bounded, and scored once the
code arrives), anything else is asked for the code with a prompt from the static list, so that
asking costs no model call and a guesser gets nothing to spend.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from pizza_agent.config.settings import Settings
from pizza_agent.domain.content import StaticContent
from pizza_agent.domain.reply import Reply, sender_id
from pizza_agent.people.identity import SHARED_SENDER_SESSIONS, Identified, People, SignIn

log = logging.getLogger("pizza.conversation")

# What a claim code that was not accepted hears (roster mode).
CLAIM_REFUSALS = {
    SignIn.SLOW_DOWN: "claim_slow_down",
    SignIn.TYPO: "claim_typo",
    SignIn.UNKNOWN_CODE: "claim_unknown",
    SignIn.REMOVED: "claim_removed",
    SignIn.ELSEWHERE: "claim_elsewhere",
}

# Replies to a message that asked for pizza or told a story: address mode's shared-sender tripwire counts
# the chat sessions they came in (a short "I want pizza" from the next person counts too).
ASKED_FOR_PIZZA = frozenset(
    {"prompt", "confirm_story", "coupon", "repeat_coupon", "coupon_in_another_chat", "diet_question", "pool_exhausted"}
)

Alert = Callable[[str, str], None]  # (kind, text): the organizers' alert channel


class FrontDoor:
    """What someone not yet known hears, and the tripwire for one sender carrying many chats."""

    def __init__(
        self,
        settings: Settings,
        people: People,
        content: Callable[[], StaticContent],
        rng: random.Random,
        alert: Alert,
    ) -> None:
        self.settings, self.people, self._content, self.rng, self.alert = settings, people, content, rng, alert

    async def unclaimed(
        self, who: Identified, sender: str, session: str, text: str, paused: str | None, *, serving: bool = True
    ) -> Reply:
        """Nobody known yet: a refused code hears why; a story waits for the code; anything else is asked for it
        (`serving`: a meal is open; before it opens, no story prompt is handed out)."""
        content = self._content()
        refusal = CLAIM_REFUSALS.get(who.outcome)
        if refusal is not None:
            if who.outcome is SignIn.ELSEWHERE and who.attendee is not None:
                self.alert(
                    "claim_elsewhere",
                    f"the badge code of {who.attendee.display_name} (attendee {who.attendee.key}) was presented from "
                    f"another address ({sender_id(sender)}): a stolen badge? `lookup {who.attendee.key}`, "
                    "`reissue` if the owner asks",
                )
            return Reply(content.message(refusal), f"claim_{who.outcome.value}")
        if paused is not None:
            return Reply(paused or content.message("paused"), "paused")
        min_chars, max_chars = self.settings.story_min_chars, self.settings.story_max_chars
        reading = content.read(text, min_chars)
        if reading.story_shaped and len(text) >= min_chars:
            if len(text) > max_chars:
                message = content.message("story_too_long", max_chars=max_chars, length=len(text))
                return Reply(message, "story_too_long", intent="story")
            await self.people.hold_before_claim(sender, session, text)
            return Reply(content.message("claim_story_waits"), "claim_story_waits", intent="story")
        if not serving:
            return Reply(content.message("claim_ask_closed"), "claim_ask")
        prompt = content.pick_prompt(set(), self.rng)
        return Reply(content.message("claim_ask", prompt=prompt), "claim_ask", layers={"prompt": "static"})

    async def shared_sender_tripwire(self, sender: str, session: str) -> None:
        """Address mode: one sender asking for pizza in several chat sessions may be many people."""
        sessions = await self.people.note_request(sender, session)
        if sessions == SHARED_SENDER_SESSIONS:
            log.warning(
                "sender=%s carried stories in %d chat sessions: participants may share one address "
                "(one coupon per address would serve only the first): consider PARTICIPANTS=roster",
                sender_id(sender),
                sessions,
            )
            self.alert(
                "shared_sender",
                f"sender {sender_id(sender)} carried stories in {sessions} chat sessions: participants may be sharing "
                "one address (one coupon per address serves only the first); consider PARTICIPANTS=roster",
            )
