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
from pizza_agent.domain.identity import NO_CHAT, Chat, CouponOwner
from pizza_agent.domain.tiers import TIERS
from pizza_agent.ledger.coupons import Coupon, CouponBook, Issuance, Issued, NoCodeLeft
from pizza_agent.ledger.database import Database

REVIEW_ID_LENGTH = 5
_COLUMNS = (
    "id, person, code, story, passages, why, given_tier, given_score, judge_score, queued_at, state, "
    "decided_by, decided_at, note, meal, judge_source"
)
# A notice the framework could not deliver is tried again after these many seconds (then given up and shown).
NOTICE_RETRY_SECONDS = (2.0, 5.0, 15.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True)
class PendingReview:
    """What the conversation asks to queue with a coupon (in the coupon's own transaction)."""

    story: str
    passages: list[str]
    why: str  # "suspected: asks_for_score" or "premium review"
    judge_score: int  # the judge's uncapped score: what an approval may grant (within the grant policy)
    judge_source: str = "asi1"  # who scored it: "heuristic" is no judge (the queue says so; its cap holds)


@dataclass(frozen=True)
class Review:
    id: str
    person: str
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
    meal: str = ""
    judge_source: str = "asi1"

    @property
    def owner(self) -> CouponOwner:
        return CouponOwner(self.person, self.meal)


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
class ReviewDecision:
    """What `approve` or `reject` did. `review` is None for an unknown id."""

    review: Review | None
    done: bool  # False: it was decided before (by whom and when: `review`)
    upgraded: tuple[Coupon, Coupon] | None = None  # (old, new) when the approval raised the tier
    why_not: str = ""  # an approval that could not upgrade: already the tier, redeemed, voided, none left


@dataclass(frozen=True)
class Notice:
    """A message a decision owes a person, for the chat their coupon was issued in."""

    id: str
    person: str
    kind: str
    payload: dict[str, object]
    chat: Chat = NO_CHAT
    attempts: int = 0
    created_at: float = 0.0


def queue_review(db: Database, coupon: Coupon, pending: PendingReview) -> str:
    """Inside the issuing transaction: the coupon and its place in the queue are one."""
    while True:
        review_id = "".join(secrets.choice(ALPHABET) for _ in range(REVIEW_ID_LENGTH))
        if db.execute("SELECT 1 FROM reviews WHERE id=?", (review_id,)).fetchone() is None:
            break
    db.execute(
        f"INSERT INTO reviews ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', NULL, NULL, NULL, ?, ?)",
        (
            review_id,
            coupon.person,
            coupon.code,
            pending.story,
            json.dumps(pending.passages),
            pending.why,
            coupon.tier,
            coupon.score,
            pending.judge_score,
            db.clock(),
            coupon.meal,
            pending.judge_source,
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
            return issued, queue_review(self._db, issued.coupon, pending)

    def waiting(self, limit: int | None = None) -> list[Review]:
        """Every waiting story, oldest first (`limit`: only the oldest so many)."""
        sql = f"SELECT {_COLUMNS} FROM reviews WHERE state='waiting' ORDER BY queued_at, id"
        rows = self._db.execute(*((sql + " LIMIT ?", (limit,)) if limit is not None else (sql,))).fetchall()
        return [_review(row) for row in rows]

    def waiting_page(self, page: int, per_page: int) -> QueuePage:
        """Page `page` of the queue, one entry per participant, entries ordered by their oldest story.

        The whole queue is read as (id, person) only, in one statement, so the counts and the
        page agree; only this page's stories are then read whole. A story decided in between
        drops out of the page (it no longer waits), never in twice."""
        rows = self._db.execute(
            "SELECT id, person FROM reviews WHERE state='waiting' ORDER BY queued_at, id"
        ).fetchall()
        ids_by_person: dict[str, list[str]] = {}
        for review_id, person in rows:  # dicts keep insertion order: people by their oldest story
            ids_by_person.setdefault(person, []).append(review_id)
        entries = list(ids_by_person.values())
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
        grant: Callable[[Review], tuple[str, Mapping[str, int]]],
        make_code: Callable[[str], str],
    ) -> ReviewDecision:
        """An approval, once: the tier the grant policy allows for the judge's score (event/grants.py) replaces
        the coupon's (a new code, the old one voided, the person told in the coupon's chat), if it is higher."""
        with self._db.write():
            self._db.one_issuer_at_a_time()
            claimed, review = self._claim(review_id, "approved", by, "")
            if not claimed or review is None:
                return ReviewDecision(review, done=False)
            tier, caps = grant(review)
            coupon = self._coupons.coupon_for(review.owner)
            why_not = _why_no_upgrade(coupon, review, tier)
            if why_not:
                return ReviewDecision(review, done=True, why_not=why_not)
            swapped = self.upgrade_and_tell(
                review.owner,
                tier,
                review.judge_score,
                f"approved by {by}",
                make_code,
                caps,
                why=f"replaced by a {tier} code: an organizer approved the story",
                source="review",
            )
            if swapped is None:
                return ReviewDecision(review, done=True, why_not=f"no {tier} code left")
        return ReviewDecision(review, done=True, upgraded=swapped)

    def rescored(
        self,
        owner: CouponOwner,
        tier: str,
        score: int,
        reason: str,
        make_code: Callable[[str], str],
        caps: Mapping[str, int] | None,
        pending: PendingReview | None,
    ) -> tuple[tuple[Coupon, Coupon] | None, str | None]:
        """ASI1 scored a heuristic's story again, in one transaction: the upgrade the grant policy allows now
        (told to the coupon's chat) and, when a human must look first (REVIEW_PREMIUM), its place in the queue.
        Returns ((old, new) or None, the review id or None)."""
        with self._db.write():
            self._db.one_issuer_at_a_time()
            swapped = None
            coupon = self._coupons.coupon_for(owner)
            if coupon is not None and TIERS.index(tier) < TIERS.index(coupon.tier):
                why = f"replaced by a {tier} code after ASI1 scored again"
                swapped = self.upgrade_and_tell(owner, tier, score, reason, make_code, caps, why=why, source="asi1")
                coupon = self._coupons.coupon_for(owner)
            review_id = None
            if pending is not None and coupon is not None and coupon.voided_at is None:
                review_id = queue_review(self._db, coupon, pending)
        return swapped, review_id

    def grant(
        self, request: Issuance, make_code: Callable[[str], str], caps: Mapping[str, int] | None
    ) -> tuple[Coupon | None, str]:
        """An organizer's `grant` (event/grants.py allowed it), told to the chat given (none: nobody is told),
        in one transaction. (coupon, "") or (None, why not)."""
        try:
            with self._db.write():
                self._db.one_issuer_at_a_time()
                issued = self._coupons.grant_within(request, make_code, caps)
                coupon = issued.coupon
                assert coupon is not None
                if issued.existing:
                    return None, f"they hold a valid {coupon.tier} coupon for this meal already ({coupon.code})"
                if coupon.chat.sender:
                    self._add_notice(coupon, "granted", {"tier": coupon.tier, "code": coupon.code})
        except NoCodeLeft:
            return None, f"no {request.tier} code left for this meal (its caps or pool)"
        return coupon, ""

    def upgrade_and_tell(
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
        """Inside a write transaction with the issuer lock: the upgrade, the old code voided and the notice
        to the coupon's chat, all or nothing (a new code is never recorded without its message owed)."""
        swapped = self._coupons.upgrade_within(owner, tier, score, reason, make_code, caps, why=why, source=source)
        if swapped is not None:
            old, new = swapped
            payload = {"score": new.score, "tier": new.tier, "code": new.code, "old": old.code, "source": source}
            self._add_notice(new, "upgrade", payload)
        return swapped

    def reject(self, review_id: str, by: str, note: str) -> ReviewDecision:
        with self._db.write():
            claimed, review = self._claim(review_id, "rejected", by, note)
        return ReviewDecision(review, done=claimed)

    def _claim(self, review_id: str, state: str, by: str, note: str) -> tuple[bool, Review | None]:
        """Move a waiting row to `state`, exactly once: (this call moved it, the row as it is now)."""
        key = review_id.strip().upper()
        moved = self._db.execute(
            "UPDATE reviews SET state=?, decided_by=?, decided_at=?, note=? WHERE id=? AND state='waiting'",
            (state, by, self._db.clock(), note, key),
        ).rowcount
        return moved == 1, self.find(key)

    # --- the outbox ---------------------------------------------------------------------------
    def _add_notice(self, coupon: Coupon, kind: str, payload: dict[str, object]) -> None:
        notice_id = secrets.token_hex(8)
        self._db.execute(
            "INSERT INTO outbox (id, person, kind, payload, created_at, sent_at, meal, chat_sender, chat_session) "
            "VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
            (
                notice_id,
                coupon.person,
                kind,
                json.dumps(payload),
                self._db.clock(),
                coupon.meal,
                coupon.chat.sender,
                coupon.chat.session,
            ),
        )

    def notices_to_send(self, limit: int = 20) -> list[Notice]:
        """Notices neither delivered nor given up, whose next try is due, oldest first."""
        rows = self._db.execute(
            f"SELECT {_NOTICE_COLUMNS} FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL "
            "AND (next_try_at IS NULL OR next_try_at <= ?) ORDER BY created_at LIMIT ?",
            (self._db.clock(), limit),
        ).fetchall()
        return [_notice(row) for row in rows]

    def notice_sent(self, notice_id: str) -> None:
        """The framework reported it delivered (or queued at the mailbox)."""
        self._db.execute("UPDATE outbox SET sent_at=? WHERE id=?", (self._db.clock(), notice_id))

    def notice_not_delivered(self, notice: Notice) -> bool:
        """One more failed try: tried again later with back-off, or given up (shown as not delivered).
        Returns True when it was given up."""
        attempts = notice.attempts + 1
        now = self._db.clock()
        if attempts > len(NOTICE_RETRY_SECONDS):
            self._db.execute("UPDATE outbox SET attempts=?, failed_at=? WHERE id=?", (attempts, now, notice.id))
            return True
        self._db.execute(
            "UPDATE outbox SET attempts=?, next_try_at=? WHERE id=?",
            (attempts, now + NOTICE_RETRY_SECONDS[attempts - 1], notice.id),
        )
        return False

    def undelivered(self, limit: int = 50) -> list[Notice]:
        """Notices given up (no chat, or the framework never delivered them): organizers see them."""
        rows = self._db.execute(
            f"SELECT {_NOTICE_COLUMNS} FROM outbox WHERE sent_at IS NULL AND failed_at IS NOT NULL "
            "ORDER BY created_at LIMIT ?",
            (limit,),
        ).fetchall()
        return [_notice(row) for row in rows]

    def delivery_counts(self) -> dict[str, int]:
        """Notices delivered, waiting (being tried) and not delivered (given up)."""
        delivered, waiting, failed = self._db.execute(
            "SELECT SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN sent_at IS NULL AND failed_at IS NOT NULL THEN 1 ELSE 0 END) FROM outbox"
        ).fetchone()
        return {"delivered": delivered or 0, "waiting": waiting or 0, "not_delivered": failed or 0}


_NOTICE_COLUMNS = "id, person, kind, payload, chat_sender, chat_session, attempts, created_at"


def _notice(row: tuple) -> Notice:
    notice_id, person, kind, payload, sender, session, attempts, created_at = row
    return Notice(notice_id, person, kind, json.loads(payload), Chat(sender, session), int(attempts), created_at)


def _why_no_upgrade(coupon: Coupon | None, review: Review, tier: str) -> str:
    if coupon is None:
        return "the person has no coupon for that meal"
    if coupon.redeemed_at is not None:
        return "the coupon was already redeemed"
    if coupon.voided_at is not None:
        return "the coupon was voided"
    if TIERS.index(tier) >= TIERS.index(coupon.tier):
        return f"the judge's score ({review.judge_score}) earns {tier}, not more than the {coupon.tier} given"
    return ""


def _review(row: tuple) -> Review:
    rid, person, code, story, passages, why, given_tier, given_score, judge_score, queued_at, state, *rest = row
    by, at, note, meal, judge_source = rest
    return Review(
        rid,
        person,
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
        meal,
        judge_source,
    )
