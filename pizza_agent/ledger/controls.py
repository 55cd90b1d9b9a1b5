"""The organizer's switches (pause, force), kept in the ledger so they outlive a restart.

On PostgreSQL the transaction that changes a switch also sends a NOTIFY on
`CONTROLS_CHANNEL`, so every replica reads the switches again at once
(replicas/notifications.py listens).
"""

from __future__ import annotations

from pizza_agent.ledger.database import Database

CONTROLS_CHANNEL = "pizza_controls"


class ControlSwitches:
    """Owns `controls`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM controls WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def set(self, name: str, value: str | None, changed_by: str) -> None:
        """Set (or clear) a switch; on PostgreSQL every replica is told at commit."""
        with self._db.write():
            if value is None:
                self._db.execute("DELETE FROM controls WHERE name=?", (name,))
            else:
                self._db.execute(
                    "INSERT INTO controls VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET value=excluded.value, "
                    "changed_at=excluded.changed_at, changed_by=excluded.changed_by",
                    (name, value, self._db.clock(), changed_by),
                )
            if self._db.postgres:
                self._db.execute("SELECT pg_notify(?, ?)", (CONTROLS_CHANNEL, name))
