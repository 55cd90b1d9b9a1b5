"""chat.py says what happened when the agent is slow, gone or the terminal goes away."""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import sys

import pytest
from aiohttp import web
from uagents_core.identity import Identity

from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.rehearsal.agent_process import base_env, free_port

CHAT = [sys.executable, str(PROJECT_DIR / "chat.py")]


@pytest.fixture
async def silent_agent(tmp_path):
    """An endpoint that accepts every envelope (HTTP 200) and never replies: a stuck agent."""

    async def swallow(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/submit", swallow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    data = tmp_path / "data"
    data.mkdir()
    address = Identity.from_seed("silent-agent", 0).address
    (data / "agent.json").write_text(json.dumps({"address": address, "endpoint": f"http://127.0.0.1:{port}/submit"}))
    yield data
    await runner.cleanup()


async def chat(data, *args: str, stdin: str = "") -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *CHAT,
        *args,
        env=base_env(data, CHAT_SEED="chat-cli-test"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    return proc.returncode, out.decode(), err.decode()


async def test_a_time_out_is_called_a_time_out(silent_agent):
    code, out, _ = await chat(silent_agent, "--timeout", "0.5", "I want pizza")
    assert code == 1
    assert out.strip() == "The agent did not reply within 0.5s (it may be busy or stopped)."


async def test_interactive_mode_keeps_the_session_after_a_time_out(silent_agent):
    code, out, err = await chat(silent_agent, "--timeout", "0.3", stdin="hello\nstill there?\n\n")
    assert code == 0
    assert out.count("The agent did not reply within 0.3s; it may still answer. Keep typing.") == 2
    assert err.count("waiting for the agent…") == 2


async def test_an_agent_that_is_not_running_is_named(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    address = Identity.from_seed("gone", 0).address
    port = free_port()  # nothing listens here
    (data / "agent.json").write_text(json.dumps({"address": address, "endpoint": f"http://127.0.0.1:{port}/submit"}))
    code, out, _ = await chat(data, "I want pizza")
    assert code == 1
    assert out.strip() == (
        f"Could not reach the agent at http://127.0.0.1:{port}/submit: nothing is listening there "
        "(is the agent running? start it with `make run`)"
    )
    code, out, _ = await chat(data, stdin="hi\n\n")
    assert code == 0 and "try again, or Ctrl+D to quit" in out


async def test_a_closed_stdout_ends_quietly(silent_agent, tmp_path):
    """`chat.py ... | true`: the reader is gone before chat.py prints its line."""
    command = " ".join(shlex.quote(part) for part in [*CHAT, "--timeout", "0.3", "I want pizza"])
    script = f"{{ {command}; echo $? > {tmp_path / 'rc'}; }} 2> {tmp_path / 'err'} | true"
    proc = await asyncio.create_subprocess_shell(script, env=base_env(silent_agent, CHAT_SEED="chat-cli-test"))
    await asyncio.wait_for(proc.wait(), 60)
    assert "Traceback" not in (tmp_path / "err").read_text()
    assert (tmp_path / "rc").read_text().strip() == "1"
