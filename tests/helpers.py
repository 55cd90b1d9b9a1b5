"""What several test modules share that is not a fixture: settings for the fault providers, a fake clock, the browser.

A test module imports from here (or from event_driver.py), never from another test module or from
conftest.py, which holds fixtures only (tests/test_suite_layout.py checks it).
Nothing here touches the internet: every URL points at 127.0.0.1, and the environment's real keys are
never read (settings are built from a dict).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

import pytest
from playwright.async_api import Page

from pizza_agent.config.settings import Settings, load_settings
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


# --- the browser ------------------------------------------------------------------------------------------
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:  # a missing browser fails the run: these tests are not optional
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)")
    return path


class HasDashboard(Protocol):
    base: str  # the dashboard's address, http://127.0.0.1:PORT


async def log_in(page: Page, event: HasDashboard, token: str, name: str) -> None:
    """The login form, filled in as a person does: a name and the organizer's or the vendor's token."""
    await page.goto(f"{event.base}/login")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=token]", token)
    await page.click("button[type=submit]")
