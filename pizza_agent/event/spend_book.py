"""The providers' spend, kept in the ledger: a budget holds across a restart and a takeover.

OPENAI_BUDGET_USD is the organizer's promise to the credit card: it must not
reset because the laptop rebooted at dinner or a standby took over. The
running figures live in `llm.usage.Spend` (read on every call, no I/O); what
was spent since the last save is added to the ledger's totals every few
seconds, and the totals are read back at start and when this replica takes
over. At most the last few seconds of a process that died are not counted.

"""

from __future__ import annotations

import logging

from pizza_agent.ledger.errors import LedgerBusy
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.usage import Spend

log = logging.getLogger("pizza.spend")

# How often what was spent is added to the ledger.
SAVE_SECONDS = 5.0


class SpendBook:
    def __init__(self, spend: Spend, ledger: LedgerWorker) -> None:
        self.spend = spend
        self.ledger = ledger

    async def load(self) -> None:
        """Start from what every process and replica spent so far (plus what this one has not saved)."""
        self.spend.restore(await self.ledger.read(lambda ledger: ledger.books.spend_totals()))

    async def save(self) -> None:
        rows = self.spend.take_unsaved()
        if not rows:
            return
        try:
            await self.ledger.keep_books(lambda ledger: ledger.books.add_spend(rows))
        except LedgerBusy:
            self.spend.give_back(rows)  # saved with the next ones
            log.warning("the ledger was busy: spend is saved at the next try")
