"""The food tables' scans: each applied once by its nonce, with the table that made it.

Owns `table_scans`. A table that lost the network judges scans from its snapshot and re-sends
them later with the nonce it gave each; a nonce seen before is acknowledged with the result it
had and never applied again. Two offline tables that both served one code are a conflict: the
second to sync is recorded with the first one's table and time, so nothing is lost and both
are shown to the organizers.
"""

from __future__ import annotations

from dataclasses import dataclass

from pizza_agent.ledger.database import Database

SCAN_COLUMNS = "nonce, table_name, code, scanned_at, offline, result, conflict_with, synced_at"


@dataclass(frozen=True)
class TableScan:
    nonce: str
    table: str
    code: str
    scanned_at: float  # the device's time of the scan (offline: when it was served, not when it synced)
    offline: bool
    result: str  # redeemed, refused, conflict, pending (being applied)
    conflict_with: str | None  # for a conflict: the nonce of the scan that redeemed the code first
    synced_at: float


class TableScans:
    def __init__(self, db: Database) -> None:
        self._db = db

    def claim(self, nonce: str, table: str, code: str, scanned_at: float, *, offline: bool) -> TableScan | None:
        """Note a scan as being applied; None when its nonce is new, else the scan as it was (a replay)."""
        with self._db.write():
            inserted = self._db.execute(
                "INSERT INTO table_scans VALUES (?, ?, ?, ?, ?, 'pending', NULL, ?) ON CONFLICT(nonce) DO NOTHING",
                (nonce, table, code, scanned_at, int(offline), self._db.clock()),
            ).rowcount
        return None if inserted else self.get(nonce)

    def settle(self, nonce: str, result: str, conflict_with: str | None = None) -> None:
        with self._db.write():
            self._db.execute(
                "UPDATE table_scans SET result=?, conflict_with=? WHERE nonce=?", (result, conflict_with, nonce)
            )

    def get(self, nonce: str) -> TableScan | None:
        row = self._db.execute(f"SELECT {SCAN_COLUMNS} FROM table_scans WHERE nonce=?", (nonce,)).fetchone()
        return _scan(row) if row else None

    def redeemed_by(self, code: str, other_than: str = "") -> TableScan | None:
        """The scan that redeemed `code`, or is redeeming it now (another sync of the queue in flight), other
        than `other_than`'s; None: no scan of ours (the command line, or before scans were kept)."""
        row = self._db.execute(
            f"SELECT {SCAN_COLUMNS} FROM table_scans WHERE code=? AND nonce<>? AND result IN ('redeemed', 'pending') "
            "ORDER BY synced_at LIMIT 1",
            (code, other_than),
        ).fetchone()
        return _scan(row) if row else None

    def conflicts(self, limit: int = 50) -> list[TableScan]:
        rows = self._db.execute(
            f"SELECT {SCAN_COLUMNS} FROM table_scans WHERE result='conflict' ORDER BY synced_at LIMIT ?", (limit,)
        ).fetchall()
        return [_scan(row) for row in rows]

    def counts_by_table(self) -> dict[str, dict[str, int]]:
        """table -> result -> scans (redeemed, refused, conflict): the dashboard's per-table counts."""
        counts: dict[str, dict[str, int]] = {}
        for table, result, n in self._db.execute(
            "SELECT table_name, result, COUNT(*) FROM table_scans GROUP BY table_name, result ORDER BY table_name"
        ):
            counts.setdefault(table, {})[result] = n
        return counts


def _scan(row: tuple) -> TableScan:
    nonce, table, code, scanned_at, offline, result, conflict_with, synced_at = row
    return TableScan(nonce, table, code, scanned_at, bool(offline), result, conflict_with, synced_at)
