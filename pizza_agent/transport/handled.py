"""Which chat messages were already handled: in memory, and in the ledger across restarts.

A message id seen again — a replayed envelope, or an Agentverse mailbox
delivering an item twice (delivery is at-least-once) — is acknowledged and not
handled again. The memory answers at once; the ledger remembers across a
restart (and, on a shared database, across replicas). New ids are written in
small batches off the event loop: a crash between handling and writing can
only cause a repeat of the same answer, because coupons are exactly-once in
the ledger anyway.

Where the ids are kept is handed in (`HandledStore`; the composition root
gives the ledger's bookkeeping), so this room needs no ledger of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Protocol

from pizza_agent.workarounds.uagents_compat import REPLAY_TTL_SECONDS, MessageIdGuard

log = logging.getLogger("pizza.agent")

# How long the mailbox waits for an answered id to be written before deleting the item anyway.
RECORD_WAIT_SECONDS = 5.0


class HandledStore(Protocol):
    """Where handled ids outlive the process: the ledger's bookkeeping, across restarts and replicas."""

    async def seen(self, key: str) -> bool:
        """Was this key recorded (and is it unexpired)? False when the store cannot answer now."""
        ...

    async def remember(self, keys: list[tuple[str, float]]) -> bool:
        """Record (key, expires_at) pairs; False when the store was busy (the caller tries again)."""
        ...


def _key(sender: str, msg_id: object) -> str:
    return hashlib.sha256(f"{sender}:{msg_id}".encode()).hexdigest()[:32]


class HandledMessages:
    def __init__(self, store: HandledStore) -> None:
        self._memory = MessageIdGuard()
        self._store = store
        self._pending: list[tuple[str, float]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def first_time(self, sender: str, msg_id: object) -> bool:
        """Not handled before (in this process, or — answered — before a restart or on another replica)."""
        key = _key(sender, msg_id)
        if not self._memory.first_time(key):
            return False
        return not await self._store.seen(key)  # False: handled before a restart

    def answered(self, sender: str, msg_id: object) -> None:
        """The reply went out: remember it in the ledger at once (off the event loop).

        Written after the answer, not before: a replica that dies between taking a
        message and answering it leaves it unanswered in the ledger, so the replica
        taking over (which gets it again from the mailbox) answers it. Written at
        once, not after a batching delay: the window in which a replica can die
        having answered but not recorded it is the write itself. Ids answered while
        a write is under way go together in the next one."""
        self._pending.append((_key(sender, msg_id), time.time() + REPLAY_TTL_SECONDS))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_until_empty())

    async def recorded(self) -> None:
        """Wait (bounded) until every id answered so far is in the ledger: the mailbox deletes after this."""
        with contextlib.suppress(TimeoutError):
            while self._flushing is not None and not self._flushing.done():
                await asyncio.wait_for(asyncio.shield(self._flushing), RECORD_WAIT_SECONDS)

    async def _flush_until_empty(self) -> None:
        await asyncio.sleep(0)  # the ids answered in this same turn of the loop go together
        while self._pending:
            before = len(self._pending)
            await self.flush()
            if len(self._pending) >= before:  # the ledger is busy: the next answered() tries again
                return

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        if not await self._store.remember(batch):
            self._pending = batch + self._pending  # the next flush tries again
            log.warning("ledger busy: %d handled message id(s) will be written later", len(batch))
