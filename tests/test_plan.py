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
    assert "sound — Example Hacks, 2 meal(s) in America/Los_Angeles" in out
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
