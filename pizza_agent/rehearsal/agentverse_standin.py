"""An Agentverse stand-in: the Almanac API, the mailbox and identity/registration, on loopback.

uagents 0.26.1 in mailbox mode talks to Agentverse only over HTTP (the calls are
the routes below: Almanac, mailbox, identity); with `AGENTVERSE_URL` pointing
here, the real agent runs its real mailbox path offline, and tests and the drill
can see every call it makes.

    python -m pizza_agent.rehearsal.agentverse_standin --port 8100 [--rtt-ms 100]

What it speaks:
- Almanac API: POST /v1/almanac/agents (signed registration attestation, verified),
  POST /v1/almanac/agents/{addr}/status (signed), POST /v1/almanac/manifests,
  GET /v1/almanac/agents/{addr} → {address, expiry, endpoints, protocols} or 404.
- Mailbox: POST /v2/agents/mailbox/submit (an envelope for an agent with a mailbox),
  GET /v2/agents/{addr}/mailbox and DELETE /v2/agents/{addr}/mailbox/{uuid}, both with
  `Authorization: Agent attr:…` verified (key = address, validity window, signature).
- Identity and registration: GET /v2/identity/{addr}/challenge, POST /v2/identity
  (signed challenge), POST /v2/agents (the profile: name, handle ≤ 20, description ≤ 300,
  readme …; it creates the mailbox), GET /v2/agents/{addr}, POST /v1/events.

Rehearsal knobs: `rtt` (one round trip added to every mailbox call, two more on a new
connection: the real service is HTTPS, so a new connection costs TCP and TLS handshakes), and faults — mailbox 5xx
(`mailbox_down`), 404 (`mailbox_missing`), slow deletes (`slow_delete`), every item
delivered twice (`duplicate`, delivered again once after its first delete) and
expired envelopes (`expire_next`). Every request is logged (time, method, path,
status, host asked for).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import secrets
import struct
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import bech32
import ecdsa
from aiohttp import web
from uagents_core.envelope import Envelope
from uagents_core.registration import AgentRegistrationAttestation

# How long an Almanac registration is valid (the real service: hours).
REGISTRATION_SECONDS = 3600
MAILBOX_ITEM_SECONDS = 24 * 3600


@dataclass(frozen=True)
class LoggedRequest:
    at: float
    method: str
    path: str
    status: int
    host: str


@dataclass(frozen=True)
class Submitted:
    at: float
    sender: str
    target: str
    schema_digest: str
    connection: str  # the client's (host, port): which connection carried it


@dataclass
class MailboxItem:
    uuid: str
    envelope: dict
    received_at: datetime
    expires_at: datetime
    stored: float = field(default_factory=time.monotonic)
    delivered_twice: bool = False


@dataclass
class Faults:
    rtt: float = 0.0  # seconds added to every mailbox call (submit, poll, delete); x3 on a new connection
    mailbox_down: bool = False  # polls and deletes answer 503
    mailbox_missing: bool = False  # polls answer 404
    slow_delete: float = 0.0  # seconds a delete takes (beyond rtt)
    duplicate: bool = False  # every item is delivered again once after its first delete
    expire_next: int = 0  # the next N submitted envelopes are stored already expired


@dataclass
class AgentverseStandIn:
    faults: Faults = field(default_factory=Faults)
    log: list[LoggedRequest] = field(default_factory=list)
    almanac: dict[str, dict] = field(default_factory=dict)  # address -> registration record
    status: dict[str, bool] = field(default_factory=dict)
    manifests: list[dict] = field(default_factory=list)
    profiles: dict[str, dict] = field(default_factory=dict)
    mailboxes: dict[str, list[MailboxItem]] = field(default_factory=dict)
    challenges: dict[str, str] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    submitted: list[Submitted] = field(default_factory=list)
    deleted: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None
    _arrivals: dict[str, asyncio.Event] = field(default_factory=dict)
    _connections: set = field(default_factory=set)  # client (host, port) of connections already "handshaken"

    # --- setup ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._logging], client_max_size=2 * 1024 * 1024)
        app.router.add_post("/v1/almanac/agents", self._register)
        app.router.add_post("/v1/almanac/agents/{address}/status", self._status)
        app.router.add_get("/v1/almanac/agents/{address}", self._resolve)
        app.router.add_post("/v1/almanac/manifests", self._manifest)
        app.router.add_post("/v2/agents/mailbox/submit", self._submit)
        app.router.add_get("/v2/agents/{address}/mailbox", self._poll)
        app.router.add_delete("/v2/agents/{address}/mailbox/{item}", self._delete)
        app.router.add_get("/v2/identity/{address}/challenge", self._challenge)
        app.router.add_post("/v2/identity", self._prove)
        app.router.add_post("/v2/agents", self._profile)
        app.router.add_get("/v2/agents/{address}", self._agent)
        app.router.add_post("/v1/events", self._event)
        return app

    async def start(self, port: int = 0) -> AgentverseStandIn:
        self._runner = web.AppRunner(self.app(), handle_signals=False, shutdown_timeout=0.1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the port bound (0 asks the system for a free one)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def create_mailbox(self, address: str) -> None:
        """What connecting an agent in Agentverse's UI does (POST /v2/agents does it too)."""
        self.mailboxes.setdefault(address, [])

    def register_mailbox_agent(self, address: str, protocols: list[str] | None = None) -> None:
        """A participant as ASI:One runs it: reachable at Agentverse's mailbox, in the Almanac (in-process)."""
        self.create_mailbox(address)
        self.almanac[address] = {
            "address": address,
            "endpoints": [{"url": f"{self.url}/v2/agents/mailbox/submit", "weight": 1}],
            "protocols": protocols or [],
            "expiry": (datetime.now(UTC) + timedelta(seconds=REGISTRATION_SECONDS)).isoformat(),
        }

    async def take(self, address: str, timeout: float) -> list[tuple[dict, float]]:
        """Wait (up to `timeout`) for items in `address`'s mailbox and take them all (in-process polling).

        Each comes with the moment it was stored (monotonic): when it reached "Agentverse"."""
        box = self.mailboxes.setdefault(address, [])
        if not box:
            event = self._arrivals.setdefault(address, asyncio.Event())
            event.clear()
            await asyncio.wait_for(event.wait(), timeout)
        items, box[:] = list(box), []
        return [(item.envelope, item.stored) for item in items]

    def requests_to(self, prefix: str) -> list[LoggedRequest]:
        return [r for r in self.log if r.path.startswith(prefix)]

    @web.middleware
    async def _logging(self, request: web.Request, handler) -> web.StreamResponse:  # type: ignore[no-untyped-def]
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            self.log.append(LoggedRequest(time.monotonic(), request.method, request.path, status, request.host))

    async def _wan(self, request: web.Request) -> None:
        """The simulated WAN: one round trip per call, plus two for a new connection (TCP and TLS handshakes)."""
        if not self.faults.rtt:
            return
        trips = 1
        connection = request.transport.get_extra_info("peername") if request.transport else None
        if connection not in self._connections:
            self._connections.add(connection)
            trips += 2
        await asyncio.sleep(self.faults.rtt * trips)  # the simulated round trips, not a wait for luck

    # --- Almanac API ----------------------------------------------------------------------------
    async def _register(self, request: web.Request) -> web.Response:
        try:
            attestation = AgentRegistrationAttestation.model_validate_json(await request.read())
        except ValueError:
            return _error(400, "invalid attestation")
        if not attestation.verify():
            return _error(401, "attestation signature does not verify")
        address = attestation.agent_identifier.split("://")[-1].rsplit("/", 1)[-1]
        self.almanac[address] = {
            "address": address,
            "endpoints": [e.model_dump() for e in attestation.endpoints],
            "protocols": attestation.protocols,
            "expiry": (datetime.now(UTC) + timedelta(seconds=REGISTRATION_SECONDS)).isoformat(),
        }
        return web.json_response({})

    async def _status(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.status[request.match_info["address"]] = bool(body.get("is_active"))
        return web.json_response({})

    async def _manifest(self, request: web.Request) -> web.Response:
        self.manifests.append(await request.json())
        return web.json_response({})

    async def _resolve(self, request: web.Request) -> web.Response:
        record = self.almanac.get(request.match_info["address"])
        if record is None:
            return _error(404, "agent not found")
        return web.json_response(record)

    # --- the mailbox ----------------------------------------------------------------------------
    async def _submit(self, request: web.Request) -> web.Response:
        await self._wan(request)
        try:
            envelope = Envelope.model_validate_json(await request.read())
        except ValueError:
            return _error(400, "invalid envelope")
        except ConnectionResetError:  # the sender went away mid-request (an agent shutting down)
            return _error(400, "connection lost")
        if envelope.target not in self.mailboxes:
            return _error(404, "no mailbox for the target")
        if not envelope.sender.startswith("user"):
            try:
                envelope.verify()
            except Exception:  # any verification failure
                return _error(400, "envelope signature does not verify")
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=MAILBOX_ITEM_SECONDS)
        if self.faults.expire_next > 0:
            self.faults.expire_next -= 1
            expires = now - timedelta(seconds=1)
        item = MailboxItem(str(uuid.uuid4()), envelope.model_dump(mode="json"), now, expires)
        self.mailboxes[envelope.target].append(item)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.submitted.append(
            Submitted(time.monotonic(), envelope.sender, envelope.target, envelope.schema_digest, str(peer))
        )
        if envelope.target in self._arrivals:
            self._arrivals[envelope.target].set()
        return web.json_response({})

    async def _poll(self, request: web.Request) -> web.Response:
        await self._wan(request)
        address = request.match_info["address"]
        if not _attested(request, address):
            return _error(401, "attestation does not verify")
        if self.faults.mailbox_down:
            return _error(503, "mailbox unavailable")
        if self.faults.mailbox_missing or address not in self.mailboxes:
            return _error(404, "mailbox not found")
        items = [
            {
                "uuid": item.uuid,
                "envelope": item.envelope,
                "received_at": item.received_at.isoformat(),
                "expires_at": item.expires_at.isoformat(),
            }
            for item in self.mailboxes[address]
        ]
        return web.json_response(items)

    async def _delete(self, request: web.Request) -> web.Response:
        await self._wan(request)
        if self.faults.slow_delete:
            await asyncio.sleep(self.faults.slow_delete)  # the injected slowness
        address = request.match_info["address"]
        if not _attested(request, address):
            return _error(401, "attestation does not verify")
        if self.faults.mailbox_down:
            return _error(503, "mailbox unavailable")
        box = self.mailboxes.get(address, [])
        for item in box:
            if item.uuid == request.match_info["item"]:
                box.remove(item)
                self.deleted += 1
                if self.faults.duplicate and not item.delivered_twice:
                    item.delivered_twice = True
                    box.append(item)  # at-least-once: the same item comes back once
                return web.json_response({})
        return _error(404, "no such item")

    # --- identity and registration ----------------------------------------------------------------
    async def _challenge(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return _error(401, "a user token is required")
        challenge = secrets.token_hex(16)
        self.challenges[request.match_info["address"]] = challenge
        return web.json_response({"challenge": challenge})

    async def _prove(self, request: web.Request) -> web.Response:
        body = await request.json()
        address, challenge = body.get("address", ""), body.get("challenge", "")
        if self.challenges.get(address) != challenge or not _signed_by(
            address, challenge.encode(), body.get("challenge_response", "")
        ):
            return _error(401, "challenge not proven")
        return web.json_response({"access_token": secrets.token_hex(8), "expiry": "never"})

    async def _profile(self, request: web.Request) -> web.Response:
        body = await request.json()
        address = body.get("address", "")
        if address not in self.challenges:
            return _error(401, "prove the agent's identity first")
        handle = body.get("handle") or ""
        profile = body.get("profile") or {}
        if len(handle) > 20 or len(profile.get("description") or "") > 300:
            return _error(422, "handle at most 20 and description at most 300 characters")
        self.profiles[address] = body
        self.create_mailbox(address)
        return web.json_response({})

    async def _agent(self, request: web.Request) -> web.Response:
        address = request.match_info["address"]
        if address not in self.profiles:
            return _error(404, "agent not registered")
        return web.json_response(self.profiles[address])

    async def _event(self, request: web.Request) -> web.Response:
        self.events.append(await request.json())
        return web.json_response({})


def _error(status: int, detail: str) -> web.Response:
    return web.json_response({"detail": detail}, status=status)


def _signed_by(address: str, data: bytes, signature: str) -> bool:
    """Is `signature` (bech32 "sig") over sha256(data) by the key behind `address`?"""
    try:
        _, key_words = bech32.bech32_decode(address)
        _, sig_words = bech32.bech32_decode(signature)
        key = bytes(bech32.convertbits(key_words, 5, 8, False))
        sig = bytes(bech32.convertbits(sig_words, 5, 8, False))
        verifier = ecdsa.VerifyingKey.from_string(key, curve=ecdsa.SECP256k1)
        return verifier.verify(sig, data, hashfunc=hashlib.sha256)
    except Exception:  # anything malformed is simply not a valid signature
        return False


def _attested(request: web.Request, address: str) -> bool:
    """The mailbox attestation (uagents_core.storage.compute_attestation), checked the way Agentverse would."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Agent attr:"):
        return False
    try:
        _, payload_b64, signature = header.removeprefix("Agent ").split(":", 2)
        payload = base64.b64decode(payload_b64)
        key, window = payload[:33], payload[33:49]
        valid_from, valid_to = struct.unpack(">QQ", window)
    except (ValueError, struct.error):
        return False
    if bech32.bech32_encode("agent", bech32.convertbits(key, 8, 5)) != address:
        return False
    if not valid_from - 5 <= time.time() <= valid_to + 5:
        return False
    return _signed_by(address, payload, signature)


async def _main() -> None:
    parser = argparse.ArgumentParser(description="A local Agentverse stand-in (Almanac, mailbox, identity).")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="milliseconds added to every mailbox call")
    args = parser.parse_args()
    standin = await AgentverseStandIn(Faults(rtt=args.rtt_ms / 1000)).start(args.port)
    print(f"Agentverse stand-in on {standin.url} (rtt +{args.rtt_ms:g} ms); AGENTVERSE_URL={standin.url}; Ctrl+C stops")
    try:
        await asyncio.Event().wait()
    finally:
        await standin.stop()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
