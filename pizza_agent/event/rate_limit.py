"""Per-sender rate limit: a sliding window of message times, with an injectable clock.

The first message over the limit gets a polite "slow down" (cheap: no LLM
call); further ones inside the window are dropped without a reply, so a flood
cannot make the agent spend a signature per spam message either.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

# Forget senders idle this many windows (keeps memory bounded under address churn).
SWEEP_EVERY_CALLS = 1000


class Admit(Enum):
    OK = "ok"
    SLOW_DOWN = "slow_down"
    DROP = "drop"


class SenderRateLimiter:
    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._recent: dict[str, deque[float]] = {}
        self._warned: set[str] = set()
        self._calls = 0
        self.refused = 0  # messages over the limit (the "slow down" and the dropped ones)
        self.dropped = 0  # dropped without a reply
        self._dropped_reported = 0

    def check(self, sender: str) -> Admit:
        now = self._clock()
        self._calls += 1
        if self._calls % SWEEP_EVERY_CALLS == 0:
            self._sweep(now)
        times = self._recent.setdefault(sender, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self._warned.discard(sender)
            return Admit.OK
        self.refused += 1
        if sender in self._warned:
            self.dropped += 1
            return Admit.DROP
        self._warned.add(sender)
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
        now = self._clock()
        return sum(1 for times in self._recent.values() if len(times) >= self.limit and times[0] > now - self.window)

    def _sweep(self, now: float) -> None:
        idle = [s for s, times in self._recent.items() if not times or times[-1] <= now - self.window]
        for sender in idle:
            del self._recent[sender]
            self._warned.discard(sender)
