"""Changes another replica made, pushed by PostgreSQL: LISTEN/NOTIFY for the organizer's switches.

Each replica serves its own dashboard, and an organizer may press pause on any
of them, while only one replica answers participants. The switches live in
the ledger (`controls`) and every replica keeps them in memory, read on every
message; so a change must reach the others at once. The ledger sends a
`NOTIFY` on `CONTROLS_CHANNEL` in the transaction that changes a switch (see
`ControlSwitches.set` in ledger/controls.py); each replica listens on a connection of its own and
reads the switches again when told.

Notifications are not queued for a listener that is away: after a reconnect
the switches are read again, and every `resync_seconds` anyway (the short TTL
of the cached copy, should a notification ever be lost with its connection).

"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import psycopg

from pizza_agent.ledger.controls import CONTROLS_CHANNEL

log = logging.getLogger("pizza.replicas")

# How long the in-memory copy of the switches is trusted with no notification at all.
RESYNC_SECONDS = 30.0
RECONNECT_SECONDS = 1.0


class ControlsListener:
    """Calls `on_change` whenever any replica changes a switch (and after each reconnect)."""

    def __init__(
        self,
        url: str,
        on_change: Callable[[], Awaitable[None]],
        *,
        resync_seconds: float = RESYNC_SECONDS,
    ) -> None:
        self.url = url
        self.on_change = on_change
        self.resync_seconds = resync_seconds
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> ControlsListener:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    await conn.execute(f"LISTEN {CONTROLS_CHANNEL}")
                    self.listening.set()
                    if not first:  # whatever changed while we were away
                        await self._changed("reconnected")
                    first = False
                    while True:
                        told = False
                        async for _ in conn.notifies(timeout=self.resync_seconds, stop_after=1):
                            told = True
                        await self._changed("notified" if told else "resync")
            except (psycopg.Error, OSError) as exc:
                if self.listening.is_set():
                    log.warning("controls listener lost the database (%s): reconnecting", type(exc).__name__)
                self.listening.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _changed(self, why: str) -> None:
        try:
            await self.on_change()
        except Exception:  # a failed read is tried again at the next notification or resync
            log.exception("reading the switches again (%s) failed", why)
