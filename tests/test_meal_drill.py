"""The meals drill keeps its promises at a size fit for the suite (the documented runs are in BENCHMARKS.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pizza_agent.config.settings import PROJECT_DIR

pytestmark = pytest.mark.slow  # the drill: agent processes


def drill(*args: str) -> subprocess.CompletedProcess[str]:
    """`agent.py drill --plan drills/two-meals.toml ARGS…`, as an organizer runs it."""
    plan = str(PROJECT_DIR / "drills" / "two-meals.toml")
    command = [sys.executable, str(PROJECT_DIR / "agent.py"), "drill", "--plan", plan, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def test_two_meals_drill_one_coupon_per_meal_and_the_order_sheet_equals_what_was_issued():
    run = drill("--speed", "60", "--participants", "12")
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [
        line for line in run.stdout.splitlines() if line.startswith("| Saturday dinner") or line.startswith("| Sunday")
    ]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[2] == "12" and cells[5] == "0" and cells[7] == "equal"  # coupons, second coupons, order sheet
        assert cells[6] == "12/12 right"  # every sampled participant told when the next meal is (or the last line)


def test_a_bad_plan_stops_the_drill_in_one_line_per_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[event]\ntimezone = "Nowhere/Land"\n[[meals]]\nid = "a"\nstarts = 2027-01-01T10:00:00\n')
    run = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), "drill", "--plan", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2 and "unknown time zone 'Nowhere/Land'" in run.stderr


def test_roster_a_shared_sender_an_asi1_outage_and_a_killed_replica_together_keep_every_promise():
    """The joints at once: badges linked, four people behind one sender, stories scored during an ASI1
    outage upgraded afterwards, and the active replica killed mid-meal (a real PostgreSQL)."""
    run = drill("--participants", "12", "--roster", "--shared-sender", "4", "--asi1-outage", "--replicas", "2")
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "replica-b took over" in run.stdout
    rows = [line for line in run.stdout.splitlines() if line.startswith(("| Saturday dinner", "| Sunday"))]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        coupons, second, sheet, upgrades, not_delivered, last_code = (cells[i] for i in (2, 5, 7, 10, 11, 12))
        assert coupons == "12" and second == "0" and sheet == "equal"
        owed, heard = upgrades.replace("(", "").replace(")", "").split()
        assert int(owed) > 0 and owed == heard  # upgrades happened, and every one reached its chat
        assert not_delivered == "0" and last_code == "yes"
