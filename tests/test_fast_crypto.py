"""Envelope signatures through libsecp256k1 give the framework's answers (pizza_agent/workarounds/fast_crypto.py)."""

from __future__ import annotations

import hashlib
import random

import ecdsa
import pytest
from uagents_core import identity as core_identity
from uagents_core.contrib.protocols.chat import ChatMessage, TextContent
from uagents_core.identity import Identity

from pizza_agent.client.chat_client import sign_envelope
from pizza_agent.workarounds.fast_crypto import use_ecdsa, use_libsecp256k1

N = ecdsa.SECP256k1.order


@pytest.fixture
def fast():
    use_libsecp256k1()
    yield
    use_ecdsa()


def cases(count: int = 40) -> list[tuple[Identity, bytes]]:
    rng = random.Random(16)
    return [(Identity.from_seed(f"crypto-{i}", 0), rng.randbytes(32)) for i in range(count)]


def ecdsa_signature(identity: Identity, digest: bytes, *, high_s: bool = False) -> str:
    """A signature made by the framework's own ecdsa path (optionally with S flipped to the high half)."""
    raw = identity._sk.sign_digest(digest, sigencode=ecdsa.util.sigencode_strings_canonize)
    r, s = (int.from_bytes(part, "big") for part in raw)
    if high_s:
        s = N - s
    return core_identity._encode_bech32("sig", r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def test_signatures_made_here_verify_with_the_framework_ecdsa(fast):
    for identity, digest in cases():
        signature = identity.sign_digest(digest)
        use_ecdsa()
        assert Identity.verify_digest(identity.address, digest, signature)
        use_libsecp256k1()


@pytest.mark.parametrize("high_s", [False, True])
def test_signatures_the_framework_accepts_are_accepted(fast, high_s):
    for identity, digest in cases():
        assert Identity.verify_digest(identity.address, digest, ecdsa_signature(identity, digest, high_s=high_s))


def test_a_wrong_signature_raises_what_ecdsa_raises(fast):
    for identity, digest in cases():
        other = bytes(reversed(digest))
        with pytest.raises(ecdsa.BadSignatureError):
            Identity.verify_digest(identity.address, other, identity.sign_digest(digest))
        stranger = Identity.from_seed("someone-else", 0)
        with pytest.raises(ecdsa.BadSignatureError):
            Identity.verify_digest(stranger.address, digest, identity.sign_digest(digest))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda sig: core_identity._encode_bech32("sig", b"\x00" * 64),  # r = s = 0
        lambda sig: core_identity._encode_bech32("sig", b"\xff" * 64),  # r, s past the curve order
        lambda sig: core_identity._encode_bech32("sig", b"\x01" * 63),  # the wrong length
        lambda sig: core_identity._encode_bech32("xyz", b"\x01" * 64),  # the wrong prefix
        lambda sig: "not-bech32-at-all",
    ],
)
def test_malformed_signatures_fail_the_same_way_in_both(mangle):
    identity, digest = cases(1)[0]
    signature = mangle(identity.sign_digest(digest))

    def outcome() -> str:
        try:
            return str(Identity.verify_digest(identity.address, digest, signature))
        except Exception as exc:  # the exception's class is the framework's contract
            return type(exc).__name__

    use_ecdsa()
    expected = outcome()
    use_libsecp256k1()
    try:
        assert outcome() == expected
    finally:
        use_ecdsa()
    assert expected != "True"


def test_envelopes_round_trip_through_both_implementations(fast):
    sender, target = Identity.from_seed("env-sender", 0), Identity.from_seed("env-target", 0)
    envelope = sign_envelope(sender, target.address, ChatMessage(content=[TextContent(text="I want pizza")]))
    assert envelope.verify()
    use_ecdsa()
    assert envelope.verify()
    legacy = sign_envelope(sender, target.address, ChatMessage(content=[TextContent(text="pizza?")]))
    use_libsecp256k1()
    assert legacy.verify()
    digest = hashlib.sha256(b"tampered").digest()
    legacy.signature = sender.sign_digest(digest)
    with pytest.raises(ecdsa.BadSignatureError):
        legacy.verify()
