"""The coupon book: issuing exactly once, vendor pools, redemption, voids and upgrades, and the counts.

A coupon belongs to a person for a meal (UNIQUE (person, meal), domain/identity.py) and remembers
the chat it was issued in. Every change is one transaction on the shared `Database`; issuance and
upgrades take the issuer lock first, so "one coupon per person and meal" and the tier caps hold
across threads, processes and replicas.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from pizza_agent.domain.identity import NO_CHAT, Chat, CouponOwner, owner_of
from pizza_agent.domain.spreadsheet import safe_row
from pizza_agent.domain.tiers import TIERS
from pizza_agent.ledger.conversation_state import touch_participant
from pizza_agent.ledger.database import Database


@dataclass(frozen=True)
class Coupon:
    code: str
    person: str
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
    meal: str = ""
    diet: str = ""
    pickup_group: str = ""
    chat: Chat = NO_CHAT  # where it was issued: its code is repeated there, and later messages go there

    @property
    def participant(self) -> str:
        return self.person

    @property
    def owner(self) -> CouponOwner:
        return CouponOwner(self.person, self.meal)


class NoCodeLeft(Exception):
    """A grant found no code of its tier (caps, pool): raised to roll its transaction back."""


@dataclass(frozen=True)
class Issued:
    """What `CouponBook.issue` did: the coupon (None: every tier it could offer ran out), and which tiers ran out."""

    coupon: Coupon | None
    ran_out: tuple[str, ...] = ()
    existing: bool = False


@dataclass(frozen=True)
class Issuance:
    """What the conversation asks the ledger to record for one person and meal, in one chat."""

    person: str
    tier: str
    score: int
    score_source: str
    reason: str
    prompt: str | None
    story_hash: str
    flagged: bool = False
    meal: str = ""  # the plan's meal ("" without a plan)
    diet: str = ""
    pickup_groups: tuple[str, ...] = ()  # the meal's groups, assigned round-robin
    event_at: float | None = None  # the event's clock now (the plan's; compressed in rehearsals)
    chat: Chat = NO_CHAT  # the chat it is asked for in (a person's later messages about it go there)

    @property
    def owner(self) -> CouponOwner:
        return CouponOwner(self.person, self.meal)


COUPON_COLUMNS = (
    "code, person, tier, score, score_source, issued_at, redeemed_at, prompt, story_hash, reason, flagged, "
    "voided_at, void_reason, meal, diet, pickup_group, chat_sender, chat_session"
)
EXPORT_COLUMNS = (
    "code",
    "participant",
    "tier",
    "score",
    "score_source",
    "flagged",
    "meal",
    "diet",
    "pickup_group",
    "issued_at",
    "redeemed_at",
    "voided_at",
    "void_reason",
)


class CouponBook:
    """Owns `coupons`, `pool_codes` and `voided_codes`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- reading ------------------------------------------------------------------------
    def coupon_for(self, owner: CouponOwner | str) -> Coupon | None:
        """The person's coupon for the meal (voided or not), if there is one (a bare person: no plan's meal)."""
        owner = owner_of(owner)
        row = self._db.execute(
            f"SELECT {COUPON_COLUMNS} FROM coupons WHERE person=? AND meal=?", (owner.person, owner.meal)
        ).fetchone()
        return _coupon(row)

    def find(self, code: str) -> Coupon | None:
        row = self._db.execute(f"SELECT {COUPON_COLUMNS} FROM coupons WHERE code=?", (code.strip(),)).fetchone()
        return _coupon(row)

    def all(self) -> list[Coupon]:
        rows = self._db.execute(f"SELECT {COUPON_COLUMNS} FROM coupons ORDER BY issued_at").fetchall()
        return [c for c in map(_coupon, rows) if c is not None]

    def replaced_code(self, code: str) -> tuple[str, str, float, str, str] | None:
        """(person, tier, voided_at, reason, meal) of a code that was replaced by another one, if it was."""
        return self._db.execute(
            "SELECT person, tier, voided_at, reason, meal FROM voided_codes WHERE code=?", (code.strip(),)
        ).fetchone()

    def generated_count(self, tier: str, meal: str = "") -> int:
        """Coupons of `tier` for `meal` with codes we generated (not from a vendor pool), voided ones included."""
        return self._db.execute(
            "SELECT COUNT(*) FROM coupons WHERE tier=? AND meal=? AND code NOT IN (SELECT code FROM pool_codes)",
            (tier, meal),
        ).fetchone()[0]

    # --- issuing --------------------------------------------------------------------------
    def issue(
        self,
        request: Issuance,
        make_code: Callable[[str], str],
        *,
        fall_down: bool = True,
        caps: Mapping[str, int] | None = None,
    ) -> Issued:
        """One coupon for `request.owner` (a person and a meal), exactly once, in one transaction.

        The person's existing coupon for the meal if there is one; otherwise a new one
        of the requested tier or, with `fall_down`, of the first lower tier that
        has codes left (a vendor pool not empty, or generated codes under the
        tier's cap). `ran_out` names every tier tried that had none left.
        """
        self._db.check_file()  # never a coupon into a file that is no longer the ledger
        with self._db.write():
            self._db.one_issuer_at_a_time()
            return self.issue_within(request, make_code, fall_down=fall_down, caps=caps)

    def issue_within(
        self,
        request: Issuance,
        make_code: Callable[[str], str],
        *,
        fall_down: bool = True,
        caps: Mapping[str, int] | None = None,
    ) -> Issued:
        """`issue`'s work inside a write transaction the caller holds (with the issuer lock taken)."""
        ran_out: list[str] = []
        existing = self.coupon_for(request.owner)
        if existing is not None:
            return Issued(existing, existing=True)
        touch_participant(self._db, request.person)
        tiers = TIERS[TIERS.index(request.tier) :] if fall_down else (request.tier,)
        for tier in tiers:
            code = self._take_code(tier, request.person, make_code, (caps or {}).get(tier), request.meal)
            if code is not None:
                break
            ran_out.append(tier)
        else:
            return Issued(None, tuple(ran_out))
        group = ""
        if request.pickup_groups:  # round-robin in issue order (under the issuer lock: no two get one turn)
            served = self._db.execute("SELECT COUNT(*) FROM coupons WHERE meal=?", (request.meal,)).fetchone()[0]
            group = request.pickup_groups[served % len(request.pickup_groups)]
        self._db.execute(
            f"INSERT INTO coupons ({COUPON_COLUMNS}, event_at) "
            "VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?)",
            (
                code,
                request.person,
                tier,
                request.score,
                request.score_source,
                self._db.clock(),
                request.prompt,
                request.story_hash,
                request.reason,
                int(request.flagged),
                request.meal,
                request.diet,
                group,
                request.chat.sender,
                request.chat.session,
                request.event_at,
            ),
        )
        return Issued(self.coupon_for(request.owner), tuple(ran_out))

    def _take_code(
        self, tier: str, person: str, make_code: Callable[[str], str], cap: int | None, meal: str = ""
    ) -> str | None:
        has_pool = self._db.execute("SELECT 1 FROM pool_codes WHERE tier=? AND meal=? LIMIT 1", (tier, meal)).fetchone()
        if not has_pool:
            if cap is not None and self.generated_count(tier, meal) >= cap:
                return None
            return make_code(tier)
        order = "seq LIMIT 1 FOR UPDATE SKIP LOCKED" if self._db.postgres else "rowid LIMIT 1"
        row = self._db.execute(
            f"SELECT code FROM pool_codes WHERE tier=? AND meal=? AND taken_by IS NULL ORDER BY {order}", (tier, meal)
        ).fetchone()
        if row is None:
            return None
        self._db.execute(
            "UPDATE pool_codes SET taken_by=?, taken_at=? WHERE code=?", (person, self._db.clock(), row[0])
        )
        return row[0]

    def upgrade(
        self,
        owner: CouponOwner | str,
        tier: str,
        score: int,
        reason: str,
        make_code: Callable[[str], str],
        caps: Mapping[str, int] | None = None,
    ) -> tuple[Coupon, Coupon] | None:
        """Replace a person's coupon for a meal with one of a higher tier: (old, new), or None if not allowed.

        Never a downgrade, never for a redeemed or voided coupon, and only when the
        higher tier still has codes. The old code is voided in the same transaction.
        """
        with self._db.write():
            self._db.one_issuer_at_a_time()
            why = f"replaced by a {tier} code after ASI1 scored again"
            return self.upgrade_within(owner_of(owner), tier, score, reason, make_code, caps, why=why, source="asi1")

    def upgrade_within(
        self,
        owner: CouponOwner,
        tier: str,
        score: int,
        reason: str,
        make_code: Callable[[str], str],
        caps: Mapping[str, int] | None,
        *,
        why: str,
        source: str,
    ) -> tuple[Coupon, Coupon] | None:
        """`upgrade`'s work inside a write transaction the caller holds (with the issuer lock taken)."""
        old = self.coupon_for(owner)
        if old is None or old.redeemed_at is not None or old.voided_at is not None:
            return None
        if TIERS.index(tier) >= TIERS.index(old.tier):
            return None  # not higher (TIERS runs from premium down)
        code = self._take_code(tier, owner.person, make_code, (caps or {}).get(tier), old.meal)
        if code is None:
            return None
        # A vendor code stays taken (never handed out again); the old code is voided in this same transaction.
        self._retire(old, self._db.clock(), why)
        self._db.execute(
            "UPDATE coupons SET code=?, tier=?, score=?, score_source=?, reason=? WHERE person=? AND meal=?",
            (code, tier, score, source, reason, owner.person, owner.meal),
        )
        new = self.coupon_for(owner)
        assert new is not None
        return old, new

    def grant_within(
        self, request: Issuance, make_code: Callable[[str], str], caps: Mapping[str, int] | None
    ) -> Issued:
        """An organizer's grant, inside a write transaction with the issuer lock: a coupon for a person who has
        none for the meal, or whose coupon was voided (that code stays dead, kept among the replaced codes).
        `Issued.existing`: they hold a valid one already (nothing changed); `coupon` None: no code left, and
        nothing changed (the transaction is rolled back by the caller on `NoCodeLeft`)."""
        existing = self.coupon_for(request.owner)
        if existing is not None and existing.voided_at is None:
            return Issued(existing, existing=True)
        if existing is not None:
            self._retire(existing, existing.voided_at, existing.void_reason or "voided")
            self._db.execute("DELETE FROM coupons WHERE code=?", (existing.code,))
        issued = self.issue_within(request, make_code, fall_down=False, caps=caps)
        if issued.coupon is None:
            raise NoCodeLeft(request.tier)
        return issued

    def _retire(self, coupon: Coupon, at: float | None, reason: str) -> None:
        """A code replaced by another one for the same person and meal: kept, dead, with why (the table says it)."""
        self._db.execute(
            "INSERT INTO voided_codes (code, person, tier, voided_at, reason, meal) VALUES (?, ?, ?, ?, ?, ?)",
            (coupon.code, coupon.person, coupon.tier, at, reason, coupon.meal),
        )

    # --- at the table and by organizers ---------------------------------------------------
    def redeem(self, code: str) -> tuple[Coupon | None, bool]:
        """Mark a code redeemed. Returns (coupon, newly_redeemed); (None, False) if unknown.

        A voided code is never redeemed (newly_redeemed False, coupon.voided_at set).
        """
        with self._db.write():
            updated = self._db.execute(
                "UPDATE coupons SET redeemed_at=? WHERE code=? AND redeemed_at IS NULL AND voided_at IS NULL",
                (self._db.clock(), code.strip()),
            ).rowcount
        return self.find(code), bool(updated)

    def void(self, code: str, reason: str) -> Coupon | None:
        """Void a code (it then fails verify and redeem). The participant keeps their one coupon used up."""
        with self._db.write():
            self._db.execute(
                "UPDATE coupons SET voided_at=?, void_reason=? WHERE code=? AND voided_at IS NULL",
                (self._db.clock(), reason, code.strip()),
            )
        return self.find(code)

    def replaced(self) -> list[Coupon]:
        """Every code replaced by another one for the same person and meal (an upgrade, a grant after a void):
        dead, with when and why (`score_source` "replaced"; when it was issued is not kept)."""
        rows = self._db.execute(
            "SELECT code, person, tier, voided_at, reason, meal FROM voided_codes ORDER BY voided_at, code"
        ).fetchall()
        return [
            Coupon(code, person, tier, 0, "replaced", 0.0, voided_at=at, void_reason=why, meal=meal)
            for code, person, tier, at, why, meal in rows
        ]

    # --- vendor pools -----------------------------------------------------------------------
    def load_pools(self, directory: Path, meal: str = "") -> dict[str, int]:
        """Add the codes of `<tier>.csv` files (first column) to the pools (of `meal`); returns codes added."""
        added: dict[str, int] = {}
        for tier in TIERS:
            path = directory / f"{tier}.csv"
            if not path.exists():
                continue
            with path.open(newline="") as handle:
                codes = [row[0].strip() for row in csv.reader(handle) if row and row[0].strip()]
            codes = [c for c in codes if c.lower() != "code"]  # an optional header line
            with self._db.write():
                before = self._db.execute("SELECT COUNT(*) FROM pool_codes").fetchone()[0]
                self._db.executemany(
                    "INSERT INTO pool_codes (code, tier, meal) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    [(c, tier, meal) for c in codes],
                )
                added[tier] = self._db.execute("SELECT COUNT(*) FROM pool_codes").fetchone()[0] - before
        return added

    def pool_codes(self) -> list[str]:
        """Every vendor code loaded (the reply check refuses a model's text carrying one)."""
        return [row[0] for row in self._db.execute("SELECT code FROM pool_codes").fetchall()]

    def pool_sizes(self, meal: str = "") -> dict[str, tuple[int, int]]:
        """tier -> (codes left, codes loaded) for tiers with a vendor pool (for `meal`)."""
        rows = self._db.execute(
            "SELECT tier, SUM(CASE WHEN taken_by IS NULL THEN 1 ELSE 0 END), COUNT(*) FROM pool_codes WHERE meal=? "
            "GROUP BY tier",
            (meal,),
        )
        return {tier: (left, total) for tier, left, total in rows}

    def left(self, caps: Mapping[str, int] | None = None, meal: str = "") -> dict[str, int | None]:
        """Per tier (of `meal`): vendor pool codes left, or cap minus generated (None: no limit)."""
        pools = {tier: left for tier, (left, _) in self.pool_sizes(meal).items()}
        left: dict[str, int | None] = {}
        for tier in TIERS:
            if tier in pools:
                left[tier] = pools[tier]
            elif caps and tier in caps:
                left[tier] = max(0, caps[tier] - self.generated_count(tier, meal))
            else:
                left[tier] = None
        return left

    def stats(self, caps: Mapping[str, int] | None = None, meal: str = "") -> dict[str, object]:
        """Counts for status (`left` as in `left()`, for `meal`), participants and re-scores included."""
        count = self._count
        issued = dict(self._db.execute("SELECT tier, COUNT(*) FROM coupons GROUP BY tier").fetchall())
        pools = {tier: left for tier, (left, _) in self.pool_sizes(meal).items()}
        redeemed_by_tier = self._db.execute(
            "SELECT tier, COUNT(*) FROM coupons WHERE redeemed_at IS NOT NULL GROUP BY tier"
        ).fetchall()
        return {
            "left": self.left(caps, meal),
            "rescore_waiting": count("SELECT COUNT(*) FROM rescore_queue WHERE done_at IS NULL"),
            # Voided codes: coupons voided, and codes replaced by another one (an upgrade, a grant after a void).
            "coupons_voided": count("SELECT COUNT(*) FROM coupons WHERE voided_at IS NOT NULL")
            + count("SELECT COUNT(*) FROM voided_codes"),
            "participants": count("SELECT COUNT(*) FROM participants"),
            "coupons_issued": {tier: issued.get(tier, 0) for tier in TIERS},
            "coupons_redeemed_by_tier": dict(redeemed_by_tier),
            "coupons_redeemed": count("SELECT COUNT(*) FROM coupons WHERE redeemed_at IS NOT NULL"),
            "pool_left": {tier: pools[tier] for tier in TIERS if tier in pools},
            "flagged": count("SELECT COUNT(*) FROM coupons WHERE flagged=1"),
            "reviews_waiting": count("SELECT COUNT(*) FROM reviews WHERE state='waiting'"),
            # Codes two food tables served while offline (table_scans): recorded, shown to the organizers.
            "table_conflicts": count("SELECT COUNT(*) FROM table_scans WHERE result='conflict'"),
            # Messages a decision owes people (new codes): still being tried, and given up (not delivered).
            "messages_waiting": count("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"),
            "messages_not_delivered": count(
                "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NOT NULL"
            ),
        }

    def orders(self, until: float | None = None) -> dict[str, dict[str, dict[str, int]]]:
        """meal -> tier -> diet -> coupons (voided ones left out), issued by `until` if given: the vendor's counts."""
        sql = "SELECT meal, tier, diet, COUNT(*) FROM coupons WHERE voided_at IS NULL"
        params: tuple = ()
        if until is not None:  # by the event's clock (the plan's), which a rehearsal compresses
            sql, params = sql + " AND COALESCE(event_at, issued_at) <= ?", (until,)
        counts: dict[str, dict[str, dict[str, int]]] = {}
        for meal, tier, diet, n in self._db.execute(sql + " GROUP BY meal, tier, diet", params).fetchall():
            counts.setdefault(meal, {}).setdefault(tier, {})[diet or "unknown"] = n
        return counts

    def coupons_of(self, person: str) -> list[Coupon]:
        """The person's coupons of every meal, oldest first."""
        rows = self._db.execute(
            f"SELECT {COUPON_COLUMNS} FROM coupons WHERE person=? ORDER BY issued_at", (person,)
        ).fetchall()
        return [c for c in map(_coupon, rows) if c is not None]

    def set_diet_of_open_coupon(self, owner: CouponOwner, diet: str) -> bool:
        """A diet changed before the coupon was eaten follows it (the vendor's counts stay true)."""
        changed = self._db.execute(
            "UPDATE coupons SET diet=? WHERE person=? AND meal=? AND redeemed_at IS NULL AND voided_at IS NULL",
            (diet, owner.person, owner.meal),
        )
        return changed.rowcount == 1

    def _count(self, sql: str) -> int:
        return self._db.execute(sql).fetchone()[0]


def _coupon(row: tuple | None) -> Coupon | None:
    if row is None:
        return None
    code, person, tier, score, source, issued_at, redeemed_at, prompt, story_hash, reason, flagged, *rest = row
    *columns, chat_sender, chat_session = rest
    return Coupon(
        code,
        person,
        tier,
        score,
        source,
        issued_at,
        redeemed_at,
        prompt,
        story_hash,
        reason,
        bool(flagged),
        *columns,
        chat=Chat(chat_sender, chat_session),
    )


def exported(book: CouponBook) -> list[Coupon]:
    """What an export lists: every coupon (issued, redeemed, voided) and every code replaced since."""
    return book.all() + book.replaced()


def export_csv(book: CouponBook, path: Path, *, short_ids: bool = False) -> int:
    """Every coupon, issued, redeemed, voided or replaced, as CSV (owner-only file); returns the row count."""
    rows = exported(book)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", newline="") as handle:
        write_export(handle, rows, short_ids=short_ids)
    return len(rows)


def write_export(handle: TextIO, coupons: list[Coupon], *, short_ids: bool = False) -> None:
    """The one coupon export (chat `export`, the dashboard's download): one column set, UTC times ending in Z,
    formulas neutralised; `short_ids` writes participants as logs show them (…last 8 characters)."""
    writer = csv.writer(handle)
    writer.writerow(EXPORT_COLUMNS)
    for c in coupons:
        participant = c.participant
        if short_ids:
            participant = "…" + participant[-8:]
        writer.writerow(
            safe_row(
                [
                    c.code,
                    participant,
                    c.tier,
                    c.score,
                    c.score_source,
                    int(c.flagged),
                    c.meal,
                    c.diet,
                    c.pickup_group,
                    _iso(c.issued_at) if c.score_source != "replaced" else "",
                    _iso(c.redeemed_at),
                    _iso(c.voided_at),
                    c.void_reason or "",
                ]
            )
        )


def _iso(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
