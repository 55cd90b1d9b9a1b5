"""Whose message is this? A sender address in address mode; an attendee of the roster in roster mode.

The rule (README, "Running with a registration list"), in the order it is applied:

1. A claim code in the message binds the chat it came in (sender address + chat session) to
   the code's attendee. The first address a code is claimed from owns it: another address
   presenting it is refused politely and the organizers are alerted (a stolen badge); an
   organizer's `reissue` gives the attendee a new code and frees them.
2. A message without a code belongs to the attendee its chat was bound to.
3. A chat never bound is asked for the claim code — whether or not the client opened it
   with a session start: a platform address that never sends one may still carry many
   people, and only a chat bound by a code says whose it is. (A client keeps its chat by
   answering in the session it was spoken to in; the terminal client keeps one per run.)
   A story sent before the code waits (30 minutes; one per sender that has bound no chat,
   the last one wins, so unregistered traffic cannot grow the ledger) and is scored when
   the code arrives in that chat.

Several people behind one sender address are told apart by their chat sessions; one
person behind several addresses is one attendee (a code claimed once). Guessing codes:
5 wrong ones per sender per 10 minutes, then "slow down" (a code has 55 bits, so this only
keeps the log and the ledger quiet). Logs carry the sender's short id and two symbols of
a guess, never a whole guess.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from pizza_agent.domain.reply import sender_id
from pizza_agent.ledger.conversation_state import UNCLAIMED_PREFIX
from pizza_agent.ledger.roster import Attendee, Claim
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.people.claim_codes import Candidate, ClaimCodes, Shape, find_candidates, without

log = logging.getLogger("pizza.people")

WRONG_CODES_LIMIT = 5
WRONG_CODES_WINDOW_SECONDS = 10 * 60
WRONG_CODES_SENDERS_KEPT = 10_000  # memory stays bounded under address churn
# Address mode: stories from one sender in this many chat sessions look like many people behind one address.
SHARED_SENDER_SESSIONS = 3


class WrongCodes:
    """Wrong claim codes per sender in a sliding window (injectable clock)."""

    def __init__(
        self,
        limit: int = WRONG_CODES_LIMIT,
        window: float = WRONG_CODES_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        self._recent: OrderedDict[str, deque[float]] = OrderedDict()
        self.refused = 0

    def _times(self, sender: str) -> deque[float]:
        times = self._recent.setdefault(sender, deque())
        self._recent.move_to_end(sender)
        while times and times[0] <= self._clock() - self.window:
            times.popleft()
        while len(self._recent) > WRONG_CODES_SENDERS_KEPT:
            self._recent.popitem(last=False)
        return times

    def blocked(self, sender: str) -> bool:
        return len(self._times(sender)) >= self.limit

    def wrong(self, sender: str) -> None:
        self.refused += 1
        self._times(sender).append(self._clock())


class SignIn(Enum):
    KNOWN = "known"  # the participant is known (the address; or the attendee of a bound chat)
    CLAIMED = "claimed"  # a claim code in this message bound the chat just now
    ASK_CODE = "ask_code"  # roster mode, nobody known: ask for the claim code
    TYPO = "typo"  # a code-shaped string with a wrong check symbol
    UNKNOWN_CODE = "unknown_code"  # well formed, on nobody's badge (or reissued since)
    ELSEWHERE = "elsewhere"  # the code was claimed from another address
    REMOVED = "removed"  # the attendee was taken off the roster
    SLOW_DOWN = "slow_down"  # too many wrong codes from this sender


@dataclass(frozen=True)
class Identified:
    outcome: SignIn
    participant: str | None  # the key the coupon and the conversation are kept under
    text: str  # the message, a claim code taken out
    attendee: Attendee | None = None

    @property
    def known(self) -> bool:
        return self.outcome in (SignIn.KNOWN, SignIn.CLAIMED)


def unclaimed_key(sender: str, session: str) -> str:
    """Where a story sent before the claim code waits."""
    return f"{UNCLAIMED_PREFIX}{sender}|{session}"


class People:
    """Built by the composition root; the conversation asks it who each message is from."""

    def __init__(
        self,
        mode: str,
        worker: LedgerWorker,
        codes: ClaimCodes,
        *,
        story_min_chars: int,
        wrong_codes: WrongCodes | None = None,
    ) -> None:
        self.mode = mode
        self.ledger = worker
        self.codes = codes
        self.story_min_chars = story_min_chars
        self.wrong_codes = wrong_codes or WrongCodes()

    @property
    def roster(self) -> bool:
        return self.mode == "roster"

    async def identify(self, sender: str, session: str, text: str) -> Identified:
        if not self.roster:
            return Identified(SignIn.KNOWN, sender, text)
        candidates = find_candidates(text)
        if candidates:
            if self.wrong_codes.blocked(sender):
                log.warning("claim code refused sender=%s: too many wrong codes (slow down)", sender_id(sender))
                return Identified(SignIn.SLOW_DOWN, None, text)
            presented = await self._present(sender, session, text, candidates)
            if presented is not None:
                return presented
        known = await self.ledger.read(lambda ledger: ledger.roster.attendee_in(sender, session))
        if known is not None:
            attendee = await self.ledger.read(lambda ledger: ledger.roster.get(known))
            return Identified(SignIn.KNOWN, attendee.participant if attendee else None, text, attendee)
        return Identified(SignIn.ASK_CODE, None, text)

    async def _present(self, sender: str, session: str, text: str, candidates: list[Candidate]) -> Identified | None:
        """The first candidate on a badge claims; if none is, a short message hears why (a story goes on)."""
        for candidate in candidates:
            if candidate.shape is not Shape.WELL_FORMED:
                continue
            digest = self.codes.code_hash(candidate.code)
            attendee = await self.ledger.read(lambda ledger, digest=digest: ledger.roster.by_code_hash(digest))
            if attendee is None:
                continue
            rest = without(text, candidate)
            key = attendee.key
            claim = await self.ledger.write(lambda ledger, key=key: ledger.roster.claim(key, sender, session))
            if claim is Claim.BOUND:
                log.info("claim code accepted sender=%s attendee=%s", sender_id(sender), attendee.key)
                return Identified(SignIn.CLAIMED, attendee.participant, rest, attendee)
            if claim is Claim.ELSEWHERE:
                log.warning(
                    "claim code of attendee=%s presented by sender=%s: claimed from sender=%s first (refused)",
                    attendee.key,
                    sender_id(sender),
                    sender_id(attendee.sender or ""),
                )
                return Identified(SignIn.ELSEWHERE, None, rest, attendee)
            return Identified(SignIn.REMOVED, None, rest, attendee)
        self.wrong_codes.wrong(sender)
        first = candidates[0]
        why = "wrong check symbol" if first.shape is Shape.TYPO else "on no badge"
        log.warning("claim code refused sender=%s guess=%s (%s)", sender_id(sender), first.hint, why)
        rest = text
        for candidate in candidates:
            rest = without(rest, candidate)
        if len(rest) >= self.story_min_chars:
            return None  # a story with a code-like word in it: the story counts, the word does not
        return Identified(SignIn.TYPO if first.shape is Shape.TYPO else SignIn.UNKNOWN_CODE, None, text)

    async def held_before_claim(self, sender: str, session: str) -> str | None:
        """The story sent in this chat before its claim code came (taken: it is scored now)."""
        return await self.ledger.write(
            lambda ledger: ledger.state.take_waiting_story(unclaimed_key(sender, session), None)
        )

    async def hold_before_claim(self, sender: str, session: str, story: str) -> None:
        """A story waits for this chat's claim code. A sender that has bound no chat keeps one such story (the
        last wins) and expired ones are purged: unregistered traffic cannot grow the ledger."""
        personal = await self.ledger.read(lambda ledger: ledger.roster.bound_chats(sender)) == 0
        await self.ledger.write(
            lambda ledger: ledger.state.hold_unclaimed_story(
                unclaimed_key(sender, session), f"{UNCLAIMED_PREFIX}{sender}|" if personal else None, story
            )
        )

    async def note_request(self, sender: str, session: str) -> int | None:
        """Address mode: note a chat session in which this sender asked for pizza or told a story; returns how
        many it has asked in, or None when this one was noted before (a read: no write for a repeat)."""
        if await self.ledger.read(lambda ledger: ledger.roster.noted_session(sender, session)):
            return None
        return await self.ledger.write(lambda ledger: ledger.roster.story_session(sender, session))

    async def open_session(self, sender: str, session: str) -> None:
        if self.roster:
            await self.ledger.write(lambda ledger: ledger.roster.open_session(sender, session))
