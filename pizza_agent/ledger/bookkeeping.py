"""The ledger's own books: handled message ids, what the providers cost, and whose seed and secret it holds.

Kept apart from coupons: these writes go on their own connection and thread
(worker.py), so a burst of bookkeeping never queues ahead of a participant's
coupon.
"""

from __future__ import annotations

from pizza_agent.ledger.database import Database

SpendRow = tuple[str, str, str, int, int, int, float]  # provider, model, task, calls, prompt/completion tokens, USD


class Bookkeeping:
    """Owns `seen_messages`, `spend` and `identity`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- messages already handled -----------------------------------------------------------
    def seen_message(self, key: str) -> bool:
        row = self._db.execute("SELECT expires_at FROM seen_messages WHERE key=?", (key,)).fetchone()
        return row is not None and row[0] >= self._db.clock()

    def remember_messages(self, keys: list[tuple[str, float]]) -> None:
        """Record handled message ids with their expiry (one transaction), and forget expired ones."""
        with self._db.write():
            self._db.executemany(
                "INSERT INTO seen_messages VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET expires_at=excluded.expires_at",
                keys,
            )
            self._db.execute("DELETE FROM seen_messages WHERE expires_at < ?", (self._db.clock(),))

    # --- what the providers cost (llm/usage.py keeps the running figures) --------------------
    def add_spend(self, rows: list[SpendRow]) -> None:
        """Add to the totals (never overwrite): every replica adds what it spent, at any time."""
        with self._db.write():
            self._db.executemany(
                "INSERT INTO spend VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(provider, model, task) DO UPDATE SET "
                "calls=spend.calls+excluded.calls, prompt_tokens=spend.prompt_tokens+excluded.prompt_tokens, "
                "completion_tokens=spend.completion_tokens+excluded.completion_tokens, "
                "cost_usd=spend.cost_usd+excluded.cost_usd",
                rows,
            )

    def spend_totals(self) -> list[SpendRow]:
        rows = self._db.execute(
            "SELECT provider, model, task, calls, prompt_tokens, completion_tokens, cost_usd FROM spend"
        ).fetchall()
        return [(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), float(r[6])) for r in rows]

    # --- which seed and coupon secret this ledger belongs to ----------------------------------
    def check_identity(self, fingerprints: dict[str, str], *, record: bool = True) -> list[str]:
        """The names whose fingerprint differs from the one recorded at the ledger's first start.

        `record`: remember the ones not recorded yet (the agent's start; `verify` only compares).
        A ledger's codes are signed with its COUPON_SECRET and its participants know one
        address: a replica or a restart with another secret or seed must not serve it.
        """
        rows = dict(self._db.execute("SELECT name, fingerprint FROM identity").fetchall())
        differ = [name for name, fp in fingerprints.items() if name in rows and rows[name] != fp]
        missing = [(name, fp, self._db.clock()) for name, fp in fingerprints.items() if name not in rows]
        if record and missing and not differ:
            with self._db.write():
                self._db.executemany("INSERT INTO identity VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING", missing)
            return self.check_identity(fingerprints, record=False)  # a replica starting at the same moment
        return differ
