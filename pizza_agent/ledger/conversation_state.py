"""Where each participant's conversation stands: seen when, prompts given, a story held for "yes", re-scores.

Kept in the ledger (not in memory) so a restart or a takeover by another
replica picks every conversation up where it was.
"""

from __future__ import annotations

from typing import Any

from pizza_agent.domain.identity import CouponOwner, owner_of
from pizza_agent.ledger.database import Database

# A story held for a participant's "yes" or their claim code is forgotten after this long.
HELD_STORY_SECONDS = 30 * 60
# Roster mode: stories waiting for a claim code are kept under this prefix (people/identity.py), at most
# this many per sender that speaks for several people (one for any other sender).
UNCLAIMED_PREFIX = "unclaimed:"
UNCLAIMED_PER_SENDER = 20
# How long a replica's claim on a waiting story lasts if it never finishes (it died mid-call).
RESCORE_CLAIM_SECONDS = 120.0


def touch_participant(db: Database, address: str) -> None:
    """Count a participant once (the writes that record them call this in their own transaction)."""
    if db.execute("SELECT 1 FROM participants WHERE address=?", (address,)).fetchone() is None:
        db.execute("INSERT INTO participants VALUES (?, ?) ON CONFLICT DO NOTHING", (address, db.clock()))


class ConversationState:
    """Owns `participants`, `prompts_given`, `pending_stories`, `rescore_queue`, `diets`, `diet_changes` and
    `languages`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- prompts ----------------------------------------------------------------------------
    def record_prompt(self, address: str, prompt: str, source: str, language: str = "en") -> None:
        with self._db.write():
            touch_participant(self._db, address)
            self._db.execute(
                "INSERT INTO prompts_given (address, prompt, source, given_at, language) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(address, prompt) DO UPDATE SET given_at=excluded.given_at",
                (address, prompt, source, self._db.clock(), language),
            )

    def prompts_for(self, address: str) -> list[str]:
        rows = self._db.execute("SELECT prompt FROM prompts_given WHERE address=? ORDER BY given_at", (address,))
        return [row[0] for row in rows]

    def pooled_prompts(self, exclude: set[str], limit: int = 20, language: str = "en") -> list[str]:
        """Prompts OpenAI or ASI1 wrote in `language` (a response cache), the least-served first, none in `exclude`."""
        rows = self._db.execute(
            "SELECT prompt FROM prompts_given WHERE source IN ('openai', 'asi1') AND language=? "
            "GROUP BY prompt ORDER BY COUNT(*), MIN(given_at) LIMIT ?",
            (language, limit + len(exclude)),
        )
        return [row[0] for row in rows if row[0] not in exclude][:limit]

    def unused_prompt(self, address: str, language: str = "en") -> str | None:
        """The last prompt given to `address`, while they have not used it (no coupon issued to them since):
        one prompt per person until they tell a story for it. Reads `coupons` (CouponBook's) for that.
        A prompt in another language than `language` (they switched) is not repeated: they get one they read."""
        row = self._db.execute(
            "SELECT prompt, given_at, language FROM prompts_given WHERE address=? ORDER BY given_at DESC LIMIT 1",
            (address,),
        ).fetchone()
        if row is None or row[2] != language:
            return None
        used = self._db.execute(
            "SELECT 1 FROM coupons WHERE person=? AND issued_at >= ? LIMIT 1", (address, row[1])
        ).fetchone()
        return None if used else row[0]

    def last_prompt(self, address: str) -> str | None:
        prompts = self.prompts_for(address)
        return prompts[-1] if prompts else None

    # --- stories waiting for the participant's "yes" ----------------------------------------
    def hold_story(self, address: str, story: str) -> None:
        with self._db.write():
            touch_participant(self._db, address)
            self._db.execute(
                "INSERT INTO pending_stories VALUES (?, ?, ?) "
                "ON CONFLICT(address) DO UPDATE SET story=excluded.story, saved_at=excluded.saved_at",
                (address, story, self._db.clock()),
            )

    def held_story(self, address: str, max_age: float = HELD_STORY_SECONDS) -> str | None:
        row = self._db.execute("SELECT story, saved_at FROM pending_stories WHERE address=?", (address,)).fetchone()
        return row[0] if row and row[1] >= self._db.clock() - max_age else None

    def drop_held_story(self, address: str) -> None:
        self._db.execute("DELETE FROM pending_stories WHERE address=?", (address,))

    def hold_waiting_story(self, key: str, story: str) -> None:
        """A story waiting for something first (a claim code, a diet): nobody is counted as a participant by it."""
        self._db.execute(
            "INSERT INTO pending_stories VALUES (?, ?, ?) "
            "ON CONFLICT(address) DO UPDATE SET story=excluded.story, saved_at=excluded.saved_at",
            (key, story, self._db.clock()),
        )

    def hold_unclaimed_story(self, key: str, only_one_under: str | None, story: str) -> None:
        """A story waiting for a chat's claim code (roster mode), with bounded storage: expired ones are purged;
        under `only_one_under` (a sender that has bound no chat) the last one replaces the others; any other
        sender keeps at most UNCLAIMED_PER_SENDER, the newest."""
        sender_prefix = only_one_under or key.rsplit("|", 1)[0] + "|"
        keep = 0 if only_one_under else UNCLAIMED_PER_SENDER - 1
        with self._db.write():
            self._db.execute(
                "DELETE FROM pending_stories WHERE substr(address, 1, ?) = ? AND saved_at < ?",
                (len(UNCLAIMED_PREFIX), UNCLAIMED_PREFIX, self._db.clock() - HELD_STORY_SECONDS),
            )
            others = self._db.execute(
                "SELECT address FROM pending_stories WHERE substr(address, 1, ?) = ? AND address <> ? "
                "ORDER BY saved_at DESC",
                (len(sender_prefix), sender_prefix, key),
            ).fetchall()
            for (address,) in others[keep:]:
                self._db.execute("DELETE FROM pending_stories WHERE address=?", (address,))
            self._db.execute(
                "INSERT INTO pending_stories VALUES (?, ?, ?) "
                "ON CONFLICT(address) DO UPDATE SET story=excluded.story, saved_at=excluded.saved_at",
                (key, story, self._db.clock()),
            )

    def take_waiting_story(
        self, key: str, any_with_prefix: str | None, max_age: float = HELD_STORY_SECONDS
    ) -> str | None:
        """A waiting story, taken (deleted) as it is handed over: under `key`, or, when
        `any_with_prefix` is given, the one such story under that prefix (one person's other chats)."""
        with self._db.write():
            since = self._db.clock() - max_age
            row = self._db.execute(
                "SELECT address, story FROM pending_stories WHERE address=? AND saved_at >= ?", (key, since)
            ).fetchone()
            if row is None and any_with_prefix is not None:
                rows = self._db.execute(
                    "SELECT address, story FROM pending_stories WHERE address LIKE ? AND saved_at >= ? LIMIT 2",
                    (any_with_prefix.replace("%", "") + "%", since),
                ).fetchall()
                row = rows[0] if len(rows) == 1 else None
            if row is None:
                return None
            self._db.execute("DELETE FROM pending_stories WHERE address=?", (row[0],))
            return row[1]

    # --- heuristic scores waiting for ASI1 (one per person and meal) ----------------------------
    def queue_rescore(self, owner: CouponOwner | str, story: str) -> None:
        owner = owner_of(owner)
        self._db.execute(
            "INSERT INTO rescore_queue (person, meal, story, queued_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (owner.person, owner.meal, story, self._db.clock()),
        )

    def waiting_rescores(self, limit: int = 20) -> list[tuple[CouponOwner, str]]:
        """Stories waiting for ASI1 that no replica is scoring right now (claims are taken one by one)."""
        rows = self._db.execute(
            "SELECT person, meal, story FROM rescore_queue WHERE done_at IS NULL AND (claimed_until IS NULL OR "
            "claimed_until < ?) ORDER BY queued_at LIMIT ?",
            (self._db.clock(), limit),
        )
        return [(CouponOwner(row[0], row[1]), row[2]) for row in rows]

    def claim_rescore(self, owner: CouponOwner, seconds: float = RESCORE_CLAIM_SECONDS) -> bool:
        """Take a waiting story for this replica's re-scorer, or False if another one holds it.

        Only the active replica runs the re-scorer, but around a takeover (a frozen replica
        waking up) two may: without the claim both would ask ASI1 about the same story and
        could upgrade it twice. A claim nobody finished (its replica died mid-call) lapses
        after `seconds`.
        """
        now = self._db.clock()
        claimed = self._db.execute(
            "UPDATE rescore_queue SET claimed_until=? WHERE person=? AND meal=? AND done_at IS NULL "
            "AND (claimed_until IS NULL OR claimed_until < ?)",
            (now + seconds, owner.person, owner.meal, now),
        )
        return claimed.rowcount == 1

    def release_rescore(self, owner: CouponOwner) -> None:
        """Give a claimed story back (ASI1 failed again): any replica may try it next round."""
        self._db.execute(
            "UPDATE rescore_queue SET claimed_until=NULL WHERE person=? AND meal=? AND done_at IS NULL",
            (owner.person, owner.meal),
        )

    def finish_rescore(self, owner: CouponOwner, outcome: str) -> None:
        self._db.execute(
            "UPDATE rescore_queue SET done_at=?, outcome=?, story='' WHERE person=? AND meal=?",
            (self._db.clock(), outcome, owner.person, owner.meal),
        )

    # --- diets (EVENT_PLAN): asked once per person, changed at any time --------------------------
    def diet_of(self, participant: str) -> str | None:
        row = self._db.execute("SELECT diet FROM diets WHERE participant=?", (participant,)).fetchone()
        return row[0] if row else None

    def set_diet(self, participant: str, diet: str, at: float | None = None) -> None:
        """`at`: the event's clock (the plan's, compressed in rehearsals); the ledger's clock by default.

        The change is also kept in `diet_changes` with its time, so what was true at a meal's
        cut-off can still be told after a later change (ledger/vendor_numbers.py)."""
        at = self._db.clock() if at is None else at
        with self._db.write():
            self._db.execute(
                "INSERT INTO diets VALUES (?, ?, ?) ON CONFLICT(participant) DO UPDATE SET diet=excluded.diet, "
                "set_at=excluded.set_at",
                (participant, diet, at),
            )
            self._db.execute(
                "INSERT INTO diet_changes (participant, diet, set_at) VALUES (?, ?, ?) "
                "ON CONFLICT(participant, set_at) DO UPDATE SET diet=excluded.diet",
                (participant, diet, at),
            )

    # --- the language a participant is answered in (people/languages.py decides it) ---------------
    def language_of(self, participant: str) -> tuple[str, bool] | None:
        """(language, chosen with `lang CODE`), or None before anything was decided."""
        row = self._db.execute("SELECT language, chosen FROM languages WHERE participant=?", (participant,)).fetchone()
        return (row[0], bool(row[1])) if row else None

    def set_language(self, participant: str, language: str, *, chosen: bool = False) -> None:
        with self._db.write():
            self._db.execute(
                "INSERT INTO languages VALUES (?, ?, ?, ?) ON CONFLICT(participant) DO UPDATE SET "
                "language=excluded.language, chosen=excluded.chosen, set_at=excluded.set_at",
                (participant, language, int(chosen), self._db.clock()),
            )

    # --- organizer look-ups -----------------------------------------------------------------
    def find_participant(self, fragment: str) -> str | None:
        """A participant's full address from the address or its unique tail (as logs show it: …abcd1234)."""
        fragment = fragment.strip().lstrip("…").lower()
        if len(fragment) < 6 or not fragment.isalnum():
            return None
        rows = self._db.execute(
            "SELECT address FROM participants WHERE address LIKE ? LIMIT 2", (f"%{fragment}",)
        ).fetchall()
        return rows[0][0] if len(rows) == 1 else None

    def participant_facts(self, address: str) -> dict[str, Any]:
        first = self._db.execute("SELECT first_seen FROM participants WHERE address=?", (address,)).fetchone()
        prompts = self._db.execute("SELECT COUNT(*) FROM prompts_given WHERE address=?", (address,)).fetchone()[0]
        held = self._db.execute("SELECT 1 FROM pending_stories WHERE address=?", (address,)).fetchone()
        return {"first_seen": first[0] if first else None, "prompts": prompts, "story_waiting_for_yes": bool(held)}
