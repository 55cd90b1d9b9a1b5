"""The ledger: one database connection and the repositories that share it.

`Ledger(path_or_url)` opens SQLite (a path) or PostgreSQL (a `postgresql://`
URL) and migrates it; its repositories each own their tables:

- `coupons`  (coupons.py): issue exactly once, pools, redeem, void, upgrade, counts.
- `state`    (conversation_state.py): participants, prompts, held stories, re-scores.
- `books`    (bookkeeping.py): handled message ids, spend, the seed's and secret's fingerprints.
- `controls` (controls.py): the organizer's switches.
- `reviews`  (reviews.py): the judges' queue and the outbox of messages a decision owes.
- `roster`   (roster.py): attendees, the chats their claim codes bound, the shared-sender tripwire.
- `vendor`   (vendor_numbers.py): reads only: people by diet and a meal's coupons, as of its cut-off.
- `scans`    (table_scans.py): the food tables' scans, each once by its nonce, and offline conflicts.

On the event loop the agent reaches them through `LedgerWorker` (worker.py),
which runs each call on the right thread and connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from pizza_agent.ledger.bookkeeping import Bookkeeping
from pizza_agent.ledger.controls import ControlSwitches
from pizza_agent.ledger.conversation_state import ConversationState
from pizza_agent.ledger.coupons import CouponBook
from pizza_agent.ledger.database import BUSY_TIMEOUT_SECONDS, Database
from pizza_agent.ledger.reviews import JudgesQueue
from pizza_agent.ledger.roster import Roster
from pizza_agent.ledger.table_scans import TableScans
from pizza_agent.ledger.vendor_numbers import VendorNumbers


class Ledger:
    def __init__(
        self,
        path: Path | str,
        *,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self.db = Database(path, clock=clock, read_only=read_only, busy_timeout=busy_timeout)
        self.coupons = CouponBook(self.db)
        self.state = ConversationState(self.db)
        self.books = Bookkeeping(self.db)
        self.controls = ControlSwitches(self.db)
        self.reviews = JudgesQueue(self.db, self.coupons)
        self.roster = Roster(self.db)
        self.vendor = VendorNumbers(self.db)
        self.scans = TableScans(self.db)

    @property
    def postgres(self) -> bool:
        return self.db.postgres

    @property
    def path(self) -> Path:
        return self.db.path

    @property
    def schema_version(self) -> int:
        return self.db.schema_version

    def twin(self, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> Ledger:
        """Another writing connection to the same ledger (the worker's bookkeeping thread)."""
        if self.db.in_memory:
            return self  # in memory: there is only this one
        return Ledger(self.db.target, clock=self.db.clock, busy_timeout=busy_timeout)

    def reader(self) -> Ledger:
        """Another connection for reads: SQLite in WAL mode and PostgreSQL never make it wait for a writer."""
        if self.db.in_memory:
            return self
        return Ledger(self.db.target, clock=self.db.clock, read_only=True)

    def identity_ok(self) -> bool:
        return self.db.identity_ok()

    def integrity_ok(self) -> bool:
        return self.db.integrity_ok()

    def close(self) -> None:
        self.db.close()
