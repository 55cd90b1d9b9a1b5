"""Roster mode with the real agent process, real signed envelopes and the real command line.

5 people × 4 addresses → 5 coupons; 10 people through one sender in 10 chat sessions →
10 coupons; a stolen badge code refused and alerted (a real webhook on loopback);
guessing held off while an honest participant is answered; a bad registration file
refused in one line with nothing imported; badges rendered in Chromium.
"""

from __future__ import annotations

import asyncio
import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp import web
from event_driver import VENDOR_TOKEN
from helpers import chromium_path, log_in
from playwright.async_api import async_playwright, expect

from pizza_agent.app.cli import main as cli_main
from pizza_agent.config.secret_files import read_secret
from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import CODE_PATTERN, CouponSigner
from pizza_agent.ledger.store import Ledger
from pizza_agent.people.claim_codes import ClaimCodes
from pizza_agent.rehearsal.agent_process import AgentProcess, base_env

STORY = (
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon. "
    "The judges were confused, but our demo ran on pepperoni power and we shipped it."
)
REGISTRATIONS = "api_id,name,first_name,last_name,email\n" + "".join(
    f"gst-{i},Person{i} Surname{i},Person{i},Surname{i},person{i}@example.org\n" for i in range(20)
)


class Webhook:
    """A real HTTP endpoint on loopback taking the agent's JSON alerts."""

    def __init__(self) -> None:
        self.alerts: list[dict] = []
        self.arrived = asyncio.Event()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self._take)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"

    async def _take(self, request: web.Request) -> web.Response:
        self.alerts.append(await request.json())
        self.arrived.set()
        return web.json_response({})

    async def wait_for(self, kind: str, timeout: float = 15.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for alert in self.alerts:
                    if alert.get("kind") == kind:
                        return alert
                self.arrived.clear()
                await self.arrived.wait()


def roster_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), "roster", *args],
        env=base_env(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def badge_codes(data_dir: Path) -> dict[str, str]:
    codes = ClaimCodes.from_signer(CouponSigner(read_secret(data_dir / "coupon_secret") or ""))
    ledger = Ledger(data_dir / "ledger.sqlite3")
    try:
        return {a.display_name: codes.code_for(a.key, a.generation) for a in ledger.roster.everyone()}
    finally:
        ledger.close()


@pytest.mark.slow  # agent.py
async def test_people_not_addresses_with_the_real_agent(tmp_path):
    data = tmp_path / "data"
    registrations = tmp_path / "registrations.csv"
    registrations.write_text(REGISTRATIONS)
    imported = roster_cli(data, "import", str(registrations))
    assert imported.returncode == 0 and imported.stdout.startswith("imported 20 new attendee(s)"), imported.stderr
    codes = badge_codes(data)
    webhook = Webhook()
    agent = await AgentProcess(
        data,
        PARTICIPANTS="roster",
        SENDER_RATE_LIMIT="1000",
        ALERT_WEBHOOK_URL=await webhook.start(),
        ALERT_FORMAT="json",
    ).start()
    try:
        # 5 people × 4 addresses each: the first address of each claims; the other three are refused.
        for person in range(5):
            code = codes[f"Person{person} S."]
            for n in range(4):
                async with agent.client(f"person{person}-address{n}") as client:
                    reply = await client.ask(f"my code is {code}. {STORY}")
                    if n == 0:
                        assert reply.startswith(f"Hi Person{person} S.,") and CODE_PATTERN.search(reply)
                    else:
                        assert "already linked to another chat" in reply and not CODE_PATTERN.search(reply)
        stolen = await webhook.wait_for("claim_elsewhere")
        assert "Person" in stolen["text"] and "another address" in stolen["text"]

        # 10 people through one sender address, each in their own chat session (as ASI:One might present them).
        async with agent.client("one-platform-sender") as platform:
            chats = [platform.chat() for _ in range(10)]
            for chat in chats:
                await chat.open()
            for i, chat in enumerate(chats, start=5):
                assert (await chat.ask(codes[f"Person{i} S."])).startswith(f"Hi Person{i} S.,")
            replies = await asyncio.gather(*(chat.ask(STORY) for chat in chats))
            assert all(CODE_PATTERN.search(r) for r in replies)
            assert len({CODE_PATTERN.search(r).group(0) for r in replies}) == 10
            assert "claim code" in await platform.chat().ask("I want pizza")  # a new chat: nobody yet

        # Guessing: 20 addresses × 10 guesses, while an honest attendee is answered in time.
        guesser = ClaimCodes.from_signer(CouponSigner("a-guessers-secret-000000000000000"))

        async def guess(n: int) -> list[str]:
            async with agent.client(f"guesser-{n}") as client:
                return [await client.ask(guesser.code_for(f"g{n}-{k}", 1)) for k in range(10)]

        async def honest() -> float:
            async with agent.client("honest-attendee") as client:
                started = time.monotonic()
                reply = await client.ask(f"{codes['Person15 S.']} {STORY}")
                assert CODE_PATTERN.search(reply)
                return time.monotonic() - started

        *guessed, honest_seconds = await asyncio.gather(*(guess(n) for n in range(20)), honest())
        answers = [a for replies in guessed for a in replies]
        assert all("isn't on any badge" in a or "didn't match" in a for a in answers)
        assert sum("didn't match" in a for a in answers) == 20 * 5  # 5 wrong codes each, then "slow down"
        assert honest_seconds < 10.0  # REPLY_DEADLINE's default

        # kill -9 and a restart: every binding and coupon is in the ledger, nothing is issued twice.
        agent.stop(signal.SIGKILL)
        await agent.start()
        async with agent.client("person0-address0") as client:  # a new chat: the badge's code binds it again
            assert "already have your pizza coupon" in await client.ask(f"{codes['Person0 S.']} {STORY}")
        async with agent.client("person1-address2") as client:
            assert "already linked to another chat" in await client.ask(f"{codes['Person1 S.']} {STORY}")
    finally:
        agent.stop()
    ledger = Ledger(data / "ledger.sqlite3")
    try:
        issued = ledger.coupons.all()
        assert len(issued) == 16 and len({c.person for c in issued}) == 16  # 5 + 10 + the honest one
        assert all(c.person.startswith("attendee:") for c in issued)
        assert ledger.roster.counts() == {"attendees": 20, "claimed": 16}
    finally:
        ledger.close()
    assert b"person3@example.org" not in (data / "ledger.sqlite3").read_bytes()  # e-mails are never kept
    assert "person3@example.org" not in agent.logs()


BAD_FILES = {
    "latin1.csv": "name,email\nJosé Pérez,j@x.es\n".encode("latin-1"),
    "unclosed.csv": b'name,email\nAda,"ada@x.io\nBob,bob@x.io\n',
    "ragged.csv": b"name,email\nAda,ada@x.io,extra\n",
    "noname.csv": b"email,ticket\nada@x.io,1\n",
    "conflict.csv": b"name,email\nAda Lovelace,ada@x.io\nAda Byron,ada@x.io\n",
    "binary.csv": b"name,email\nAda\x00\x01,a@x\n",
}


@pytest.fixture
def roster_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ENV_FILE", "")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_malformed_registration_file_is_refused_in_one_line_and_imports_nothing(roster_env, capsys, name):
    path = roster_env / name
    path.write_bytes(BAD_FILES[name])
    assert cli_main(["roster", "import", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"{path}: ") and "\n" not in err and "nothing imported" in err
    assert cli_main(["roster", "list"]) == 0
    assert capsys.readouterr().out.strip().endswith("0 attendee(s) on the roster, 0 claimed")


def test_reimporting_changes_nothing_and_a_later_export_adds_only_its_new_rows(roster_env, capsys):
    first, later = roster_env / "first.csv", roster_env / "later.csv"
    first.write_text("Name,Email\nAda Lovelace,ada@x.io\nAlan Turing,alan@x.io\n")
    later.write_text("Name,Email\nAda Lovelace,ada@x.io\nAlan Turing,alan@x.io\nGrace Hopper,grace@x.io\n")
    assert cli_main(["roster", "import", str(first)]) == 0
    assert capsys.readouterr().out.startswith("imported 2 new attendee(s)")
    assert cli_main(["roster", "import", str(first)]) == 0
    assert capsys.readouterr().out.startswith("imported 0 new attendee(s) from first.csv (2 already on the roster")
    assert cli_main(["roster", "import", str(later)]) == 0
    assert capsys.readouterr().out.startswith("imported 1 new attendee(s)")


def test_the_codes_csv_neutralises_formulas_in_names_and_adds_e_mails_from_the_export(roster_env, capsys):
    export = roster_env / "reg.csv"
    export.write_text('Name,Email\n"=HYPERLINK(""http://evil"",""x"")",evil@x.io\nAda Lovelace,ada@x.io\n')
    assert cli_main(["roster", "import", str(export)]) == 0
    out = roster_env / "codes.csv"
    assert cli_main(["roster", "codes", "--out", str(out), "--from", str(export)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert {r["name"] for r in rows} == {'\'=HYPERLINK("http://evil","x")', "Ada L."}
    assert {r["email"] for r in rows} == {"evil@x.io", "ada@x.io"}
    assert all(len(r["claim_code"]) == 14 for r in rows)
    assert oct(out.stat().st_mode & 0o777) == "0o600"


@pytest.mark.slow  # Chromium
async def test_badges_render_in_chromium_with_name_qr_and_code(roster_env, capsys):
    export = roster_env / "reg.csv"
    export.write_text("Name\n" + "".join(f"Person{i} Long-Surname-{i}\n" for i in range(30)) + "<b>Eve</b> X\n")
    assert cli_main(["roster", "import", str(export)]) == 0
    page_path = roster_env / "badges.html"
    assert cli_main(["roster", "badges", "--out", str(page_path)]) == 0
    codes = badge_codes(roster_env / "data")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.goto(page_path.as_uri())
            labels = page.locator(".badge")
            assert await labels.count() == 31
            assert await page.locator(".badge b").count() == 0  # a name is text, never markup
            for i in (0, 17, 30):
                label = labels.nth(i)
                name = await label.locator(".name").inner_text()
                assert await label.locator(".code").inner_text() == codes[name]
                qr = await label.locator("svg").bounding_box()
                box = await label.bounding_box()
                assert qr and box and qr["width"] > 80 and qr["height"] > 80  # about 28 mm
                assert box["x"] <= qr["x"] and qr["x"] + qr["width"] <= box["x"] + box["width"]
            pdf = await page.pdf(format="A4")
            assert pdf.startswith(b"%PDF")
        finally:
            await browser.close()


@pytest.mark.slow  # the agent process, Chromium
async def test_the_food_table_shows_the_badge_name_and_a_scanned_badge_finds_the_coupon(event):
    drv = await event(participants=[f"Person{i} Surname{i}" for i in range(20)])
    badge = drv.codes["Person2 S."]
    coupon = CODE_PATTERN.search(await drv.say("hungry-attendee", f"{badge} {STORY}")).group(0)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await log_in(page, drv, VENDOR_TOKEN, "Table 1")
            await expect(page).to_have_url(f"{drv.base}/table")
            await page.fill("#code", coupon)
            await page.press("#code", "Enter")
            await expect(page.locator("#person")).to_have_text("Person2 S.")
            await page.click("#next")
            await page.fill("#code", badge)  # the badge's QR, as a scanner types it
            await page.press("#code", "Enter")
            await expect(page.locator("#person")).to_have_text("Person2 S.")
            await page.click("#redeem")
            await expect(page.locator("#headline")).to_contain_text("REDEEMED ✓")
            await page.click("#next")
            await page.fill("#code", coupon)
            await page.press("#code", "Enter")
            await expect(page.locator("#headline")).to_contain_text("ALREADY REDEEMED")
        finally:
            await browser.close()
