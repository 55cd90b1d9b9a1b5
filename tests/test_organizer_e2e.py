"""Every organizer command from chat, in the real agent process, over real signed envelopes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from event_driver import STORY

from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import CODE_PATTERN
from pizza_agent.rehearsal.agent_process import AgentProcess, base_env

pytestmark = pytest.mark.slow  # the agent process

REFUSAL = "Sorry, that command is for event organizers only. Ask me for pizza instead!"


async def test_organizer_runs_the_event_from_chat_and_participants_cannot(tmp_path, event):
    pools = tmp_path / "pools"
    pools.mkdir()
    drv = await event(COUPON_POOL_DIR=str(pools), TIER_CAPS="premium:5,standard:5,basic:5")
    assert "Here's your story prompt" in await drv.say("alice", "I want pizza")

    paused = await drv.organizer("pause Dinner is delayed, back at 8pm!")
    assert paused.startswith("Paused: no prompts, scoring or new coupons until `resume`.")
    assert await drv.say("alice", STORY) == "Dinner is delayed, back at 8pm!"
    assert "serving everyone: paused" in (await drv.organizer("status")).splitlines()[0]
    assert (await drv.organizer("resume")).startswith("Resumed")
    code = CODE_PATTERN.search(await drv.say("alice", STORY)).group(0)
    tier = code.split("-")[0].lower()

    status = await drv.organizer("status")
    assert status.splitlines()[0].startswith("serving everyone: yes — intent/prompt/reply via static rules")
    assert f"{tier} 1 issued, 4 left" in status

    assert (await drv.organizer("force static 5")).startswith("Forced static for intent, prompts and replies")
    await drv.say("bob", "hello there")
    assert "(forced static)" in (await drv.organizer("status")).splitlines()[0]
    assert (await drv.organizer("force off")).startswith("Force off")

    looked_up = await drv.organizer(f"lookup {drv.address_of('alice')[-10:]}")
    assert f"participant …{drv.address_of('alice')[-8:]}" in looked_up and code in looked_up
    assert (await drv.organizer(f"void {code} lost phone")).startswith(f"VOIDED {tier} coupon {code}")

    exported = await drv.organizer("export")
    assert exported.startswith("Exported 1 coupon(s) to ")
    assert code in Path(exported.split(" to ", 1)[1]).read_text()

    (pools / "standard.csv").write_text("STANDARD-VENDOR-1\n")
    assert "vendor pools: standard +1" in await drv.organizer("reload")
    assert (await drv.organizer("reset")).startswith("Nothing to reset")

    refused = [
        await drv.say("bob", command)
        for command in (
            "status",
            "pause",
            "resume",
            "force asi1",
            "reload",
            f"lookup {code}",
            f"void {code}",
            "export",
            "reset",
        )
    ]
    assert refused == [REFUSAL] * 9
    await drv.stop()  # then the command line reads the ledger the agent left
    verify = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), "verify", code],
        env=base_env(drv.agent.data_dir),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 4 and verify.stdout.startswith(f"VOIDED {tier} coupon {code}")
    logs = drv.agent.logs()
    assert logs.count("refused organizer command") == 9
    for line in (
        "paused by organizer=",
        "resumed by organizer=",
        "force static by organizer=",
        f"voided {tier} coupon {code}",
        "reloaded: static content reloaded",
    ):
        assert line in logs, line


async def test_every_log_line_has_a_timestamp_including_the_frameworks(tmp_path):
    agent = await AgentProcess(tmp_path / "data").start()
    try:
        async with agent.client("someone") as someone:
            await someone.ask("I want pizza")
        await asyncio.sleep(0)  # the reply's log line is written before the reply is received
    finally:
        agent.stop()
    lines = [line for line in agent.logs().splitlines() if line and not line.startswith(("Pizza Agent", "  "))]
    assert any("Starting agent with address" in line for line in lines)  # a uagents line
    assert all(line[:4].isdigit() and line[4] == "-" for line in lines), lines
