"""`make dashboard-demo`: the agent with its dashboard, misbehaving providers and a trickle of participants.

    python -m pizza_agent.rehearsal.dashboard_demo [--port 8080] [--every 2.0]
    python -m pizza_agent.rehearsal.dashboard_demo --screenshots docs/

Starts two local fault providers (as OpenAI and ASI1), the real agent with
DASHBOARD_TOKEN and VENDOR_TOKEN (printed, generated for this run), and a
participant every `--every` seconds who asks for a prompt and sends a story.
Every minute OpenAI goes silent for 20 s, so the failure counter, the layers
and the banner move. A person watches http://127.0.0.1:8080/; Ctrl+C stops it.

`--screenshots DIR` instead runs a few participants, then saves the dashboard and
the food-table page (a code to redeem: green; the same code again: red) as PNGs
with the system chromium, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from pizza_agent.ledger.codes import CODE_PATTERN
from pizza_agent.rehearsal.agent_process import AgentProcess, free_port, provider_env
from pizza_agent.rehearsal.fault_provider import FaultProvider

STORIES = [
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon; the demo ran on pepperoni power.",
    "Our rubber duck refused to help debug until we fed it a slice, then it found the race condition in one quack.",
    "The Wi-Fi died before judging, so we routed packets through the pizza oven and shipped with a crispy crust.",
]


async def participant(agent: AgentProcess, n: int) -> str | None:
    async with agent.client(f"demo-participant-{n}") as client:
        await client.ask("Hi! I want pizza", timeout=30)
        match = CODE_PATTERN.search(await client.ask(f"{STORIES[n % len(STORIES)]} ({n})", timeout=30))
        return match.group(0) if match else None


async def trickle(agent: AgentProcess, every: float) -> None:
    n = 0
    while True:
        task = asyncio.create_task(participant(agent, n))
        task.add_done_callback(lambda t: t.exception())  # a failed participant is just a dot in the demo
        n += 1
        await asyncio.sleep(every)  # the arrival rate


async def outages(openai: FaultProvider) -> None:
    while True:
        await asyncio.sleep(40)  # healthy for 40 s
        openai.set_fault("silent")
        await asyncio.sleep(20)  # then silent for 20 s
        openai.set_fault("ok")


async def run(port: int, every: float, screenshots: Path | None) -> int:
    organizer_token, vendor_token = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    openai, asi1 = await FaultProvider().start(), await FaultProvider().start()
    with tempfile.TemporaryDirectory(prefix="pizza-dashboard-demo-") as tmp:
        env = provider_env(
            openai.base_url,
            asi1.base_url,
            DASHBOARD_TOKEN=organizer_token,
            VENDOR_TOKEN=vendor_token,
            DASHBOARD_PORT=str(port),
            LOG_LEVEL="WARNING",
        )
        agent = await AgentProcess(Path(tmp) / "data", **env).start()
        base = f"http://127.0.0.1:{port}"
        try:
            if screenshots is not None:
                return await take_screenshots(agent, base, organizer_token, vendor_token, screenshots)
            print(f"Dashboard:  {base}/        organizer token: {organizer_token}")
            print(f"Food table: {base}/table   vendor token:    {vendor_token}")
            print(f"A participant every {every:g} s; OpenAI goes silent for 20 s every minute. Ctrl+C stops.")
            await asyncio.gather(trickle(agent, every), outages(openai))
        finally:
            agent.stop()
            await openai.stop()
            await asi1.stop()
    return 0


async def take_screenshots(agent: AgentProcess, base: str, organizer: str, vendor: str, folder: Path) -> int:
    from playwright.async_api import async_playwright

    codes = [code for code in await asyncio.gather(*(participant(agent, n) for n in range(6))) if code]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or not codes:
        print("needs chromium and at least one coupon", file=sys.stderr)
        return 1
    folder.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = await browser.new_page(viewport={"width": 1280, "height": 900})

        async def log_in(token: str, name: str) -> None:
            await page.goto(f"{base}/login")
            await page.fill("input[name=name]", name)
            await page.fill("input[name=token]", token)
            await page.click("button[type=submit]")

        await log_in(organizer, "Sam")
        await page.wait_for_selector("#coupons tr[data-tier]")
        await page.wait_for_timeout(2500)  # one poll after the history sampler: the page as a person sees it
        await page.screenshot(path=str(folder / "dashboard.png"), full_page=True)
        await page.context.clear_cookies()
        await page.set_viewport_size({"width": 420, "height": 800})
        await log_in(vendor, "Table 1")
        await page.fill("#code", codes[0])
        await page.press("#code", "Enter")
        await page.wait_for_selector("#result.green")
        await page.screenshot(path=str(folder / "table-green.png"))
        await page.click("#redeem")
        await page.click("#next")
        await page.fill("#code", codes[0])
        await page.press("#code", "Enter")
        await page.wait_for_selector("#result.red")
        await page.screenshot(path=str(folder / "table-red.png"))
        await browser.close()
    print(f"saved {folder / 'dashboard.png'}, {folder / 'table-green.png'}, {folder / 'table-red.png'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="The agent's dashboard, moving: fault providers and a trickle.")
    parser.add_argument("--port", type=int, default=8080, help="the dashboard's port (default 8080)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between participants (default 2)")
    parser.add_argument("--screenshots", type=Path, help="save the pages as PNGs into this folder and exit")
    args = parser.parse_args()
    port = args.port if args.screenshots is None else free_port()
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(port, args.every, args.screenshots))
    return 0


if __name__ == "__main__":
    sys.exit(main())
