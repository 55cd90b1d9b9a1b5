"""Raw envelopes posted to the agent's endpoint: every case gets a clear HTTP answer, never a 500,
and the agent keeps serving honest participants with its ledger intact."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from uagents_core.contrib.protocols.chat import ChatMessage, TextContent
from uagents_core.envelope import Envelope
from uagents_core.identity import Identity

from pizza_agent.client.chat_client import CHAT_DIGEST, PROTOCOL_DIGEST, sign_envelope
from pizza_agent.ledger.store import Ledger
from pizza_agent.rehearsal.agent_process import AgentProcess

ATTACKER = Identity.from_seed("raw-envelope-attacker", 0)
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


pytestmark = pytest.mark.slow  # every test hits one agent process


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    process = AgentProcess(tmp_path_factory.mktemp("hostile") / "data", SENDER_RATE_LIMIT="100000")
    asyncio.run(process.start())
    yield process
    process.stop()


def post(agent: AgentProcess, body: bytes, content_type: str = "application/json") -> int:
    request = urllib.request.Request(agent.endpoint, data=body, headers={"content-type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def signed(agent: AgentProcess, payload: str) -> bytes:
    envelope = sign_envelope(ATTACKER, agent.address, ChatMessage(content=[TextContent(text="x")]))
    envelope.payload = base64.b64encode(payload.encode("utf-8", "surrogatepass")).decode()
    envelope.nonce = uuid.uuid4().int % 2**31  # distinct envelopes, not replays
    envelope.sign(ATTACKER)
    return envelope.model_dump_json().encode()


def still_serves(agent: AgentProcess) -> None:
    async def ask() -> str:
        async with agent.client(f"honest-{uuid.uuid4()}") as honest:
            return await honest.ask("I want pizza", timeout=15)

    assert "story prompt" in asyncio.run(ask())
    ledger = Ledger(agent.data_dir / "ledger.sqlite3")
    assert ledger.integrity_ok()


@EXAMPLES
@given(body=st.binary(max_size=2048))
def test_arbitrary_bytes(agent, body):
    assert post(agent, body) in (200, 400, 413)


@EXAMPLES
@given(
    doc=st.dictionaries(
        st.sampled_from(["version", "sender", "target", "session", "payload", "signature", "x"]),
        st.one_of(st.none(), st.integers(), st.text(max_size=50), st.booleans()),
    )
)
def test_wrong_schema_json(agent, doc):
    assert post(agent, json.dumps(doc).encode()) == 400


@EXAMPLES
@given(
    payload=st.one_of(
        st.text(max_size=300),
        st.builds(json.dumps, st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=20), max_size=5)),
        st.builds(
            lambda t: json.dumps(
                {
                    "timestamp": "2026-01-01T00:00:00Z",
                    "msg_id": str(uuid.uuid4()),
                    "content": [{"type": "text", "text": t}],
                }
            ),
            st.text(max_size=500),
        ),
    )
)
def test_signed_envelopes_with_arbitrary_payloads(agent, payload):
    assert post(agent, signed(agent, payload)) in (200, 400)


def test_non_json_content_type_is_refused(agent):
    assert post(agent, b"hello", content_type="text/plain") == 400


def test_a_valid_signature_for_another_target_is_not_routed(agent):
    envelope = Envelope(
        version=1,
        sender=ATTACKER.address,
        target=Identity.from_seed("nobody", 0).address,
        session=uuid.uuid4(),
        schema_digest=CHAT_DIGEST,
        protocol_digest=PROTOCOL_DIGEST,
    )
    envelope.encode_payload(ChatMessage(content=[TextContent(text="hi")]).json())
    envelope.sign(ATTACKER)
    assert post(agent, envelope.model_dump_json().encode()) == 400


def test_the_agent_survived_everything_above(agent):
    still_serves(agent)
    assert "Traceback" not in agent.logs()
