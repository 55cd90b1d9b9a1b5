"""The event's clock: real time at the event, compressed time in a rehearsal.

`PLAN_CLOCK=2027-02-13T17:30:00@60` (set by `drill --plan`) starts the event's
clock at that local time of the plan's time zone and runs it 60 times faster
than the wall clock, so a plan's hours pass in minutes; the agent and the drill
read the same setting, so they agree on what time it is. Unset: the wall clock.

`PLAN_CLOCK=file:PATH` reads `START@SPEED` from a file instead, and again whenever
the file changes: a rehearsal (or a test) moves the event's clock by writing the
file, and the agent follows at its next message, with no waiting for a window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo


class EventClock:
    """`now()`: an aware datetime in the plan's time zone."""

    def __init__(
        self,
        zone: ZoneInfo,
        *,
        start: datetime | None = None,
        speed: float = 1.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.zone = zone
        self.speed = speed
        self._wall = wall
        self._wall_at_start = wall()
        self._start = start.replace(tzinfo=zone) if start is not None and start.tzinfo is None else start

    @classmethod
    def from_setting(cls, zone: ZoneInfo, setting: str, wall: Callable[[], float] = time.time) -> EventClock:
        """`START@SPEED` (START local to the plan's zone), `file:PATH` holding that, or "" for the wall clock."""
        if not setting.strip():
            return cls(zone, wall=wall)
        if setting.startswith("file:"):
            return FileClock(zone, Path(setting.removeprefix("file:")), wall=wall)
        start, speed = parse_setting(setting)
        return cls(zone, start=start, speed=speed, wall=wall)

    def restart(self, start: datetime, speed: float) -> None:
        self._start = start.replace(tzinfo=self.zone) if start.tzinfo is None else start
        self.speed = speed
        self._wall_at_start = self._wall()

    @property
    def compressed(self) -> bool:
        return self._start is not None

    def now(self) -> datetime:
        if self._start is None:
            return datetime.fromtimestamp(self._wall(), UTC).astimezone(self.zone)
        elapsed = (self._wall() - self._wall_at_start) * self.speed
        return datetime.fromtimestamp(self._start.timestamp() + elapsed, UTC).astimezone(self.zone)

    def timestamp(self) -> float:
        return self.now().timestamp()


def parse_setting(setting: str) -> tuple[datetime, float]:
    start, _, speed = setting.strip().partition("@")
    return datetime.fromisoformat(start.strip()), float(speed or 1)


class FileClock(EventClock):
    """A compressed clock whose START@SPEED lives in a file, re-read when the file changes."""

    def __init__(self, zone: ZoneInfo, path: Path, *, wall: Callable[[], float] = time.time) -> None:
        super().__init__(zone, wall=wall)
        self.path = path
        self._seen = ""
        self._follow()

    def _follow(self) -> None:
        try:
            text = self.path.read_text()  # a few bytes: read at every look at the clock
            if text != self._seen:
                self.restart(*parse_setting(text))
                self._seen = text
        except (OSError, ValueError):
            pass  # a file being written, or gone: keep the clock as it was

    def now(self) -> datetime:
        self._follow()
        return super().now()
