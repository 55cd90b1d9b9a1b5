"""Every page works for everyone: axe-core (shipped by a registry package, run in Chromium) finds no serious
or critical violation on the dashboard, the food table, an order sheet and the badge page; the table's
verdict is announced to screen readers and says itself in words and a symbol, not only in colour; the
table and the judges' queue work from the keyboard alone; the table fits a 360-px phone and 200 % zoom.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.async_playwright import Axe
from event_driver import LUNCH, ORGANIZER_TOKEN, STORY, SUSPECTED, TWO_MEALS, VENDOR_TOKEN, code_in
from helpers import chromium_path, log_in
from playwright.async_api import Page, async_playwright, expect

pytestmark = pytest.mark.slow  # the agent process, Chromium

SERIOUS = ("serious", "critical")


async def serious_violations(page: Page) -> list[str]:
    results = await Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


async def test_no_page_has_a_serious_or_critical_violation(event, tmp_path):
    drv = await event(participants=["Ada Lovelace", "Bo Peep"], plan=TWO_MEALS, at=LUNCH)
    await drv.say("ada", drv.codes["Ada L."])
    code = await drv.get_coupon("ada", STORY)
    badges = drv.badge_page(tmp_path / "badges.html")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await log_in(page, drv, ORGANIZER_TOKEN, "Sam")
            await expect(page.locator("#verdict")).not_to_be_empty()
            found = {"dashboard": await serious_violations(page)}
            await page.goto(f"{drv.base}/table")
            await page.fill("#code", code)
            await page.press("#code", "Enter")
            await expect(page.locator("#result")).to_be_visible()
            found["table"] = await serious_violations(page)
            await page.goto(f"{drv.base}/orders/lunch")
            found["order sheet"] = await serious_violations(page)
            await page.goto(badges.as_uri())
            found["badges"] = await serious_violations(page)
            await page.goto(f"{drv.base}/login")
            found["login"] = await serious_violations(page)
        finally:
            await browser.close()
    assert found == {name: [] for name in found}, found


async def test_the_table_from_the_keyboard_alone_announced_in_words_and_symbols(event):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    await drv.say("kb", "diet vegan")
    code = code_in(await drv.say("kb", STORY))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await log_in(page, drv, VENDOR_TOKEN, "Table 1")
            await expect(page.locator("#code")).to_be_focused()  # ready to type or scan
            await page.keyboard.type(code)
            await page.keyboard.press("Enter")
            await expect(page.locator("#result")).to_have_attribute("role", "status")  # read out when it changes
            await expect(page.locator("#headline")).to_have_text(f"REDEEM ✓ {code.split('-')[0].lower()}")
            await expect(page.locator("#mark")).to_have_text("✓")
            await expect(page.locator("#redeem")).to_be_focused()
            await page.keyboard.press("Enter")
            await expect(page.locator("#headline")).to_contain_text("REDEEMED ✓")
            await page.keyboard.press("Escape")  # the next code
            await expect(page.locator("#code")).to_be_focused()
            await page.keyboard.type(code)
            await page.keyboard.press("Enter")
            await expect(page.locator("#headline")).to_contain_text("ALREADY REDEEMED")
            await expect(page.locator("#mark")).to_have_text("✗")  # a symbol and the words, not only red
        finally:
            await browser.close()


async def test_the_judges_queue_from_the_keyboard_alone(event):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    await drv.say("sus", "diet regular")
    await drv.say("sus", SUSPECTED)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await log_in(page, drv, ORGANIZER_TOKEN, "Judge")
            approve = page.locator("#reviews button", has_text="Approve").first
            await expect(approve).to_be_visible()
            for _ in range(80):  # Tab through the page until the queue's Approve has the focus
                if await approve.evaluate("b => b === document.activeElement"):
                    break
                await page.keyboard.press("Tab")
            assert await approve.evaluate("b => b === document.activeElement"), "Approve is not reachable by Tab"
            await page.keyboard.press("Enter")
            await expect(page.locator("#control-result")).to_contain_text("Approved")
            await expect(page.locator("#reviews-count")).to_have_text("0 waiting")
        finally:
            await browser.close()


@pytest.mark.parametrize(("width", "zoom"), [(360, 1.0), (1280, 2.0)])
async def test_the_pages_fit_a_small_phone_and_200_percent_zoom(event, width, zoom):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = await browser.new_page(viewport={"width": int(width / zoom), "height": int(720 / zoom)})
            await log_in(page, drv, VENDOR_TOKEN, "Phone table")
            await page.fill("#code", "NOT-A-CODE")
            await page.press("#code", "Enter")
            await expect(page.locator("#result")).to_be_visible()
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0  # nothing to scroll sideways
            for element in ("#code", "#headline", "#next"):
                box = await page.locator(element).bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width / zoom + 1
            organizer = await browser.new_page(viewport={"width": int(width / zoom), "height": int(720 / zoom)})
            await log_in(organizer, drv, ORGANIZER_TOKEN, "Phone organizer")
            await expect(organizer.locator("#verdict")).not_to_be_empty()
            for path in ("/", "/orders/lunch"):
                await organizer.goto(f"{drv.base}{path}")
                sideways = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                assert await organizer.evaluate(sideways) <= 0, path
        finally:
            await browser.close()
