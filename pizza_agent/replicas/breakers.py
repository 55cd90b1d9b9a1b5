"""The providers' breakers, handed between replicas through PostgreSQL.

The active replica publishes each provider's failure counter, how long it has
been skipped and any 429 cool-down; a standby mirrors them (it calls no
provider, so its status and dashboard show the active one's truth), and the
replica taking over adopts them before its first poll, so a provider that is
down stays skipped across a failover and its probes keep their schedule.

A breaker is anything shaped like the LLM room's `ProviderHealth` (the
`Breaker` protocol below): this room needs its fields, not the LLM room.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol

import psycopg

log = logging.getLogger("pizza.replicas")

# Times are the database server's clock, so replicas' clocks never disagree.
NOW = "EXTRACT(EPOCH FROM clock_timestamp())"


class Breaker(Protocol):
    name: str
    failures: int
    threshold: int
    skip_started: float
    cooldown_until: float

    @property
    def skipping(self) -> bool: ...

    def now(self) -> float: ...


class PublishedBreakers:
    """This replica's breakers and what the others published of theirs."""

    def __init__(self, breakers: Mapping[str, Breaker], replica: str) -> None:
        self._breakers = dict(breakers)
        self.replica = replica

    async def publish(self, conn: psycopg.AsyncConnection) -> None:
        for name, health in self._breakers.items():
            now = health.now()
            skip_age = now - health.skip_started if health.skipping else 0.0
            await conn.execute(
                f"INSERT INTO provider_health VALUES (%s, %s, %s, %s, {NOW}, %s) ON CONFLICT (provider) DO UPDATE SET "
                "failures=excluded.failures, skip_age=excluded.skip_age, cooldown_left=excluded.cooldown_left, "
                "published_at=excluded.published_at, published_by=excluded.published_by",
                (name, health.failures, skip_age, max(0.0, health.cooldown_until - now), self.replica),
            )

    async def _published(
        self, conn: psycopg.AsyncConnection, within: float | None = None
    ) -> list[tuple[Breaker, str, int, float, float]]:
        """Other replicas' published breakers, as of now: (health here, by whom, failures, seconds
        skipped, seconds of cool-down left). `within`: only rows published that recently."""
        fresh = f" AND published_at > {NOW} - %s" if within is not None else ""
        rows = await (
            await conn.execute(
                f"SELECT provider, published_by, failures, skip_age + ({NOW} - published_at), "
                f"cooldown_left - ({NOW} - published_at) FROM provider_health WHERE published_by <> %s{fresh}",
                (self.replica,) if within is None else (self.replica, within),
            )
        ).fetchall()
        return [
            (self._breakers[name], by, int(failures), skipped_for, cooldown_left)
            for name, by, failures, skipped_for, cooldown_left in rows
            if name in self._breakers
        ]

    async def adopt(self, conn: psycopg.AsyncConnection) -> None:
        for health, published_by, failures, skipped_for, cooldown_left in await self._published(conn):
            now = health.now()
            health.failures = min(health.threshold, max(health.failures, failures))
            if health.skipping:
                health.skip_started = now - skipped_for  # the probe keeps its schedule
            if cooldown_left > 0:
                health.cooldown_until = max(health.cooldown_until, now + cooldown_left)
            if failures:
                log.warning(
                    "replica %s adopted %s's breaker from %s: failures=%d%s",
                    self.replica,
                    health.name,
                    published_by,
                    health.failures,
                    f", skipped for {skipped_for:.0f}s" if health.skipping else "",
                )

    async def mirror(self, conn: psycopg.AsyncConnection, within: float) -> None:
        """A standby shows the active replica's breakers as they are (it calls no provider itself):
        its status and dashboard tell the truth, and a takeover starts from the same state."""
        for health, _, failures, skipped_for, cooldown_left in await self._published(conn, within):
            now = health.now()
            health.failures = min(health.threshold, failures)
            health.skip_started = now - skipped_for if health.skipping else 0.0
            health.cooldown_until = now + cooldown_left if cooldown_left > 0 else 0.0
