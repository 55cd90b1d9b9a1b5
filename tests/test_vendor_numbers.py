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
import csv
import io
import sqlite3
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp
from event_driver import import_roster

from pizza_agent.domain.identity import CouponOwner
from pizza_agent.ledger.codes import CODE_PATTERN, CouponSigner
from pizza_agent.ledger.coupons import Issuance
from pizza_agent.ledger.schema import migrations_for, statements
from pizza_agent.ledger.store import Ledger
from pizza_agent.rehearsal.agent_process import AgentProcess, free_port

ORGANIZER_TOKEN = "organizer-token-for-vendor-numbers-0123456789"
VENDOR_TOKEN = "vendor-token-for-vendor-numbers-abcdefghij"
STORY = (
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon. "
    "The judges were confused, but our demo ran on pepperoni power and we shipped it."
)
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
order_cutoff = 2027-02-13T18:30:00

[[meals]]
id = "sun-breakfast"
name = "Sunday breakfast"
starts = 2027-02-14T08:00:00
ends = 2027-02-14T09:30:00
order_cutoff = 2027-02-14T07:00:00
"""
DASHBOARD_START_SECONDS = 20.0


@dataclass
class Sheet:
    """One meal's order sheet as the vendor downloads it (CSV), summed over tiers per diet."""

    at_cutoff: dict[str, int] = field(default_factory=dict)
    live: dict[str, int] = field(default_factory=dict)
    forecast: dict[str, int] = field(default_factory=dict)


class Event:
    def __init__(self, agent: AgentProcess, port: int, clock: Path) -> None:
        self.agent, self.clock = agent, clock
        self.base = f"http://127.0.0.1:{port}"

    def at(self, when: str) -> None:
        """The event's clock, moved: the agent reads the file at its next look at the time."""
        self.clock.write_text(f"{when}@1")

    async def sheet(self, meal: str) -> Sheet:
        headers = {"Authorization": f"Bearer {VENDOR_TOKEN}"}
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.get(f"{self.base}/orders/{meal}.csv") as response,
        ):
            assert response.status == 200, await response.text()
            text = await response.text()
        sheet = Sheet()
        for row in csv.DictReader(io.StringIO(text)):
            if row["tier"].startswith("forecast"):
                sheet.forecast[row["diet"]] = int(row["at_cutoff"])
                continue
            sheet.live[row["diet"]] = sheet.live.get(row["diet"], 0) + int(row["live"])
            if row["at_cutoff"] != "":
                sheet.at_cutoff[row["diet"]] = sheet.at_cutoff.get(row["diet"], 0) + int(row["at_cutoff"])
        return sheet


async def start_event(tmp_path: Path, data: Path, **env: str) -> Event:
    plan, clock = tmp_path / "event.toml", tmp_path / "clock"
    plan.write_text(PLAN)
    clock.write_text("2027-02-13T17:00:00@1")
    port = free_port()
    agent = AgentProcess(
        data,
        EVENT_PLAN=str(plan),
        PLAN_CLOCK=f"file:{clock}",
        DASHBOARD_TOKEN=ORGANIZER_TOKEN,
        VENDOR_TOKEN=VENDOR_TOKEN,
        DASHBOARD_PORT=str(port),
        SENDER_RATE_LIMIT="1000",
        **env,
    )
    await agent.start()
    event = Event(agent, port, clock)
    deadline = time.monotonic() + DASHBOARD_START_SECONDS
    async with aiohttp.ClientSession() as http:  # the dashboard starts with the agent: wait for it
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{event.base}/login") as response:
                    if response.status == 200:
                        return event
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)  # polling with a deadline
    agent.stop()
    raise RuntimeError("the dashboard did not start:\n" + agent.logs())


async def test_forty_fresh_addresses_sending_only_a_diet_add_nobody_to_the_forecast(tmp_path):
    event = await start_event(tmp_path, tmp_path / "data")
    try:

        async def only_a_diet(n: int) -> str:
            async with event.agent.client(f"sybil-{n}") as sybil:
                return await sybil.ask("diet vegan")

        told = await asyncio.gather(*(only_a_diet(n) for n in range(40)))
        assert all(reply.startswith("Noted: vegan.") for reply in told)  # each one is answered and remembered

        event.at("2027-02-13T18:05:00")
        async with event.agent.client("honest-hacker") as honest:
            assert "what do you eat?" in await honest.ask("I want pizza")
            assert (await honest.ask("2")).startswith("Noted: vegetarian.")
            assert CODE_PATTERN.search(await honest.ask(STORY))

        before_cutoff = await event.sheet("sat-dinner")
        assert before_cutoff.forecast == {"regular": 0, "vegetarian": 1, "vegan": 0, "gluten-free": 0}

        event.at("2027-02-13T18:45:00")
        dinner = await event.sheet("sat-dinner")
        assert dinner.forecast == {"regular": 0, "vegetarian": 1, "vegan": 0, "gluten-free": 0}
        assert dinner.at_cutoff["vegetarian"] == 1 and dinner.at_cutoff["vegan"] == 0
        breakfast = await event.sheet("sun-breakfast")  # the dinner coupon's holder can eat breakfast too
        assert breakfast.forecast == {"regular": 0, "vegetarian": 1, "vegan": 0, "gluten-free": 0}
    finally:
        event.agent.stop()
    ledger = Ledger(tmp_path / "data" / "ledger.sqlite3")
    try:
        assert ledger.state.diet_of(ledger.coupons.all()[0].participant) == "vegetarian"
        assert len(ledger.coupons.all()) == 1
    finally:
        ledger.close()


async def test_a_diet_changed_after_the_cut_off_shows_live_and_leaves_the_cut_off_numbers_alone(tmp_path):
    data = tmp_path / "data"
    codes = import_roster(data, ["Ada", "Bo", "Cy"])
    event = await start_event(tmp_path, data, PARTICIPANTS="roster")
    try:
        event.at("2027-02-13T18:05:00")
        async with event.agent.client("ada") as ada, event.agent.client("bo") as bo:
            ada, bo = ada.chat(), bo.chat()  # one chat each: a claim code binds the chat it is sent in
            assert (await ada.ask(codes["Ada"])).startswith("Welcome, Ada!")
            assert (await ada.ask("2")).startswith("Noted: vegetarian.")
            assert CODE_PATTERN.search(await ada.ask(STORY))
            assert (await bo.ask(codes["Bo"])).startswith("Welcome, Bo!")
            assert (await bo.ask("3")).startswith("Noted: vegan.")  # an attendee: counted without a coupon yet
            async with event.agent.client("stranger") as stranger:  # not on the roster: nothing is kept
                assert "claim code" in await stranger.ask("diet vegan")

            event.at("2027-02-13T18:45:00")
            as_at_cutoff = await event.sheet("sat-dinner")
            assert as_at_cutoff.at_cutoff == {"regular": 0, "vegetarian": 1, "vegan": 0, "gluten-free": 0}
            assert as_at_cutoff.forecast == {"regular": 0, "vegetarian": 1, "vegan": 1, "gluten-free": 0}

            assert (await ada.ask("diet vegan")).startswith("Noted: vegan.")
            assert (await bo.ask("diet regular")).startswith("Noted: regular.")

        after = await event.sheet("sat-dinner")
        assert after.at_cutoff == as_at_cutoff.at_cutoff  # what the kitchen was told at 18:30
        assert after.forecast == as_at_cutoff.forecast
        assert after.live == {"regular": 0, "vegetarian": 0, "vegan": 1, "gluten-free": 0}  # the coupon followed
        breakfast = await event.sheet("sun-breakfast")  # before its cut-off: the diets as they are now
        assert breakfast.forecast == {"regular": 1, "vegetarian": 0, "vegan": 1, "gluten-free": 0}
    finally:
        event.agent.stop()


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
