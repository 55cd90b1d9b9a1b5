"""The judges' queue: stories software could not settle, waiting for a human; and the outbox of what a decision owes.

A story the pre-filter or the detector suspected of talking to the judge gets its
coupon at once (capped tier) and a row here; so does every premium when
REVIEW_PREMIUM is on. An organizer approves (the judge's uncapped score stands:
the old code is voided and a new one of the higher tier issued) or rejects (the
capped tier stays). A decision is taken exactly once — one transaction that moves
the row out of 'waiting' — so two organizers, two replicas or a restart in the
middle never upgrade twice. The participant's upgrade message goes into the
outbox in the same transaction and is delivered by the active replica.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pizza_agent.domain.codes import ALPHABET
from pizza_agent.domain.tiers import TIERS
from pizza_agent.ledger.coupons import Coupon, CouponBook, Issuance, Issued
from pizza_agent.ledger.database import Database

REVIEW_ID_LENGTH = 5
_COLUMNS = (
    "id, address, code, story, passages, why, given_tier, given_score, judge_score, queued_at, state, "
    "decided_by, decided_at, note"
)


@dataclass(frozen=True)
class PendingReview:
    """What the conversation asks to queue with a coupon (in the coupon's own transaction)."""

    story: str
    passages: list[str]
    why: str  # "suspected: asks_for_score" or "premium review"
    judge_score: int  # the judge's uncapped score: what an approval grants


@dataclass(frozen=True)
class Review:
    id: str
    address: str
    code: str
    story: str
    passages: list[str]
    why: str
    given_tier: str
    given_score: int
    judge_score: int
    queued_at: float
    state: str
    decided_by: str | None
    decided_at: float | None
    note: str | None


@dataclass(frozen=True)
class WaitingGroup:
    """One participant's waiting stories: shown as one entry, so one participant cannot push others off a page."""

    first: Review  # their oldest
    more: list[Review]  # the rest of theirs, oldest first


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, counted from the same snapshot it was cut from."""

    groups: list[WaitingGroup]
    waiting: int  # every waiting story (not only this page's)
    participants: int  # how many participants they come from: the entries of every page together
    page: int  # 1 is the oldest; past the last page, `groups` is empty
    pages: int


@dataclass(frozen=True)
class Decision:
    """What `approve` or `reject` did. `review` is None for an unknown id."""

    review: Review | None
    done: bool  # False: it was decided before (by whom and when: `review`)
    upgraded: tuple[Coupon, Coupon] | None = None  # (old, new) when the approval raised the tier
    why_not: str = ""  # an approval that could not upgrade: already the tier, redeemed, voided, none left


@dataclass(frozen=True)
class Notice:
    id: str
    address: str
    kind: str
    payload: dict[str, object]


def queue_review(db: Database, address: str, code: str, score: int, tier: str, pending: PendingReview) -> str:
    """Inside the issuing transaction: the coupon and its place in the queue are one."""
    while True:
        review_id = "".join(secrets.choice(ALPHABET) for _ in range(REVIEW_ID_LENGTH))
        if db.execute("SELECT 1 FROM reviews WHERE id=?", (review_id,)).fetchone() is None:
            break
    db.execute(
        f"INSERT INTO reviews ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', NULL, NULL, NULL)",
        (
            review_id,
            address,
            code,
            pending.story,
            json.dumps(pending.passages),
            pending.why,
            tier,
            score,
            pending.judge_score,
            db.clock(),
        ),
    )
    return review_id


class JudgesQueue:
    """Owns `reviews` and `outbox`."""

    def __init__(self, db: Database, coupons: CouponBook) -> None:
        self._db = db
        self._coupons = coupons

    def issue_for_review(
        self,
        request: Issuance,
        make_code: Callable[[str], str],
        pending: PendingReview,
        *,
        fall_down: bool = True,
        caps: Mapping[str, int] | None = None,
    ) -> tuple[Issued, str | None]:
        """A coupon and its place in the queue, in one transaction: (what was issued, the review id)."""
        self._db.check_file()
        with self._db.write():
            self._db.one_issuer_at_a_time()
            issued = self._coupons.issue_within(request, make_code, fall_down=fall_down, caps=caps)
            if issued.coupon is None or issued.existing:
                return issued, None
            coupon = issued.coupon
            return issued, queue_review(self._db, coupon.address, coupon.code, coupon.score, coupon.tier, pending)

    def waiting(self, limit: int | None = None) -> list[Review]:
        """Every waiting story, oldest first (`limit`: only the oldest so many)."""
        sql = f"SELECT {_COLUMNS} FROM reviews WHERE state='waiting' ORDER BY queued_at, id"
        rows = self._db.execute(*((sql + " LIMIT ?", (limit,)) if limit is not None else (sql,))).fetchall()
        return [_review(row) for row in rows]

    def waiting_page(self, page: int, per_page: int) -> QueuePage:
        """Page `page` of the queue, one entry per participant, entries ordered by their oldest story.

        The whole queue is read as (id, address) only, in one statement, so the counts and the
        page agree; only this page's stories are then read whole. A story decided in between
        drops out of the page (it no longer waits), never in twice."""
        rows = self._db.execute(
            "SELECT id, address FROM reviews WHERE state='waiting' ORDER BY queued_at, id"
        ).fetchall()
        ids_by_address: dict[str, list[str]] = {}
        for review_id, address in rows:  # dicts keep insertion order: participants by their oldest story
            ids_by_address.setdefault(address, []).append(review_id)
        entries = list(ids_by_address.values())
        pages = max(1, math.ceil(len(entries) / per_page))
        shown = entries[(page - 1) * per_page : page * per_page] if page >= 1 else []
        wanted = [review_id for ids in shown for review_id in ids]
        found: dict[str, Review] = {}
        for start in range(0, len(wanted), 500):  # bounded IN lists (SQLite allows 999 variables by default)
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT {_COLUMNS} FROM reviews WHERE state='waiting' AND id IN ({marks})", chunk
            ).fetchall():
                found[row[0]] = _review(row)
        groups = []
        for ids in shown:
            still = [found[review_id] for review_id in ids if review_id in found]
            if still:
                groups.append(WaitingGroup(still[0], still[1:]))
        return QueuePage(groups, len(rows), len(entries), page, pages)

    def count_waiting(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM reviews WHERE state='waiting'").fetchone()[0]

    def find(self, review_id: str) -> Review | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM reviews WHERE id=?", (review_id.strip().upper(),)).fetchone()
        return _review(row) if row else None

    def approve(
        self,
        review_id: str,
        by: str,
        tier_of: Callable[[int], str],
        make_code: Callable[[str], str],
        caps: Mapping[str, int] | None = None,
    ) -> Decision:
        """The judge's uncapped score stands: a higher tier's new code, the old one voided, once."""
        with self._db.write():
            self._db.one_issuer_at_a_time()
            claimed, review = self._claim(review_id, "approved", by, "")
            if not claimed or review is None:
                return Decision(review, done=False)
            tier = tier_of(review.judge_score)
            coupon = self._coupons.coupon_for(review.address)
            why_not = _why_no_upgrade(coupon, review, tier)
            if why_not:
                return Decision(review, done=True, why_not=why_not)
            swapped = self._coupons.upgrade_within(
                review.address,
                tier,
                review.judge_score,
                f"approved by {by}",
                make_code,
                caps,
                why=f"replaced by a {tier} code: an organizer approved the story",
                source="review",
            )
            if swapped is None:
                return Decision(review, done=True, why_not=f"no {tier} code left")
            old, new = swapped
            self._add_notice(
                review.address, "upgrade", {"score": new.score, "tier": new.tier, "code": new.code, "old": old.code}
            )
        return Decision(review, done=True, upgraded=swapped)

    def reject(self, review_id: str, by: str, note: str) -> Decision:
        with self._db.write():
            claimed, review = self._claim(review_id, "rejected", by, note)
        return Decision(review, done=claimed)

    def _claim(self, review_id: str, state: str, by: str, note: str) -> tuple[bool, Review | None]:
        """Move a waiting row to `state`, exactly once: (this call moved it, the row as it is now)."""
        key = review_id.strip().upper()
        moved = self._db.execute(
            "UPDATE reviews SET state=?, decided_by=?, decided_at=?, note=? WHERE id=? AND state='waiting'",
            (state, by, self._db.clock(), note, key),
        ).rowcount
        return moved == 1, self.find(key)

    # --- the outbox ---------------------------------------------------------------------------
    def _add_notice(self, address: str, kind: str, payload: dict[str, object]) -> None:
        notice_id = secrets.token_hex(8)
        self._db.execute(
            "INSERT INTO outbox VALUES (?, ?, ?, ?, ?, NULL)",
            (notice_id, address, kind, json.dumps(payload), self._db.clock()),
        )

    def notices_to_send(self, limit: int = 20) -> list[Notice]:
        rows = self._db.execute(
            "SELECT id, address, kind, payload FROM outbox WHERE sent_at IS NULL ORDER BY created_at LIMIT ?", (limit,)
        ).fetchall()
        return [Notice(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    def notice_sent(self, notice_id: str) -> None:
        self._db.execute("UPDATE outbox SET sent_at=? WHERE id=?", (self._db.clock(), notice_id))


def _why_no_upgrade(coupon: Coupon | None, review: Review, tier: str) -> str:
    if coupon is None:
        return "the participant has no coupon"
    if coupon.redeemed_at is not None:
        return "the coupon was already redeemed"
    if coupon.voided_at is not None:
        return "the coupon was voided"
    if TIERS.index(tier) >= TIERS.index(coupon.tier):
        return f"the judge's score ({review.judge_score}) earns {tier}, not more than the {coupon.tier} given"
    return ""


def _review(row: tuple) -> Review:
    (rid, address, code, story, passages, why, given_tier, given_score, judge_score, queued_at, state, by, at, note) = (
        row
    )
    return Review(
        rid,
        address,
        code,
        story,
        json.loads(passages),
        why,
        given_tier,
        int(given_score),
        int(judge_score),
        queued_at,
        state,
        by,
        at,
        note,
    )
