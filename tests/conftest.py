"""Shared fixtures: the misbehaving providers over real HTTP, settings, a fake clock.

Nothing here touches the internet: every URL points at 127.0.0.1, and the
environment's real keys are never read (settings are built from a dict).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

# The package is installed in the test environment (`make test`: pip install -e .): no sys.path edits.
from pizza_agent.config.settings import Settings, load_settings
from pizza_agent.llm.service import LLMService
from pizza_agent.rehearsal.fault_provider import FaultProvider

# How late a timer may fire on a 2-core machine with every core busy (`make test-stress`). The tests
# that add it to a deadline rule out waits of whole seconds (a second time-out, a retry, the
# seed's 2 x 8 s), which stay far above it.
TIMER_SLACK = 0.5

OPENAI_TEST_KEY = "sk-test-openai-0123456789abcdef"
ASI1_TEST_KEY = "asi1-test-key-fedcba9876543210"


class FakeClock:
    """Monotonic time the test moves by hand (probe intervals, cool-downs)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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


def settings_for(
    openai: FaultProvider | None,
    asi1: FaultProvider | None,
    tmp_path: Path | None = None,
    **overrides: str,
) -> Settings:
    """Settings pointing both providers at local fault servers (None: no key)."""
    env = {
        "OPENAI_API_KEY": OPENAI_TEST_KEY if openai else "",
        "OPENAI_BASE_URL": openai.base_url if openai else "http://127.0.0.1:9/v1",
        "ASI1_API_KEY": ASI1_TEST_KEY if asi1 else "",
        "ASI1_BASE_URL": asi1.base_url if asi1 else "http://127.0.0.1:9/v1",
        "OPENAI_TIMEOUT": "1.0",
        "ASI1_TIMEOUT": "1.0",
        "REPLY_DEADLINE": "4.0",
        "LLM_BACKOFF_INITIAL": "0.05",
        "LLM_BACKOFF_MAX": "0.2",
    }
    if tmp_path is not None:
        env["DATA_DIR"] = str(tmp_path / "data")
    env.update(overrides)
    return load_settings(env)


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


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_target(request, tmp_path):  # type: ignore[no-untyped-def]
    """Where a ledger lives: a SQLite file, or a fresh PostgreSQL database (the ledger suite runs on both)."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    server = request.getfixturevalue("postgres_server")
    return server.database(f"ledger_{request.node.name}"[:60].lower().translate(str.maketrans("[]-.", "____")))
