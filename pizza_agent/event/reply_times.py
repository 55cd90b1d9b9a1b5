"""How long participants waited for their replies, over the last minutes (the dashboard's p50/p95)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 600.0
MAX_KEPT = 20_000


class ReplyTimes:
    """A bounded record of (when, seconds) per reply; percentiles over the last WINDOW_SECONDS."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._kept: deque[tuple[float, float]] = deque(maxlen=MAX_KEPT)
        self.total = 0
        # Told about every reply (seconds): the metrics' histogram.
        self.observer: Callable[[float], None] | None = None

    def record(self, seconds: float) -> None:
        self._kept.append((self._clock(), seconds))
        self.total += 1
        if self.observer is not None:
            self.observer(seconds)

    def summary(self) -> dict[str, float | int | None]:
        """p50 and p95 in ms over the window (None with no reply in it), and the count."""
        since = self._clock() - WINDOW_SECONDS
        while self._kept and self._kept[0][0] < since:
            self._kept.popleft()
        values = sorted(seconds for _, seconds in self._kept)
        if not values:
            return {"p50_ms": None, "p95_ms": None, "replies": 0, "window_seconds": WINDOW_SECONDS}

        def pct(q: float) -> float:
            return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)

        return {"p50_ms": pct(0.5), "p95_ms": pct(0.95), "replies": len(values), "window_seconds": WINDOW_SECONDS}
