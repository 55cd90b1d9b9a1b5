"""The vendor's numbers as of a moment of the event: people by diet, and a meal's coupons by tier and diet.

Read only: it owns no table. It reads `coupons` (CouponBook's), `diets` and
`diet_changes` (ConversationState's) and `attendees` (Roster's), because the
vendor's questions cut across them: how many *people* eat what, and what was
true at a meal's cut-off. Every time here is the event's clock (the plan's,
compressed in rehearsals): coupons' `event_at` and diets' `set_at` are stamped
with it, so a rehearsal's cut-off means the same as the real one.

Who counts as a person who can eat a meal (the forecast):

- an attendee on the roster (PARTICIPANTS=roster: imported, added or claimed,
  not removed): registration is what says they are at the event;
- anyone holding a coupon of any meal (not voided) issued by the moment asked
  about: in address mode a coupon is the only proof of a person the ledger has
  (it took a story), while an address that only typed `diet NAME` proves nothing:
  forty such addresses cost nothing to make.

Prompts given and stories held are left out on purpose: prompts go to anyone who
says hello, and a story held for the diet's answer has no diet yet (a story
that is scored gets a coupon).
"""

from __future__ import annotations

from collections import Counter

from pizza_agent.domain.identity import attendee_person
from pizza_agent.ledger.database import Database


class VendorNumbers:
    def __init__(self, db: Database) -> None:
        self._db = db

    def diets_as_of(self, until: float | None = None) -> dict[str, str]:
        """participant -> diet: the last one told by `until` (the event's time), or now."""
        if until is None:
            return dict(self._db.execute("SELECT participant, diet FROM diets").fetchall())
        rows = self._db.execute(
            "SELECT participant, diet FROM diet_changes WHERE set_at <= ? ORDER BY set_at", (until,)
        ).fetchall()
        return dict(rows)  # in time order: each participant's last change wins

    def people(self, until: float | None = None) -> set[str]:
        """The participants who can eat a meal, as of `until` (see the module's docstring)."""
        attendees = self._db.execute("SELECT key FROM attendees WHERE removed_at IS NULL").fetchall()
        sql, params = "SELECT person FROM coupons WHERE voided_at IS NULL", ()
        if until is not None:
            sql, params = sql + " AND COALESCE(event_at, issued_at) <= ?", (until,)
        holders = self._db.execute(sql, params).fetchall()
        return {attendee_person(row[0]) for row in attendees} | {row[0] for row in holders}

    def roles(self) -> dict[str, str]:
        """person -> role, for attendees registered as something other than an attendee (mentor, volunteer, …)."""
        rows = self._db.execute(
            "SELECT key, role FROM attendees WHERE removed_at IS NULL AND role <> 'attendee'"
        ).fetchall()
        return {attendee_person(key): role for key, role in rows}

    def role_coupons(self, meal: str) -> dict[str, int]:
        """role -> the meal's live coupons given without a story (mentors, volunteers, …)."""
        rows = self._db.execute(
            "SELECT reason, COUNT(*) FROM coupons WHERE meal=? AND score_source='role' AND voided_at IS NULL "
            "GROUP BY reason",
            (meal,),
        ).fetchall()
        return dict(rows)

    def people_by_diet(self, until: float | None = None) -> dict[str, int]:
        """diet -> people (not addresses) who had told it by `until` (now if None): the kitchen's forecast."""
        people = self.people(until)
        return dict(Counter(diet for participant, diet in self.diets_as_of(until).items() if participant in people))

    def coupons_at(self, meal: str, until: float) -> dict[str, dict[str, int]]:
        """tier -> diet -> the meal's coupons issued by `until` (voided ones left out), each with the diet
        it had at `until`: a coupon follows a later diet change (CouponBook.set_diet_of_open_coupon), so
        for a holder who changed after `until` the diet is taken from the history instead."""
        coupons = self._db.execute(
            "SELECT person, tier, diet FROM coupons WHERE meal=? AND voided_at IS NULL "
            "AND COALESCE(event_at, issued_at) <= ?",
            (meal, until),
        ).fetchall()
        changed_later = {
            row[0] for row in self._db.execute("SELECT participant FROM diet_changes WHERE set_at > ?", (until,))
        }
        then = self.diets_as_of(until) if changed_later else {}
        counts: dict[str, dict[str, int]] = {}
        for participant, tier, diet in coupons:
            if participant in changed_later:
                diet = then.get(participant, diet)
            tier_counts = counts.setdefault(tier, {})
            tier_counts[diet or "unknown"] = tier_counts.get(diet or "unknown", 0) + 1
        return counts
