"""Every workaround for uagents 0.26.1, in one place (see shared/notes/uagents-0.26.1.md).

Defects worked around here, each with a test in tests/test_framework_defects.py:
1. Poison message: a schema-violating ChatMessage raised pydantic v1's
   ValidationError, which the dispatcher (catching v2's) did not catch, and the
   message-processing task died. -> `patch_validation_error()`, and
   `RobustDispatch` for anything else that escapes (a payload of `{}` raised TypeError).
2. Head-of-line blocking: one outgoing queue, one send at a time, 300 s timeout.
   One silent peer blocked every reply. -> `ConcurrentDispenser`.
5. No size limit. -> `GuardedASGIServer` answers 413 past MESSAGE_MAX_BYTES.
6. Replays and expiry: the same envelope was processed twice; expired ones
   were processed. -> `GuardedASGIServer` drops repeats and refuses expired envelopes.
7. Invalid base64 payload -> HTTP 500 with a traceback. -> 400 from `GuardedASGIServer`.
Offline start (local mode): no Almanac contract query, no registration, no
agent-status POST (`OfflineAgent`, `NoRegistration`, `prepare_offline()`).
Replies to local clients without an Almanac: `LocalPeerResolver`.
Framework log lines went to stdout in their own format, with no timestamp, past
every handler the agent configures -> `route_framework_logs()`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pydantic
import pydantic.v1
import uagents.agent
from uagents import Agent
from uagents.asgi import ASGIServer
from uagents.communication import Dispenser
from uagents.resolver import Resolver
from uagents_core.envelope import Envelope
from uagents_core.registration import AgentRegistrationPolicy

log = logging.getLogger("pizza.compat")

# Envelopes whose `expires` passed more than this long ago are refused.
EXPIRY_GRACE_SECONDS = 5.0
# How many recent envelopes / message ids are remembered to drop repeats.
REPLAY_MEMORY = 100_000
REPLAY_TTL_SECONDS = 3600.0
# Outgoing sends in flight at once (each bounded by SEND_TIMEOUT).
MAX_CONCURRENT_SENDS = 128


def patch_validation_error() -> None:
    """Defect 1: make the dispatcher's `except ValidationError` catch pydantic v1's too.

    TypeError too: the chat models' custom __init__ raises it for a payload with a
    field missing (`{}`), found by the property tests; the sender then gets an
    error message instead of silence.
    """
    uagents.agent.ValidationError = (  # type: ignore[misc]
        pydantic.ValidationError,
        pydantic.v1.ValidationError,
        TypeError,
    )


class RobustDispatch(Agent):
    """Defect 1, the general case: no message, however malformed, stops message processing.

    Any exception escaping the framework's handling of one message is logged
    and the queue goes on; before, it killed the processing task for good.
    """

    async def _process_single_message(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super()._process_single_message(*args, **kwargs)  # type: ignore[misc]
        except Exception:
            log.exception("a message broke the framework's dispatch; processing continues")


_FRAMEWORK_MODULES = ("agent", "asgi", "communication", "config", "mailbox", "network", "utils")


def _framework_logger(logger_name: str, level: int | str = logging.INFO) -> logging.Logger:
    """uagents' `get_logger`, minus its own stdout handler: the record goes to the agent's handlers."""
    logger = logging.getLogger(logger_name)
    logger.setLevel(logging.NOTSET)  # the agent's LOG_LEVEL decides, not the framework's DEBUG default
    logger.propagate = True
    return logger


def route_framework_logs() -> None:
    """Make every uagents logger (existing and future) log through the root handlers.

    uagents gives each of its loggers a stdout handler with uvicorn's format
    ("INFO:     [name]: ...": no time) and stops propagation, so its lines
    bypassed the agent's format, LOG_FORMAT=json, LOG_FILE and secret redaction.
    """
    for module_name in _FRAMEWORK_MODULES:
        module = sys.modules.get(f"uagents.{module_name}")
        if module is not None and hasattr(module, "get_logger"):
            module.get_logger = _framework_logger  # type: ignore[attr-defined]
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if not isinstance(logger, logging.Logger) or logger.propagate:
            continue
        framework = [h for h in logger.handlers if type(h.formatter).__module__.startswith("uvicorn")]
        if framework:
            for handler in framework:
                logger.removeHandler(handler)
            _framework_logger(logger.name)


def prepare_offline() -> None:
    """Local mode: skip the synchronous gRPC query to the Fetch.ai ledger at construction."""
    uagents.agent.get_almanac_contract = lambda network: None  # type: ignore[assignment]


class NoRegistration(AgentRegistrationPolicy):
    """Local mode registers nowhere: there is no Almanac on loopback."""

    async def register(self, *args: Any, **kwargs: Any) -> None:
        return None


class OfflineAgent(RobustDispatch):
    """An Agent that never POSTs its status (33 s of retries at start and stop offline)."""

    async def _update_agent_status(self, active: bool) -> None:
        return None


class ConcurrentDispenser(Dispenser):
    """Defect 2: each envelope is sent in its own task, bounded by `send_timeout`.

    A peer that accepts and never answers now delays only the reply to itself.
    """

    def __init__(self, send_timeout: float, max_in_flight: int = MAX_CONCURRENT_SENDS) -> None:
        super().__init__()
        self._send_timeout = send_timeout
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()

    async def _send_one(self, env: Any, endpoints: list[str], future: asyncio.Future, sync: bool) -> None:
        async with self._slots:
            try:
                await asyncio.wait_for(self._process_envelope(env, endpoints, future, sync), self._send_timeout)
            except TimeoutError:
                log.warning("send to %s timed out after %.1fs", str(env.target)[-8:], self._send_timeout)
                if not future.done():
                    future.set_exception(TimeoutError("peer did not answer"))

    async def run(self) -> None:
        try:
            while True:
                env, endpoints, future, sync = await self._envelopes.get()
                task = asyncio.create_task(self._send_one(env, endpoints, future, sync))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except asyncio.CancelledError:
            if self._tasks:  # give sends already under way a moment to finish
                await asyncio.wait(self._tasks, timeout=0.5)


class _RecentKeys:
    """A bounded, time-limited memory of keys already seen (replay detection)."""

    def __init__(self, capacity: int = REPLAY_MEMORY, ttl: float = REPLAY_TTL_SECONDS) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._capacity = capacity
        self._ttl = ttl

    def first_time(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        while self._seen and (len(self._seen) >= self._capacity or next(iter(self._seen.values())) < now - self._ttl):
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


class MessageIdGuard(_RecentKeys):
    """Defect 6, second half: a message id re-sent in a new envelope is handled once."""

    def first_time_message(self, sender: str, msg_id: object) -> bool:
        return self.first_time(f"{sender}:{msg_id}")


class GuardedASGIServer(ASGIServer):
    """The agent's HTTP server with a gate in front of /submit (defects 5, 6, 7)."""

    max_bytes: int = 65536
    _recent: _RecentKeys

    @classmethod
    def replace_in(cls, agent: Agent, max_bytes: int) -> None:
        """Swap the agent's server for a guarded one (before any REST endpoint is added)."""
        old: ASGIServer = agent._server  # type: ignore[attr-defined]
        server = cls(port=old._port, loop=old._loop, queries=old._queries, logger=old._logger)
        server._rest_handler_map.update(old._rest_handler_map)
        server.max_bytes = max_bytes
        server._recent = _RecentKeys()
        agent._server = server  # type: ignore[attr-defined]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or scope.get("path") != "/submit":
            return await super().__call__(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send, 413, f"message larger than {self.max_bytes} bytes", scope)
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self._refuse(send, 413, f"message larger than {self.max_bytes} bytes", scope)
        problem = self._inspect(body)
        if problem == "replay":
            log.warning("dropped a replayed envelope from %s", _client(scope))
            return await self._asgi_send(send=send, body={})
        if problem:
            return await self._refuse(send, 400, problem, scope)

        async def replay_body() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        return await super().__call__(scope, replay_body, send)

    def _inspect(self, body: bytes) -> str | None:
        try:
            envelope = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            return None  # the framework answers 400 for these itself
        if not isinstance(envelope, dict):
            return None
        payload = envelope.get("payload")
        if isinstance(payload, str):
            try:
                base64.b64decode(payload, validate=True).decode()
            except (binascii.Error, ValueError):
                return "payload is not valid base64-encoded UTF-8"
        expires = envelope.get("expires")
        if isinstance(expires, int | float) and expires + EXPIRY_GRACE_SECONDS < time.time():
            return "envelope expired"
        try:
            Envelope.model_validate(envelope)
        except pydantic.ValidationError:
            return None  # not an envelope: the framework answers 400 itself; never a "replay"
        key = envelope.get("signature") or hashlib.sha256(body).hexdigest()
        if not self._recent.first_time(str(key)):
            return "replay"
        return None

    async def _refuse(self, send: Any, status: int, reason: str, scope: dict) -> None:
        log.warning("refused envelope from %s: HTTP %d %s", _client(scope), status, reason)
        await self._asgi_send(send=send, status_code=status, body={"error": reason})


def _client(scope: dict) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "unknown"


class LocalPeerResolver(Resolver):
    """Resolves local clients' addresses to their loopback endpoints, with no Almanac.

    A local client (chat.py, the tests, the drill) writes `<address>.json` with its
    endpoint into the agent's `peers/` directory; writing there needs the
    agent owner's file permissions, which is the authentication. Unknown
    addresses resolve to nothing at once, so they never stall other replies.
    """

    def __init__(self, peers_dir: Path) -> None:
        self._dir = peers_dir

    async def resolve(self, destination: str) -> tuple[str | None, list[str]]:
        # Read on every reply (a tiny file): a client that restarts on a new port is found at once.
        address = destination.rsplit("/", 1)[-1].split("://")[-1]
        endpoint = self._endpoint_of(address)
        return (address, [endpoint]) if endpoint else (None, [])

    def _endpoint_of(self, address: str) -> str | None:
        if not address.isalnum():
            return None
        try:
            endpoint = json.loads((self._dir / f"{address}.json").read_text())["endpoint"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if isinstance(endpoint, str) and endpoint.startswith(("http://127.", "http://localhost")):
            return endpoint
        return None


def register_local_peer(peers_dir: Path, address: str, endpoint: str) -> Path:
    """What a local client does so the agent can reply to it."""
    peers_dir.mkdir(parents=True, exist_ok=True)
    path = peers_dir / f"{address}.json"
    path.write_text(json.dumps({"endpoint": endpoint}))
    return path
