"""The suite's fixtures (and the hooks that order and guard the run); nothing a test imports.

The misbehaving providers over real HTTP, a fake clock, LLM services, the session's PostgreSQL, a
ledger on both back ends, and `event`: a whole event run by the real agent (tests/event_driver.py).
What tests share that is not a fixture is in tests/helpers.py and tests/event_driver.py.
Nothing here touches the internet: every URL points at 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Literal

import pytest
from event_driver import EventDriver, StartEvent
from helpers import FakeClock

# The package is installed in the test environment (`make test`: pip install -e .): no sys.path edits.
from pizza_agent.config.settings import Settings
from pizza_agent.llm.service import LLMService
from pizza_agent.rehearsal.agent_process import provider_env
from pizza_agent.rehearsal.fault_provider import FaultProvider


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def openai_server() -> AsyncIterator[FaultProvider]:
    provider = await FaultProvider().start()
    yield provider
    await provider.stop()


@pytest.fixture
async def asi1_server() -> AsyncIterator[FaultProvider]:
    provider = await FaultProvider().start()
    yield provider
    await provider.stop()


@pytest.fixture
async def service_factory(clock: FakeClock) -> AsyncIterator[Callable[..., LLMService]]:
    """Builds services on the fake clock and closes their HTTP sessions afterwards."""
    services: list[LLMService] = []

    def build(settings: Settings) -> LLMService:
        service = LLMService(settings, clock=clock, rng=random.Random(7))
        services.append(service)
        return service

    yield build
    for service in services:
        await service.aclose()


# The longest tests (`make test-durations`), started first so that no worker is left running one of them
# alone at the end of a parallel run (pytest-xdist hands tests out in collection order). Only the order
# changes: a test missing from this list runs as before.
LONGEST_FIRST = (
    "test_drill.py::test_the_failover_drill",
    "test_drill.py::test_the_drill_runs_through_the_agentverse_mailbox",
    "test_drill.py::test_ci_drill",
    "test_install.py::",
    "test_flood.py::",
    "test_roster_e2e.py::test_people_not_addresses",
    "test_agentverse.py::test_a_mailbox_outage",
    "test_replicas.py::test_with_the_database_down",
    "test_meals_e2e.py::test_two_meals_in_sequence",
    "test_people_drill.py::",
    "test_meal_drill.py::",
)


def _longest_first(item: pytest.Item) -> int:
    node = item.nodeid.rsplit("/", 1)[-1]
    return next((i for i, prefix in enumerate(LONGEST_FIRST) if node.startswith(prefix)), len(LONGEST_FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=_longest_first)  # stable: everything else keeps its collection order


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """Each phase's report on the test item (`item.rep_call`): the browser tests screenshot on failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def postgres_server():  # type: ignore[no-untyped-def]
    """One real PostgreSQL for the whole run (Debian's package; `make test` installs it)."""
    from pizza_agent.rehearsal.postgres_server import TemporaryPostgres

    server = TemporaryPostgres().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def ledger_target(request, tmp_path):  # type: ignore[no-untyped-def]
    """Where a ledger lives: a SQLite file, or a fresh PostgreSQL database (the ledger suite runs on both)."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    server = request.getfixturevalue("postgres_server")
    return server.database(f"ledger_{request.node.name}"[:60].lower().translate(str.maketrans("[]-.", "____")))


@pytest.fixture
async def event(tmp_path, asi1_server, request) -> AsyncIterator[StartEvent]:  # type: ignore[no-untyped-def]
    """Starts an event the way an organizer runs one, stopped when the test ends (tests/event_driver.py):

        drv = await event(participants=["Ada Lovelace"], plan=TWO_MEALS, ledger="postgres", keys="asi1")

    `participants`: a roster imported before the start, their badges' codes in `drv.codes` (None: anyone
    may ask, PARTICIPANTS=address); `plan`: the event plan's TOML (None: no plan), its clock at `at`
    (TWO_MEALS' lunch unless given; `drv.at` moves it); `ledger`: "sqlite" (a file in the data folder) or
    "postgres" (a database of its own on the session's PostgreSQL); `keys`: "keyless" (the local rules and
    heuristic) or "asi1" (the `asi1_server` fault provider, which the test requests too to set its faults);
    `data`: the data folder (tmp_path/"data" for the first event of a test); `env`: any other setting.
    """
    started: list[EventDriver] = []

    async def start(
        *,
        participants: list[str] | Path | None = None,
        plan: str | None = None,
        ledger: Literal["sqlite", "postgres"] = "sqlite",
        keys: Literal["keyless", "asi1"] = "keyless",
        at: str | None = None,
        data: Path | None = None,
        **env: str,
    ) -> EventDriver:
        n = len(started)
        data = data or (tmp_path / "data" if n == 0 else tmp_path / f"event-{n}" / "data")
        if keys == "asi1":
            env = {**provider_env(None, asi1_server.base_url), **env}
        elif keys != "keyless":
            raise ValueError(f"keys: keyless or asi1, not {keys!r}")
        if ledger == "postgres":
            server = request.getfixturevalue("postgres_server")
            unique = hashlib.sha1(f"{request.node.nodeid}#{n}".encode()).hexdigest()[:16]
            env = {
                "LEDGER_URL": server.database(f"event_{unique}"),
                # a ledger replicas may share: the secrets are settings, never generated in the data folder
                "COUPON_SECRET": f"event-coupon-secret-{unique}",
                "AGENT_SEED": f"event-agent-seed-{unique}",
                **env,
            }
        elif ledger != "sqlite":
            raise ValueError(f"ledger: sqlite or postgres, not {ledger!r}")
        drv = await EventDriver.start(data, plan=plan, roster=participants, at=at, **env)
        drv.asi1 = asi1_server if keys == "asi1" else None
        started.append(drv)
        return drv

    yield start
    for drv in reversed(started):
        await drv.stop()


# --- the fast subset stays in process ---------------------------------------------------------------------
# `make test-fast` runs the tests not marked `slow`. One of them that starts an agent process (agent.py),
# Chromium (Playwright) or PostgreSQL fails at that moment, naming the marker it needs.
HEAVY = ("agent.py", "playwright", "chromium", "initdb", "pg_ctl", "bin/postgres")
_fast_test_running: list[str] = []  # the node id of the unmarked test running now, if any


def _refuse_heavy_processes_in_fast_tests(event_name: str, args: tuple[object, ...]) -> None:
    if event_name != "subprocess.Popen" or not _fast_test_running:
        return
    executable, command = args[0], args[1]
    words = command if isinstance(command, list | tuple) else [command]
    text = " ".join(str(word) for word in (executable, *words))
    if any(heavy in text for heavy in HEAVY):
        raise RuntimeError(
            f"{_fast_test_running[0]} starts {text[:120]!r}: mark it `pytest.mark.slow` "
            "(a test that starts an agent process, Chromium or PostgreSQL is not in `make test-fast`)"
        )


sys.addaudithook(_refuse_heavy_processes_in_fast_tests)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    fast = item.get_closest_marker("slow") is None
    if fast:
        _fast_test_running.append(item.nodeid)
    try:
        return (yield)
    finally:
        if fast:
            _fast_test_running.clear()
