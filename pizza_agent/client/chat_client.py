"""A minimal uAgents chat participant on loopback: signed envelopes out, a /submit server in.

Used by chat.py, the tests and the drill. It speaks the real protocol: it
signs ChatMessage envelopes with its own identity, posts them to the agent's
endpoint, verifies the agent's signed replies, and acknowledges them. It
registers its endpoint in the agent's peers directory so the agent, which has
no Almanac offline, can reply (see uagents_compat.LocalPeerResolver).

Lighter than a second `uagents.Agent`: no almanac, no storage, no
dispatcher, so many clients fit in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import aiohttp
import stamina
from aiohttp import web
from uagents_core.contrib.protocols.chat import (
    ChatAcknowledgement,
    ChatMessage,
    MetadataContent,
    StartSessionContent,
    TextContent,
    chat_protocol_spec,
)
from uagents_core.envelope import Envelope
from uagents_core.identity import Identity
from uagents_core.models import Model

from pizza_agent.config.data_dir import endpoints_in
from pizza_agent.workarounds.uagents_compat import register_local_peer

CHAT_DIGEST = Model.build_schema_digest(ChatMessage)
ACK_DIGEST = Model.build_schema_digest(ChatAcknowledgement)
PROTOCOL_DIGEST = chat_protocol_spec.digest
# How long a signed envelope stays valid (the agent refuses expired ones).
ENVELOPE_TTL_SECONDS = 60
# How long a sender keeps trying when every endpoint is a standby or down (a takeover takes ≤ FAILOVER_SECONDS + 1).
REACH_SECONDS = 15.0


@dataclass(frozen=True)
class AgentRef:
    """Where the agent is: its address and endpoints (several when replicas share DATA_DIR)."""

    address: str
    endpoint: str
    endpoints: tuple[str, ...] = ()  # every replica's, the active one first; () = (endpoint,)
    source: Path | None = None  # the agent.json it was read from, read again when no endpoint answers

    def __post_init__(self) -> None:
        if not self.endpoints:
            object.__setattr__(self, "endpoints", (self.endpoint,))

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> AgentRef:
        info = json.loads((data_dir / "agent.json").read_text())
        endpoints = tuple(endpoints_in(info))
        return cls(info["address"], endpoints[0], endpoints, data_dir / "agent.json")

    def reread(self) -> AgentRef:
        """The list as agent.json has it now (a replica may have taken over, or joined)."""
        if self.source is None:
            return self
        try:
            return AgentRef.from_data_dir(self.source.parent)
        except (OSError, ValueError, KeyError, TypeError):
            return self


class StandingBy(Exception):
    """No endpoint accepted the message: each refused the connection or answered 503 (a standby)."""

    def __init__(self, answer: tuple[int, str] | None, refused: Exception | None) -> None:
        super().__init__("no endpoint accepted the message")
        self.answer, self.refused = answer, refused


def sign_envelope(identity: Identity, target: str, model: Model, session: uuid.UUID | None = None) -> Envelope:
    envelope = Envelope(
        version=1,
        sender=identity.address,
        target=target,
        session=session or uuid.uuid4(),
        schema_digest=Model.build_schema_digest(model),
        protocol_digest=PROTOCOL_DIGEST,
        expires=int(time.time()) + ENVELOPE_TTL_SECONDS,
    )
    envelope.encode_payload(model.json())
    envelope.sign(identity)
    return envelope


class Participant(ABC):
    """What every simulated participant offers (loopback here; through a mailbox in the rehearsal tools):
    send a text, wait for the next reply, both at once; the agent's acknowledgements are kept in `acks`."""

    def __init__(self, seed: str, *, acknowledge: bool = True) -> None:
        self.identity = Identity.from_seed(seed, 0)
        self.acknowledge = acknowledge
        self.inbox: asyncio.Queue[ChatMessage] = asyncio.Queue()
        self.acks: list[ChatAcknowledgement] = []

    @property
    def address(self) -> str:
        return self.identity.address

    @abstractmethod
    async def start(self) -> Self: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def send(self, text: str) -> ChatMessage: ...

    async def next_reply(self, timeout: float = 20.0) -> ChatMessage:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def ask(self, text: str, timeout: float = 20.0) -> str:
        await self.send(text)
        return (await self.next_reply(timeout)).text()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class ChatClient(Participant):
    def __init__(
        self,
        seed: str,
        agent: AgentRef,
        peers_dir: Path | None,
        *,
        acknowledge: bool = True,
        reach_seconds: float = REACH_SECONDS,
    ) -> None:
        super().__init__(seed, acknowledge=acknowledge)
        self.agent = agent
        self.reach_seconds = reach_seconds
        self.peers_dir = peers_dir
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.endpoint = ""
        self._pending: set[asyncio.Task[None]] = set()
        # Replies of the chats opened with `chat()`, by session (the agent answers in the session it was asked in).
        self._chats: dict[uuid.UUID, asyncio.Queue[ChatMessage]] = {}

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_post("/submit", self._receive)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]  # the port the system chose
        self.endpoint = f"http://127.0.0.1:{port}/submit"
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        if self.peers_dir is not None:
            register_local_peer(self.peers_dir, self.address, self.endpoint)
        return self

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- sending ---------------------------------------------------------------
    async def post(self, body: str | bytes, content_type: str = "application/json") -> tuple[int, str]:
        """POST raw bytes to the agent (the tests use this for hostile envelopes too): (status, body).

        As a uAgents sender does with an address that has several endpoints: each in
        turn until one accepts. A 503 (a replica standing by) or a refused connection
        (a replica that died) moves on to the next; when none accepted, the list is
        read again and tried again for up to `reach_seconds` (a standby takes over
        within FAILOVER_SECONDS). One endpoint that refuses the connection fails at once.
        """
        assert self._http is not None, "start() the client first"
        try:
            async for attempt in stamina.retry_context(
                on=StandingBy, attempts=None, timeout=self.reach_seconds, wait_initial=0.1, wait_max=1.0
            ):
                with attempt:
                    return await self._post_once(body, content_type)
        except StandingBy as exc:
            if exc.answer is not None:
                return exc.answer
            assert exc.refused is not None
            raise exc.refused from None
        raise AssertionError("unreachable: the retry context either returns or raises")

    async def _post_once(self, body: str | bytes, content_type: str) -> tuple[int, str]:
        assert self._http is not None
        answer: tuple[int, str] | None = None
        refused: Exception | None = None
        for endpoint in self.agent.endpoints:
            try:
                async with self._http.post(endpoint, data=body, headers={"content-type": content_type}) as resp:
                    text = await resp.text()
                    if resp.status != 503:
                        return resp.status, text
                    answer = (resp.status, text)
            except aiohttp.ClientConnectionError as exc:
                refused = exc
        if answer is None and refused is not None and len(self.agent.endpoints) == 1:
            raise refused  # the agent is not running: say so now
        self.agent = self.agent.reread()
        raise StandingBy(answer, refused)

    async def send_model(self, model: Model, session: uuid.UUID | None = None) -> tuple[int, str]:
        return await self.post(sign_envelope(self.identity, self.agent.address, model, session).model_dump_json())

    async def send(  # type: ignore[override]
        self, text: str, msg_id: uuid.UUID | None = None, session: uuid.UUID | None = None
    ) -> ChatMessage:
        """Each message in a new chat session unless `session` is given (as uagents' own ctx.send does)."""
        message = ChatMessage(content=[TextContent(text=text)], msg_id=msg_id)
        status, body = await self.send_model(message, session)
        if status != 200:
            raise RuntimeError(f"agent refused the message: HTTP {status} {body}")
        return message

    # --- receiving -------------------------------------------------------------
    async def _receive(self, request: web.Request) -> web.Response:
        try:
            envelope = Envelope.model_validate_json(await request.read())
            envelope.verify()
            payload = envelope.decode_payload()
        except Exception as exc:  # whatever arrives, the client stays up
            return web.json_response({"error": f"bad envelope: {type(exc).__name__}"}, status=400)
        if envelope.sender != self.agent.address:
            return web.json_response({"error": "unexpected sender"}, status=403)
        if envelope.schema_digest == CHAT_DIGEST:
            message = ChatMessage.parse_raw(payload)
            await self._chats.get(envelope.session, self.inbox).put(message)
            if self.acknowledge:
                task = asyncio.get_running_loop().create_task(self._acknowledge(message))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
        elif envelope.schema_digest == ACK_DIGEST:
            self.acks.append(ChatAcknowledgement.parse_raw(payload))
        return web.json_response({})

    def chat(self, session: uuid.UUID | None = None) -> ChatSession:
        """One chat session of this sender: what a platform speaking for many people (ASI:One) keeps per person."""
        chat = ChatSession(self, session or uuid.uuid4())
        self._chats[chat.session] = chat.inbox
        return chat

    async def _acknowledge(self, message: ChatMessage) -> None:
        # An acknowledgement is a courtesy; the agent does not wait for it.
        with contextlib.suppress(TimeoutError, aiohttp.ClientError, RuntimeError):
            await self.send_model(ChatAcknowledgement(acknowledged_msg_id=message.msg_id))


class ChatSession:
    """One chat of a `ChatClient`'s sender: messages sent in one session, the replies to it alone.

    Several of them over one client are several people behind one sender address
    (the shared-sender case); `open()` sends the session start ASI:One sends.
    """

    def __init__(self, client: ChatClient, session: uuid.UUID) -> None:
        self.client = client
        self.session = session
        self.inbox: asyncio.Queue[ChatMessage] = asyncio.Queue()

    async def open(self) -> None:
        status, body = await self.client.send_model(ChatMessage(content=[StartSessionContent()]), self.session)
        if status != 200:
            raise RuntimeError(f"agent refused the session start: HTTP {status} {body}")

    async def ask(self, text: str, timeout: float = 20.0) -> str:
        await self.client.send(text, session=self.session)
        return (await asyncio.wait_for(self.inbox.get(), timeout)).text()

    async def reply_to_card(self, answer: MetadataContent, timeout: float = 20.0) -> ChatMessage:
        """A card answered, as ASI:One sends it (a message of the card response alone); the agent's reply."""
        status, body = await self.client.send_model(ChatMessage(content=[answer]), self.session)
        if status != 200:
            raise RuntimeError(f"agent refused the card answer: HTTP {status} {body}")
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def exchange(self, text: str, timeout: float = 20.0) -> ChatMessage:
        """`ask`, keeping the whole reply (its cards, its QR image)."""
        await self.client.send(text, session=self.session)
        return await asyncio.wait_for(self.inbox.get(), timeout)
