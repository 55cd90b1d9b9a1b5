"""The registration roster: attendees, whose badge code binds which chat, and address mode's tripwire.

Owns `attendees`, `claim_sessions`, `opened_sessions` and `story_sessions`.
A claim code is never stored: only its keyed hash (people/claim_codes.py), so a
copy of the ledger does not hand out badges. The first address a code is
claimed from owns it; another address presenting it is refused (a stolen or
shared badge), until an organizer reissues the code. An attendee's coupon is
the person `attendee:<key>`, so "one coupon per attendee and meal" is the coupon
book's own exactly-once rule.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from pizza_agent.domain.identity import attendee_person
from pizza_agent.ledger.database import Database

ATTENDEE_COLUMNS = "key, display_name, source, generation, sender, claimed_at, added_at, removed_at, role"


@dataclass(frozen=True)
class Attendee:
    key: str
    display_name: str
    source: str
    generation: int
    sender: str | None
    claimed_at: float | None
    added_at: float
    removed_at: float | None
    role: str = "attendee"

    @property
    def participant(self) -> str:
        return attendee_person(self.key)


class Claim(Enum):
    BOUND = "bound"  # this chat now belongs to the attendee
    ELSEWHERE = "elsewhere"  # the code was claimed from another address first
    REMOVED = "removed"  # the attendee was taken off the roster


CodeHash = Callable[[str, int], str]  # (attendee key, generation) -> the keyed hash of that code


class Roster:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- the list -----------------------------------------------------------------------
    def add_many(
        self,
        people: Iterable[tuple[str, str]],
        code_hash: CodeHash,
        source: str = "import",
        roles: Mapping[str, str] | None = None,
    ) -> int:
        """Add (key, display name) pairs in one transaction; a key already there is left alone (its role is
        updated from a newer export). Returns added."""
        now = self._db.clock()
        roles = roles or {}
        with self._db.write():
            before = self._count()
            self._db.executemany(
                "INSERT INTO attendees (key, display_name, source, generation, code_hash, added_at, role) "
                "VALUES (?, ?, ?, 1, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(key, name, source, code_hash(key, 1), now, roles.get(key, "attendee")) for key, name in people],
            )
            if roles:
                self._db.executemany("UPDATE attendees SET role=? WHERE key=?", [(r, k) for k, r in roles.items()])
            return self._count() - before

    def add(self, display_name: str, code_hash: CodeHash) -> Attendee:
        key = "m" + secrets.token_hex(5)  # added by hand: no registration id to derive it from
        self.add_many([(key, display_name)], code_hash, source="added")
        attendee = self.get(key)
        assert attendee is not None
        return attendee

    def remove(self, key: str) -> Attendee | None:
        """Take an attendee off the roster (their code dies; a coupon already issued stays valid)."""
        with self._db.write():
            self._db.execute(
                "UPDATE attendees SET removed_at=? WHERE key=? AND removed_at IS NULL", (self._db.clock(), key)
            )
            self._db.execute("DELETE FROM claim_sessions WHERE attendee=?", (key,))
        return self.get(key)

    def reissue(self, key: str, code_hash: CodeHash) -> Attendee | None:
        """A lost badge: the next generation's code; the old code, and every chat it bound, are dead."""
        with self._db.write():
            row = self._db.execute("SELECT generation FROM attendees WHERE key=?", (key,)).fetchone()
            if row is None:
                return None
            generation = row[0] + 1
            self._db.execute(
                "UPDATE attendees SET generation=?, code_hash=?, sender=NULL, claimed_at=NULL WHERE key=?",
                (generation, code_hash(key, generation), key),
            )
            self._db.execute("DELETE FROM claim_sessions WHERE attendee=?", (key,))
        return self.get(key)

    def merge(self, keep: str, drop: str) -> dict[str, int]:
        """One person registered twice: `drop` is joined into `keep`, in one transaction.

        `drop` leaves the roster (its badge code dies, `merged_into` says where it went); the chats
        its code bound now belong to `keep`, and so does its diet if `keep` told none. Its coupons
        move to `keep` for the meals `keep` holds none of; one for a meal `keep` already holds is
        voided, so the person ends with one coupon per meal. This is the roster's one write into
        other tables (coupons, diets): a merge must not leave half a person behind.
        Returns {"moved": n, "voided": n}."""
        now = self._db.clock()
        keep_person, drop_person = attendee_person(keep), attendee_person(drop)
        with self._db.write():
            self._db.execute(
                "UPDATE attendees SET removed_at=?, merged_into=? WHERE key=? AND removed_at IS NULL", (now, keep, drop)
            )
            self._db.execute(
                "UPDATE attendees SET sender = COALESCE(sender, (SELECT sender FROM attendees WHERE key=?)), "
                "claimed_at = COALESCE(claimed_at, (SELECT claimed_at FROM attendees WHERE key=?)) WHERE key=?",
                (drop, drop, keep),
            )
            self._db.execute("UPDATE claim_sessions SET attendee=? WHERE attendee=?", (keep, drop))
            held = {row[0] for row in self._db.execute("SELECT meal FROM coupons WHERE person=?", (keep_person,))}
            theirs = self._db.execute("SELECT code, meal FROM coupons WHERE person=?", (drop_person,)).fetchall()
            voided = [
                (now, f"duplicate of attendee {keep} (roster merge)", code) for code, meal in theirs if meal in held
            ]
            self._db.executemany(
                "UPDATE coupons SET voided_at=?, void_reason=? WHERE code=? AND voided_at IS NULL", voided
            )
            moved = [(keep_person, code) for code, meal in theirs if meal not in held]
            self._db.executemany("UPDATE coupons SET person=? WHERE code=?", moved)
            if self._db.execute("SELECT 1 FROM diets WHERE participant=?", (keep_person,)).fetchone() is None:
                self._db.execute("UPDATE diets SET participant=? WHERE participant=?", (keep_person, drop_person))
        return {"moved": len(moved), "voided": len(voided)}

    def get(self, key: str) -> Attendee | None:
        row = self._db.execute(f"SELECT {ATTENDEE_COLUMNS} FROM attendees WHERE key=?", (key,)).fetchone()
        return Attendee(*row) if row else None

    def by_code_hash(self, code_hash: str) -> Attendee | None:
        row = self._db.execute(f"SELECT {ATTENDEE_COLUMNS} FROM attendees WHERE code_hash=?", (code_hash,)).fetchone()
        return Attendee(*row) if row else None

    def everyone(self, *, removed: bool = False) -> list[Attendee]:
        where = "" if removed else "WHERE removed_at IS NULL"
        rows = self._db.execute(f"SELECT {ATTENDEE_COLUMNS} FROM attendees {where} ORDER BY display_name, key")
        return [Attendee(*row) for row in rows]

    def named(self, fragment: str, limit: int = 10) -> list[Attendee]:
        """Attendees whose display name contains `fragment` (any case)."""
        rows = self._db.execute(
            f"SELECT {ATTENDEE_COLUMNS} FROM attendees WHERE lower(display_name) LIKE ? ORDER BY display_name LIMIT ?",
            (f"%{fragment.strip().lower()}%", limit),
        )
        return [Attendee(*row) for row in rows]

    def counts(self) -> dict[str, int]:
        one = self._db.execute(
            "SELECT COUNT(*), SUM(CASE WHEN sender IS NOT NULL THEN 1 ELSE 0 END) FROM attendees "
            "WHERE removed_at IS NULL"
        ).fetchone()
        return {"attendees": one[0], "claimed": one[1] or 0}

    def _count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM attendees").fetchone()[0]

    # --- chats ----------------------------------------------------------------------------
    def claim(self, key: str, sender: str, session: str) -> Claim:
        """Bind this chat (sender, session) to the attendee, unless another address claimed the code first."""
        with self._db.write():
            now = self._db.clock()
            self._db.execute(
                "UPDATE attendees SET sender=?, claimed_at=? WHERE key=? AND sender IS NULL AND removed_at IS NULL",
                (sender, now, key),
            )
            row = self._db.execute("SELECT sender, removed_at FROM attendees WHERE key=?", (key,)).fetchone()
            if row is None or row[1] is not None:
                return Claim.REMOVED
            if row[0] != sender:
                return Claim.ELSEWHERE
            self._db.execute(
                "INSERT INTO claim_sessions VALUES (?, ?, ?, ?) "
                "ON CONFLICT(sender, session) DO UPDATE SET attendee=excluded.attendee, bound_at=excluded.bound_at",
                (sender, session, key, now),
            )
            return Claim.BOUND

    def attendee_in(self, sender: str, session: str) -> str | None:
        """The attendee this chat was bound to by a claim code."""
        row = self._db.execute(
            "SELECT c.attendee FROM claim_sessions c JOIN attendees a ON a.key = c.attendee "
            "WHERE c.sender=? AND c.session=? AND a.sender=c.sender AND a.removed_at IS NULL",
            (sender, session),
        ).fetchone()
        return row[0] if row else None

    def open_session(self, sender: str, session: str) -> None:
        self._db.execute(
            "INSERT INTO opened_sessions VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (sender, session, self._db.clock())
        )

    def opens_sessions(self, sender: str) -> bool:
        return (
            self._db.execute("SELECT 1 FROM opened_sessions WHERE sender=? LIMIT 1", (sender,)).fetchone() is not None
        )

    def bound_chats(self, sender: str) -> int:
        """How many chats of `sender` a claim code bound (0: nobody known speaks through it yet)."""
        return self._db.execute("SELECT COUNT(*) FROM claim_sessions WHERE sender=?", (sender,)).fetchone()[0]

    def chats_of(self, key: str) -> list[tuple[str, str]]:
        """(sender, session) of every chat bound to the attendee, the latest first (to reach them later)."""
        rows = self._db.execute(
            "SELECT sender, session FROM claim_sessions WHERE attendee=? ORDER BY bound_at DESC", (key,)
        )
        return [(row[0], row[1]) for row in rows]

    # --- address mode's tripwire ---------------------------------------------------------------
    def story_session(self, sender: str, session: str) -> int:
        """Note that `sender` carried a story in `session`; returns how many sessions it has carried stories in."""
        self._db.execute(
            "INSERT INTO story_sessions VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (sender, session, self._db.clock())
        )
        return self._db.execute("SELECT COUNT(*) FROM story_sessions WHERE sender=?", (sender,)).fetchone()[0]

    def noted_session(self, sender: str, session: str) -> bool:
        return (
            self._db.execute("SELECT 1 FROM story_sessions WHERE sender=? AND session=?", (sender, session)).fetchone()
            is not None
        )

    def shared_senders(self, threshold: int) -> list[tuple[str, int]]:
        """Senders that carried stories in `threshold` or more chat sessions: many people behind one address?"""
        rows = self._db.execute(
            "SELECT sender, COUNT(*) FROM story_sessions GROUP BY sender HAVING COUNT(*) >= ? ORDER BY COUNT(*) DESC",
            (threshold,),
        )
        return [(row[0], row[1]) for row in rows]
