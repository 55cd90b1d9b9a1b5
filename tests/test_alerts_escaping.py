"""Organizer alerts carry attendee-chosen text as text, and no kind of alert can be turned into a flood.

A registration name is whatever the attendee typed (`@everyone`, `<!channel>`, a role mention, a
masked link). Discord gets it with mentions and markdown neutralised and `allowed_mentions` empty;
Slack with `&`, `<` and `>` escaped (Slack's own rule); a JSON webhook gets it raw, as data. A
claim code presented from 30 throw-away addresses gives a few alerts and one "… and N more".
The last test runs the real agent in roster mode with a Discord-format webhook on loopback.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from event_driver import import_roster

from pizza_agent.event.alerts import ALERTS_PER_WINDOW, Alerts, payload
from pizza_agent.rehearsal.agent_process import AgentProcess

# Discord's markdown (simple-markdown's escape rule): a backslash before any ASCII punctuation shows
# that character as it is. What an organizer reads is the content with that rule applied.
_DISCORD_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")
ZWSP = "\u200b"

HOSTILE_NAMES = {
    "@everyone": ("@\u200beveryone", "@everyone"),
    "@here": ("@\u200bhere", "@here"),
    "<!channel>": ("\\<!channel\\>", "&lt;!channel&gt;"),
    "<@&123>": ("\\<@\u200b&123\\>", "&lt;@&amp;123&gt;"),
    "<@U024BE7LH>": ("\\<@\u200bU024BE7LH\\>", "&lt;@U024BE7LH&gt;"),
    "[link](https://x.example)": ("\\[link\\]\\(https://x.example\\)", "[link](https://x.example)"),
    "**bold** __under__ ~~gone~~ ||spoiler|| `code`": (
        "\\*\\*bold\\*\\* \\_\\_under\\_\\_ \\~\\~gone\\~\\~ \\|\\|spoiler\\|\\| \\`code\\`",
        "**bold** __under__ ~~gone~~ ||spoiler|| `code`",
    ),
    "Tom & Jerry > Bugs": ("Tom & Jerry \\> Bugs", "Tom &amp; Jerry &gt; Bugs"),
    "back\\slash": ("back\\\\slash", "back\\slash"),
}


def read_on_discord(content: str) -> str:
    return _DISCORD_ESCAPE.sub(r"\1", content)


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_an_attendee_chosen_name_reaches_discord_and_slack_neutralised_and_json_raw(name):
    discord_name, slack_name = HOSTILE_NAMES[name]
    text = f"the badge code of {name} was presented from another address"
    discord = payload("claim_elsewhere", text, "Hacks", "discord")
    assert discord["content"] == f"🍕 Hacks: the badge code of {discord_name} was presented from another address"
    assert discord["allowed_mentions"] == {"parse": []}
    assert read_on_discord(discord["content"]).replace(ZWSP, "") == f"🍕 Hacks: {text}"  # reads as written
    slack = payload("claim_elsewhere", text, "Hacks", "slack")
    assert slack == {"text": f"🍕 Hacks: the badge code of {slack_name} was presented from another address"}
    assert payload("claim_elsewhere", text, "Hacks", "json")["text"] == text  # a machine reads it: data


def test_our_own_text_still_reads_well_on_discord():
    text = "the badge code of Ada L. (attendee id_7) was presented from another address (…12345678): `lookup id_7`"
    content = payload("claim_elsewhere", text, "Example Hacks", "discord")["content"]
    assert read_on_discord(content) == f"🍕 Example Hacks: {text}"


def test_a_line_break_in_a_name_cannot_start_a_heading_or_a_quote_on_discord():
    content = payload("claim_elsewhere", "name Eve\n# HEADING\n> quote\r\n-# small", "Hacks", "discord")["content"]
    assert "\n" not in content and "\r" not in content
    assert read_on_discord(content) == "🍕 Hacks: name Eve # HEADING > quote -# small"


def test_a_long_hostile_alert_stays_within_discords_2000_characters():
    content = payload("shared_sender", "*_`<>@" * 2000, "Hacks", "discord")["content"]
    assert len(content) <= 2000 and not re.search(r"(?<!\\)(\\\\)*\\$", content)  # never a dangling backslash


class Hook:
    """A webhook on loopback recording what it is sent."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.runner: web.AppRunner | None = None

    async def _take(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        return web.Response(status=204)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._take)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"

    async def wait_until(self, condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, self.received
            await asyncio.sleep(0.02)


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    receiver = Hook()
    yield receiver
    if receiver.runner is not None:
        await receiver.runner.cleanup()


MORE = re.compile(r"… and (\d+) more in the last (\d+) (min|s)\b")


def accounted(alerts: list[dict], field: str = "text") -> int:
    """Each alert stands for itself and the N more it summarises."""
    return sum(1 + int(m.group(1)) if (m := MORE.search(a[field])) else 1 for a in alerts)


async def test_thirty_alerts_of_one_kind_send_a_few_and_then_one_summary(hook, clock):
    alerts = Alerts(await hook.start(), event="Hacks", every_minutes=10, clock=clock)
    async with asynccontextmanager(alerts.run)():
        for n in range(30):
            alerts.send("claim_elsewhere", f"the badge code of Person{n} was presented from another address")
        await hook.wait_until(lambda: len(hook.received) == ALERTS_PER_WINDOW)
        assert alerts.status()["held_back"] == 30 - ALERTS_PER_WINDOW
        clock.advance(9 * 60)
        alerts.flush()  # the poster calls it every few seconds: still inside the 10 minutes
        clock.advance(60)
        alerts.flush()
        await hook.wait_until(lambda: len(hook.received) == ALERTS_PER_WINDOW + 1)
    summary = hook.received[-1]["text"]
    assert summary.startswith("the badge code of Person29 ")
    assert summary.endswith(f"… and {30 - ALERTS_PER_WINDOW - 1} more in the last 10 min")
    assert accounted(hook.received) == 30
    assert alerts.status()["held_back"] == 30 - ALERTS_PER_WINDOW


async def test_the_next_alert_of_a_kind_carries_what_was_held_back(hook, clock):
    alerts = Alerts(await hook.start(), event="Hacks", every_minutes=10, clock=clock)
    async with asynccontextmanager(alerts.run)():
        for n in range(ALERTS_PER_WINDOW + 5):
            alerts.send("paused", f"paused {n}")
        clock.advance(10 * 60)
        alerts.send("paused", "paused again")
        await hook.wait_until(lambda: len(hook.received) == ALERTS_PER_WINDOW + 1)
    assert hook.received[-1]["text"] == "paused again … and 5 more in the last 10 min"


async def test_repeating_kinds_stay_at_once_per_alert_every_minutes_and_say_how_many_were_held(hook, clock):
    alerts = Alerts(await hook.start(), event="Hacks", every_minutes=5, clock=clock)
    async with asynccontextmanager(alerts.run)():
        for n in range(1, 8):
            alerts.send("review_waiting", f"{n} stories for the judges")
            clock.advance(30)
        clock.advance(5 * 60)
        alerts.flush()
        await hook.wait_until(lambda: len(hook.received) == 2)
    assert [a["text"] for a in hook.received] == [
        "1 stories for the judges",
        "7 stories for the judges … and 5 more in the last 8 min",
    ]


def test_a_kind_may_send_a_few_per_window_and_other_kinds_are_not_held_up(clock):
    alerts = Alerts("http://127.0.0.1:9/hook", every_minutes=10, clock=clock)
    for _ in range(10):
        alerts.send("claim_elsewhere", "stolen")
    alerts.send("paused", "paused by …12345678")
    assert alerts.status()["waiting"] == ALERTS_PER_WINDOW + 1
    assert alerts.status()["held_back"] == 10 - ALERTS_PER_WINDOW


STOLEN_FROM = 30


@pytest.mark.slow  # agent.py
async def test_hostile_roster_names_reach_discord_neutralised_and_a_stolen_code_alerts_a_bounded_number(tmp_path, hook):
    """Roster mode, the real agent, ALERT_FORMAT=discord to a loopback webhook."""
    window_seconds = 9.0
    data = tmp_path / "data"
    names = ["@everyone", "<@&123>", "[link](https://x.example)"]
    codes = import_roster(data, names)
    agent = await AgentProcess(
        data,
        PARTICIPANTS="roster",
        SENDER_RATE_LIMIT="1000",
        ALERT_WEBHOOK_URL=await hook.start(),
        ALERT_FORMAT="discord",
        ALERT_EVERY_MINUTES=str(window_seconds / 60),
    ).start()

    def stolen() -> list[dict]:
        return [a for a in hook.received if "another address" in a["content"]]

    try:
        for name in names:  # each badge claimed by its owner, then presented once from another address
            async with agent.client(f"owner-{name}") as owner:
                assert (await owner.ask(codes[name])).startswith("Hi ")
            async with agent.client(f"thief-{name}") as thief:
                assert "already linked to another chat" in await thief.ask(codes[name])
        await hook.wait_until(lambda: len(stolen()) == len(names))
        first_three = [read_on_discord(a["content"]).replace(ZWSP, "") for a in stolen()]
        for alert in stolen():
            assert alert["allowed_mentions"] == {"parse": []}
            assert "@everyone" not in alert["content"] and "<@&" not in alert["content"]
            assert "[link](" not in alert["content"]
        assert all(any(f"of {name} " in line for line in first_three) for name in names)

        started = time.monotonic()

        async def throw_away(n: int) -> str:
            async with agent.client(f"throw-away-{n}") as client:
                return await client.ask(codes["@everyone"], timeout=30)

        answers = await asyncio.gather(*(throw_away(n) for n in range(STOLEN_FROM)))
        elapsed = time.monotonic() - started
        assert all("already linked to another chat" in a for a in answers)
        total = len(names) + STOLEN_FROM
        await hook.wait_until(lambda: accounted(stolen(), "content") == total, timeout=window_seconds * 3 + 10)
    finally:
        agent.stop()
    windows = int(elapsed // window_seconds) + 2  # the windows the presentations spanned, and the summary's
    assert len(stolen()) <= windows * (ALERTS_PER_WINDOW + 1) < total, [a["content"] for a in stolen()]
    assert any(MORE.search(a["content"]) for a in stolen())
    assert all(a["allowed_mentions"] == {"parse": []} for a in hook.received)
    assert not any("@everyone" in a["content"] for a in hook.received)
