"""The attacker mix of `agent.py drill --hostile`: everything issue 11's tester did, at once, beside honest traffic.

- big rejected envelopes: 60 KB signatures that never verify (memory growth);
- reply suppression: forged sync requests naming honest participants;
- uppercase addresses: a valid signature over the sender in capitals (a second coupon);
- half-open connections: requests whose headers never finish (descriptor exhaustion);
- nested JSON 5,000 levels deep (HTTP 500s with tracebacks);
- guard-cost stories: valid, signed 4 KB stories made of newline runs (event-loop time).

Each kind runs in its own loop until stopped; `counts` says what was sent and how it was answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from uagents_core.contrib.protocols.chat import ChatMessage, TextContent
from uagents_core.envelope import Envelope
from uagents_core.identity import Identity

from pizza_agent.client.chat_client import PROTOCOL_DIGEST, sign_envelope

BIG_SIGNATURE_CHARS = 60_000
HALF_OPEN_CONNECTIONS = 300


def forged_envelope(target: str, sender: str, signature: str) -> bytes:
    """A chat envelope claiming `sender`, with a made-up signature (the gate must refuse it)."""
    envelope = Envelope(
        version=1,
        sender=sender,
        target=target,
        session=uuid.uuid4(),
        schema_digest="model:" + "0" * 64,
        protocol_digest=PROTOCOL_DIGEST,
        expires=int(time.time()) + 60,
    )
    envelope.encode_payload(ChatMessage(content=[TextContent(text="x")]).json())
    envelope.signature = signature
    return envelope.model_dump_json().encode()


@dataclass
class AttackCounts:
    sent: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)

    def record(self, kind: str, status: int) -> None:
        self.sent[kind] += 1
        self.statuses.setdefault(kind, Counter())[status] += 1

    def summary(self) -> str:
        parts = []
        for kind, n in sorted(self.sent.items()):
            answers = ", ".join(f"{code}×{count}" for code, count in sorted(self.statuses.get(kind, {}).items()))
            parts.append(f"{kind} {n} ({answers})")
        return " · ".join(parts)


class Attacker:
    def __init__(self, agent_address: str, endpoint: str, port: int, victims: list[str], big_envelopes: int) -> None:
        self.address = agent_address
        self.endpoint = endpoint
        self.port = port
        self.victims = victims
        self.big_envelopes = big_envelopes
        self.counts = AttackCounts()
        self.identity = Identity.from_seed("drill-hostile-attacker", 0)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None
        self._rng = random.Random(11)

    async def start(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        loops = [self._big_envelopes() for _ in range(6)]
        loops += [self._suppression(), self._uppercase(), self._half_open(), self._nested(), self._guard_cost()]
        self._tasks = [asyncio.create_task(loop) for loop in loops]

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http is not None:
            await self._http.close()

    async def _post(self, kind: str, body: bytes, **headers: str) -> None:
        assert self._http is not None
        try:
            async with self._http.post(
                self.endpoint, data=body, headers={"content-type": "application/json", **headers}
            ) as response:
                await response.read()
                self.counts.record(kind, response.status)
        except (aiohttp.ClientError, TimeoutError, OSError):
            self.counts.record(kind, 0)

    def _forged(self, sender: str, signature: str) -> bytes:
        return forged_envelope(self.address, sender, signature)

    async def _big_envelopes(self) -> None:
        while not self._stop.is_set() and self.counts.sent["big rejected envelope"] < self.big_envelopes:
            signature = "sig1" + uuid.uuid4().hex + "q" * BIG_SIGNATURE_CHARS
            await self._post("big rejected envelope", self._forged(self.identity.address, signature))

    async def _suppression(self) -> None:
        while not self._stop.is_set():
            victim = self._rng.choice(self.victims)
            forged = self._forged(victim, "sig1" + "q" * 100)
            await self._post("reply suppression", forged, **{"x-uagents-connection": "sync"})
            await asyncio.sleep(0.01)  # the attacker's pace

    async def _uppercase(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            identity = Identity.from_seed(f"drill-case-farmer-{i % 20}", 0)
            envelope = sign_envelope(identity, self.address, ChatMessage(content=[TextContent(text="a story " * 8)]))
            envelope.sender = identity.address.upper()
            envelope.sign(identity)
            await self._post("uppercase address", envelope.model_dump_json().encode())
            await asyncio.sleep(0.05)

    async def _half_open(self) -> None:
        sockets: list[socket.socket] = []
        try:
            while not self._stop.is_set():
                while len(sockets) < HALF_OPEN_CONNECTIONS:
                    sock = socket.socket()
                    sock.setblocking(False)
                    with contextlib.suppress(BlockingIOError, OSError):
                        sock.connect(("127.0.0.1", self.port))
                    sockets.append(sock)
                await asyncio.sleep(0.2)
                for sock in sockets:
                    with contextlib.suppress(OSError):
                        sock.send(b"POST /submit HTTP/1.1\r\nHost: x\r\n")  # headers never finished
                self.counts.record("half-open connection", 0)
                await asyncio.sleep(1.0)
                alive = []
                for sock in sockets:
                    try:
                        if sock.recv(1, socket.MSG_PEEK) == b"":
                            sock.close()  # the agent closed it (header time-out): open another
                            continue
                    except BlockingIOError:
                        pass
                    except OSError:
                        sock.close()
                        continue
                    alive.append(sock)
                sockets = alive
        finally:
            for sock in sockets:
                sock.close()

    async def _nested(self) -> None:
        while not self._stop.is_set():
            await self._post("nested JSON", b"[" * 5000 + b"]" * 5000)
            await asyncio.sleep(0.05)

    async def _guard_cost(self) -> None:
        i = 0
        story = ("The oven hummed.\n\n\n\n" * 250)[:4000]
        while not self._stop.is_set():
            i += 1
            identity = Identity.from_seed(f"drill-guard-cost-{i}", 0)
            envelope = sign_envelope(identity, self.address, ChatMessage(content=[TextContent(text=story)]))
            await self._post("guard-cost story", envelope.model_dump_json().encode())
            await asyncio.sleep(0.2)
