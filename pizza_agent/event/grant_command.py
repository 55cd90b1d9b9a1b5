"""`grant NAME [TIER]`: an organizer gives a person a coupon for the meal being served, within the grant policy.

For a person who has none for that meal, or whose coupon was voided (a stolen badge's coupon, a
mistake): the dead code stays dead, the new one is sent to the person's chat through the outbox.
"""

from __future__ import annotations

import logging

from pizza_agent.domain.identity import NO_CHAT, Chat
from pizza_agent.domain.reply import sender_id
from pizza_agent.domain.tiers import TIERS
from pizza_agent.event.front_desk import FrontDesk
from pizza_agent.event.grants import GrantPolicy
from pizza_agent.event.meals import Meals
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.coupons import Issuance
from pizza_agent.ledger.worker import LedgerWorker

log = logging.getLogger("pizza.organizer")


class GrantCommand:
    def __init__(
        self, policy: GrantPolicy, ledger: LedgerWorker, signer: CouponSigner, meals: Meals, desk: FrontDesk | None
    ) -> None:
        self.policy, self.ledger, self.signer, self.meals, self.desk = policy, ledger, signer, meals, desk

    async def run(self, sender: str, args: str) -> str:
        """`grant NAME [TIER]`: a coupon for the meal being served, for a person who has none (or whose coupon was
        voided), within the meal's caps (event/grants.py); sent to their chat."""
        words = args.split()
        tier = words.pop().lower() if len(words) > 1 and words[-1].lower() in TIERS else "standard"
        target = " ".join(words)
        if not target:
            return "Usage: grant <name|claim code|attendee key|address> [premium|standard|basic] (default standard)"
        meal = self.meals.serving().meal
        if meal is None:
            return "No meal is being served now: a grant is for the meal being served."
        found = await self._person(target)
        if isinstance(found, str):
            return found
        person, chat, who = found
        grant = self.policy.for_organizer(tier, meal.id)
        request = Issuance(
            person=person,
            tier=grant.tier,
            score=0,
            score_source="organizer",
            reason=f"granted by {sender_id(sender)}",
            prompt=None,
            story_hash="",
            meal=meal.id,
            diet=await self.ledger.read(lambda ledger: ledger.state.diet_of(person)) or "",
            pickup_groups=tuple(group.name for group in meal.groups),
            event_at=self.meals.clock.timestamp(),
            chat=chat,  # the person's own chat, never one a stolen badge code bound
        )
        make_code = self.signer.new_code
        coupon, why_not = await self.ledger.write(lambda ledger: ledger.reviews.grant(request, make_code, grant.caps))
        if coupon is None:
            return f"Not granted to {who}: {why_not}."
        log.warning("organizer=%s granted %s a %s coupon for %s", sender_id(sender), who, coupon.tier, meal.id or "-")
        sent = "it goes to their chat" if coupon.chat.sender else "they have no chat on record: give them the code"
        return f"Granted {who} a {coupon.tier} coupon for {meal.name}: {coupon.code} ({sent})."

    async def _person(self, target: str) -> tuple[str, Chat, str] | str:
        """(person, their latest chat, how to name them) for `grant`, or why none."""
        if self.desk is not None and self.desk.people.roster:
            attendees = await self.desk.find(target)
            if len(attendees) != 1:
                return f"No single attendee matches {target!r}: `lookup NAME` shows the attendee keys."
            attendee = attendees[0]
            chats = await self.ledger.read(lambda ledger: ledger.roster.chats_of(attendee.key))
            chat = Chat(*chats[0]) if chats else NO_CHAT
            return attendee.participant, chat, f"{attendee.display_name} (attendee {attendee.key})"
        ledger = self.ledger
        known = (await ledger.read(lambda ledger: ledger.state.participant_facts(target)))["first_seen"]
        address = target if known else await ledger.read(lambda ledger: ledger.state.find_participant(target))
        if address is None:
            return f"No participant matches {target!r} (give more of the address)."
        coupons = await ledger.read(lambda ledger: ledger.coupons.coupons_of(address))
        chat = coupons[-1].chat if coupons else Chat(address)
        return address, chat, f"participant {sender_id(address)}"
