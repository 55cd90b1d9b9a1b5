"""Keys, the agent seed and the coupon secret never show: not in logs, replies, status or errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from uagents_core.identity import Identity

from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.rehearsal.agent_process import AgentProcess, base_env

SECRETS = {
    "OPENAI_API_KEY": "sk-leakcheck-openai-5f2b8c",
    "ASI1_API_KEY": "asi1-leakcheck-9d4e1a",
    "AGENT_SEED": "leakcheck agent seed phrase 7c3a",
    "COUPON_SECRET": "leakcheck-coupon-secret-0e6f2d",
}
STORY = "At midnight our laptop ordered pizza for everyone, and the demo ran on pepperoni and hope until dawn."


@pytest.mark.slow  # agent.py
async def test_no_secret_in_logs_replies_or_status(tmp_path, openai_server, asi1_server):
    organizer_seed = "leakcheck-organizer"
    openai_server.set_fault("unauthorized")  # errors are where secrets like to leak
    asi1_server.set_fault("malformed")
    env = {
        **SECRETS,
        "OPENAI_BASE_URL": openai_server.base_url,
        "ASI1_BASE_URL": asi1_server.base_url,
        "ORGANIZER_ADDRESSES": Identity.from_seed(organizer_seed, 0).address,
        "LOG_LEVEL": "DEBUG",
    }
    agent = await AgentProcess(tmp_path / "data", **env).start()
    replies: list[str] = []
    try:
        async with agent.client(organizer_seed) as org, agent.client("leak-participant") as someone:
            for text in ("I want pizza", STORY, "status", "help", "\x00\ud800 garbage"):
                replies.append(await someone.ask(text))
            for text in ("status", "reset", "status"):
                replies.append(await org.ask(text))
    finally:
        agent.stop()
    assert openai_server.requests and asi1_server.requests  # the keys were used, so they could leak
    everything = "\n".join([agent.logs(), *replies])
    assert "key rejected" in everything  # the 401 did happen and is reported
    for name, value in SECRETS.items():
        assert value not in everything, f"{name} leaked"


def test_generated_seed_and_secret_files_are_owner_only(tmp_path):
    from pizza_agent.config.secret_files import load_or_create_secret

    for name in ("agent_seed", "coupon_secret"):
        path = tmp_path / name
        value = load_or_create_secret(path)
        assert len(value) == 64
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert load_or_create_secret(path) == value  # stable across restarts


@pytest.mark.slow  # agent.py
def test_start_up_refuses_a_world_readable_seed_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    seed = data / "agent_seed"
    seed.write_text("a seed others can read\n")
    os.chmod(seed, 0o644)
    done = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py")],
        env=base_env(data),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "readable by other users" in done.stderr and "chmod 600" in done.stderr
    assert "a seed others can read" not in done.stderr + done.stdout


def test_env_file_is_git_ignored():
    done = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=PROJECT_DIR)
    assert done.returncode == 0
