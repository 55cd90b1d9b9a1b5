"""Two meals with the real agent, its dashboard and the food table in Chromium; the event's clock moved by a file.

One participant: dinner (the diet asked once, a coupon), a message between meals (the
next meal named, nothing scored), breakfast (a second coupon, no question); at
breakfast's table the dinner coupon is refused naming its meal and the breakfast one
shows its diet; the dinner order sheet after its cut-off counts exactly what was issued.
"""

from __future__ import annotations

from contextlib import closing
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from event_driver import ORGANIZER_TOKEN, STORY, VENDOR_TOKEN
from helpers import chromium_path, log_in
from playwright.async_api import async_playwright, expect
from uagents_core.contrib.protocols.chat import MetadataContent

from pizza_agent.ledger.codes import CODE_PATTERN

pytestmark = pytest.mark.slow  # the agent process, Chromium

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
order_cutoff = 2027-02-13T16:00:00

[[meals]]
id = "sun-breakfast"
name = "Sunday breakfast"
starts = 2027-02-14T08:00:00
ends = 2027-02-14T09:30:00
order_cutoff = 2027-02-13T22:00:00
"""


async def test_two_meals_in_sequence_with_the_real_agent_and_the_table(event):
    drv = await event(plan=PLAN, at="2027-02-13T18:05:00")
    try:
        # the hacker speaks in one chat: where the code is repeated
        asked = await drv.reply("two-meal-hacker", "I want pizza")
        first = asked.text()
        assert first.startswith("Saturday dinner is being served until 20:00.") and "what do you eat?" in first
        [card] = [part for part in asked.content if isinstance(part, MetadataContent)]  # the same, as a form
        assert card.metadata["card_kind"] == "form" and "vegetarian" in card.metadata["card_payload"]
        noted = await drv.say("two-meal-hacker", "2")
        assert noted.startswith("Noted: vegetarian.") and "story prompt" in noted
        dinner = await drv.say("two-meal-hacker", STORY)
        dinner_code = CODE_PATTERN.search(dinner).group(0)
        assert "This coupon is for Saturday dinner." in dinner
        assert "already have your pizza coupon" in await drv.say("two-meal-hacker", STORY)  # one per meal

        await drv.say("late-hacker", "diet vegan")
        drv.at("2027-02-13T18:45:00")  # after the cut-off: one more coupon, counted live only
        assert CODE_PATTERN.search(await drv.say("late-hacker", STORY))

        drv.at("2027-02-13T22:00:00")
        between = await drv.say("two-meal-hacker", STORY)
        assert between.startswith("No pizza is being served right now. The next meal is Sunday breakfast")
        assert "Your coupon for Saturday dinner was for a past meal." in between

        drv.at("2027-02-14T08:10:00")
        breakfast = await drv.say("two-meal-hacker", STORY)
        breakfast_code = CODE_PATTERN.search(breakfast).group(0)
        assert breakfast_code != dinner_code and "what do you eat" not in breakfast
        assert "This coupon is for Sunday breakfast." in breakfast

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
            try:
                table = await browser.new_page()
                await log_in(table, drv, VENDOR_TOKEN, "Breakfast table")
                await expect(table).to_have_url(f"{drv.base}/table")
                # The table names the meal it serves before the first scan, in the event's time zone.
                await expect(table.locator("#serving")).to_have_text(
                    "Serving: Sunday breakfast, Sun 08:00–09:30 · times in America/Los_Angeles"
                )
                await table.fill("#code", dinner_code)
                await table.press("#code", "Enter")
                await expect(table.locator("#result")).to_have_class("result-screen red")
                await expect(table.locator("#headline")).to_have_text(
                    "WRONG MEAL: this coupon is for Saturday dinner; now serving Sunday breakfast"
                )
                await table.click("#next")
                await table.fill("#code", breakfast_code)
                await table.press("#code", "Enter")
                await expect(table.locator("#diet")).to_have_text("diet: vegetarian")
                await table.click("#redeem")
                await expect(table.locator("#headline")).to_contain_text("REDEEMED ✓")
                await table.click("#next")
                await table.fill("#code", breakfast_code)
                await table.press("#code", "Enter")
                with closing(drv.read()) as ledger:
                    redeemed_at = ledger.coupons.find(breakfast_code).redeemed_at
                la = datetime.fromtimestamp(redeemed_at, ZoneInfo("America/Los_Angeles"))
                await expect(table.locator("#headline")).to_have_text(
                    f"ALREADY REDEEMED at {la:%H:%M}"
                )  # the event's zone
                await table.goto(f"{drv.base}/orders/sun-breakfast")  # the vendor's token opens the order sheets
                await expect(table.locator("h1")).to_have_text("Order sheet: Sunday breakfast")

                sheet = await browser.new_page()
                await log_in(sheet, drv, ORGANIZER_TOKEN, "Sam")
                await sheet.goto(f"{drv.base}/orders/sat-dinner")
                await expect(sheet.locator("h1")).to_have_text("Order sheet: Saturday dinner")
                tier = dinner_code.split("-")[0].lower()
                row = sheet.locator(f'#orders tr[data-tier="{tier}"][data-diet="vegetarian"]')
                await expect(row.locator(".at-cutoff")).to_have_text("0")  # cut-off 16:00, before any coupon
                await expect(row.locator(".live")).to_have_text("1")
                await expect(sheet.locator("#total-at-cutoff")).to_have_text("0")
                await expect(sheet.locator("#total-live")).to_have_text("2")  # and the late vegan one
                # people, as of the cut-off (16:00): in address mode nobody had proved they were a person yet
                await expect(sheet.locator('#forecast tr[data-forecast="vegetarian"] td').nth(1)).to_have_text("0")
                # breakfast's cut-off (Sat 22:00) counts both: they ate dinner, each with the diet they told
                await sheet.goto(f"{drv.base}/orders/sun-breakfast")
                await expect(sheet.locator('#forecast tr[data-forecast="vegetarian"] td').nth(1)).to_have_text("1")
                await expect(sheet.locator('#forecast tr[data-forecast="vegan"] td').nth(1)).to_have_text("1")
                await sheet.goto(f"{drv.base}/")  # the dashboard: the plan and the vendor's counts
                await expect(sheet.locator("#plan-now")).to_have_text("now: Sunday breakfast")
                dinner_rows = sheet.locator('#orders tr[data-meal="sat-dinner"]')
                await expect(dinner_rows.first).to_contain_text("Saturday dinner")
            finally:
                await browser.close()
    finally:
        await drv.stop()
    ledger = drv.read()
    try:
        issued = ledger.coupons.all()
        orders = ledger.coupons.orders()
        assert sum(n for tiers in orders["sat-dinner"].values() for n in tiers.values()) == 2
        assert [c.meal for c in issued if c.person.startswith("agent1")].count("sat-dinner") == 2
        assert sorted(c.diet for c in issued) == ["vegan", "vegetarian", "vegetarian"]
    finally:
        ledger.close()


async def test_the_agent_starts_with_a_new_event_scaffold_and_serves_by_its_plan(tmp_path, event):
    from pizza_agent.app.cli import main as cli_main

    folder = tmp_path / "next-hacks"
    assert cli_main(["new-event", str(folder)]) == 0
    plan_text = (folder / "event.toml").read_text()
    dinner_start = plan_text.split("starts = ", 1)[1].split("\n", 1)[0]  # the first meal, tomorrow 18:00
    drv = await event(
        plan=plan_text,
        at=dinner_start.replace("18:00:00", "18:10:00"),
        STATIC_CONTENT_DIR=str(folder / "static_content"),
    )
    reply = await drv.say("first-guest", "I want pizza")
    assert " dinner is being served until 20:00." in reply and "what do you eat?" in reply
