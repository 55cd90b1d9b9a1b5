"""The coupon ledger: SQLite (WAL) or PostgreSQL, numbered migrations, one transaction per issuance.

Why not uagents' `ctx.storage`: it rewrites a JSON file on every set and a
kill -9 corrupts it (see the uagents notes). Coupons must survive a crash:
a coupon is committed before the reply that carries it is sent, and the
UNIQUE constraint on `coupons.address` makes "one per participant" a property
of the database, not of our code paths.

SQLite is the default (embedded, nothing to install). `LEDGER_URL=postgresql://…`
puts the same ledger in PostgreSQL (postgres.py): the same SQL, the same five
migrations, issuance serialized across replicas by an advisory lock, vendor
pool codes claimed with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import csv
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pizza_agent.ledger.errors import LedgerBusy, LedgerGone
from pizza_agent.ledger.notifications import CONTROLS_CHANNEL
from pizza_agent.ledger.postgres import BUSY_ERRORS, PG_MIGRATIONS, PgConnection, is_postgres_url
from pizza_agent.llm.static_layer import TIERS

MIGRATIONS: list[str] = [
    # 1: participants, prompts given, coupons, vendor code pools
    """
    CREATE TABLE participants (
        address TEXT PRIMARY KEY,
        first_seen REAL NOT NULL
    );
    CREATE TABLE prompts_given (
        address TEXT NOT NULL,
        prompt TEXT NOT NULL,
        source TEXT NOT NULL,
        given_at REAL NOT NULL,
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
        issued_at REAL NOT NULL,
        redeemed_at REAL
    );
    CREATE TABLE pool_codes (
        code TEXT PRIMARY KEY,
        tier TEXT NOT NULL,
        address TEXT UNIQUE,
        taken_at REAL
    );
    CREATE INDEX pool_free ON pool_codes (tier, address);
    """,
    # 2: voided codes, stories waiting for the participant's "yes", organizer controls
    """
    ALTER TABLE coupons ADD COLUMN voided_at REAL;
    ALTER TABLE coupons ADD COLUMN void_reason TEXT;
    CREATE TABLE voided_codes (
        code TEXT PRIMARY KEY,
        address TEXT NOT NULL,
        tier TEXT NOT NULL,
        voided_at REAL NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE pending_stories (
        address TEXT PRIMARY KEY,
        story TEXT NOT NULL,
        saved_at REAL NOT NULL
    );
    CREATE TABLE controls (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        changed_at REAL NOT NULL,
        changed_by TEXT NOT NULL
    );
    """,
    # 3: stories scored by the local heuristic, to be scored again by ASI1 when it is back
    """
    CREATE TABLE rescore_queue (
        address TEXT PRIMARY KEY,
        story TEXT NOT NULL,
        queued_at REAL NOT NULL,
        done_at REAL,
        outcome TEXT
    );
    """,
    # 4: messages handled (a replay after a restart, or a mailbox redelivery, is recognised)
    """
    CREATE TABLE seen_messages (
        key TEXT PRIMARY KEY,
        expires_at REAL NOT NULL
    );
    CREATE INDEX seen_messages_expiry ON seen_messages (expires_at);
    """,
    # 5: one canonical form per address (lowercase): variants merged, the first coupon kept
    """
    INSERT OR IGNORE INTO voided_codes
        SELECT code, lower(address), tier, issued_at, 'a second coupon for one participant (address case), merged'
        FROM coupons c WHERE EXISTS (
            SELECT 1 FROM coupons d WHERE lower(d.address) = lower(c.address) AND d.address != c.address
            AND (d.issued_at < c.issued_at OR (d.issued_at = c.issued_at AND d.code < c.code)));
    DELETE FROM coupons WHERE code IN (SELECT code FROM voided_codes
        WHERE reason = 'a second coupon for one participant (address case), merged');
    UPDATE coupons SET address = lower(address) WHERE address != lower(address);
    DELETE FROM participants WHERE address != lower(address) AND lower(address) IN (SELECT address FROM participants);
    UPDATE participants SET address = lower(address) WHERE address != lower(address);
    UPDATE OR IGNORE prompts_given SET address = lower(address) WHERE address != lower(address);
    DELETE FROM prompts_given WHERE address != lower(address);
    UPDATE OR IGNORE pending_stories SET address = lower(address) WHERE address != lower(address);
    DELETE FROM pending_stories WHERE address != lower(address);
    UPDATE OR IGNORE rescore_queue SET address = lower(address) WHERE address != lower(address);
    DELETE FROM rescore_queue WHERE address != lower(address);
    """,
    # 6: replicas and the mailbox lease (used with PostgreSQL, see leadership.py; empty on SQLite)
    """
    CREATE TABLE IF NOT EXISTS replicas (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        seen_at REAL NOT NULL,
        started_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        backend_pid INTEGER NOT NULL,
        renewed_at REAL NOT NULL,
        taken_at REAL NOT NULL
    );
    """,
    # 7: each provider's breaker, handed from the active replica to the one taking over (leadership.py)
    """
    CREATE TABLE IF NOT EXISTS provider_health (
        provider TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        skip_age REAL NOT NULL,
        cooldown_left REAL NOT NULL,
        published_at REAL NOT NULL,
        published_by TEXT NOT NULL
    );
    """,
    # 8: a waiting story is claimed by one replica's re-scorer at a time (scored once, upgraded once);
    #    each replica's endpoint (local mode lists them all in agent.json) and database session
    """
    ALTER TABLE rescore_queue ADD COLUMN claimed_until REAL;
    ALTER TABLE replicas ADD COLUMN endpoint TEXT NOT NULL DEFAULT '';
    ALTER TABLE replicas ADD COLUMN backend_pid INTEGER NOT NULL DEFAULT 0;
    """,
    # 9: what the providers cost, added to by every process and replica (a budget holds across restarts)
    """
    CREATE TABLE spend (
        provider TEXT NOT NULL,
        model TEXT NOT NULL,
        task TEXT NOT NULL,
        calls INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        PRIMARY KEY (provider, model, task)
    );
    """,
    # 10: fingerprints of the seed and coupon secret the ledger was started with (never the secrets)
    """
    CREATE TABLE identity (
        name TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        set_at REAL NOT NULL
    );
    """,
]


@dataclass(frozen=True)
class Coupon:
    code: str
    address: str
    tier: str
    score: int
    score_source: str
    issued_at: float
    redeemed_at: float | None = None
    prompt: str | None = None
    story_hash: str = ""
    reason: str = ""
    flagged: bool = False
    voided_at: float | None = None
    void_reason: str | None = None


@dataclass(frozen=True)
class Issued:
    """What `Ledger.issue` did: the coupon (None: every tier it could offer ran out), and which tiers ran out."""

    coupon: Coupon | None
    ran_out: tuple[str, ...] = ()
    existing: bool = False


@dataclass(frozen=True)
class Issuance:
    """What the conversation asks the ledger to record for one participant."""

    address: str
    tier: str
    score: int
    score_source: str
    reason: str
    prompt: str | None
    story_hash: str
    flagged: bool = False


_COUPON_COLUMNS = (
    "code, address, tier, score, score_source, issued_at, redeemed_at, prompt, story_hash, reason, flagged, "
    "voided_at, void_reason"
)


# The advisory lock (PostgreSQL) that makes issuance one-at-a-time across replicas, as BEGIN
# IMMEDIATE does for SQLite: "one coupon per participant" and tier caps hold with two machines.
ISSUANCE_LOCK = 0x7E57_C0DE
# How long a replica's claim on a waiting story lasts if it never finishes (it died mid-call).
RESCORE_CLAIM_SECONDS = 120.0
MIGRATION_LOCK = 0x7E57_0001

# Seconds a write waits for another writer (another process holding the file) before giving up:
# the participant is told to ask again in a minute, rather than waiting past the reply deadline.
BUSY_TIMEOUT_SECONDS = 2.0


class Ledger:
    def __init__(
        self,
        path: Path | str,
        *,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    ) -> None:
        self._clock = clock
        self.read_only = read_only
        self.postgres = is_postgres_url(path)
        if self.postgres:
            self.url = str(path)
            self.path = Path("postgresql")  # no file: identity checks always pass
            self._identity = None
            self._db: Any = PgConnection(self.url, read_only=read_only)
            if not read_only:
                self._migrate()
            return
        self.url = None
        self.path = Path(path)
        if read_only:
            # A second connection for reads (WAL: never waits for a writer), or verify/redeem's check.
            if not self.path.exists():
                raise LedgerGone(f"no ledger at {self.path}")
            self._db = sqlite3.connect(
                f"file:{self.path}?mode=ro",
                uri=True,
                isolation_level=None,
                timeout=busy_timeout,
                check_same_thread=False,
            )
            self._identity = _identity(self.path)
            return
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: the agent runs every ledger call on one worker thread (LedgerWorker).
        self._db = sqlite3.connect(str(path), isolation_level=None, timeout=busy_timeout, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a coupon in a reply is on disk first
        self._db.execute("PRAGMA foreign_keys=ON")
        self._identity = _identity(self.path) if str(path) != ":memory:" else None
        self._migrate()

    def twin(self, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> Ledger:
        """Another writing connection to the same ledger (the worker's bookkeeping thread)."""
        if self._identity is None and not self.postgres:
            return self  # in memory: there is only this one
        return Ledger(self.url if self.postgres else self.path, clock=self._clock, busy_timeout=busy_timeout)  # type: ignore[arg-type]

    def reader(self) -> Ledger:
        """Another connection for reads: SQLite in WAL mode and PostgreSQL never make it wait for a writer."""
        if self.postgres:
            return Ledger(self.url, clock=self._clock, read_only=True)  # type: ignore[arg-type]
        if self._identity is None:
            return self
        return Ledger(self.path, clock=self._clock, read_only=True)

    def identity_ok(self) -> bool:
        """Is the file at `path` still the one this ledger opened (same device and inode)?"""
        return self._identity is None or _identity(self.path) == self._identity

    def _check_identity(self) -> None:
        if not self.identity_ok():
            raise LedgerGone(f"the ledger file {self.path} was deleted or replaced while the agent was running")

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One write transaction: BEGIN (IMMEDIATE on SQLite), then COMMIT, or ROLLBACK on any error."""
        try:
            self._db.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise LedgerBusy(str(exc)) from exc
            raise
        try:
            yield
        except BaseException as exc:
            self._db.execute("ROLLBACK")
            if isinstance(exc, BUSY_ERRORS):
                raise LedgerBusy(str(exc)) from exc
            raise
        self._db.execute("COMMIT")

    def _one_issuer_at_a_time(self) -> None:
        """Inside a write: PostgreSQL replicas wait for each other here (SQLite's BEGIN IMMEDIATE already did)."""
        if self.postgres:
            self._db.execute("SELECT pg_advisory_xact_lock(?)", (ISSUANCE_LOCK,))

    def _migrate(self) -> None:
        real = "DOUBLE PRECISION" if self.postgres else "REAL"
        if self.postgres:  # two replicas starting together: one migrates, the other waits and finds it done
            self._db.execute("SELECT pg_advisory_lock(?)", (MIGRATION_LOCK,))
        try:
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at {real})"
            )
            done = {row[0] for row in self._db.execute("SELECT version FROM schema_migrations")}
            for version, script in enumerate(PG_MIGRATIONS if self.postgres else MIGRATIONS, start=1):
                if version in done:
                    continue
                with self._write():
                    for statement in filter(str.strip, script.split(";")):
                        self._db.execute(statement)
                    self._db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, self._clock()))
        finally:
            if self.postgres:
                self._db.execute("SELECT pg_advisory_unlock(?)", (MIGRATION_LOCK,))

    @property
    def schema_version(self) -> int:
        return self._db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0

    def close(self) -> None:
        self._db.close()

    # --- participants and prompts ------------------------------------------------
    def touch(self, address: str) -> None:
        """Count a participant once (the writes that record them call this in their own transaction)."""
        if self._db.execute("SELECT 1 FROM participants WHERE address=?", (address,)).fetchone() is None:
            self._db.execute("INSERT INTO participants VALUES (?, ?) ON CONFLICT DO NOTHING", (address, self._clock()))

    def record_prompt(self, address: str, prompt: str, source: str) -> None:
        with self._write():
            self.touch(address)
            self._db.execute(
                "INSERT INTO prompts_given VALUES (?, ?, ?, ?) "
                "ON CONFLICT(address, prompt) DO UPDATE SET given_at=excluded.given_at",
                (address, prompt, source, self._clock()),
            )

    def prompts_for(self, address: str) -> list[str]:
        rows = self._db.execute("SELECT prompt FROM prompts_given WHERE address=? ORDER BY given_at", (address,))
        return [row[0] for row in rows]

    def pooled_prompts(self, exclude: set[str], limit: int = 20) -> list[str]:
        """Prompts OpenAI or ASI1 wrote (seed 003's cache), the least-served first, none in `exclude`."""
        rows = self._db.execute(
            "SELECT prompt FROM prompts_given WHERE source IN ('openai', 'asi1') "
            "GROUP BY prompt ORDER BY COUNT(*), MIN(given_at) LIMIT ?",
            (limit + len(exclude),),
        )
        return [row[0] for row in rows if row[0] not in exclude][:limit]

    def last_prompt(self, address: str) -> str | None:
        prompts = self.prompts_for(address)
        return prompts[-1] if prompts else None

    # --- coupons -----------------------------------------------------------------
    def coupon_for(self, address: str) -> Coupon | None:
        row = self._db.execute(f"SELECT {_COUPON_COLUMNS} FROM coupons WHERE address=?", (address,)).fetchone()
        return _coupon(row)

    def find(self, code: str) -> Coupon | None:
        row = self._db.execute(f"SELECT {_COUPON_COLUMNS} FROM coupons WHERE code=?", (code.strip(),)).fetchone()
        return _coupon(row)

    def issue(
        self,
        request: Issuance,
        make_code: Callable[[str], str],
        *,
        fall_down: bool = True,
        caps: Mapping[str, int] | None = None,
    ) -> Issued:
        """One coupon for `request.address`, exactly once, in one transaction.

        The participant's existing coupon if there is one; otherwise a new one
        of the requested tier or, with `fall_down`, of the first lower tier that
        has codes left (a vendor pool not empty, or generated codes under the
        tier's cap). `ran_out` names every tier tried that had none left.
        """
        ran_out: list[str] = []
        self._check_identity()  # never a coupon into a file that is no longer the ledger
        with self._write():
            self._one_issuer_at_a_time()
            existing = self.coupon_for(request.address)
            if existing is not None:
                return Issued(existing, existing=True)
            self.touch(request.address)
            tiers = TIERS[TIERS.index(request.tier) :] if fall_down else (request.tier,)
            for tier in tiers:
                code = self._take_code(tier, request.address, make_code, (caps or {}).get(tier))
                if code is not None:
                    break
                ran_out.append(tier)
            else:
                return Issued(None, tuple(ran_out))
            self._db.execute(
                f"INSERT INTO coupons ({_COUPON_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL, NULL)",
                (
                    code,
                    request.address,
                    tier,
                    request.score,
                    request.score_source,
                    self._clock(),
                    request.prompt,
                    request.story_hash,
                    request.reason,
                    int(request.flagged),
                ),
            )
        return Issued(self.coupon_for(request.address), tuple(ran_out))

    def generated_count(self, tier: str) -> int:
        """Coupons of `tier` with codes we generated (not from a vendor pool), voided ones included."""
        return self._db.execute(
            "SELECT COUNT(*) FROM coupons WHERE tier=? AND code NOT IN (SELECT code FROM pool_codes)", (tier,)
        ).fetchone()[0]

    def _take_code(self, tier: str, address: str, make_code: Callable[[str], str], cap: int | None) -> str | None:
        has_pool = self._db.execute("SELECT 1 FROM pool_codes WHERE tier=? LIMIT 1", (tier,)).fetchone()
        if not has_pool:
            if cap is not None and self.generated_count(tier) >= cap:
                return None
            return make_code(tier)
        order = "seq LIMIT 1 FOR UPDATE SKIP LOCKED" if self.postgres else "rowid LIMIT 1"
        row = self._db.execute(
            f"SELECT code FROM pool_codes WHERE tier=? AND address IS NULL ORDER BY {order}", (tier,)
        ).fetchone()
        if row is None:
            return None
        self._db.execute("UPDATE pool_codes SET address=?, taken_at=? WHERE code=?", (address, self._clock(), row[0]))
        return row[0]

    def coupons(self) -> list[Coupon]:
        rows = self._db.execute(f"SELECT {_COUPON_COLUMNS} FROM coupons ORDER BY issued_at").fetchall()
        return [c for c in map(_coupon, rows) if c is not None]

    def integrity_ok(self) -> bool:
        if self.postgres:  # the server checks its own pages; a query answering is what we can ask
            return self._db.execute("SELECT 1").fetchone()[0] == 1
        return self._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def redeem(self, code: str) -> tuple[Coupon | None, bool]:
        """Mark a code redeemed. Returns (coupon, newly_redeemed); (None, False) if unknown.

        A voided code is never redeemed (newly_redeemed False, coupon.voided_at set).
        """
        with self._write():
            updated = self._db.execute(
                "UPDATE coupons SET redeemed_at=? WHERE code=? AND redeemed_at IS NULL AND voided_at IS NULL",
                (self._clock(), code.strip()),
            ).rowcount
        return self.find(code), bool(updated)

    def void(self, code: str, reason: str) -> Coupon | None:
        """Void a code (it then fails verify and redeem). The participant keeps their one coupon used up."""
        with self._write():
            self._db.execute(
                "UPDATE coupons SET voided_at=?, void_reason=? WHERE code=? AND voided_at IS NULL",
                (self._clock(), reason, code.strip()),
            )
        return self.find(code)

    def replaced_code(self, code: str) -> tuple[str, str, float, str] | None:
        """(address, tier, voided_at, reason) of a code that was replaced by another one, if it was."""
        return self._db.execute(
            "SELECT address, tier, voided_at, reason FROM voided_codes WHERE code=?", (code.strip(),)
        ).fetchone()

    # --- messages already handled --------------------------------------------------
    def seen_message(self, key: str) -> bool:
        row = self._db.execute("SELECT expires_at FROM seen_messages WHERE key=?", (key,)).fetchone()
        return row is not None and row[0] >= self._clock()

    def remember_messages(self, keys: list[tuple[str, float]]) -> None:
        """Record handled message ids with their expiry (one transaction), and forget expired ones."""
        with self._write():
            self._db.executemany(
                "INSERT INTO seen_messages VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET expires_at=excluded.expires_at",
                keys,
            )
            self._db.execute("DELETE FROM seen_messages WHERE expires_at < ?", (self._clock(),))

    # --- which seed and coupon secret this ledger belongs to ------------------------------
    def check_identity(self, fingerprints: dict[str, str], *, record: bool = True) -> list[str]:
        """The names whose fingerprint differs from the one recorded at the ledger's first start.

        `record`: remember the ones not recorded yet (the agent's start; `verify` only compares).
        A ledger's codes are signed with its COUPON_SECRET and its participants know one
        address: a replica or a restart with another secret or seed must not serve it.
        """
        rows = dict(self._db.execute("SELECT name, fingerprint FROM identity").fetchall())
        differ = [name for name, fp in fingerprints.items() if name in rows and rows[name] != fp]
        missing = [(name, fp, self._clock()) for name, fp in fingerprints.items() if name not in rows]
        if record and missing and not differ:
            with self._write():
                self._db.executemany("INSERT INTO identity VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING", missing)
            return self.check_identity(fingerprints, record=False)  # a replica starting at the same moment
        return differ

    # --- what the providers cost (llm/usage.py keeps the running figures) ----------------
    def add_spend(self, rows: list[tuple[str, str, str, int, int, int, float]]) -> None:
        """Add to the totals (never overwrite): every replica adds what it spent, at any time."""
        with self._write():
            self._db.executemany(
                "INSERT INTO spend VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(provider, model, task) DO UPDATE SET "
                "calls=spend.calls+excluded.calls, prompt_tokens=spend.prompt_tokens+excluded.prompt_tokens, "
                "completion_tokens=spend.completion_tokens+excluded.completion_tokens, "
                "cost_usd=spend.cost_usd+excluded.cost_usd",
                rows,
            )

    def spend_totals(self) -> list[tuple[str, str, str, int, int, int, float]]:
        rows = self._db.execute(
            "SELECT provider, model, task, calls, prompt_tokens, completion_tokens, cost_usd FROM spend"
        ).fetchall()
        return [(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), float(r[6])) for r in rows]

    # --- heuristic scores waiting for ASI1 ------------------------------------------
    def queue_rescore(self, address: str, story: str) -> None:
        self._db.execute(
            "INSERT INTO rescore_queue (address, story, queued_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (address, story, self._clock()),
        )

    def waiting_rescores(self, limit: int = 20) -> list[tuple[str, str]]:
        """Stories waiting for ASI1 that no replica is scoring right now (claims are taken one by one)."""
        rows = self._db.execute(
            "SELECT address, story FROM rescore_queue WHERE done_at IS NULL AND (claimed_until IS NULL OR "
            "claimed_until < ?) ORDER BY queued_at LIMIT ?",
            (self._clock(), limit),
        )
        return [(row[0], row[1]) for row in rows]

    def claim_rescore(self, address: str, seconds: float = RESCORE_CLAIM_SECONDS) -> bool:
        """Take a waiting story for this replica's re-scorer, or False if another one holds it.

        Only the active replica runs the re-scorer, but around a takeover (a frozen replica
        waking up) two may: without the claim both would ask ASI1 about the same story and
        could upgrade it twice. A claim nobody finished (its replica died mid-call) lapses
        after `seconds`.
        """
        now = self._clock()
        claimed = self._db.execute(
            "UPDATE rescore_queue SET claimed_until=? WHERE address=? AND done_at IS NULL "
            "AND (claimed_until IS NULL OR claimed_until < ?)",
            (now + seconds, address, now),
        )
        return claimed.rowcount == 1

    def release_rescore(self, address: str) -> None:
        """Give a claimed story back (ASI1 failed again): any replica may try it next round."""
        self._db.execute("UPDATE rescore_queue SET claimed_until=NULL WHERE address=? AND done_at IS NULL", (address,))

    def finish_rescore(self, address: str, outcome: str) -> None:
        self._db.execute(
            "UPDATE rescore_queue SET done_at=?, outcome=?, story='' WHERE address=?", (self._clock(), outcome, address)
        )

    def upgrade(
        self,
        address: str,
        tier: str,
        score: int,
        reason: str,
        make_code: Callable[[str], str],
        caps: Mapping[str, int] | None = None,
    ) -> tuple[Coupon, Coupon] | None:
        """Replace a participant's coupon with one of a higher tier: (old, new), or None if not allowed.

        Never a downgrade, never for a redeemed or voided coupon, and only when the
        higher tier still has codes. The old code is voided in the same transaction.
        """
        with self._write():
            self._one_issuer_at_a_time()
            old = self.coupon_for(address)
            if old is None or old.redeemed_at is not None or old.voided_at is not None:
                return None
            if TIERS.index(tier) >= TIERS.index(old.tier):
                return None  # not higher (TIERS runs from premium down)
            # A vendor code stays taken (never handed out again), but frees the participant for a new one.
            self._db.execute("UPDATE pool_codes SET address=address || '#replaced' WHERE code=?", (old.code,))
            code = self._take_code(tier, address, make_code, (caps or {}).get(tier))
            if code is None:
                return None
            self._db.execute(
                "INSERT INTO voided_codes VALUES (?, ?, ?, ?, ?)",
                (old.code, address, old.tier, self._clock(), f"replaced by a {tier} code after ASI1 scored again"),
            )
            self._db.execute(
                "UPDATE coupons SET code=?, tier=?, score=?, score_source='asi1', reason=? WHERE address=?",
                (code, tier, score, reason, address),
            )
        new = self.coupon_for(address)
        assert new is not None
        return old, new

    # --- stories waiting for the participant's "yes" -----------------------------
    def hold_story(self, address: str, story: str) -> None:
        with self._write():
            self.touch(address)
            self._db.execute(
                "INSERT INTO pending_stories VALUES (?, ?, ?) "
                "ON CONFLICT(address) DO UPDATE SET story=excluded.story, saved_at=excluded.saved_at",
                (address, story, self._clock()),
            )

    def held_story(self, address: str, max_age: float) -> str | None:
        row = self._db.execute("SELECT story, saved_at FROM pending_stories WHERE address=?", (address,)).fetchone()
        return row[0] if row and row[1] >= self._clock() - max_age else None

    def drop_held_story(self, address: str) -> None:
        self._db.execute("DELETE FROM pending_stories WHERE address=?", (address,))

    # --- organizer controls (pause, force), kept across restarts -----------------
    def control(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM controls WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def set_control(self, name: str, value: str | None, changed_by: str) -> None:
        """Set (or clear) a switch; on PostgreSQL every replica is told at commit (notifications.py)."""
        with self._write():
            if value is None:
                self._db.execute("DELETE FROM controls WHERE name=?", (name,))
            else:
                self._db.execute(
                    "INSERT INTO controls VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET value=excluded.value, "
                    "changed_at=excluded.changed_at, changed_by=excluded.changed_by",
                    (name, value, self._clock(), changed_by),
                )
            if self.postgres:
                self._db.execute("SELECT pg_notify(?, ?)", (CONTROLS_CHANNEL, name))

    # --- organizer look-ups --------------------------------------------------------
    def find_participant(self, fragment: str) -> str | None:
        """A participant's full address from the address or its unique tail (as logs show it: …abcd1234)."""
        fragment = fragment.strip().lstrip("…").lower()
        if len(fragment) < 6 or not fragment.isalnum():
            return None
        rows = self._db.execute(
            "SELECT address FROM participants WHERE address LIKE ? LIMIT 2", (f"%{fragment}",)
        ).fetchall()
        return rows[0][0] if len(rows) == 1 else None

    def participant_facts(self, address: str) -> dict[str, object]:
        first = self._db.execute("SELECT first_seen FROM participants WHERE address=?", (address,)).fetchone()
        prompts = self._db.execute("SELECT COUNT(*) FROM prompts_given WHERE address=?", (address,)).fetchone()[0]
        held = self._db.execute("SELECT 1 FROM pending_stories WHERE address=?", (address,)).fetchone()
        return {"first_seen": first[0] if first else None, "prompts": prompts, "story_waiting_for_yes": bool(held)}

    def export_csv(self, path: Path) -> int:
        """Every coupon, issued and redeemed, as CSV (owner-only file); returns the row count."""
        rows = self.coupons()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "code",
                    "participant",
                    "tier",
                    "score",
                    "score_source",
                    "flagged",
                    "issued_at",
                    "redeemed_at",
                    "voided_at",
                    "void_reason",
                ]
            )
            for c in rows:
                writer.writerow(
                    [
                        c.code,
                        c.address,
                        c.tier,
                        c.score,
                        c.score_source,
                        int(c.flagged),
                        _iso(c.issued_at),
                        _iso(c.redeemed_at),
                        _iso(c.voided_at),
                        c.void_reason or "",
                    ]
                )
        return len(rows)

    # --- vendor pools ------------------------------------------------------------
    def load_pools(self, directory: Path) -> dict[str, int]:
        """Add the codes of `<tier>.csv` files (first column) to the pools; returns codes added."""
        added: dict[str, int] = {}
        for tier in TIERS:
            path = directory / f"{tier}.csv"
            if not path.exists():
                continue
            with path.open(newline="") as handle:
                codes = [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]
            codes = [c for c in codes if c.lower() != "code"]  # an optional header line
            with self._write():
                before = self._db.execute("SELECT COUNT(*) FROM pool_codes").fetchone()[0]
                self._db.executemany(
                    "INSERT INTO pool_codes (code, tier) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [(c, tier) for c in codes],
                )
                added[tier] = self._db.execute("SELECT COUNT(*) FROM pool_codes").fetchone()[0] - before
        return added

    def pool_sizes(self) -> dict[str, tuple[int, int]]:
        """tier -> (codes left, codes loaded) for tiers with a vendor pool."""
        rows = self._db.execute(
            "SELECT tier, SUM(CASE WHEN address IS NULL THEN 1 ELSE 0 END), COUNT(*) FROM pool_codes GROUP BY tier"
        )
        return {tier: (left, total) for tier, left, total in rows}

    def stats(self, caps: Mapping[str, int] | None = None) -> dict[str, object]:
        """Counts for status. `left` per tier: vendor pool codes left, or cap minus generated (None: no limit)."""
        issued = dict(self._db.execute("SELECT tier, COUNT(*) FROM coupons GROUP BY tier").fetchall())
        pools = {tier: left for tier, (left, _) in self.pool_sizes().items()}
        left: dict[str, int | None] = {}
        for tier in TIERS:
            if tier in pools:
                left[tier] = pools[tier]
            elif caps and tier in caps:
                left[tier] = max(0, caps[tier] - self.generated_count(tier))
            else:
                left[tier] = None
        return {
            "left": left,
            "rescore_waiting": self._db.execute("SELECT COUNT(*) FROM rescore_queue WHERE done_at IS NULL").fetchone()[
                0
            ],
            "coupons_voided": self._db.execute("SELECT COUNT(*) FROM coupons WHERE voided_at IS NOT NULL").fetchone()[
                0
            ],
            "participants": self._db.execute("SELECT COUNT(*) FROM participants").fetchone()[0],
            "coupons_issued": {tier: issued.get(tier, 0) for tier in TIERS},
            "coupons_redeemed_by_tier": {
                tier: n
                for tier, n in self._db.execute(
                    "SELECT tier, COUNT(*) FROM coupons WHERE redeemed_at IS NOT NULL GROUP BY tier"
                ).fetchall()
            },
            "coupons_redeemed": self._db.execute(
                "SELECT COUNT(*) FROM coupons WHERE redeemed_at IS NOT NULL"
            ).fetchone()[0],
            "pool_left": {tier: pools[tier] for tier in TIERS if tier in pools},
            "flagged": self._db.execute("SELECT COUNT(*) FROM coupons WHERE flagged=1").fetchone()[0],
        }


def _coupon(row: tuple | None) -> Coupon | None:
    if row is None:
        return None
    code, address, tier, score, source, issued_at, redeemed_at, prompt, story_hash, reason, flagged, *void = row
    return Coupon(
        code, address, tier, score, source, issued_at, redeemed_at, prompt, story_hash, reason, bool(flagged), *void
    )


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino)


def _iso(timestamp: float | None) -> str:
    return "" if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
