"""The command line as a person uses it: `check`, `--help`, the drill's arguments, one agent per DATA_DIR."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import pytest

from pizza_agent.app.preflight import misspelled_variables
from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.rehearsal.agent_process import AgentProcess, base_env

AGENT = [sys.executable, str(PROJECT_DIR / "agent.py")]


async def run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """agent.py as a subprocess on this event loop, so fault providers in the test keep serving."""
    proc = await asyncio.create_subprocess_exec(
        *AGENT, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(PROJECT_DIR)
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


def provider_keys(openai_url: str, asi1_url: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "sk-check-0123456789",
        "OPENAI_BASE_URL": openai_url,
        "ASI1_API_KEY": "asi1-check-0123456789",
        "ASI1_BASE_URL": asi1_url,
    }


# --- agent.py check -------------------------------------------------------------------------
@pytest.mark.slow  # agent.py
async def test_check_says_ready_when_both_providers_answer(openai_server, asi1_server, tmp_path):
    env = base_env(tmp_path / "data", **provider_keys(openai_server.base_url, asi1_server.base_url))
    code, out, _ = await run("check", "--timeout", "2", env=env)
    assert code == 0, out
    assert "OpenAI  yes   gpt-4o-mini answered in" in out and "ASI1    yes   asi1-mini answered in" in out
    assert out.strip().endswith("READY: every layer is live")
    assert {r.task for r in openai_server.requests} == {"chat"}  # one tiny completion, no agent task


@pytest.mark.slow  # agent.py
async def test_check_says_degraded_for_a_rejected_key_and_names_it(openai_server, asi1_server, tmp_path):
    openai_server.set_fault("unauthorized")
    env = base_env(tmp_path / "data", **provider_keys(openai_server.base_url, asi1_server.base_url))
    code, out, _ = await run("check", "--timeout", "2", env=env)
    assert code == 1, out
    assert "OpenAI  no    CredentialsRejected: HTTP 401: key rejected" in out
    assert "sk-check-0123456789" not in out
    assert "WOULD START DEGRADED" in out


@pytest.mark.slow  # agent.py
async def test_check_gives_a_silent_provider_its_bounded_time_only(openai_server, asi1_server, tmp_path):
    asi1_server.set_fault("silent")
    env = base_env(tmp_path / "data", **provider_keys(openai_server.base_url, asi1_server.base_url))
    loop = asyncio.get_running_loop()
    started = loop.time()
    code, out, _ = await run("check", "--timeout", "1", env=env)
    assert code == 1, out
    assert "ASI1    no    no answer within 1s" in out
    assert loop.time() - started < 15  # bounded: never hangs on a silent provider


@pytest.mark.slow  # agent.py
async def test_check_says_would_not_start_for_a_bad_value(tmp_path):
    code, out, err = await run("check", env=base_env(tmp_path / "data", ORGANIZER_ADDRESSES="alice"))
    assert code == 2
    assert "WOULD NOT START: 1 problem(s), each on its FAIL line above" in out
    problem = next(line for line in out.splitlines() if line.strip().startswith("FAIL"))
    assert "ORGANIZER_ADDRESSES" in problem and "is not an agent address" in problem
    assert (out + err).count("is not an agent address") == 1  # said once, not three times


@pytest.mark.slow  # agent.py
async def test_check_covers_the_giveaway_and_a_busy_dashboard_port(tmp_path):
    pools = tmp_path / "pools"
    pools.mkdir()
    (pools / "premium.csv").write_text("code\nPIZZA-1\nPIZZA-2\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = base_env(
            tmp_path / "data",
            COUPON_POOL_DIR=str(pools),
            TIER_CAPS="standard:40",
            DASHBOARD_TOKEN="organizer-token-for-tests-0123456789",
            DASHBOARD_PORT=str(port),
        )
        code, out, _ = await run("check", "--timeout", "1", env=env)
    assert code == 2
    assert f"coupon pools: {pools}: premium 2 codes" in out
    assert "tier caps: standard 40" in out
    assert "tokens: DASHBOARD_TOKEN set" in out
    assert f"FAIL  dashboard: port {port} on 127.0.0.1 is in use" in out
    assert "scoring: no ASI1 key: stories are scored by the local heuristic, at most standard" in out
    code, out, _ = await run(
        "check", "--timeout", "1", env=base_env(tmp_path / "data", COUPON_POOL_DIR=str(tmp_path / "poools"))
    )
    assert code == 2 and "no such directory (a misspelled path?)" in out


@pytest.mark.slow  # agent.py
async def test_check_names_misspelled_variables(tmp_path):
    code, out, _ = await run("check", env=base_env(tmp_path / "data", OPENAI_TIMEOUTT="3"))
    assert code == 1
    assert "OPENAI_TIMEOUTT is not a setting (did you mean OPENAI_TIMEOUT?)" in out


def test_misspellings_are_found_only_among_names_that_look_like_ours():
    found = misspelled_variables(["OPENAI_TIMEOUTT", "ASI1_MODLE", "PATH", "HOME", "OPENAI_API_KEY", "REPLY_DEADLIN"])
    assert found == [
        "ASI1_MODLE is not a setting (did you mean ASI1_MODEL?)",
        "OPENAI_TIMEOUTT is not a setting (did you mean OPENAI_TIMEOUT?)",
        "REPLY_DEADLIN is not a setting (did you mean REPLY_DEADLINE?)",
    ]


@pytest.mark.slow  # agent.py
async def test_check_config_is_an_alias_and_a_short_coupon_secret_is_refused(tmp_path):
    code, out, _ = await run("--check-config", env=base_env(tmp_path / "data", COUPON_SECRET="short"))
    assert code == 2 and "COUPON_SECRET: must be at least 16 characters" in out


@pytest.mark.slow  # agent.py
async def test_check_warns_about_agentverse_without_keys_or_organizers(tmp_path):
    code, out, _ = await run("check", env=base_env(tmp_path / "data", AGENT_MODE="agentverse"))
    assert code == 1
    assert "every answer will be static" in out and "no ORGANIZER_ADDRESSES" in out


@pytest.mark.slow  # agent.py
async def test_a_running_agent_is_found_by_check_and_a_second_agent_refuses_to_start(tmp_path):
    agent = await AgentProcess(tmp_path / "data").start()
    try:
        code, out, _ = await run("check", env=base_env(tmp_path / "data", AGENT_PORT=str(agent.port + 1)))
        assert code == 2 and f"another agent is already running on {tmp_path / 'data'}" in out
        code, _, err = await run(env=base_env(tmp_path / "data", AGENT_PORT=str(agent.port + 1)))
        assert code == 2
        assert (
            err.strip()
            == f"another agent is already running on {tmp_path / 'data'} (pid {agent.pid}, port {agent.port})"
        )
    finally:
        agent.stop()


# --- --help and arguments -------------------------------------------------------------------
@pytest.mark.slow  # agent.py
@pytest.mark.parametrize("command", ["run", "check", "verify", "redeem", "drill"])
def test_every_subcommand_has_a_real_help(command):
    done = subprocess.run([*AGENT, command, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "example: python agent.py" in done.stdout
    assert "exit codes:" in done.stdout


@pytest.mark.slow  # agent.py
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--participants", "0"], "--participants must be at least 1 (got 0)"),
        (["--timeline", "no-such-file.toml"], "cannot read the timeline no-such-file.toml: No such file or directory"),
    ],
)
def test_the_drill_rejects_bad_arguments_in_one_line(args, line):
    done = subprocess.run([*AGENT, "drill", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == line


@pytest.mark.slow  # agent.py, PostgreSQL
async def test_check_reaches_the_postgresql_ledger_or_says_why_not(tmp_path, postgres_server):
    replica = {"AGENT_SEED": "replica-seed-0123456789abcdef", "COUPON_SECRET": "replica-secret-0123456789abcdef"}
    url = postgres_server.database("check_ledger")
    code, out, _ = await run("check", env=base_env(tmp_path / "data", LEDGER_URL=url, **replica))
    line = next(line for line in out.splitlines() if "ledger" in line)
    assert "PostgreSQL 15" in line and "reachable" in line, out
    unreachable = "postgresql://pizza:hunter2-not-shown@127.0.0.1:9/pizza"  # port 9: nothing listens
    code, out, err = await run("check", env=base_env(tmp_path / "data", LEDGER_URL=unreachable, **replica))
    assert code == 2
    assert "ledger" in out and "cannot reach postgresql://pizza:***@127.0.0.1:9/pizza" in out
    assert "hunter2" not in out + err
    code, out, _ = await run("check", env=base_env(tmp_path / "data"))
    assert f"SQLite {tmp_path / 'data' / 'ledger.sqlite3'}" in out


@pytest.mark.slow  # agent.py
async def test_an_unreachable_postgresql_ledger_stops_the_agent_with_one_line(tmp_path):
    env = base_env(
        tmp_path / "data",
        LEDGER_URL="postgresql://pizza:hunter2-not-shown@127.0.0.1:9/pizza",  # port 9: nothing listens
        AGENT_SEED="replica-seed-0123456789abcdef",
        COUPON_SECRET="replica-secret-0123456789abcdef",
    )
    for command in ([], ["verify", "PREMIUM-AAAAAAAA-BBBBBBBB"]):
        code, _, err = await run(*command, env=env)
        assert code == 2
        assert err.startswith("error: cannot reach the ledger at postgresql://pizza:***@127.0.0.1:9/pizza")
        assert "LEDGER_URL" in err and "Traceback" not in err and "hunter2" not in err


@pytest.mark.slow  # agent.py
async def test_check_names_the_event_languages_and_a_listed_language_without_a_translation(tmp_path):
    env = base_env(tmp_path / "data", EVENT_LANGUAGES="es,en,ar,sw")
    _code, out, _ = await run("check", "--timeout", "1", env=env)
    assert "languages" in out and "es, en, ar (default es)" in out, out
    assert "'sw' is listed but has no translation (static_content/languages/sw.toml)" in out
    assert "answered in es" in out
    assert "not translated" not in out  # the shipped ones are complete
