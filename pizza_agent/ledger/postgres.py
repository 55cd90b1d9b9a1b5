"""The PostgreSQL back-end of the ledger: a connection that speaks the ledger's SQL, and its migrations.

The repositories are written once, in SQL both databases understand (`?` placeholders,
`INSERT … ON CONFLICT`); this adapter turns the placeholders into psycopg's and
maps PostgreSQL's lock time-out to `LedgerBusy`. The migrations are schema.py's,
in PostgreSQL's types.

Each `Database` owns one connection: the agent runs two (the writer thread's and
the reader thread's, see worker.py), so a pool would add nothing but a lock.

"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
import psycopg.errors

from pizza_agent.ledger.errors import LedgerBusy, LedgerUnreachable

# Seconds a write waits for a row or advisory lock another replica holds, then LedgerBusy.
LOCK_TIMEOUT_SECONDS = 2.0
# Connecting at start may wait for a slow server; a lost session is made again with a short time-out,
# at most once per RECONNECT_SECONDS (meanwhile the ledger says "busy" at once).
CONNECT_TIMEOUT_SECONDS = 10
RECONNECT_TIMEOUT_SECONDS = 2
RECONNECT_SECONDS = 1.0


def server_facts(url: str, timeout: float) -> tuple[str, int]:
    """(server version, schema version: 0 before the first migration) for `agent.py check`.

    Raises LedgerUnreachable (one line) when the server cannot be reached or refuses the login."""
    try:
        with psycopg.connect(url, connect_timeout=max(1, round(timeout))) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0]).split()[0]  # type: ignore[index]
            exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]  # type: ignore[index]
            schema = (
                conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()[0] if exists else 0
            )  # type: ignore[index]
    except psycopg.Error as exc:
        raise LedgerUnreachable(_first_line(exc)) from None
    return version, int(schema)


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class PgConnection:
    """The few calls `Ledger` makes on a sqlite3 connection, on a psycopg one (autocommit: the
    ledger says BEGIN and COMMIT itself).

    A managed PostgreSQL restarts, fails over or drops idle sessions, and the agent must
    outlive that. When the session is lost the connection is made again (at most once per
    RECONNECT_SECONDS, with a short time-out, so a database that is down costs the event
    loop nothing: the ledger runs on its own threads). A lone SELECT is asked again on the
    new session; anything else raises LedgerBusy (the participant is asked to try again):
    whether a lost write or transaction was applied cannot be known, so none is repeated.
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self._url, self._read_only = url, read_only
        self._in_transaction = False
        self._next_reconnect = 0.0
        try:
            self._conn = self._connect(CONNECT_TIMEOUT_SECONDS)
        except psycopg.Error as exc:  # the one line a person needs, not a traceback
            raise LedgerUnreachable(_first_line(exc)) from None

    def _connect(self, timeout: int) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self._url, autocommit=True, connect_timeout=timeout)
        conn.execute(f"SET lock_timeout = '{int(LOCK_TIMEOUT_SECONDS * 1000)}ms'")
        if self._read_only:
            conn.execute("SET default_transaction_read_only = on")
        return conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        word = sql.lstrip()[:8].upper()
        was_in_transaction = self._in_transaction
        if word.startswith("BEGIN"):
            self._in_transaction = True
        elif word.startswith(("COMMIT", "ROLLBACK")):
            self._in_transaction = False
        try:
            return self._conn.execute(_placeholders(sql), params)  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            if not self._lost():
                raise  # a live session's error (a lock time-out): the ledger handles it
            self._in_transaction = False  # the server rolled it back with the session
            if word.startswith("ROLLBACK"):
                return self._conn.cursor()  # nothing left to roll back
            if word.startswith("SELECT") and not was_in_transaction:
                return self._conn.execute(_placeholders(sql), params)  # type: ignore[arg-type]
            raise LedgerBusy(f"the database session was lost ({type(exc).__name__}): try again") from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(_placeholders(sql), list(rows))  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            if not self._lost():
                raise
            self._in_transaction = False
            raise LedgerBusy(f"the database session was lost ({type(exc).__name__}): try again") from exc

    def _lost(self) -> bool:
        """Was the session lost? If so, make a new one now (or raise LedgerBusy while the server is away)."""
        if not (self._conn.broken or self._conn.closed):
            return False
        now = time.monotonic()
        if now < self._next_reconnect:
            raise LedgerBusy("the database is not answering (reconnecting)")
        try:
            fresh = self._connect(RECONNECT_TIMEOUT_SECONDS)
        except psycopg.OperationalError as exc:
            self._next_reconnect = now + RECONNECT_SECONDS  # a server that is away is not asked every call
            raise LedgerBusy(f"the database is not answering: {_first_line(exc)}") from None
        with contextlib.suppress(psycopg.Error):
            self._conn.close()
        self._conn = fresh
        return True

    def close(self) -> None:
        self._conn.close()

    @property
    def closed(self) -> bool:
        return self._conn.closed


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _placeholders(sql: str) -> str:
    """`?` (the ledger's, SQLite's) to `%s` (psycopg's). The ledger's SQL has no other `?` and no `%`."""
    return sql.replace("?", "%s")


BUSY_ERRORS = (psycopg.errors.LockNotAvailable, psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
UNIQUE_VIOLATION = psycopg.errors.UniqueViolation
