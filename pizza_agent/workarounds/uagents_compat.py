"""The workarounds of the local path for uagents 0.26.1 (docs/framework-defects.md has each defect).

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
10. A sync query's future was stored under the claimed sender *before* its
   signature was checked: a bad-signature sync request naming a victim swallowed
   the agent's next message to the victim, and a huge `sender` stayed in memory.
   -> `GuardedASGIServer` verifies a sync envelope before the framework sees it,
   and allows one pending query per sender.
11. Everything an unauthenticated request sends was kept: the replay memory stored
   raw signatures (58 KB each, 100k of them). -> field sizes checked first; the
   memory keeps a 32-byte hash, forgets it when the framework rejects the
   envelope, and holds each only until the envelope expires.
12. One key, two addresses: bech32 accepts an all-uppercase address and the
   signature covers the string as sent. -> senders must be canonical (lowercase)
   agent addresses.
13. No header or body read time-out: half-open connections exhausted the
   descriptors. -> `HeaderTimeoutH11` (uvicorn) and a body time-out; a
   connection limit below the descriptor limit.
14. Nested JSON 100 levels deep -> RecursionError -> HTTP 500 with a traceback. -> 400.
15. Every envelope sent opens a new HTTP session: a new TCP (and TLS) connection
   per reply. -> `ConcurrentDispenser` posts asynchronous sends over one pool.
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
import contextlib
import hashlib
import json
import logging
import os
import resource
import stat
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import h11
import pydantic
import pydantic.v1
import uagents.agent
import uagents.asgi
import uvicorn
from uagents import Agent
from uagents.asgi import ASGIServer
from uagents.communication import Dispenser
from uagents.resolver import Resolver
from uagents_core.envelope import Envelope
from uagents_core.registration import AgentRegistrationPolicy
from uagents_core.types import DeliveryStatus, MsgStatus
from uvicorn.protocols.http.h11_impl import H11Protocol

from pizza_agent.config.addresses import canonical_agent_address

log = logging.getLogger("pizza.compat")

# Envelopes whose `expires` passed more than this long ago are refused.
EXPIRY_GRACE_SECONDS = 5.0
# How many recent envelopes / message ids are remembered to drop repeats (each a hash and a deadline),
# each only until its envelope expires, and never longer than REPLAY_TTL_SECONDS.
REPLAY_MEMORY = 50_000
REPLAY_TTL_SECONDS = 3600.0
# The longest field values a genuine envelope has (an agent address is 65 characters, a signature ~110).
MAX_FIELD_CHARS = {
    "sender": 100,
    "target": 100,
    "signature": 200,
    "session": 64,
    "schema_digest": 100,
    "protocol_digest": 100,
}
# Seconds a client may take to send a request's body once its headers are in.
BODY_READ_SECONDS = 10.0
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
    Defect 15: the framework opens a new HTTP session (a new TCP and TLS
    connection) for every envelope it sends: two extra round trips per reply to
    Agentverse. Asynchronous sends here go over one pooled session.
    """

    def __init__(self, send_timeout: float, max_in_flight: int = MAX_CONCURRENT_SENDS) -> None:
        super().__init__()
        self._send_timeout = send_timeout
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._max_in_flight = max_in_flight

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No per-host limit: in agentverse mode every send goes to one host (the mailbox). Idle
            # connections are kept a minute: a burst after a quiet spell should not pay new handshakes.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_in_flight, limit_per_host=0, keepalive_timeout=60)
            )
        return self._session

    async def _process_envelope(self, env: Any, endpoints: list[str], future: asyncio.Future, sync: bool) -> None:
        if sync:  # a sync exchange needs the framework's response handling
            return await super()._process_envelope(env, endpoints, future, sync)
        status = await self._post(env, endpoints)
        if not future.done():
            future.set_result(status)

    async def _post(self, env: Envelope, endpoints: list[str]) -> MsgStatus:
        """uagents.communication.send_exchange_envelope for asynchronous sends, over the pooled session."""
        body = env.model_dump_json()
        errors = []
        for endpoint in endpoints:
            try:
                async with self._http().post(
                    endpoint, data=body, headers={"content-type": "application/json"}
                ) as response:
                    if response.status == 200:
                        return MsgStatus(
                            status=DeliveryStatus.DELIVERED,
                            detail="Message successfully delivered via HTTP",
                            destination=env.target,
                            endpoint=endpoint,
                            session=env.session,
                        )
                    errors.append(f"HTTP {response.status}")
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                errors.append(type(exc).__name__)
        log.warning("could not deliver to …%s: %s", str(env.target)[-8:], "; ".join(errors) or "no endpoint")
        return MsgStatus(
            status=DeliveryStatus.FAILED,
            detail="Message delivery failed",
            destination=env.target,
            endpoint="",
            session=env.session,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

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
    """A bounded, time-limited memory of keys already seen (replay detection).

    Each key is kept until its own deadline (the envelope's expiry) and never
    longer than `ttl`; at `capacity` the oldest go first. Keys are short hashes,
    so the memory is bounded in bytes too.
    """

    def __init__(self, capacity: int = REPLAY_MEMORY, ttl: float = REPLAY_TTL_SECONDS) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._capacity = capacity
        self._ttl = ttl

    def first_time(self, key: str, now: float | None = None, keep_for: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        while self._seen and (len(self._seen) >= self._capacity or next(iter(self._seen.values())) < now):
            self._seen.popitem(last=False)
        if key in self._seen and self._seen[key] >= now:
            return False
        self._seen[key] = now + min(self._ttl, self._ttl if keep_for is None else max(0.0, keep_for))
        return True

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)


class MessageIdGuard(_RecentKeys):
    """Defect 6, second half: a message id re-sent in a new envelope is handled once."""

    def first_time_message(self, sender: str, msg_id: object) -> bool:
        return self.first_time(f"{sender}:{msg_id}")


class GuardedASGIServer(ASGIServer):
    """The agent's HTTP server with a gate in front of /submit (defects 5, 6, 7, 10-14)."""

    max_bytes: int = 65536
    connection_limit: int = 512
    allowed_origin: str | None = None  # the only origin whose pages may call the inspector (Agentverse's)
    mailbox_connected: bool = False  # from then on the inspector's /connect is closed
    # Replicas in local mode: a standby refuses messages with 503 and the sender tries the next endpoint.
    may_serve: Callable[[], bool] | None = None
    _recent: _RecentKeys

    @classmethod
    def replace_in(cls, agent: Agent, max_bytes: int, allowed_origin: str | None = None) -> None:
        """Swap the agent's server for a guarded one (before any REST endpoint is added)."""
        old: ASGIServer = agent._server  # type: ignore[attr-defined]
        server = cls(port=old._port, loop=old._loop, queries=old._queries, logger=old._logger)
        server._rest_handler_map.update(old._rest_handler_map)
        server.max_bytes = max_bytes
        server.connection_limit = connection_limit()
        server.allowed_origin = allowed_origin
        server._recent = _RecentKeys()
        agent._server = server  # type: ignore[attr-defined]

    async def serve(self) -> None:
        """The framework's `serve()`, with limits (defect 13).

        Copied rather than patched: the framework builds its uvicorn config inside
        serve(); the only changes are the HTTP protocol with a header time-out,
        the connection limit and the keep-alive and incomplete-request bounds.
        """
        config = uvicorn.Config(
            self,
            host=uagents.asgi.HOST,
            port=self._port,
            log_level="warning",
            forwarded_allow_ips="*",
            http=HeaderTimeoutH11,
            limit_concurrency=self.connection_limit,
            timeout_keep_alive=5,
            h11_max_incomplete_event_size=16 * 1024,
            # The framework sends `Access-Control-Allow-Origin: *`: any web page a local user opens could
            # call the inspector. Only Agentverse's own pages may (the inspector's "Connect" button).
            headers=[
                *([("Access-Control-Allow-Origin", self.allowed_origin)] if self.allowed_origin else []),
                ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
                ("Access-Control-Allow-Headers", "*"),
                ("Access-Control-Allow-Credentials", "false"),
            ],
        )
        self._server = uvicorn.Server(config)
        self._logger.info(f"Starting server on http://{uagents.asgi.HOST}:{self._port} (Press CTRL+C to quit)")
        with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt):
            await self._server.serve()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("path") == "/messages":
            # The inspector's message history holds every reply, coupon codes included.
            return await self._refuse(send, 404, "message history is not served by this agent", scope)
        if scope.get("type") == "http" and scope.get("path") == "/connect" and self.mailbox_connected:
            return await self._refuse(send, 403, "the mailbox is connected already", scope)
        if scope.get("type") != "http" or scope.get("method") != "POST" or scope.get("path") != "/submit":
            return await super().__call__(scope, receive, send)
        if self.may_serve is not None and not self.may_serve():
            return await self._standing_by(send, scope)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send, 413, f"message larger than {self.max_bytes} bytes", scope)
        body = bytearray()
        more = True
        try:
            async with asyncio.timeout(BODY_READ_SECONDS):
                while more:
                    message = await receive()
                    body += message.get("body", b"")
                    more = message.get("more_body", False)
                    if len(body) > self.max_bytes:
                        return await self._refuse(send, 413, f"message larger than {self.max_bytes} bytes", scope)
        except TimeoutError:
            return await self._refuse(send, 408, f"body not received within {BODY_READ_SECONDS:g}s", scope)
        envelope, problem = self._inspect(bytes(body), sync=headers.get(b"x-uagents-connection") == b"sync")
        if problem == "replay":
            log.warning("dropped a replayed envelope from %s", _client(scope))
            return await self._asgi_send(send=send, body={})
        if problem:
            return await self._refuse(send, 409 if problem.startswith("a query") else 400, problem, scope)
        key = _replay_key(envelope)

        async def replay_body() -> dict[str, Any]:
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        status = {"code": 200}

        async def watch(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                status["code"] = message.get("status", 200)
            await send(message)

        try:
            await super().__call__(scope, replay_body, watch)
        finally:
            if status["code"] != 200 and key is not None:
                self._recent.forget(key)  # the framework rejected it: it was never seen, and holds no memory

    def _inspect(self, body: bytes, *, sync: bool) -> tuple[dict | None, str | None]:
        """(the envelope, None) when it may go on to the framework; (None, why not) otherwise."""
        try:
            envelope = json.loads(body)
        except RecursionError:
            return None, "JSON nested too deeply"
        except (UnicodeDecodeError, ValueError):
            return None, "body is not JSON"
        if not isinstance(envelope, dict):
            return None, "body is not a JSON object"
        for name, limit in MAX_FIELD_CHARS.items():
            value = envelope.get(name)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                return None, f"field {name!r} is not a string of at most {limit} characters"
        payload = envelope.get("payload")
        if isinstance(payload, str):
            try:
                base64.b64decode(payload, validate=True).decode()
            except (binascii.Error, ValueError):
                return None, "payload is not valid base64-encoded UTF-8"
        expires = envelope.get("expires")
        if isinstance(expires, int | float) and expires + EXPIRY_GRACE_SECONDS < time.time():
            return None, "envelope expired"
        try:
            parsed = Envelope.model_validate(envelope)
        except pydantic.ValidationError:
            return None, "contents do not match the envelope schema"
        sender = str(envelope.get("sender", ""))
        if canonical_agent_address(sender) != sender:
            return None, "sender must be an agent address, in lowercase (agent1...)"
        if sync:
            # Defect 10: the framework stores a pending query under the claimed sender before checking
            # the signature. Check it first, and allow one pending query per sender.
            try:
                parsed.verify()
            except Exception:  # any failure to verify is a refusal
                return None, "signature does not verify"
            if sender in self._queries:
                return None, "a query from this sender is already waiting"
        key = _replay_key(envelope)
        keep_for = float(expires) - time.time() + EXPIRY_GRACE_SECONDS if isinstance(expires, int | float) else None
        if key is not None and not self._recent.first_time(key, keep_for=keep_for):
            return None, "replay"
        return envelope, None

    async def _standing_by(self, send: Any, scope: dict) -> None:
        # Not a warning: while a replica stands by, every sender that tries it first lands here.
        log.info("standby: sent %s on to the active replica (HTTP 503)", _client(scope))
        await self._asgi_send(
            send=send, status_code=503, headers={"content-type": "application/json", "retry-after": "1"}, body=STANDBY
        )

    async def _refuse(self, send: Any, status: int, reason: str, scope: dict) -> None:
        log.warning("refused envelope from %s: HTTP %d %s", _client(scope), status, reason)
        await self._asgi_send(send=send, status_code=status, body={"error": reason})


def _replay_key(envelope: dict | None) -> str | None:
    """A short hash of what the sender signed (the envelope's digest): never the raw, unbounded value.

    Not the signature: ECDSA signatures are malleable ((r, s) and (r, n - s) both verify),
    so a replay keyed on the signature came through again with s flipped."""
    if not envelope or not envelope.get("signature"):
        return None
    try:
        digest = Envelope.model_validate(envelope)._digest()
    except (ValueError, TypeError):  # malformed: the framework refuses it anyway; still remember it
        digest = hashlib.sha256(str(envelope["signature"]).encode()).digest()
    return digest.hex()[:32]


def connection_limit() -> int:
    """Connections served at once: well below the descriptor limit, so accept() never fails (defect 13)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(64, min(1024, soft - 256 if soft > 512 else soft // 2))


class HeaderTimeoutH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a header read time-out (defect 13).

    uvicorn has none: a client that opens a connection and sends its headers a
    byte at a time (or never) holds a descriptor forever, and ~1,000 of them
    starve everyone. The keep-alive timer does not help: any byte resets it.
    """

    header_timeout = 5.0
    _evicted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._opened = self.loop.time()
        self._header_timer: asyncio.TimerHandle | None = self.loop.call_later(self.header_timeout, self._too_slow)
        self._make_room()

    def _make_room(self) -> None:
        """When the server is full, drop the oldest connection still waiting for its headers.

        Without this a newcomer gets uvicorn's 503 for as long as half-open connections
        hold the slots (up to the header time-out). An honest client sends its headers
        at once, so the connections waiting longest are the ones not worth keeping.
        """
        limit = self.config.limit_concurrency
        if not limit:
            return
        live = [p for p in self.server_state.connections if not getattr(p, "_evicted", False)]
        if len(live) < limit:
            return
        waiting = [p for p in live if p is not self and isinstance(p, HeaderTimeoutH11) and p._waiting_for_headers()]
        if waiting:
            min(waiting, key=lambda p: p._opened)._evict()

    def _waiting_for_headers(self) -> bool:
        return self._header_timer is not None and self.conn.their_state is h11.IDLE

    def _evict(self) -> None:
        self._evicted = True
        log.warning("closed a connection from %s: server full and no request headers yet", self.client)
        self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self._header_timer is not None and self.conn.their_state is not h11.IDLE:
            self._header_timer.cancel()  # the request's headers are in
            self._header_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._header_timer is None and not self.transport.is_closing():
            self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            log.warning("closed a connection from %s: no request headers within %gs", self.client, self.header_timeout)
            self.transport.close()


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
        path = self._dir / f"{address}.json"
        try:
            info = path.stat()
            endpoint = json.loads(path.read_text())["endpoint"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o022:
            log.warning("ignored peer file %s: not the agent owner's, or writable by others", path.name)
            return None
        if not is_loopback_endpoint(endpoint):
            log.warning("refused peer endpoint for %s: not a plain loopback URL", address[-8:])
            return None
        return endpoint


STANDBY = {"error": "this replica is on standby: send to the next endpoint"}
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def is_loopback_endpoint(endpoint: object) -> bool:
    """http://127.0.0.1|[::1]|localhost[:port]/path, nothing else (no userinfo, no look-alike hosts)."""
    if not isinstance(endpoint, str):
        return False
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return False
    del port  # parsed only to refuse a malformed port
    return (
        parts.scheme == "http"
        and parts.hostname in LOOPBACK_HOSTS
        and parts.username is None
        and parts.password is None
        and "@" not in parts.netloc
    )


def register_local_peer(peers_dir: Path, address: str, endpoint: str) -> Path:
    """What a local client does so the agent can reply to it (an owner-only file in an owner-only folder)."""
    peers_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = peers_dir / f"{address}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps({"endpoint": endpoint}))
    return path
