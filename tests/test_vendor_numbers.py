"""The vendor's numbers are numbers of people, and the cut-off's numbers stay what they were at the cut-off.

With the real agent process, real signed envelopes and the order sheet's CSV over
real HTTP (the vendor's token); the event's clock is moved by writing a file
(PLAN_CLOCK=file:PATH). Address mode: forty fresh addresses that only type
`diet vegan` are nobody; a coupon holder is somebody, for this meal and the next.
Roster mode: an attendee who told a diet counts without a coupon; a diet changed
after the cut-off shows under "live" and leaves the at-cut-off column and the
forecast as they were. Underneath, the ledger's numbers as of a time agree on
SQLite and PostgreSQL, and diets told before the history existed are kept.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field, replace

import pytest
from event_driver import STORY, EventDriver

from pizza_agent.domain.identity import CouponOwner
from pizza_agent.ledger.codes import CODE_PATTERN, CouponSigner
from pizza_agent.ledger.coupons import Issuance
from pizza_agent.ledger.schema import migrations_for, statements
from pizza_agent.ledger.store import Ledger

PLAN = """
[event]
name = "Example Hacks 2027"
timezone = "America/Los_Angeles"
diets = ["regular", "vegetarian", "vegan", "gluten-free"]

[[meals]]
id = "sat-dinner"
name = "Saturday dinner"
starts = 2027-02-13T18:00:00
ends = 2027-02-13T20:00:00
order_cutoff = 2027-02-13T17:30:00

[[meals]]
id = "sun-breakfast"
name = "Sunday breakfast"
starts = 2027-02-14T08:00:00
ends = 2027-02-14T09:30:00
order_cutoff = 2027-02-14T07:00:00
"""
BEFORE_DINNER = "2027-02-13T17:00:00"


@dataclass
class Sheet:
    """One meal's order sheet as the vendor downloads it (CSV), summed over tiers per diet."""

    at_cutoff: dict[str, int] = field(default_factory=dict)
    live: dict[str, int] = field(default_factory=dict)
    forecast: dict[str, int] = field(default_factory=dict)
    not_said: int = 0  # people expected who have not told a diet


async def sheet_of(drv: EventDriver, meal: str) -> Sheet:
    """The meal's order sheet, as the vendor downloads it (CSV, the vendor's token), summed over tiers."""
    sheet = Sheet()
    for row in await drv.sheet(meal):
        if row["tier"] == "forecast (people by diet)" and row["diet"] == "not said":
            sheet.not_said = int(row["at_cutoff"])
            continue
        if row["tier"] == "forecast (people by diet)":
            sheet.forecast[row["diet"]] = int(row["at_cutoff"])
            continue
        if row["tier"] not in ("premium", "standard", "basic"):
            continue  # the other forecast lines, and "of which without a story" (counted under their tier)
        sheet.live[row["diet"]] = sheet.live.get(row["diet"], 0) + int(row["live"])
        if row["at_cutoff"] != "":
            sheet.at_cutoff[row["diet"]] = sheet.at_cutoff.get(row["diet"], 0) + int(row["at_cutoff"])
    return sheet


@pytest.mark.slow  # agent.py
async def test_forty_fresh_addresses_sending_only_a_diet_add_nobody_to_the_forecast(event):
    drv = await event(plan=PLAN, at=BEFORE_DINNER)
    told = await asyncio.gather(*(drv.say(f"sybil-{n}", "diet vegan") for n in range(40)))
    assert all(reply.startswith("Noted: vegan.") for reply in told)  # each one is answered and remembered
    before_cutoff = await sheet_of(drv, "sat-dinner")
    assert before_cutoff.forecast == {"regular": 0, "vegetarian": 0, "vegan": 0, "gluten-free": 0}
    assert before_cutoff.not_said == 0  # an address that typed a diet is not a person expected

    drv.at("2027-02-13T18:05:00")
    assert "what do you eat?" in await drv.say("honest-hacker", "I want pizza")
    assert (await drv.say("honest-hacker", "2")).startswith("Noted: vegetarian.")
    assert CODE_PATTERN.search(await drv.say("honest-hacker", STORY))

    drv.at("2027-02-13T18:45:00")
    dinner = await sheet_of(drv, "sat-dinner")
    assert dinner.forecast == {"regular": 0, "vegetarian": 0, "vegan": 0, "gluten-free": 0}  # as of 17:30
    assert dinner.at_cutoff["vegetarian"] == 0 and dinner.live["vegetarian"] == 1
    breakfast = await sheet_of(drv, "sun-breakfast")  # the dinner coupon's holder can eat breakfast too
    assert breakfast.forecast == {"regular": 0, "vegetarian": 1, "vegan": 0, "gluten-free": 0}
    await drv.stop()
    ledger = drv.read()
    try:
        assert ledger.state.diet_of(ledger.coupons.all()[0].participant) == "vegetarian"
        assert len(ledger.coupons.all()) == 1
    finally:
        ledger.close()


@pytest.mark.slow  # agent.py
async def test_a_diet_changed_after_the_cut_off_shows_live_and_leaves_the_cut_off_numbers_alone(event):
    drv = await event(participants=["Ada", "Bo", "Cy"], plan=PLAN, at=BEFORE_DINNER)
    # one chat each: a claim code binds the chat it is sent in, and the diet is asked then (before the cut-off)
    linked = await drv.say("ada", drv.codes["Ada"])
    assert linked.startswith("Hi Ada,") and "what do you eat?" in linked
    assert (await drv.say("ada", "2")).startswith("Noted: vegetarian.")
    assert (await drv.say("bo", drv.codes["Bo"])).startswith("Hi Bo,")
    assert (await drv.say("bo", "3")).startswith("Noted: vegan.")  # an attendee: counted without a coupon
    assert "claim code" in await drv.say("stranger", "diet vegan")  # not on the roster: nothing is kept

    drv.at("2027-02-13T18:05:00")
    assert CODE_PATTERN.search(await drv.say("ada", STORY))
    drv.at("2027-02-13T18:45:00")
    as_at_cutoff = await sheet_of(drv, "sat-dinner")
    assert as_at_cutoff.at_cutoff == {"regular": 0, "vegetarian": 0, "vegan": 0, "gluten-free": 0}
    assert as_at_cutoff.forecast == {"regular": 0, "vegetarian": 1, "vegan": 1, "gluten-free": 0}
    assert as_at_cutoff.not_said == 1  # Cy

    assert (await drv.say("ada", "diet vegan")).startswith("Noted: vegan.")
    assert (await drv.say("bo", "diet regular")).startswith("Noted: regular.")

    after = await sheet_of(drv, "sat-dinner")
    assert after.at_cutoff == as_at_cutoff.at_cutoff  # what the kitchen was told at 17:30
    assert after.forecast == as_at_cutoff.forecast and after.not_said == 1
    assert after.live == {"regular": 0, "vegetarian": 0, "vegan": 1, "gluten-free": 0}  # the coupon followed
    breakfast = await sheet_of(drv, "sun-breakfast")  # before its cut-off: the diets as they are now
    assert breakfast.forecast == {"regular": 1, "vegetarian": 0, "vegan": 1, "gluten-free": 0}


# --- the ledger underneath, on SQLite and on a real PostgreSQL ------------------------------------------
def test_people_by_diet_and_coupons_at_a_cut_off_agree_on_both_back_ends(ledger_target):
    signer = CouponSigner("a-test-coupon-secret-0123456789")
    ledger = Ledger(ledger_target)
    try:
        ledger.roster.add_many([("ada", "Ada")], lambda key, generation: f"hash-{key}-{generation}")
        ledger.state.set_diet("attendee:ada", "vegan", at=100.0)  # an attendee: a person
        ledger.state.set_diet("agent1sybil", "vegan", at=100.0)  # an address that only typed a diet: nobody
        ledger.state.set_diet("agent1sybil", "regular", at=100.0)  # twice at one instant: the last one stands
        ledger.state.set_diet("agent1eve", "vegetarian", at=100.0)
        eve = Issuance("agent1eve", "standard", 7, "asi1", "", None, "h", meal="dinner", diet="vegetarian")
        assert ledger.coupons.issue(replace(eve, event_at=150.0), signer.new_code).coupon is not None
        ledger.state.set_diet("agent1eve", "vegan", at=300.0)  # after the cut-off at 200
        assert ledger.coupons.set_diet_of_open_coupon(CouponOwner("agent1eve", "dinner"), "vegan")

        assert ledger.vendor.people_by_diet(200.0) == {"vegan": 1, "vegetarian": 1}
        assert ledger.vendor.people_by_diet() == {"vegan": 2}
        assert ledger.vendor.people_by_diet(120.0) == {"vegan": 1}  # Eve's coupon came at 150
        assert ledger.vendor.coupons_at("dinner", 200.0) == {"standard": {"vegetarian": 1}}
        assert ledger.vendor.coupons_at("dinner", 120.0) == {}
        assert ledger.coupons.orders()["dinner"] == {"standard": {"vegan": 1}}  # live: the coupon followed
    finally:
        ledger.close()


def test_diets_told_before_the_history_existed_are_its_first_entries(tmp_path):
    """Migration 14 on a ledger made by 1–13: each diet already told is kept with the time it was told."""
    path = tmp_path / "ledger.sqlite3"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)")
    for version, script in enumerate(migrations_for("sqlite")[:13], start=1):
        for statement in statements(script):
            old.execute(statement)
        old.execute("INSERT INTO schema_migrations VALUES (?, 0)", (version,))
    old.execute("INSERT INTO diets VALUES ('agent1old', 'vegan', 100.0)")
    old.commit()
    old.close()
    ledger = Ledger(path)
    try:
        assert ledger.schema_version >= 14
        assert ledger.vendor.diets_as_of(100.0) == {"agent1old": "vegan"}
        assert ledger.vendor.diets_as_of(99.0) == {}
    finally:
        ledger.close()
