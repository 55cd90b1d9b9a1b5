"""Which replica answers participants: a lease in PostgreSQL, held by one replica, taken over in seconds.

Two pollers of one Agentverse mailbox each get every message, so exactly one
replica may poll. In local mode every replica has an endpoint of its own and
they are all listed (see `endpoints()`); only the active one accepts messages,
the others answer 503, and a sender goes on to the next endpoint. So in both
modes one replica calls the providers, and their breakers need no sharing
beyond the handover below. The active one holds a session-level advisory lock on its
own connection and renews a lease row every second. When its process dies,
its connection closes and PostgreSQL releases the lock at once; the standby's
next attempt (every second) takes it. When it stalls (frozen, swapping, a
laptop lid closed) the connection stays open, so the standby also watches the
lease row: renewed longer than `FAILOVER_SECONDS` ago, it ends the holder's
database session (`pg_terminate_backend`), which releases the lock. The old
holder, if it wakes, finds its connection gone and stops polling before its
next poll (`is_active()` is checked before each one, and before each message
accepted on a local endpoint).

The breakers travel with the mailbox: the active replica publishes each
provider's failure counter, how long it has been skipped and any 429
cool-down every second; a standby shows them as they are (it calls no
provider), and the replica taking over adopts them before its first poll.
So a provider that is down stays skipped across a failover, and its probes
keep their schedule (one per interval in total), instead of a fresh replica
paying the outage again.

Times are the database server's clock, so replicas' clocks never disagree.
Every replica also records itself (and its endpoint) in `replicas` each second:
`status` names the active one and its peers, and `on_endpoints` is told the
list of live replicas' endpoints, the active one first, whenever it changes
(the agent writes it into DATA_DIR/agent.json, where local senders find it).

"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import psycopg

from pizza_agent.replicas.breakers import NOW, Breaker, PublishedBreakers

log = logging.getLogger("pizza.replicas")

ACTIVE_LOCK = 0x7E57_BA11
# What the active replica does, as the log and `status` say it.
DUTIES = {
    "mailbox": ("polls the mailbox", "polling the mailbox"),
    "endpoint": ("answers on its endpoint", "answering on its endpoint"),
}
HEARTBEAT_SECONDS = 1.0


def name_in_use(url: str, replica: str) -> bool:
    """Does a running replica already go by this name? (Its database session is alive; a crashed
    replica's ended with it, so a restart under the same name is fine.) Checked before starting."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT 1 FROM replicas r JOIN pg_stat_activity a ON a.pid = r.backend_pid "
            "WHERE r.name = %s AND r.backend_pid <> 0",
            (replica,),
        ).fetchone()
    return row is not None


@dataclass(frozen=True)
class Takeover:
    """One change of hands, as the new holder saw it."""

    previous: str | None
    gap_seconds: float | None  # from the previous holder's last renewal to this takeover


class ActiveLease:
    def __init__(
        self,
        url: str,
        replica: str,
        failover_seconds: float = 5.0,
        breakers: dict[str, Breaker] | None = None,
        *,
        endpoint: str = "",
        serves: Literal["mailbox", "endpoint"] = "mailbox",
    ) -> None:
        self.breakers = PublishedBreakers(breakers or {}, replica)
        self.endpoint = endpoint
        self.duty, self.doing = DUTIES[serves]  # what the active replica does, for the log and `status`
        # Told the live replicas' endpoints (the active one first) whenever that list changes.
        self.on_endpoints: list[Callable[[list[str]], None]] = []
        self._endpoints: list[str] = []
        # Run when this replica takes over, before its first poll (e.g. read pause/force again).
        self.on_takeover: list[Callable[[], Awaitable[None]]] = []
        self.url = url
        self.replica = replica
        self.failover_seconds = failover_seconds
        self.active = False
        self.became_active = asyncio.Event()
        self.takeovers: list[Takeover] = []
        self._conn: psycopg.AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._started_at = time.time()
        self._last_renewed = 0.0  # monotonic, by this replica
        # The database did not answer the last heartbeat: no replica can take the lease meanwhile.
        self.database_down = False

    # --- what the mailbox client asks before each poll (the local endpoint before each message) --
    def is_active(self) -> bool:
        """Active and renewed within the failover window: otherwise another replica may be polling."""
        return self.active and time.monotonic() - self._last_renewed < self.failover_seconds

    def may_answer(self) -> bool:
        """A local endpoint answers while active, and while the database is down: then no replica can
        issue a coupon, and the participant is better told "the coupon book is busy" than sent a 503."""
        return self.is_active() or self.database_down

    # --- running -------------------------------------------------------------------------------
    async def start(self) -> ActiveLease:
        await self._connect()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                if self.active:
                    await self._conn.execute("DELETE FROM leases WHERE name='active' AND holder=%s", (self.replica,))
                await self._conn.execute("DELETE FROM replicas WHERE name=%s", (self.replica,))
            await self._conn.close()
        self.active = False

    async def _connect(self) -> None:
        # The tables are the ledger's migration 6: the agent opened its ledger (and migrated) first.
        self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=5)

    async def _run(self) -> None:
        while True:
            try:
                if self._conn is None or self._conn.closed or self._conn.broken:
                    self._lose("its database connection was lost")
                    await self._connect()
                await self.tick()
                self.database_down = False
            except (psycopg.Error, OSError) as exc:
                self.database_down = True
                self._lose(f"the database did not answer ({type(exc).__name__})")
                if self._conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        await self._conn.close()
                self._conn = None
            await asyncio.sleep(HEARTBEAT_SECONDS)  # the heartbeat period

    async def tick(self) -> None:
        """One heartbeat: renew (active), or try to take over (standby)."""
        conn = self._conn
        assert conn is not None
        role = "active" if self.active else "standby"
        await conn.execute(
            "INSERT INTO replicas (name, role, seen_at, started_at, endpoint, backend_pid) "
            f"VALUES (%s, %s, {NOW}, %s, %s, pg_backend_pid()) ON CONFLICT (name) DO UPDATE SET role=excluded.role, "
            "seen_at=excluded.seen_at, endpoint=excluded.endpoint, backend_pid=excluded.backend_pid",
            (self.replica, role, self._started_at, self.endpoint),
        )
        await self._renew_or_take(conn)
        await self._tell_endpoints(conn)  # after a takeover: the new active replica is listed first

    async def _tell_endpoints(self, conn: psycopg.AsyncConnection) -> None:
        rows = await (
            await conn.execute(
                "SELECT r.endpoint FROM replicas r LEFT JOIN leases l ON l.name='active' AND l.holder=r.name "
                f"WHERE r.endpoint <> '' AND r.seen_at > {NOW} - %s ORDER BY l.holder IS NULL, r.name",
                (self.failover_seconds,),
            )
        ).fetchall()
        endpoints = [row[0] for row in rows]
        if endpoints != self._endpoints:
            self._endpoints = endpoints
            for callback in self.on_endpoints:
                try:
                    callback(endpoints)
                except OSError:
                    log.exception("replica %s: telling the endpoint list failed", self.replica)

    async def _renew_or_take(self, conn: psycopg.AsyncConnection) -> None:
        if self.active:
            renewed = await conn.execute(
                f"UPDATE leases SET renewed_at={NOW} WHERE name='active' AND holder=%s", (self.replica,)
            )
            if renewed.rowcount == 1:
                self._last_renewed = time.monotonic()
                await self.breakers.publish(conn)
            else:
                self._lose("another replica holds the lease")
            return
        got = (await (await conn.execute("SELECT pg_try_advisory_lock(%s)", (ACTIVE_LOCK,))).fetchone())[0]  # type: ignore[index]
        if got:
            await self._take(conn)
            return
        await self.breakers.mirror(conn, within=max(10.0, 2 * self.failover_seconds))  # not a long-gone replica's
        row = await (
            await conn.execute(f"SELECT holder, backend_pid, {NOW} - renewed_at FROM leases WHERE name='active'")
        ).fetchone()
        if row is not None and row[2] > self.failover_seconds:
            holder, pid, silent_for = row
            log.warning(
                "replica %s: the active replica %s has not renewed for %.1fs: ending its session to take over",
                self.replica,
                holder,
                silent_for,
            )
            await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))

    async def _take(self, conn: psycopg.AsyncConnection) -> None:
        previous = await (
            await conn.execute(f"SELECT holder, {NOW} - renewed_at FROM leases WHERE name='active'")
        ).fetchone()
        await conn.execute(
            f"INSERT INTO leases VALUES ('active', %s, pg_backend_pid(), {NOW}, {NOW}) "
            "ON CONFLICT (name) DO UPDATE SET holder=excluded.holder, backend_pid=excluded.backend_pid, "
            "renewed_at=excluded.renewed_at, taken_at=excluded.taken_at",
            (self.replica,),
        )
        await self.breakers.adopt(conn)  # before the first poll
        for callback in self.on_takeover:
            try:
                await callback()
            except Exception:  # the takeover goes on; the log says what failed
                log.exception("replica %s: a takeover step failed", self.replica)
        self.active = True
        self._last_renewed = time.monotonic()
        takeover = Takeover(previous[0] if previous else None, round(previous[1], 2) if previous else None)
        self.takeovers.append(takeover)
        self.became_active.set()
        if takeover.previous and takeover.previous != self.replica:
            log.warning(
                "replica %s took over from %s (%.1fs after its last renewal)",
                self.replica,
                takeover.previous,
                takeover.gap_seconds or 0.0,
            )
        else:
            log.warning("replica %s %s (active); others stand by", self.replica, self.duty)

    def _lose(self, why: str) -> None:
        if self.active:
            log.warning("replica %s stops being the active one: %s", self.replica, why)
        self.active = False
        self.became_active.clear()

    # --- status --------------------------------------------------------------------------------
    async def replicas(self) -> dict[str, object]:
        """The active replica and every replica seen in the last minute (for `status`)."""
        if self._conn is None or self._conn.closed:
            return {"this": self.replica, "role": "standby", "doing": self.doing, "active": None, "peers": []}
        lease = await (
            await self._conn.execute(f"SELECT holder, {NOW} - renewed_at FROM leases WHERE name='active'")
        ).fetchone()
        rows = await (
            await self._conn.execute(
                f"SELECT name, role, {NOW} - seen_at FROM replicas WHERE seen_at > {NOW} - 60 ORDER BY name"
            )
        ).fetchall()
        return {
            "this": self.replica,
            "role": "active" if self.is_active() else "standby",
            "doing": self.doing,
            "active": lease[0] if lease and lease[1] < self.failover_seconds else None,
            "peers": [{"name": name, "role": role, "seen_seconds_ago": round(ago, 1)} for name, role, ago in rows],
        }
