"""The event plan: each kind of mistake is named in one line; a scaffolded plan is sound; the clock moves."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pizza_agent.app.cli import main as cli_main
from pizza_agent.plan.clock import EventClock
from pizza_agent.plan.model import check_plan, load_plan
from pizza_agent.plan.scaffold import scaffold

HEADER = '[event]\nname = "Example Hacks"\ntimezone = "America/Los_Angeles"\ndiets = ["regular", "vegan"]\n'
MEAL = '[[meals]]\nid = "{id}"\nname = "{id}"\nstarts = {starts}\nends = {ends}\n'


def meal(meal_id: str, starts: str, ends: str, extra: str = "") -> str:
    return MEAL.format(id=meal_id, starts=starts, ends=ends) + extra


GOOD = (
    HEADER
    + meal("dinner", "2027-02-13T18:00:00", "2027-02-13T20:00:00")
    + meal("breakfast", "2027-02-14T08:00:00", "2027-02-14T09:30:00")
)


@pytest.mark.parametrize(
    ("plan", "says"),
    [
        (
            HEADER
            + meal("a", "2027-02-13T18:00:00", "2027-02-13T20:00:00")
            + meal("b", "2027-02-13T19:30:00", "2027-02-13T21:00:00"),
            "meals 'a' and 'b' overlap",
        ),
        (HEADER + meal("a", "2027-02-13T18:00:00", "2027-02-13T17:00:00"), "meal 'a': ends (Sat 17:00) is not after"),
        (
            HEADER + meal("a", "2027-02-13T18:00:00", "2027-02-13T20:00:00", 'pool = "no-such-dir"\n'),
            "no such directory",
        ),
        (
            HEADER + meal("a", "2027-02-13T18:00:00", "2027-02-13T20:00:00", "tier_caps = { premium = -5 }\n"),
            "tier_caps.premium must be a whole number of 0 or more",
        ),
        (GOOD.replace("America/Los_Angeles", "Mars/Olympus_Mons"), "unknown time zone 'Mars/Olympus_Mons'"),
        (
            HEADER + meal("a", "2027-02-13T18:00:00", "2027-02-13T20:00:00", 'diets = ["vegan", "kosher"]\n'),
            "meal 'a': diet 'kosher' is in no list",
        ),
    ],
)
def test_each_mistake_in_a_plan_is_one_line_and_exit_2(tmp_path, capsys, plan, says):
    path = tmp_path / "event.toml"
    path.write_text(plan)
    problems = check_plan(path)
    assert len(problems) == 1 and says in problems[0], problems
    assert cli_main(["plan", "check", str(path)]) == 2
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and says in out[0]


def test_a_sound_plan_passes_with_its_meals_listed(tmp_path, capsys):
    path = tmp_path / "event.toml"
    path.write_text(GOOD)
    assert cli_main(["plan", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "sound — Example Hacks, 2 meal(s), times in America/Los_Angeles, languages from EVENT_LANGUAGES" in out
    assert "  dinner: dinner, Sat 2027-02-13 18:00–20:00" in out
    assert "WARNING meal 'breakfast': no order_cutoff" in out  # allowed, but the vendor has no final number
    plan = load_plan(path)
    at_seven = datetime(2027, 2, 13, 19, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert plan.current(at_seven).id == "dinner"
    assert plan.current(at_seven.replace(hour=21)) is None
    assert plan.next_meal(at_seven.replace(hour=21)).id == "breakfast"


def test_new_event_scaffolds_a_plan_that_plan_check_accepts(tmp_path, capsys):
    assert cli_main(["new-event", str(tmp_path / "next-hacks")]) == 0
    written = capsys.readouterr().out
    assert "wrote" in written and (tmp_path / "next-hacks" / "static_content" / "messages.toml").exists()
    assert check_plan(tmp_path / "next-hacks" / "event.toml") == []
    env = (tmp_path / "next-hacks" / ".env").read_text()
    assert f"EVENT_PLAN={tmp_path / 'next-hacks' / 'event.toml'}" in env
    assert cli_main(["new-event", str(tmp_path / "next-hacks")]) == 2  # never over an existing event


def test_scaffold_refuses_to_overwrite(tmp_path):
    scaffold(tmp_path / "e", Path("static_content"))
    with pytest.raises(FileExistsError):
        scaffold(tmp_path / "e", Path("static_content"))


def test_the_compressed_clock_runs_faster_and_a_clock_file_moves_it(tmp_path):
    zone = ZoneInfo("Europe/Berlin")
    wall = [1000.0]
    clock = EventClock.from_setting(zone, "2027-02-13T17:30:00@60", wall=lambda: wall[0])
    wall[0] += 30  # half a minute of wall time: half an hour of event time
    assert clock.now() == datetime(2027, 2, 13, 18, 0, tzinfo=zone)
    path = tmp_path / "clock"
    path.write_text("2027-02-14T08:00:00@1")
    moved = EventClock.from_setting(zone, f"file:{path}", wall=lambda: wall[0])
    assert moved.now() == datetime(2027, 2, 14, 8, 0, tzinfo=zone)
    path.write_text("2027-02-14T12:45:00@1")
    wall[0] += 5
    assert moved.now() == datetime(2027, 2, 14, 12, 45, tzinfo=zone)


# --- a plan that is hard to get wrong (issue 31) ---------------------------------------------------------
def test_a_misspelled_key_is_an_error_with_the_key_it_meant(tmp_path):
    """`order_cut_off` was silently ignored: that meal had no cut-off and nobody noticed."""
    path = tmp_path / "event.toml"
    path.write_text(
        HEADER + meal("a", "2027-02-13T18:00:00", "2027-02-13T20:00:00", "order_cut_off = 2027-02-13T16:00:00\n")
    )
    assert check_plan(path) == ["meal 'a': unknown key 'order_cut_off' (did you mean order_cutoff?)"]
    path.write_text(HEADER.replace("diets", "diet") + meal("a", "2027-02-13T18:00:00", "2027-02-13T20:00:00"))
    assert "[event]: unknown key 'diet' (did you mean diets?)" in check_plan(path)


def test_a_cutoff_after_the_meal_starts_is_refused_the_vendor_bakes_before(tmp_path, capsys):
    path = tmp_path / "event.toml"
    path.write_text(
        HEADER + meal("a", "2027-02-13T18:00:00", "2027-02-13T20:00:00", "order_cutoff = 2027-02-13T18:30:00\n")
    )
    assert cli_main(["plan", "check", str(path)]) == 2
    out = capsys.readouterr().out
    assert "order_cutoff (Sat 18:30) is after the meal starts (Sat 18:00)" in out and "sound" not in out


def test_plan_check_prints_each_meals_window_cutoff_caps_groups_pools_diets_and_roles(tmp_path, capsys):
    path = tmp_path / "event.toml"
    (tmp_path / "pools").mkdir()
    path.write_text(
        HEADER.replace('["regular", "vegan"]', '["regular", "vegan", "halal"]\ncombine_diets = true')
        + meal(
            "dinner",
            "2027-02-13T18:00:00",
            "2027-02-13T20:00:00",
            'order_cutoff = 2027-02-13T16:00:00\ntier_caps = { premium = 40 }\npool = "pools"\nroles = ["mentor"]\n'
            'groups = [ { name = "A", offset_minutes = 0 }, { name = "B", offset_minutes = 20 } ]\n',
        )
    )
    assert cli_main(["plan", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "order cut-off Sat 16:00 · caps premium 40 · groups A at 18:00, B at 18:20" in out
    assert "diets regular, vegan, halal (combinations too) · roles without a story mentor" in out
    assert f"pool {tmp_path / 'pools'}" in out and "WARNING" not in out


def test_a_role_that_is_not_one_is_refused(tmp_path):
    path = tmp_path / "event.toml"
    path.write_text(HEADER + meal("a", "2027-02-13T18:00:00", "2027-02-13T20:00:00", 'roles = ["hacker"]\n'))
    assert "roles: 'hacker' is not a role that eats without a story" in check_plan(path)[0]
