"""Which chat messages were already handled: in memory, and in the ledger across restarts.

A message id seen again — a replayed envelope, or an Agentverse mailbox
delivering an item twice (delivery is at-least-once) — is acknowledged and not
handled again. The memory answers at once; the ledger remembers across a
restart (and, on a shared database, across replicas). New ids are written in
small batches off the event loop: a crash between handling and writing can
only cause a repeat of the same answer, because coupons are exactly-once in
the ledger anyway.

May import: pizza_agent.ledger, pizza_agent.workarounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time

from pizza_agent.ledger.store import LedgerBusy
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.workarounds.uagents_compat import REPLAY_TTL_SECONDS, MessageIdGuard

log = logging.getLogger("pizza.agent")

# New ids wait this long to be written together.
FLUSH_SECONDS = 0.2


def _key(sender: str, msg_id: object) -> str:
    return hashlib.sha256(f"{sender}:{msg_id}".encode()).hexdigest()[:32]


class HandledMessages:
    def __init__(self, db: LedgerWorker) -> None:
        self._memory = MessageIdGuard()
        self._db = db
        self._pending: list[tuple[str, float]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def first_time(self, sender: str, msg_id: object) -> bool:
        """Not handled before (in this process, or — answered — before a restart or on another replica)."""
        key = _key(sender, msg_id)
        if not self._memory.first_time(key):
            return False
        with contextlib.suppress(LedgerBusy):
            if await self._db.seen_message(key):
                return False  # handled before a restart
        return True

    def answered(self, sender: str, msg_id: object) -> None:
        """The reply went out: remember it in the ledger (in a batch, off the event loop).

        Written after the answer, not before: a replica that dies between taking a
        message and answering it leaves it unanswered in the ledger, so the replica
        taking over (which gets it again from the mailbox) answers it."""
        self._pending.append((_key(sender, msg_id), time.time() + REPLAY_TTL_SECONDS))
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)  # a batching window, not a wait for luck
        await self.flush()

    async def flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await self._db.remember_messages(batch)
        except LedgerBusy:
            self._pending = batch + self._pending  # the next flush tries again
            log.warning("ledger busy: %d handled message id(s) will be written later", len(batch))
