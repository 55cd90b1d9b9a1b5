"""What the ledger raises that its callers handle: busy (ask again soon), gone, unreachable.

Apart from the connection (database.py) so the PostgreSQL adapter (postgres.py) can raise them too.

"""

from __future__ import annotations


class LedgerBusy(Exception):
    """Another writer held the ledger too long, or its database connection was just lost: ask again soon."""


class LedgerGone(Exception):
    """The ledger file was deleted or replaced while the agent ran: no coupon may be issued into it."""


class LedgerUnreachable(Exception):
    """The PostgreSQL server did not take the connection (down, wrong host, port or password)."""


class LedgerIdentityMismatch(Exception):
    """The ledger was started with another AGENT_SEED or COUPON_SECRET; the message says which and why it matters."""
