"""uagents 0.26.1 in mailbox mode (Agentverse), made fast and offline-rehearsable.

Defects worked around here (docs/framework-defects.md), each with a test
in tests/test_agentverse.py:
9a. The mailbox client handles one item at a time, opens a new HTTP session for
    every poll and every DELETE, and waits for all of it before the next poll:
    with 100 ms added to mailbox calls, a burst of 100 messages got replies at
    p50 5.5 s, max 11.8 s. -> `FastMailboxClient`: one pooled session, every item
    of a poll verified and dispatched at once (dispatch only queues it: the
    handlers run concurrently elsewhere), deletes in parallel in the background
    (an item being deleted is not dispatched again), the next poll at once
    when the last one found items, and polls every 0.25 s (not 1 s) for ten
    seconds after any item arrived: a conversation comes in steps.
9b. Every `ctx.send` resolves the destination through the Almanac API again. ->
    `AlmanacCache`: resolutions cached until their `expiry` (bounded), a stale
    one served when the Almanac API fails.
9c. Offline, the ledger (gRPC) is consulted at construction and as the
    resolver's fallback. -> `prepare_agentverse()` turns both off: every call
    goes to AGENTVERSE_URL.
9d. Expired envelopes in the mailbox are dispatched anyway. -> dropped (and deleted).
9e. A mailbox agent with no REST endpoint does not start its HTTP server, and
    since the mailbox client's run() returns at once, `run_async` finishes and
    the agent shuts down right after startup. -> `keep_local_server()` adds a
    GET /ready endpoint: the server runs (the inspector, local chat and the
    readiness probe need it) and keeps the agent alive.
The mailbox can also be connected without the inspector: `connect_mailbox()`
with an Agentverse API key does what the inspector's "Connect" button does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import uagents.agent
import uagents.resolver
from pydantic import ValidationError
from uagents import Agent, Context, Model
from uagents.dispatch import dispatcher
from uagents.mailbox import AgentverseConnectRequest, MailboxClient, StoredEnvelope, register_in_agentverse
from uagents.resolver import Resolver
from uagents_core.contrib.protocols.chat import ChatMessage
from uagents_core.envelope import Envelope
from uagents_core.identity import is_user_address, parse_identifier
from uagents_core.registration import RegistrationRequest

log = logging.getLogger("pizza.mailbox")

# Items of one poll handled at once (verifying a signature costs ~1.4 ms of CPU each).
MAILBOX_CONCURRENCY = 32
# Almanac resolutions kept (each until its expiry, at most ALMANAC_CACHE_SECONDS).
ALMANAC_CACHE_SIZE = 10_000
ALMANAC_CACHE_SECONDS = 600.0
HTTP_TIMEOUT_SECONDS = 10.0
# A chat message's item is deleted once it is answered, or after this long whatever happened.
ANSWER_WAIT_SECONDS = 30.0
CHAT_MESSAGE_DIGEST = Model.build_schema_digest(ChatMessage)
# Idle, the mailbox is polled once a second (the framework's interval); for this long after a poll
# found items, every ACTIVE_POLL_SECONDS (at most 4 GETs a second, only while people are talking).
ACTIVE_WINDOW_SECONDS = 10.0
ACTIVE_POLL_SECONDS = 0.25


class Ready(Model):
    status: str = "ready"


def keep_local_server(agent: Agent) -> None:
    """9e: one REST endpoint, so the framework starts (and waits on) its HTTP server in mailbox mode."""

    @agent.on_rest_get("/ready", Ready)  # type: ignore[arg-type]
    async def ready(ctx: Context) -> Ready:
        return Ready()


def prepare_agentverse() -> None:
    """9c: no gRPC ledger, at construction or as a resolver's fallback: only the Almanac API over HTTP."""
    uagents.agent.get_almanac_contract = lambda network: None  # type: ignore[assignment]
    uagents.resolver.get_almanac_contract = lambda network: None  # type: ignore[assignment]


class FastMailboxClient(MailboxClient):
    """9a and 9d. One pooled HTTP session; a poll's items dispatched together; deletes in parallel."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connected = asyncio.Event()  # the mailbox answered a poll: it exists on Agentverse
        self._in_hand: set[str] = set()
        self._deleting: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAILBOX_CONCURRENCY)
        self._failures_logged = 0.0
        self._last_items_at = -ACTIVE_WINDOW_SECONDS
        # Asked before every poll: a standby replica polls nothing (two pollers duplicate everything).
        self.may_poll: Callable[[], bool] = lambda: True
        # Chat messages are deleted once answered (`handled`), so a replica that dies in between
        # leaves them for the one taking over; anything else is deleted once dispatched.
        self._answered: dict[tuple[str, str], asyncio.Future[None]] = {}

    async def _check_mailbox_loop(self) -> None:
        timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS)
        # Two pools: deletes in flight never make a poll wait for a connection.
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2), timeout=timeout) as polls,
            aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAILBOX_CONCURRENCY), timeout=timeout
            ) as deletes,
        ):
            while True:
                found = 0
                if not self.may_poll():
                    await asyncio.sleep(ACTIVE_POLL_SECONDS)  # standing by: ask again soon
                    continue
                try:
                    found = await self._poll_once(polls, deletes)
                except (aiohttp.ClientError, TimeoutError) as exc:
                    self._warn_rarely(f"Failed to connect to mailbox server: {type(exc).__name__}")
                except Exception:  # a bug must not stop the mailbox
                    log.exception("mailbox poll failed")
                now = time.monotonic()
                if found:
                    self._last_items_at = now
                    continue  # with items found, poll again at once
                # A conversation comes in steps (ASI:One sends a session opener, then the text, then an
                # acknowledgement of our reply): while one is under way, poll faster.
                active = now - self._last_items_at < ACTIVE_WINDOW_SECONDS
                await asyncio.sleep(ACTIVE_POLL_SECONDS if active else self._poll_interval)  # the poll interval

    def _warn_rarely(self, message: str) -> None:
        now = time.monotonic()
        if now - self._failures_logged > 30:
            self._failures_logged = now
            log.warning("%s (repeats are not logged for 30 s)", message)

    async def _poll_once(self, session: aiohttp.ClientSession, deletes: aiohttp.ClientSession) -> int:
        url = f"{self._agentverse.agents_api}/{self._identity.address}/mailbox"
        async with session.get(url, headers={"Authorization": f"Agent {self.attestation}"}) as response:
            if response.status == 404:
                if not self._missing_mailbox_warning_logged:
                    log.warning("Agent mailbox not found: connect it on Agentverse (see the README's go-live list)")
                    self._missing_mailbox_warning_logged = True
                return 0
            if response.status != 200:
                self._warn_rarely(f"Failed to retrieve messages: HTTP {response.status}")
                return 0
            items = await response.json()
        if not self.connected.is_set():
            self.connected.set()
            log.warning("mailbox connected on %s", self._agentverse.url)
        fresh = []
        for item in items if isinstance(items, list) else []:
            try:
                stored = StoredEnvelope.model_validate(item)
            except ValidationError:
                log.warning("mailbox item is not a stored envelope: ignored")
                continue
            if str(stored.uuid) not in self._in_hand:
                self._in_hand.add(str(stored.uuid))
                fresh.append(stored)
        waits = await asyncio.gather(*(self._dispatch_bounded(stored) for stored in fresh))
        for stored, answered in zip(fresh, waits, strict=True):
            # Deleted in the background (a slow delete does not hold the next poll), a chat message
            # once it is answered.
            task = asyncio.get_running_loop().create_task(
                self._delete_then_release(deletes, str(stored.uuid), answered)
            )
            self._deleting.add(task)
            task.add_done_callback(self._deleting.discard)
        return len(fresh)

    async def _dispatch_bounded(self, stored: StoredEnvelope) -> asyncio.Future[None] | None:
        answered = None
        async with self._slots:
            try:
                answered = await self._dispatch(stored)
            except Exception:  # one bad item must not stop the others
                log.exception("a mailbox item could not be dispatched")
        # Verifying is CPU work that never yields: without this, a poll of 200 items is verified
        # to the end before the first handler runs and sends its acknowledgement.
        await asyncio.sleep(0)
        return answered

    def handled(self, sender: str, msg_id: object) -> None:
        """The chat handler is done with (sender, msg_id): its mailbox item may go."""
        waiting = self._answered.pop((sender, str(msg_id)), None)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)

    async def _delete_then_release(
        self, session: aiohttp.ClientSession, uuid: str, answered: asyncio.Future[None] | None = None
    ) -> None:
        try:
            if answered is not None:
                with contextlib.suppress(TimeoutError):  # never kept for ever: deleted after the wait
                    await asyncio.wait_for(answered, ANSWER_WAIT_SECONDS)
            await self._delete(session, uuid)
        finally:
            self._in_hand.discard(uuid)  # until now a poll still lists it: it is not dispatched twice

    async def _dispatch(self, stored: StoredEnvelope) -> asyncio.Future[None] | None:
        """Verify and dispatch one item; for a chat message, a future that completes once it is answered."""
        try:
            env = Envelope.model_validate(stored.envelope)
        except ValidationError:
            log.warning("Received invalid envelope")
            return None
        if stored.expires_at < datetime.now(UTC) or (env.expires and env.expires < time.time()):
            log.warning("dropped an expired envelope from the mailbox (sender …%s)", env.sender[-8:])
            return None
        if not is_user_address(env.sender):
            try:
                env.verify()
            except Exception as err:  # any failure to verify
                log.warning("Received envelope that failed verification: %s", err)
                return None
        if not dispatcher.contains(env.target):
            log.warning("Received envelope for unrecognized address")
            return None
        answered = None
        if env.schema_digest == CHAT_MESSAGE_DIGEST:
            msg_id = _msg_id(env.decode_payload())
            if msg_id is not None:
                answered = self._answered.setdefault((env.sender, msg_id), asyncio.get_running_loop().create_future())
        await dispatcher.dispatch_msg(
            sender=env.sender,
            destination=env.target,
            schema_digest=env.schema_digest,
            message=env.decode_payload(),
            session=env.session,
        )
        return answered

    async def _delete(self, session: aiohttp.ClientSession, uuid: str) -> None:
        url = f"{self._agentverse.agents_api}/{self._identity.address}/mailbox/{uuid}"
        try:
            async with session.delete(url, headers={"Authorization": f"Agent {self.attestation}"}) as response:
                if response.status >= 300 and response.status != 404:
                    self._warn_rarely(f"Failed to delete a mailbox item: HTTP {response.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._warn_rarely(f"Failed to delete a mailbox item: {type(exc).__name__}")


def _msg_id(payload: str) -> str | None:
    try:
        value = json.loads(payload).get("msg_id")
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None


class AlmanacCache(Resolver):
    """9b. Almanac API resolutions, cached until their expiry; a stale one when the API fails."""

    def __init__(self, almanac_api_url: str) -> None:
        self._url = almanac_api_url.rstrip("/")
        self._cache: OrderedDict[str, tuple[float, list[str]]] = OrderedDict()
        self._session: aiohttp.ClientSession | None = None
        self._pending: dict[str, asyncio.Future[list[str] | None]] = {}
        self.lookups = 0

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS))
        return self._session

    async def resolve(self, destination: str) -> tuple[str | None, list[str]]:
        _, _, address = parse_identifier(destination)
        if not address:
            return None, []
        cached = self._cache.get(address)
        if cached is not None and cached[0] > time.monotonic():
            self._cache.move_to_end(address)
            return address, cached[1]
        # One lookup per address at a time: a burst of replies to one sender shares it.
        pending = self._pending.get(address)
        if pending is None:
            pending = asyncio.ensure_future(self._lookup(address))
            self._pending[address] = pending
            pending.add_done_callback(lambda _: self._pending.pop(address, None))
        endpoints = await asyncio.shield(pending)
        if endpoints is None:
            return (address, cached[1]) if cached else (None, [])  # the API failed: stale is better than nothing
        return address, endpoints

    async def _lookup(self, address: str) -> list[str] | None:
        self.lookups += 1
        try:
            async with self._http().get(f"{self._url}/agents/{address}") as response:
                if response.status != 200:
                    return None
                record = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        expiry = record.get("expiry") if isinstance(record, dict) else None
        entries = [e for e in record.get("endpoints", []) if isinstance(e, dict) and e.get("url")] if expiry else []
        if not entries:
            return None
        # Weighted random order, as the framework's resolver does: several replicas share the load.
        urls = [e["url"] for e in entries]
        weights = [max(1, int(e.get("weight") or 1)) for e in entries]
        ordered = random.sample(urls, len(urls)) if len(set(weights)) == 1 else _weighted(urls, weights)
        try:
            until = datetime.fromisoformat(str(expiry).replace("Z", "+00:00")).timestamp() - time.time()
        except ValueError:
            until = 0.0
        self._cache[address] = (time.monotonic() + max(0.0, min(until, ALMANAC_CACHE_SECONDS)), ordered)
        while len(self._cache) > ALMANAC_CACHE_SIZE:
            self._cache.popitem(last=False)
        return ordered

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def _weighted(urls: list[str], weights: list[int]) -> list[str]:
    remaining = list(zip(urls, weights, strict=True))
    ordered = []
    while remaining:
        pick = random.choices(range(len(remaining)), weights=[w for _, w in remaining])[0]
        ordered.append(remaining.pop(pick)[0])
    return ordered


async def connect_mailbox(agent: Agent, user_token: str, starter_prompts: list[str] | None = None) -> bool:
    """What the inspector's "Connect" does, without the inspector: prove the identity, send the profile.

    Defect 19: uagents 0.26.1 builds the profile without `starter_prompts` (its `Agent` has no such
    setting, though uagents-core's `AgentProfile` carries them), so they are added here."""
    profile = agent._build_registration_profile()  # type: ignore[attr-defined]
    if starter_prompts:
        profile = profile.model_copy(update={"starter_prompts": list(starter_prompts)})
    details = RegistrationRequest(
        address=agent.address,
        name=agent.name,
        handle=agent._handle,  # type: ignore[attr-defined]
        profile=profile,
        endpoints=agent._endpoints,  # type: ignore[attr-defined]
        protocols=list(agent.protocols.keys()),
        metadata=agent.metadata,
    )
    try:
        result = await register_in_agentverse(
            request=AgentverseConnectRequest(user_token=user_token, agent_type="mailbox"),
            identity=agent._identity,  # type: ignore[attr-defined]
            prefix=agent._prefix,  # type: ignore[attr-defined]
            agentverse=agent._agentverse,  # type: ignore[attr-defined]
            agent_details=details,
        )
    except Exception as exc:  # the network, or Agentverse's answer: the agent keeps running either way
        log.error("connecting the mailbox on Agentverse failed: %s", type(exc).__name__)
        return False
    if result.success:
        log.warning("registered on Agentverse as %s", agent._handle or agent.name)  # type: ignore[attr-defined]
        return True
    log.error("connecting the mailbox on Agentverse failed: %s", result.detail)
    return False
