"""The registration desk's organizer commands (roster mode): find an attendee, reissue a lost badge's code.

`lookup` by display name or claim code shows the attendee, which address claimed
the badge, and their coupon; `reissue` gives an attendee a new claim code (the
next generation) and kills the old one, with every chat it had bound. The new
code is told to the organizer who asked (to write on a new badge), never logged.
"""

from __future__ import annotations

import logging

from pizza_agent.domain.identity import Chat
from pizza_agent.domain.reply import sender_id
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.redemption import check_code, when
from pizza_agent.ledger.roster import Attendee
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.people.claim_codes import find_candidates
from pizza_agent.people.identity import SHARED_SENDER_SESSIONS, People

log = logging.getLogger("pizza.organizer")


class FrontDesk:
    def __init__(self, people: People, ledger: LedgerWorker, signer: CouponSigner) -> None:
        self.people = people
        self.ledger = ledger
        self.signer = signer

    async def find(self, target: str) -> list[Attendee]:
        """Attendees a claim code (typed from a badge or scanned), an attendee key or a name fragment points to."""
        codes = self.people.codes
        for candidate in find_candidates(target)[:1]:
            digest = codes.code_hash(candidate.code)
            attendee = await self.ledger.read(lambda ledger, digest=digest: ledger.roster.by_code_hash(digest))
            return [attendee] if attendee else []
        by_key = await self.ledger.read(lambda ledger: ledger.roster.get(target.strip()))
        if by_key is not None:
            return [by_key]
        if len(target.strip()) < 2:
            return []
        return await self.ledger.read(lambda ledger: ledger.roster.named(target))

    async def describe(self, attendee: Attendee) -> str:
        claimed = (
            f"claimed from {sender_id(attendee.sender)} at {when(attendee.claimed_at)}"
            if attendee.sender and attendee.claimed_at
            else "not claimed yet"
        )
        removed = f", REMOVED {when(attendee.removed_at)}" if attendee.removed_at else ""
        line = (
            f"{attendee.display_name} (attendee {attendee.key}, badge code #{attendee.generation}): {claimed}{removed}"
        )
        coupons = await self.ledger.read(lambda ledger: ledger.coupons.coupons_of(attendee.participant))
        if not coupons:
            return line + "; no coupon yet"
        lines = [line]
        for coupon in coupons:  # every meal's, oldest first
            checked = await self.ledger.read(
                lambda ledger, code=coupon.code: check_code(ledger.coupons, self.signer, code)
            )
            lines.append(f"  {coupon.meal + ': ' if coupon.meal else ''}{checked.line}")
        return "\n".join(lines)

    async def lookup(self, target: str) -> str | None:
        """The attendees `target` names, described; None when it names none (the caller tries addresses and codes)."""
        found = await self.find(target)
        if not found:
            return None
        lines = [await self.describe(attendee) for attendee in found]
        return "\n".join(lines)

    async def reissue(self, args: str, by: str) -> str:
        """A lost or stolen badge: a new code, the old one (and every chat it bound) dead. Coupons issued to chats
        that used the old code (a thief's, say) are named: kept, or voided with `--void-coupons`; the owner can
        then be given one for the meal being served with `grant`."""
        words = args.split()
        void_coupons = "--void-coupons" in words
        target = " ".join(w for w in words if w != "--void-coupons")
        if not target.strip():
            return (
                "Usage: reissue <claim code or attendee key> [--void-coupons] (a lost badge: a new code, the old one "
                "dead; --void-coupons also voids the coupons issued to chats that used the old code)"
            )
        found = await self.find(target)
        if len(found) != 1:
            return f"No single attendee matches {target.strip()!r}: `lookup NAME` shows the attendee keys."
        attendee = found[0]
        codes = self.people.codes
        old_chats = {
            Chat(*chat) for chat in await self.ledger.read(lambda ledger: ledger.roster.chats_of(attendee.key))
        }
        renewed = await self.ledger.write(lambda ledger: ledger.roster.reissue(attendee.key, codes.hash_for))
        assert renewed is not None
        log.warning(
            "organizer=%s reissued the badge code of attendee=%s (now #%d; the old code is dead)",
            sender_id(by),
            attendee.key,
            renewed.generation,
        )
        code = codes.code_for(renewed.key, renewed.generation)
        line = (
            f"New claim code for {renewed.display_name} (attendee {renewed.key}): {code} — write it on their badge. "
            "The old code no longer works."
        )
        return line + " " + await self._coupons_of_old_chats(attendee.participant, old_chats, void_coupons, by)

    async def _coupons_of_old_chats(self, person: str, chats: set[Chat], void: bool, by: str) -> str:
        coupons = await self.ledger.read(lambda ledger: ledger.coupons.coupons_of(person))
        used = [c for c in coupons if c.chat in chats and c.voided_at is None and c.redeemed_at is None]
        if not used:
            return "No open coupon was issued to a chat that used the old code."
        names = ", ".join(f"{c.tier} {c.code}" + (f" ({c.meal})" if c.meal else "") for c in used)
        if not void:
            return (
                f"Kept: {len(used)} coupon(s) issued to chats that used the old code ({names}); they work at the "
                "table. If the badge was stolen, `void CODE` each of them and `grant NAME` the owner one for the "
                "meal being served (or reissue with --void-coupons next time)."
            )
        reason = f"issued to a chat that used a reissued badge code (organizer {sender_id(by)})"
        for coupon in used:
            await self.ledger.write(lambda ledger, code=coupon.code: ledger.coupons.void(code, reason))
        return (
            f"Voided: {len(used)} coupon(s) issued to chats that used the old code ({names}); `grant NAME` gives one."
        )

    async def status(self) -> dict[str, object]:
        roster = await self.ledger.read(lambda ledger: ledger.roster.counts())
        shared = await self.ledger.read(lambda ledger: ledger.roster.shared_senders(SHARED_SENDER_SESSIONS))
        return {
            "mode": self.people.mode,
            **roster,
            "wrong_codes_refused": self.people.wrong_codes.refused,
            "shared_senders": [{"sender": sender_id(s), "sessions": n} for s, n in shared],
        }
