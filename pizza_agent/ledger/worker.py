"""The ledger, off the event loop: writes on one worker thread, reads on another, books on a third.

SQLite blocks the thread that waits for a lock. On the event loop that froze
every participant while another process held a write transaction (11.5 s
measured). Here every call runs on a worker thread: writes one at a time on
their own connection (with a short busy time-out, after which `LedgerBusy`
tells the participant to ask again in a minute), reads on a second connection
that, in WAL mode, never waits for a writer — so "here is your code again"
is answered even while the file is locked.

The worker is generic over callables, never routed by method names:
`await worker.read(lambda ledger: ledger.coupons.coupon_for(address))` is typed
end to end (the lambda's result is the awaited result).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from pizza_agent.ledger.errors import LedgerBusy
from pizza_agent.ledger.store import Ledger

T = TypeVar("T")

# After a write found the ledger locked, further writes fail at once for this long instead of
# queueing behind each other (each would wait the whole busy time-out in turn).
BUSY_COOLDOWN_SECONDS = 1.0
# Bookkeeping (handled message ids, spend) waits this little for a lock: it never holds up a coupon.
BOOKKEEPING_BUSY_SECONDS = 0.5


class LedgerWorker:
    """`read`, `write` and `keep_books`: a call on the ledger, run on the right thread and connection.

    `ledger` stays usable directly (tests, the command line) when nothing runs concurrently.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._reader = ledger.reader()
        self._writes = ThreadPoolExecutor(1, thread_name_prefix="ledger-write")
        self._reads = ThreadPoolExecutor(1, thread_name_prefix="ledger-read")
        self._books = ThreadPoolExecutor(1, thread_name_prefix="ledger-books")
        self._bookkeeper: Ledger | None = None
        self._busy_until = 0.0

    async def read(self, call: Callable[[Ledger], T]) -> T:
        """On the reader connection, which never waits for a writer."""
        return await asyncio.get_running_loop().run_in_executor(self._reads, call, self._reader)

    async def write(self, call: Callable[[Ledger], T]) -> T:
        """On the one writer thread; `LedgerBusy` at once for a moment after the ledger was found locked."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._busy_until:
            raise LedgerBusy("the ledger was locked a moment ago")
        try:
            return await loop.run_in_executor(self._writes, call, self.ledger)
        except LedgerBusy:
            self._busy_until = loop.time() + BUSY_COOLDOWN_SECONDS
            raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                self._busy_until = loop.time() + BUSY_COOLDOWN_SECONDS
                raise LedgerBusy(str(exc)) from exc
            raise

    async def keep_books(self, call: Callable[[Ledger], T]) -> T:
        """Bookkeeping writes: their own connection and thread and a short busy time-out, so they never
        queue ahead of a participant's coupon (an in-memory ledger keeps them on the writer thread)."""
        bookkeeper = self._bookkeeping_ledger()

        def guarded(ledger: Ledger) -> T:
            try:
                return call(ledger)
            except sqlite3.OperationalError as exc:
                raise LedgerBusy(str(exc)) from exc

        executor = self._writes if bookkeeper is self.ledger else self._books
        return await asyncio.get_running_loop().run_in_executor(executor, guarded, bookkeeper)

    def _bookkeeping_ledger(self) -> Ledger:
        if self._bookkeeper is None:
            self._bookkeeper = self.ledger.twin(busy_timeout=BOOKKEEPING_BUSY_SECONDS)
        return self._bookkeeper

    def close(self) -> None:
        self._writes.shutdown(wait=True)
        self._reads.shutdown(wait=True)
        self._books.shutdown(wait=True)
