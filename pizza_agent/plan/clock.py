"""The event's clock: real time at the event, compressed time in a rehearsal.

`PLAN_CLOCK=2027-02-13T17:30:00@60` (set by `drill --plan`) starts the event's
clock at that local time of the plan's time zone and runs it 60 times faster
than the wall clock, so a plan's hours pass in minutes; the agent and the drill
read the same setting, so they agree on what time it is. Unset: the wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
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
        """`START@SPEED` (START local to the plan's zone), or "" for the wall clock."""
        if not setting.strip():
            return cls(zone, wall=wall)
        start, _, speed = setting.partition("@")
        return cls(zone, start=datetime.fromisoformat(start.strip()), speed=float(speed or 1), wall=wall)

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
