"""Runs the real agent (`python agent.py`) as a subprocess on a free loopback port.

Used by the tests, the drill and the benchmarks. The environment is built from
scratch: no real key, no `.env` (ENV_FILE=""), its own data directory.
Readiness is polled (HEAD /submit answers `x-uagents-status: ready`) with a
deadline, never slept for.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp

from pizza_agent.client.chat_client import AgentRef, ChatClient
from pizza_agent.config.settings import PROJECT_DIR

START_DEADLINE_SECONDS = 20.0


# Ports handed out by `free_port()` under pytest-xdist: each worker (gw0, gw1, …) owns its own block,
# below Linux's ephemeral range (32768–60999), so a port one worker picked and released can never be
# picked by another worker (or by the kernel for an outgoing connection) before its agent binds it.
WORKER_PORT_BASE = 20000
WORKER_PORT_BLOCK = 1000
_next_in_block: dict[str, int] = {}


def free_port() -> int:
    """A loopback port nobody is listening on. Outside xdist the kernel picks one (bind to 0); inside
    a worker, the next free port of that worker's own block (the kernel's pick races between workers:
    two of them may be told the same port while neither agent has bound it yet)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    first = WORKER_PORT_BASE + int(worker[2:]) % 12 * WORKER_PORT_BLOCK
    for _ in range(WORKER_PORT_BLOCK):
        offset = _next_in_block.get(worker, 0)
        _next_in_block[worker] = (offset + 1) % WORKER_PORT_BLOCK
        port = first + offset
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # still held (a test's agent, a socket in TIME_WAIT): the next one
            return port
    raise RuntimeError(f"no free port left in {worker}'s block {first}–{first + WORKER_PORT_BLOCK - 1}")


def base_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "ENV_FILE": "",
        "DATA_DIR": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        "LLM_BACKOFF_INITIAL": "0.05",
        "LLM_BACKOFF_MAX": "0.2",
        # Never the default 8080: two agents started side by side (parallel tests, a drill) would share it.
        "DASHBOARD_PORT": str(free_port()),
    }
    env.update(extra)
    return env


class AgentProcess:
    def __init__(
        self,
        data_dir: Path,
        *,
        script: Path | None = None,
        fd_limit: int | None = None,
        shared_data_dir: bool = False,
        **env: str,
    ) -> None:
        """`script`: another agent program taking (port, data_dir), e.g. the benchmark's echo agent.
        `fd_limit`: the agent's descriptor limit (RLIMIT_NOFILE), as on a default laptop.
        `shared_data_dir`: a replica on a DATA_DIR other replicas use too (agent.json is theirs as well)."""
        self.data_dir = data_dir
        self.shared_data_dir = shared_data_dir
        self.script = script
        self.fd_limit = fd_limit
        self.port = int(env.pop("AGENT_PORT", 0)) or free_port()
        self.env = base_env(data_dir, AGENT_PORT=str(self.port), **env)
        self.proc: subprocess.Popen[str] | None = None
        self.log_path = data_dir.parent / f"agent-{self.port}.log"
        self.started_in = 0.0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/submit"

    @property
    def address(self) -> str:
        return json.loads((self.data_dir / "agent.json").read_text())["address"]

    @property
    def ref(self) -> AgentRef:
        return AgentRef(self.address, self.endpoint)

    async def start(self, ready: Callable[[], bool] | None = None) -> AgentProcess:
        """Start the agent; returns once it answers HEAD /submit as ready and `ready()` (if given) is true,
        e.g. "the Agentverse stand-in has seen its first mailbox poll"."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.shared_data_dir:
            (self.data_dir / "agent.json").unlink(missing_ok=True)
        log = self.log_path.open("a")
        started = time.monotonic()
        command = [sys.executable, str(PROJECT_DIR / "agent.py")]
        if self.script is not None:
            command = [sys.executable, str(self.script), str(self.port), str(self.data_dir)]
        limit = self.fd_limit

        def limits() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        self.proc = subprocess.Popen(
            command,
            preexec_fn=limits if limit is not None else None,
            env=self.env,
            cwd=str(self.data_dir.parent),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        await self._wait_ready(started, ready)
        self.started_in = time.monotonic() - started
        return self

    async def _wait_ready(self, started: float, ready: Callable[[], bool] | None) -> None:
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - started < START_DEADLINE_SECONDS:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"agent exited with {self.proc.returncode}:\n{self.logs()}")
                if (self.data_dir / "agent.json").exists():
                    try:
                        headers = {"x-uagents-address": self.address}
                        async with http.head(self.endpoint, headers=headers) as resp:
                            if resp.headers.get("x-uagents-status") == "ready" and (ready is None or ready()):
                                return
                    except (aiohttp.ClientError, ValueError, KeyError):
                        pass
                await asyncio.sleep(0.02)  # polling interval, not a wait for luck
        raise RuntimeError(f"agent not ready within {START_DEADLINE_SECONDS}s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def memory_kb(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak) of the agent process, from /proc."""
        values: dict[str, int] = {}
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0])
        except (OSError, ValueError):
            pass
        return values

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10.0) -> float:
        """Stop the agent with `sig`; returns how long it took to exit."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - started

    async def shutdown(self, sig: int = signal.SIGINT, timeout: float = 10.0) -> float:
        """`stop` for async code: the event loop keeps running while the agent exits.

        An agent shutting down still talks to what runs in this loop (the Agentverse stand-in,
        the providers): `stop`'s blocking wait would freeze them, and the agent would wait for
        them until killed at `timeout` (each replica test's teardown took 11 s that way).
        """
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        started = time.monotonic()
        self.proc.send_signal(sig)
        while self.proc.poll() is None and time.monotonic() - started < timeout:
            await asyncio.sleep(0.05)  # polling with a bound: the process's exit is the condition
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - started

    def client(self, seed: str, **kwargs: bool) -> ChatClient:
        return ChatClient(seed, self.ref, self.data_dir / "peers", **kwargs)


def provider_env(openai_url: str | None, asi1_url: str | None, **extra: str) -> dict[str, str]:
    env = {
        "OPENAI_API_KEY": "sk-test-openai-e2e-0123456789" if openai_url else "",
        "ASI1_API_KEY": "asi1-test-e2e-0123456789" if asi1_url else "",
        "OPENAI_TIMEOUT": "1.0",
        "ASI1_TIMEOUT": "1.0",
        "REPLY_DEADLINE": "4.0",
    }
    if openai_url:
        env["OPENAI_BASE_URL"] = openai_url
    if asi1_url:
        env["ASI1_BASE_URL"] = asi1_url
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}
