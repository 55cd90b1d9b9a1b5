"""One connection to the ledger: SQLite (WAL) or PostgreSQL, its transactions and its migrations.

Why not uagents' `ctx.storage`: it rewrites a JSON file on every set and a
kill -9 corrupts it. Coupons must survive a crash: a coupon is committed
before the reply that carries it is sent, and the database's own constraints
(one coupon row per address) make "one per participant" a property of the
data, not of our code paths.

SQLite is the default (embedded, nothing to install). `LEDGER_URL=postgresql://…`
puts the same tables in PostgreSQL (postgres.py): the same SQL, the same
migrations (schema.py), issuance serialized across replicas by an advisory
lock. The repositories (coupons.py, conversation_state.py, bookkeeping.py,
controls.py) each own their tables and share one `Database`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pizza_agent.ledger.errors import LedgerBusy, LedgerGone
from pizza_agent.ledger.postgres import BUSY_ERRORS, PgConnection, is_postgres_url
from pizza_agent.ledger.schema import migrations_for, statements

# The advisory lock (PostgreSQL) that makes issuance one-at-a-time across replicas, as BEGIN
# IMMEDIATE does for SQLite: "one coupon per participant" and tier caps hold with two machines.
ISSUANCE_LOCK = 0x7E57_C0DE
MIGRATION_LOCK = 0x7E57_0001

# Seconds a write waits for another writer (another process holding the file) before giving up:
# the participant is told to ask again in a minute, rather than waiting past the reply deadline.
BUSY_TIMEOUT_SECONDS = 2.0


class Database:
    """A connection, the clock its rows are stamped with, and one way to write: `with db.write(): …`."""

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self.clock = clock
        self.read_only = read_only
        self.postgres = is_postgres_url(path)
        self._file: tuple[int, int] | None = None
        if self.postgres:
            self.url: str | None = str(path)
            self.path = Path("postgresql")  # no file: identity checks always pass
            self._conn: Any = PgConnection(self.url, read_only=read_only)
        else:
            self.url = None
            self.path = Path(path)
            self._conn = self._open_sqlite(read_only, busy_timeout)
        if not read_only:
            self._migrate()

    def _open_sqlite(self, read_only: bool, busy_timeout: float) -> sqlite3.Connection:
        if read_only:
            # A second connection for reads (WAL: never waits for a writer), or verify/redeem's check.
            if not self.path.exists():
                raise LedgerGone(f"no ledger at {self.path}")
            conn = sqlite3.connect(
                f"file:{self.path}?mode=ro",
                uri=True,
                isolation_level=None,
                timeout=busy_timeout,
                check_same_thread=False,
            )
            self._file = _file_identity(self.path)
            return conn
        in_memory = str(self.path) == ":memory:"
        if not in_memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: the agent runs every ledger call on a worker thread (worker.py).
        conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=busy_timeout, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a coupon in a reply is on disk first
        conn.execute("PRAGMA foreign_keys=ON")
        self._file = None if in_memory else _file_identity(self.path)
        return conn

    @property
    def in_memory(self) -> bool:
        return not self.postgres and self._file is None

    @property
    def target(self) -> str | Path:
        return self.url if self.url is not None else self.path

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    # --- the file this ledger opened --------------------------------------------------
    def identity_ok(self) -> bool:
        """Is the file at `path` still the one this ledger opened (same device and inode)?"""
        return self._file is None or _file_identity(self.path) == self._file

    def check_file(self) -> None:
        if not self.identity_ok():
            raise LedgerGone(f"the ledger file {self.path} was deleted or replaced while the agent was running")

    # --- transactions -----------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[None]:
        """One write transaction: BEGIN (IMMEDIATE on SQLite), then COMMIT, or ROLLBACK on any error."""
        try:
            self._conn.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise LedgerBusy(str(exc)) from exc
            raise
        try:
            yield
        except BaseException as exc:
            self._conn.execute("ROLLBACK")
            if isinstance(exc, BUSY_ERRORS):
                raise LedgerBusy(str(exc)) from exc
            raise
        self._conn.execute("COMMIT")

    def one_issuer_at_a_time(self) -> None:
        """Inside a write: PostgreSQL replicas wait for each other here (SQLite's BEGIN IMMEDIATE already did)."""
        if self.postgres:
            self._conn.execute("SELECT pg_advisory_xact_lock(?)", (ISSUANCE_LOCK,))

    # --- schema -----------------------------------------------------------------------
    def _migrate(self) -> None:
        real = "DOUBLE PRECISION" if self.postgres else "REAL"
        if self.postgres:  # two replicas starting together: one migrates, the other waits and finds it done
            self._conn.execute("SELECT pg_advisory_lock(?)", (MIGRATION_LOCK,))
        try:
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at {real})"
            )
            done = {row[0] for row in self._conn.execute("SELECT version FROM schema_migrations")}
            for version, script in enumerate(migrations_for("postgres" if self.postgres else "sqlite"), start=1):
                if version in done:
                    continue
                with self.write():
                    for statement in statements(script):
                        self._conn.execute(statement)
                    self._conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, self.clock()))
        finally:
            if self.postgres:
                self._conn.execute("SELECT pg_advisory_unlock(?)", (MIGRATION_LOCK,))

    @property
    def schema_version(self) -> int:
        return self._conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0

    def integrity_ok(self) -> bool:
        if self.postgres:  # the server checks its own pages; a query answering is what we can ask
            return self._conn.execute("SELECT 1").fetchone()[0] == 1
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        self._conn.close()


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino)
