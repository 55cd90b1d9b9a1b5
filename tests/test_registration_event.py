"""An event set up from a registration export, the way an organizer of a five-meal hackathon does it.

A Luma-shaped export (and an Eventbrite-shaped one) imported by the real command line: the
diets people gave at registration mapped onto the plan's, declined, waitlisted and unapproved
guests left out, one person registered twice reported; then the real agent: the order sheet
before the first cut-off, the diet asked right after the badge is linked (never with a prompt),
a diet a meal does not offer told with that meal's coupon, a mentor fed without a story, and
`check` naming an empty roster and a moved clock. The exports in tests/data/ are written for
this project.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from event_driver import VENDOR_TOKEN, code_in

from pizza_agent.config.secret_files import read_secret
from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.people.claim_codes import ClaimCodes
from pizza_agent.rehearsal.agent_process import base_env

pytestmark = pytest.mark.slow  # the agent process, agent.py

DATA = Path(__file__).parent / "data"
PLAN = """
[event]
name = "Registration Hacks"
timezone = "America/New_York"
diets = ["regular", "vegetarian", "vegan", "gluten-free", "halal"]
combine_diets = true

[[meals]]
id = "lunch"
name = "Saturday lunch"
starts = 2027-03-06T12:00:00
ends = 2027-03-06T14:00:00
order_cutoff = 2027-03-06T10:00:00
roles = ["mentor", "volunteer"]

[[meals]]
id = "snack"
name = "Midnight snack"
starts = 2027-03-06T23:30:00
ends = 2027-03-07T00:30:00
order_cutoff = 2027-03-06T21:00:00
diets = ["regular", "vegetarian", "vegan"]
"""
BEFORE_CUTOFF, LUNCH = "2027-03-06T09:00:00", "2027-03-06T12:05:00"
STORY = (
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon. "
    "The judges were confused, but our demo ran on pepperoni power and we shipped it."
)


def prompt_in(reply: str) -> str:
    return reply.split("story prompt:", 1)[1].split("Reply with", 1)[0].strip()


def forecast_of(sheet_csv: str) -> dict[tuple[str, str], int]:
    """(kind, name) -> people, from the order sheet's forecast rows."""
    rows = csv.DictReader(io.StringIO(sheet_csv))
    return {(r["tier"], r["diet"]): int(r["at_cutoff"]) for r in rows if r["tier"].startswith("forecast")}


async def test_a_luma_export_gives_the_vendor_a_forecast_before_the_first_cutoff(event):
    drv = await event(participants=DATA / "luma_export.csv", plan=PLAN, at=BEFORE_CUTOFF)
    report = drv.import_report
    assert "imported 17 new attendee(s)" in report
    for status in ("declined", "waitlist", "pending approval"):
        assert f"skipped 1 row(s) with status '{status}'" in report
    assert "possible duplicate: line 2 and line 17 are both 'Ada Lovelace'" in report
    # A diet the plan does not list is kept as said: the order sheet shows it as not offered, not as "not said".
    assert "line 16: diet 'pescatarian' -> pescatarian (not offered by the plan: pescatarian: kept as said" in report
    assert "diets: 15 set from the registration, 0 already on record (kept), 0 not mapped, 2 not said" in report
    assert "roles: 15 attendee, 2 mentor" in report
    assert "李雷" in drv.codes  # family name first, as the registration wrote it, no initial

    forecast = forecast_of(await drv.api("/orders/lunch.csv", token=VENDOR_TOKEN))
    by_diet = {name: n for (kind, name), n in forecast.items() if kind == "forecast (people by diet)"}
    assert by_diet == {
        "regular": 3,
        "vegetarian": 5,
        "vegan": 2,
        "gluten-free": 2,
        "halal": 1,
        "halal+gluten-free": 1,
        "not said": 2,
    }
    assert forecast[("forecast: diet not offered at this meal", "pescatarian")] == 1
    said = sum(n for name, n in by_diet.items() if name != "not said")
    assert said / 17 >= 0.75  # before any coupon: the kitchen knows most of the room
    assert forecast[("forecast: of which without a story", "mentor")] == 2
    # The snack offers fewer kinds: those people are named for the organizer to act on.
    snack = forecast_of(await drv.api("/orders/snack.csv", token=VENDOR_TOKEN))
    not_offered = {name: n for (kind, name), n in snack.items() if kind.startswith("forecast: diet not offered")}
    assert not_offered == {"gluten-free": 2, "halal": 1, "halal+gluten-free": 1, "pescatarian": 1}


async def test_an_eventbrite_export_skips_who_is_not_attending_and_maps_the_diets(event):
    drv = await event(participants=DATA / "eventbrite_export.csv", plan=PLAN, at=BEFORE_CUTOFF)
    report = drv.import_report
    assert "imported 5 new attendee(s)" in report and "id='Attendee #'" in report
    assert "skipped 1 row(s) with status 'not attending'" in report
    assert "possible duplicate: line 2 and line 7 are both 'Sophie Wilson'" in report
    assert "roles: 4 attendee, 1 volunteer" in report
    with closing(drv.read()) as ledger:
        diets = {a.display_name: ledger.state.diet_of(a.participant) for a in ledger.roster.everyone()}
    assert diets["Mary C."] == "gluten-free" and diets["Joan C."] == "vegan" and diets["Steve F."] is None


async def test_the_diet_is_asked_when_the_badge_is_linked_and_one_on_record_is_told(event):
    drv = await event(participants=DATA / "luma_export.csv", plan=PLAN, at=BEFORE_CUTOFF)
    # Linked before the meal, with no diet on record: asked now, so the forecast counts them.
    linked = await drv.say("linus", drv.codes["Linus T."])
    assert linked.startswith("Hi Linus T.,") and "what do you eat?" in linked
    assert "The next meal is Saturday lunch" in linked and "story prompt" not in linked
    assert (await drv.say("linus", "3")).startswith("Noted: vegan.")
    forecast = forecast_of(await drv.api("/orders/lunch.csv", token=VENDOR_TOKEN))
    assert (
        forecast[("forecast (people by diet)", "vegan")] == 3
        and forecast[("forecast (people by diet)", "not said")] == 1
    )
    # A diet given at registration is told back, with how to change it; at lunch the prompt comes alone.
    drv.at(LUNCH)
    margaret = await drv.say("margaret", drv.codes["Margaret H."])
    assert "Your diet on record: vegetarian. To change it, send for example `diet vegan`." in margaret
    assert "what do you eat?" not in margaret and "story prompt" in margaret
    again = await drv.say("margaret", "I want pizza")
    assert prompt_in(again) == prompt_in(margaret)  # the same prompt until it is used


async def test_a_diet_this_meal_does_not_offer_is_told_with_its_coupon(event):
    drv = await event(participants=DATA / "luma_export.csv", plan=PLAN, at="2027-03-06T23:35:00")
    await drv.say("dennis", drv.codes["Dennis R."])  # halal, at a snack of regular, vegetarian and vegan
    reply = await drv.say("dennis", STORY)
    assert code_in(reply) is not None
    assert "Midnight snack has no halal option (it offers regular, vegetarian, vegan)" in reply


async def test_a_mentor_eats_without_a_story_and_counts_on_a_line_of_their_own(event):
    drv = await event(participants=DATA / "luma_export.csv", plan=PLAN, at=LUNCH)
    linked = await drv.say("frances", drv.codes["Frances A."])
    code = code_in(linked)
    assert code is not None and "no story needed" in linked  # a mentor: the coupon at once
    assert drv.coupon_of("Frances A.", "lunch").score_source == "role"
    assert code in await drv.say("frances", "I want pizza")  # asked again: the same coupon
    rows = list(csv.DictReader(io.StringIO(await drv.api("/orders/lunch.csv", token=VENDOR_TOKEN))))
    assert {(r["tier"], r["diet"], r["live"]) for r in rows if r["tier"] == "of which without a story"} == {
        ("of which without a story", "mentor", "1")
    }
    live = sum(int(r["live"]) for r in rows if r["tier"] in ("premium", "standard", "basic") and r["live"])
    assert live == 1  # the mentor's coupon is counted once, under its tier
    # A participant is still asked for a story.
    await drv.say("grace", drv.codes["Grace H."])
    assert "story prompt" in await drv.say("grace", "I want pizza")


def check(env: dict[str, str], data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), "check"],
        env=base_env(data, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_names_an_empty_roster_and_a_moved_clock(tmp_path):
    plan = tmp_path / "event.toml"
    plan.write_text(PLAN)
    empty = check({"PARTICIPANTS": "roster", "EVENT_PLAN": str(plan)}, tmp_path / "data")
    assert empty.returncode == 2
    assert "FAIL  participants: roster mode with 0 attendees on the roster" in empty.stdout
    moved = check(
        {"PARTICIPANTS": "address", "EVENT_PLAN": str(plan), "PLAN_CLOCK": "2027-03-06T09:00:00@60"},
        tmp_path / "data",
    )
    assert "warn  event clock: the event's clock is moved (PLAN_CLOCK=2027-03-06T09:00:00@60)" in moved.stdout
    assert "ok    meals: next Saturday lunch at Sat 12:00" in moved.stdout
    assert "participants: address mode" in moved.stdout and moved.returncode == 1


def roster(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), "roster", *args],
        env=base_env(data, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_one_person_registered_twice_is_merged_into_one_with_one_coupon(event):
    drv = await event(participants=DATA / "luma_export.csv", plan=PLAN, at=LUNCH)
    data = drv.agent.data_dir
    claim = ClaimCodes.from_signer(CouponSigner(read_secret(data / "coupon_secret") or ""))
    with closing(drv.read()) as ledger:
        keep, drop = (a for a in ledger.roster.everyone() if a.display_name == "Ada L.")
    await drv.say("ada-phone", claim.code_for(keep.key, keep.generation))
    first = await drv.get_coupon("ada-phone", STORY)
    await drv.say("ada-laptop", claim.code_for(drop.key, drop.generation))
    second = await drv.get_coupon("ada-laptop", STORY)
    assert first and second and first != second  # one person, two registrations, two lunches
    merged = roster(data, "merge", keep.key, drop.key)
    assert merged.returncode == 0, merged.stderr
    assert "0 coupon(s) moved, 1 voided" in merged.stdout
    assert (await drv.table(second))["state"] == "voided" and (await drv.table(first))["state"] == "valid"
    refused = await drv.say("ada-tablet", claim.code_for(drop.key, drop.generation))
    assert refused == "That badge is no longer on this event's list. Please see an organizer at the desk."
    listed = [line for line in roster(data, "list").stdout.splitlines() if "Ada L." in line]
    kept = [line for line in listed if "removed" not in line]
    assert len(listed) == 2 and len(kept) == 1 and "coupon for lunch" in kept[0]


async def test_a_story_sent_before_the_badge_between_meals_is_said_not_kept(event):
    """Hours before the meal, a story waiting for the claim code is not promised to a half-hour hold."""
    drv = await event(participants=DATA / "luma_export.csv", plan=PLAN, at=BEFORE_CUTOFF)
    assert "it's saved" in await drv.say("alan", STORY)
    linked = await drv.say("alan", drv.codes["Alan T."])
    assert "your story was not kept: send it again when the next meal opens" in linked
    assert "reply yes" not in linked and "The next meal is Saturday lunch" in linked


def test_check_warns_when_a_roster_is_imported_but_the_agent_gives_one_coupon_per_address(tmp_path):
    plan = tmp_path / "event.toml"
    plan.write_text(PLAN)
    env = {"PARTICIPANTS": "address", "EVENT_PLAN": str(plan)}
    assert roster(tmp_path / "data", "import", str(DATA / "luma_export.csv"), **env).returncode == 0
    checked = check(env, tmp_path / "data")
    assert "warn  participants: address mode (one coupon per sender address), but 17 attendee(s)" in checked.stdout
