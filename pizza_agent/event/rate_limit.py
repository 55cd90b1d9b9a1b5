"""Rate limits per chat, under a ceiling per sender: sliding windows of message times, with an injectable clock.

The first message over a limit gets a polite "slow down" (cheap: no LLM call);
further ones inside the window are dropped without a reply, so a flood cannot
make the agent spend a signature per spam message either.

Why per chat: a platform speaking for many people (ASI:One) sends all of them
from one address, each person in their own chat session, and opens each session
with a session start. Limiting that address as one person made ten people behind
it one person. So a sender seen opening sessions is limited per chat (sender +
session, `limit` each) under a ceiling for all its chats together (`limit × chats`):
one chat flooding is slowed down as before, and a sender opening session after
session to flood is stopped by the ceiling. A sender that never opens a session
(uagents' own `ctx.send` puts every message in a new session) is one chat, as it
always was: a fresh session per message buys it nothing.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

# Forget senders idle this many windows (keeps memory bounded under address churn).
SWEEP_EVERY_CALLS = 1000
# A sender carrying several chat sessions may send this many chats' worth in all (SENDER_RATE_CHATS).
DEFAULT_CHATS = 20
_EVERY_CHAT = ""  # the one chat of a sender that does not open sessions


class Admit(Enum):
    OK = "ok"
    SLOW_DOWN = "slow_down"
    DROP = "drop"


class _Sender:
    """One sender's windows: all its chats together (the ceiling) and each chat on its own."""

    __slots__ = ("ceiling_warned", "chats", "opens_sessions", "times", "warned")

    def __init__(self) -> None:
        self.times: deque[float] = deque()  # every admitted message, whichever chat (the ceiling)
        self.chats: dict[str, deque[float]] = {}  # admitted messages per chat session
        self.warned: set[str] = set()  # chats told to slow down (their next refused messages are dropped)
        self.ceiling_warned = False
        self.opens_sessions = False

    def forget_idle_chats(self, since: float) -> None:
        for session in [s for s, times in self.chats.items() if not times or times[-1] <= since]:
            del self.chats[session]
            self.warned.discard(session)


def _expire(times: deque[float], since: float) -> None:
    while times and times[0] <= since:
        times.popleft()


class SenderRateLimiter:
    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        chats: int = DEFAULT_CHATS,
    ) -> None:
        self.limit = limit  # per chat
        self.ceiling = limit * chats  # per sender, all its chats together
        self.window = window
        self._clock = clock
        self._senders: dict[str, _Sender] = {}
        self._calls = 0
        self.refused = 0  # messages over a limit (the "slow down" and the dropped ones)
        self.dropped = 0  # dropped without a reply
        self._dropped_reported = 0

    def check(self, sender: str, session: str = "", *, opens_session: bool = False) -> Admit:
        """One message from `sender` in chat `session`; `opens_session`: it carries a session start."""
        now = self._clock()
        since = now - self.window
        self._calls += 1
        if self._calls % SWEEP_EVERY_CALLS == 0:
            self._sweep(since)
        state = self._senders.setdefault(sender, _Sender())
        state.opens_sessions = state.opens_sessions or opens_session
        chat = session if state.opens_sessions else _EVERY_CHAT
        _expire(state.times, since)
        if len(state.chats) > self.ceiling:  # a sender opening session after session: let idle chats go
            state.forget_idle_chats(since)
        times = state.chats.setdefault(chat, deque())
        _expire(times, since)
        if len(times) >= self.limit:
            admit = self._refused(warned=chat in state.warned)
            state.warned.add(chat)
            return admit
        if len(state.times) >= self.ceiling:
            admit = self._refused(warned=state.ceiling_warned)
            state.ceiling_warned = True
            return admit
        times.append(now)
        state.times.append(now)
        state.warned.discard(chat)
        state.ceiling_warned = False
        return Admit.OK

    def _refused(self, *, warned: bool) -> Admit:
        """Over a limit: "slow down" once, then silence until a message is admitted again."""
        self.refused += 1
        if warned:
            self.dropped += 1
            return Admit.DROP
        return Admit.SLOW_DOWN

    def drop_report(self, period: float) -> str | None:
        """A line for the periodic WARNING: messages dropped since the last report (None: none)."""
        new = self.dropped - self._dropped_reported
        if new <= 0:
            return None
        self._dropped_reported = self.dropped
        return (
            f"rate limit dropped {new} message(s) in the last {period:.0f}s ({self.dropped} since start), "
            f"{self.limited_senders()} sender(s) limited now"
        )

    def limited_senders(self) -> int:
        """Senders at their ceiling or with a chat at its limit, now."""
        since = self._clock() - self.window

        def full(times: deque[float], limit: int) -> bool:
            return len(times) >= limit and times[0] > since

        return sum(
            1
            for state in self._senders.values()
            if full(state.times, self.ceiling) or any(full(t, self.limit) for t in state.chats.values())
        )

    def tracked(self) -> int:
        """Senders and chats remembered now (what the sweep keeps bounded)."""
        return sum(1 + len(state.chats) for state in self._senders.values())

    def _sweep(self, since: float) -> None:
        idle = [s for s, state in self._senders.items() if not state.times or state.times[-1] <= since]
        for sender in idle:
            del self._senders[sender]
        for state in self._senders.values():
            state.forget_idle_chats(since)
