"""The ledger, off the event loop: writes on one worker thread, reads on another.

SQLite blocks the thread that waits for a lock. On the event loop that froze
every participant while another process held a write transaction (11.5 s
measured). Here every call runs on a worker thread: writes one at a time on
their own connection (with a short busy time-out, after which `LedgerBusy`
tells the participant to ask again in a minute), reads on a second connection
that, in WAL mode, never waits for a writer — so "here is your code again"
is answered even while the file is locked.

May import: pizza_agent.ledger.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pizza_agent.ledger.store import Ledger, LedgerBusy

# After a write found the ledger locked, further writes fail at once for this long instead of
# queueing behind each other (each would wait the whole busy time-out in turn).
BUSY_COOLDOWN_SECONDS = 1.0

# The ledger calls that only read: they go to the reader connection and never wait for a writer.
READS = frozenset(
    {
        "spend_totals",
        "coupon_for",
        "find",
        "prompts_for",
        "last_prompt",
        "pooled_prompts",
        "held_story",
        "stats",
        "pool_sizes",
        "participant_facts",
        "find_participant",
        "replaced_code",
        "waiting_rescores",
        "control",
        "coupons",
        "seen_message",
        "identity_ok",
        "generated_count",
    }
)


# Writes that only keep books (handled message ids): their own connection and thread, and a short
# busy time-out, so they never queue ahead of a participant's coupon on the writer thread.
BOOKKEEPING = frozenset({"remember_messages", "add_spend"})
BOOKKEEPING_BUSY_SECONDS = 0.5


class LedgerWorker:
    """`await worker.coupon_for(address)`: any Ledger method, run on the right thread.

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

    def _bookkeeping_ledger(self) -> Ledger:
        if self._bookkeeper is None:
            self._bookkeeper = self.ledger.twin(busy_timeout=BOOKKEEPING_BUSY_SECONDS)
        return self._bookkeeper

    def __getattr__(self, name: str) -> Any:
        if name in BOOKKEEPING:

            async def bookkeeping_call(*args: Any, **kwargs: Any) -> Any:
                def call() -> Any:
                    try:
                        return getattr(self._bookkeeping_ledger(), name)(*args, **kwargs)
                    except sqlite3.OperationalError as exc:
                        raise LedgerBusy(str(exc)) from exc

                # An in-memory ledger has one connection: its books are kept on the writer thread.
                executor = self._writes if self._bookkeeping_ledger() is self.ledger else self._books
                return await asyncio.get_running_loop().run_in_executor(executor, call)

            return bookkeeping_call
        read = name in READS
        method = getattr(self._reader if read else self.ledger, name)
        if read:

            async def read_call(*args: Any, **kwargs: Any) -> Any:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._reads, functools.partial(method, *args, **kwargs))

            return read_call

        async def write_call(*args: Any, **kwargs: Any) -> Any:
            return await self._write(functools.partial(method, *args, **kwargs))

        return write_call

    async def _write(self, call: Any) -> Any:
        loop = asyncio.get_running_loop()
        if loop.time() < self._busy_until:
            raise LedgerBusy("the ledger was locked a moment ago")
        try:
            return await loop.run_in_executor(self._writes, call)
        except LedgerBusy:
            self._busy_until = loop.time() + BUSY_COOLDOWN_SECONDS
            raise
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                self._busy_until = loop.time() + BUSY_COOLDOWN_SECONDS
                raise LedgerBusy(str(exc)) from exc
            raise

    async def read_with(self, function: Any, *args: Any) -> Any:
        """`function(reader_ledger, *args)` on the reader thread (e.g. redemption.check_code)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reads, functools.partial(function, self._reader, *args))

    async def write_with(self, function: Any, *args: Any) -> Any:
        """`function(ledger, *args)` on the writer thread (e.g. redemption.redeem_code)."""
        return await self._write(functools.partial(function, self.ledger, *args))

    def close(self) -> None:
        self._writes.shutdown(wait=True)
        self._reads.shutdown(wait=True)
        self._books.shutdown(wait=True)
