"""The PostgreSQL back-end of the ledger: a connection that speaks the ledger's SQL, and its migrations.

`Ledger` is written once, in SQL both databases understand (`?` placeholders,
`INSERT … ON CONFLICT`); this adapter turns the placeholders into psycopg's and
maps PostgreSQL's lock time-out to `LedgerBusy`. The migrations are the same
ten, numbered the same, in PostgreSQL's types.

Each `Ledger` owns one connection: the agent runs two (the writer thread's and
the reader thread's, see worker.py), so a pool would add nothing but a lock.

May import: pizza_agent.ledger.errors.
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

PG_MIGRATIONS: list[str] = [
    # 1: participants, prompts given, coupons, vendor code pools
    """
    CREATE TABLE participants (
        address TEXT PRIMARY KEY,
        first_seen DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE prompts_given (
        address TEXT NOT NULL,
        prompt TEXT NOT NULL,
        source TEXT NOT NULL,
        given_at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (address, prompt)
    );
    CREATE TABLE coupons (
        code TEXT PRIMARY KEY,
        address TEXT NOT NULL UNIQUE,
        tier TEXT NOT NULL,
        score INTEGER NOT NULL,
        score_source TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        prompt TEXT,
        story_hash TEXT NOT NULL,
        flagged INTEGER NOT NULL DEFAULT 0,
        issued_at DOUBLE PRECISION NOT NULL,
        redeemed_at DOUBLE PRECISION
    );
    CREATE TABLE pool_codes (
        seq BIGSERIAL,
        code TEXT PRIMARY KEY,
        tier TEXT NOT NULL,
        address TEXT UNIQUE,
        taken_at DOUBLE PRECISION
    );
    CREATE INDEX pool_free ON pool_codes (tier, address)
    """,
    # 2: voided codes, stories waiting for the participant's "yes", organizer controls
    """
    ALTER TABLE coupons ADD COLUMN voided_at DOUBLE PRECISION;
    ALTER TABLE coupons ADD COLUMN void_reason TEXT;
    CREATE TABLE voided_codes (
        code TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        tier TEXT NOT NULL,
        voided_at DOUBLE PRECISION NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE pending_stories (
        address TEXT PRIMARY KEY,
        story TEXT NOT NULL,
        saved_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE controls (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        changed_at DOUBLE PRECISION NOT NULL,
        changed_by TEXT NOT NULL
    )
    """,
    # 3: stories scored by the local heuristic, to be scored again by ASI1 when it is back
    """
    CREATE TABLE rescore_queue (
        address TEXT PRIMARY KEY,
        story TEXT NOT NULL,
        queued_at DOUBLE PRECISION NOT NULL,
        done_at DOUBLE PRECISION,
        outcome TEXT
    )
    """,
    # 4: messages handled (a replay after a restart, or a mailbox redelivery, is recognised)
    """
    CREATE TABLE seen_messages (
        key TEXT PRIMARY KEY,
        expires_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX seen_messages_expiry ON seen_messages (expires_at)
    """,
    # 5: one canonical form per address (lowercase): variants merged, the first coupon kept
    """
    INSERT INTO voided_codes
        SELECT code, lower(address), tier, issued_at, 'a second coupon for one participant (address case), merged'
        FROM coupons c WHERE EXISTS (
            SELECT 1 FROM coupons d WHERE lower(d.address) = lower(c.address) AND d.address != c.address
            AND (d.issued_at < c.issued_at OR (d.issued_at = c.issued_at AND d.code < c.code)))
        ON CONFLICT DO NOTHING;
    DELETE FROM coupons WHERE code IN (SELECT code FROM voided_codes
        WHERE reason = 'a second coupon for one participant (address case), merged');
    UPDATE coupons SET address = lower(address) WHERE address != lower(address);
    DELETE FROM participants WHERE address != lower(address) AND lower(address) IN (SELECT address FROM participants);
    UPDATE participants SET address = lower(address) WHERE address != lower(address);
    DELETE FROM prompts_given p WHERE address != lower(address)
        AND EXISTS (SELECT 1 FROM prompts_given q WHERE q.address = lower(p.address) AND q.prompt = p.prompt);
    UPDATE prompts_given SET address = lower(address) WHERE address != lower(address);
    DELETE FROM pending_stories WHERE address != lower(address)
        AND lower(address) IN (SELECT address FROM pending_stories);
    UPDATE pending_stories SET address = lower(address) WHERE address != lower(address);
    DELETE FROM rescore_queue WHERE address != lower(address)
        AND lower(address) IN (SELECT address FROM rescore_queue);
    UPDATE rescore_queue SET address = lower(address) WHERE address != lower(address)
    """,
    # 6: replicas and the mailbox lease (leadership.py)
    """
    CREATE TABLE IF NOT EXISTS replicas (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        seen_at DOUBLE PRECISION NOT NULL,
        started_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE IF NOT EXISTS leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        backend_pid INTEGER NOT NULL,
        renewed_at DOUBLE PRECISION NOT NULL,
        taken_at DOUBLE PRECISION NOT NULL
    )
    """,
    # 7: each provider's breaker, handed from the active replica to the one taking over (leadership.py)
    """
    CREATE TABLE IF NOT EXISTS provider_health (
        provider TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        skip_age DOUBLE PRECISION NOT NULL,
        cooldown_left DOUBLE PRECISION NOT NULL,
        published_at DOUBLE PRECISION NOT NULL,
        published_by TEXT NOT NULL
    )
    """,
    # 8: a waiting story is claimed by one replica's re-scorer at a time (scored once, upgraded once);
    #    each replica's endpoint (local mode lists them all in agent.json) and database session
    """
    ALTER TABLE rescore_queue ADD COLUMN claimed_until DOUBLE PRECISION;
    ALTER TABLE replicas ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';
    ALTER TABLE replicas ADD COLUMN backend_pid INTEGER NOT NULL DEFAULT 0
    """,
    # 9: what the providers cost, added to by every process and replica (a budget holds across restarts)
    """
    CREATE TABLE spend (
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        task TEXT NOT NULL,
        calls BIGINT NOT NULL,
        prompt_tokens BIGINT NOT NULL,
        completion_tokens BIGINT NOT NULL,
        cost_usd DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (provider, model, task)
    )
    """,
    # 10: fingerprints of the seed and coupon secret the ledger was started with (never the secrets)
    """
    CREATE TABLE identity (
        name TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        set_at DOUBLE PRECISION NOT NULL
    )
    """,
]


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
        except psycopg.OperationalError as exc:  # the one line a person needs, not a traceback
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
