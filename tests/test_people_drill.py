"""The people drills keep their promises at a size fit for the suite (the documented runs are in BENCHMARKS.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pizza_agent.config.settings import PROJECT_DIR

pytestmark = pytest.mark.slow  # the drill: agent processes


def drill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), "drill", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_sybil_drill_roster_mode_gives_one_coupon_per_person_and_no_guess_succeeds():
    run = drill("--sybil", "--people", "4", "--addresses", "3", "--guessers", "6")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "| roster | 4 | 3 | 12 | 4 | 60 (0) |" in run.stdout
    assert "| address | 4 | 3 | 12 | 12 | 60 (0) |" in run.stdout  # what roster mode is for


def test_shared_sender_drill_roster_mode_serves_everyone_and_address_mode_warns_by_the_third():
    run = drill("--shared-sender", "--people", "5")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "| roster | 5 | 1 | 10 | 5 |" in run.stdout
    assert "| address | 5 | 1 | 5 | 1 | 0 (0) | by person 3 |" in run.stdout


def test_people_drill_refuses_bad_arguments():
    run = drill("--sybil", "--people", "0")
    assert run.returncode == 2 and "at least 1" in run.stderr
