"""The food table keeps serving when the venue's network fails (Chromium, the real agent).

With the network cut (Playwright's `set_offline`), the table judges scans from its snapshot of
the meal (keyed hashes, never the codes), queues what it serves in IndexedDB with a nonce, says
it is offline, survives a reload (its service worker serves the page), and sends the queue when
the network is back: each scan applied once. Two tables offline that served the same codes: each
code redeemed once, the second table's scans recorded as conflicts, nothing lost. The sync API
applies a replayed nonce once.
"""

from __future__ import annotations

import time
import uuid
from contextlib import closing

import aiohttp
import pytest
from event_driver import LUNCH, ORGANIZER_TOKEN, TWO_MEALS, VENDOR_TOKEN
from helpers import chromium_path, log_in
from playwright.async_api import Page, async_playwright, expect

from pizza_agent.config.secret_files import read_secret
from pizza_agent.domain.identity import Chat
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.coupons import Issuance

pytestmark = pytest.mark.slow  # the agent process, Chromium


def issue_coupons(drv, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    """n coupons of lunch, issued in the agent's ledger with its own coupon secret (as stories would)."""
    signer = CouponSigner(read_secret(drv.agent.data_dir / "coupon_secret") or "")
    codes = []
    with closing(drv.read()) as ledger:
        for i in range(n):
            request = Issuance(
                f"agent1offline{i:03d}", "standard", 7, "asi1", "", None, f"h{i}", meal="lunch", chat=Chat("s", "")
            )
            codes.append(ledger.coupons.issue(request, signer.new_code).coupon.code)
    return codes


async def scan(page: Page, code: str, *, serve: bool) -> str:
    """Type (or scan) a code and Enter; serve it (Enter on the redeem button) if asked; the headline."""
    await page.fill("#code", code)
    await page.press("#code", "Enter")
    headline = page.locator("#headline")
    await expect(page.locator("#result")).to_be_visible()
    if serve:
        await expect(page.locator("#redeem")).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(headline).to_contain_text("REDEEMED ✓")
    text = await headline.inner_text()
    await page.keyboard.press("Escape")
    return text


async def ready_table(browser, drv, name: str) -> tuple:  # type: ignore[no-untyped-def]
    # bypass_csp: Playwright's wait_for_function evaluates its predicate with eval, which the pages' CSP
    # (script-src 'self') refuses when a poll races another evaluation (microsoft/playwright#36982). What
    # these tests measure is the offline queue, not the CSP (the table is still served with it: below).
    context = await browser.new_context(bypass_csp=True)
    page = await context.new_page()
    await log_in(page, drv, VENDOR_TOKEN, name)
    served = await page.request.get(f"{drv.base}/table")
    assert "script-src 'self'" in served.headers["content-security-policy"]
    await expect(page.locator("#serving")).to_contain_text("Saturday lunch")
    await page.wait_for_function("navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready")
    await page.wait_for_function("snapshot !== null && Object.keys(snapshot.entries).length > 0")
    return context, page


async def test_a_hundred_scans_offline_with_a_reload_are_redeemed_once_when_back(event):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    codes = issue_coupons(drv, 100)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            context, page = await ready_table(browser, drv, "Table 1")
            await page.reload()  # the service worker now controls the page
            await page.wait_for_function("snapshot !== null && Object.keys(snapshot.entries).length === 100")
            await context.set_offline(True)
            timings = []
            for i, code in enumerate(codes):
                if i == 50:  # a reload in the middle, with no network: the page and its queue come back
                    await page.reload()
                    await expect(page.locator("#code")).to_be_visible()
                    await page.wait_for_function("snapshot !== null")
                started = time.perf_counter()
                headline = await scan(page, code, serve=True)
                timings.append(time.perf_counter() - started)
                assert "offline" in headline, headline
            await expect(page.locator("#offline")).to_contain_text("100 scans waiting")
            verdicts = sorted(await page.evaluate("verdictMs"))  # since the reload: the page's own timing
            assert (await page.locator("#offline").inner_text()).startswith("OFFLINE since")
            # Served once offline: a second scan of the same code is refused from the snapshot.
            assert "ALREADY REDEEMED" in await scan(page, codes[0], serve=False)
            await context.set_offline(False)
            await page.evaluate("refreshSnapshot()")
            await expect(page.locator("#offline")).to_be_hidden(timeout=20_000)
        finally:
            await browser.close()
    coupons = {c.code: c for c in drv.coupons()}
    assert all(coupons[code].redeemed_at is not None for code in codes)
    with closing(drv.read()) as ledger:
        assert ledger.scans.counts_by_table() == {"Table 1": {"redeemed": 100}}  # each once, by its nonce
    timings.sort()
    print(  # the figures are in BENCHMARKS.md; a time is a benchmark's, not a test's
        f"offline: verdict median {verdicts[len(verdicts) // 2]:.1f} ms (in the page, {len(verdicts)} scans), "
        f"verdict and serving median {timings[len(timings) // 2] * 1000:.0f} ms (through Playwright)"
    )


async def test_two_tables_offline_serving_the_same_codes_give_conflicts_and_lose_nothing(event):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    codes = issue_coupons(drv, 10)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            (north, north_page), (south, south_page) = [
                await ready_table(browser, drv, name) for name in ("North", "South")
            ]
            for context in (north, south):
                await context.set_offline(True)
            for code in codes:
                assert "offline" in await scan(north_page, code, serve=True)
                assert "offline" in await scan(south_page, code, serve=True)
            await north.set_offline(False)
            await north_page.evaluate("refreshSnapshot()")
            await expect(north_page.locator("#offline")).to_be_hidden(timeout=20_000)
            await south.set_offline(False)
            await south_page.evaluate("refreshSnapshot()")
            await expect(south_page.locator("#conflicts li")).to_have_count(10, timeout=20_000)
            await expect(south_page.locator("#conflicts li").first).to_contain_text("table North")  # who served first
            await north_page.evaluate("refreshSnapshot()")  # the first table is shown them too
            await expect(north_page.locator("#conflicts li")).to_have_count(10, timeout=20_000)
            await expect(north_page.locator("#conflicts li").first).to_contain_text("again at table South")
        finally:
            await browser.close()
    with closing(drv.read()) as ledger:
        assert ledger.scans.counts_by_table() == {"North": {"redeemed": 10}, "South": {"conflict": 10}}
        assert {c.code for c in ledger.scans.conflicts()} == set(codes)
    assert sum(1 for c in drv.coupons() if c.redeemed_at is not None) == 10
    status = await drv.organizer("status")
    assert "table conflicts 10" in status
    dashboard = await drv.api("/api/status")
    assert dashboard["tables"] == {"North": {"redeemed": 10}, "South": {"conflict": 10}}
    assert dashboard["table_conflicts"] == 10


async def test_a_replayed_sync_is_applied_once_and_the_snapshot_holds_no_code(event):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    [code] = issue_coupons(drv, 1)
    snapshot = await drv.api("/api/table/snapshot", token=VENDOR_TOKEN)
    assert code not in str(snapshot) and len(snapshot["entries"]) == 1
    scan_once = {"nonce": uuid.uuid4().hex, "code": code, "at": time.time(), "served": True}
    first = await drv.api("/api/table/sync", {"scans": [scan_once]}, token=VENDOR_TOKEN)
    again = await drv.api("/api/table/sync", {"scans": [scan_once]}, token=VENDOR_TOKEN)
    assert first["results"][0]["result"] == "redeemed"
    assert again["results"][0] == {"nonce": scan_once["nonce"], "result": "redeemed", "replayed": True}
    with closing(drv.read()) as ledger:
        assert ledger.scans.counts_by_table() == {"bearer": {"redeemed": 1}}  # an API client: no table name
    headers = {"Authorization": f"Bearer {ORGANIZER_TOKEN}", "X-Pizza": "1"}
    malformed = {"scans": [{"nonce": "x", "code": code}]}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(f"{drv.base}/api/table/sync", json=malformed) as bad,
    ):
        assert bad.status == 400  # a malformed scan: one line, nothing applied
