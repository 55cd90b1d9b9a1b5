"""Envelope signatures through libsecp256k1 (coincurve) instead of pure-Python ecdsa.

Defect 16 (a cost, not a bug): uagents_core signs and verifies every envelope
with the pure-Python `ecdsa` package: 1.4 ms to verify and 0.4 ms to sign here,
even with gmpy2. A burst of 100 ASI:One participants is 200 mailbox items to
verify and 300 envelopes to sign: half a second of the event loop, during
which nobody is acknowledged. libsecp256k1 does each in ~0.05 ms.

Same answers as the framework's: the same compact r||s signatures (encoded the
same way), high-S signatures accepted as ecdsa accepts them, a wrong signature
raises ecdsa's BadSignatureError, and anything libsecp256k1 cannot parse (a
malformed key or signature) goes to the original implementation, which raises
what it always raised. tests/test_fast_crypto.py checks each against ecdsa.
"""

from __future__ import annotations

import coincurve
import ecdsa
from coincurve.ecdsa import deserialize_compact, serialize_compact, signature_normalize
from uagents_core import identity as core_identity
from uagents_core.identity import Identity

_original_verify_digest = Identity.verify_digest
_original_sign_digest = Identity.sign_digest
_public_keys: dict[bytes, coincurve.PublicKey] = {}
_PUBLIC_KEY_CACHE = 4096
_signers: dict[bytes, coincurve.PrivateKey] = {}  # the agent's own key (and the rehearsal tools' few)


def _verify_digest(address: str, digest: bytes, signature: str) -> bool:
    try:
        pk_prefix, pk_data = core_identity._decode_bech32(address)
        sig_prefix, sig_data = core_identity._decode_bech32(signature)
    except Exception:  # the framework's own error for a malformed address or signature
        return _original_verify_digest(address, digest, signature)
    if pk_prefix != "agent" or sig_prefix != "sig" or len(digest) != 32 or len(sig_data) != 64:
        return _original_verify_digest(address, digest, signature)
    try:
        key = _public_keys.get(pk_data)
        if key is None:
            key = coincurve.PublicKey(pk_data)
            if len(_public_keys) >= _PUBLIC_KEY_CACHE:
                _public_keys.clear()
            _public_keys[pk_data] = key
        _, normalized = signature_normalize(deserialize_compact(sig_data))  # ecdsa accepts high S too
    except (ValueError, TypeError):
        return _original_verify_digest(address, digest, signature)
    if coincurve.ecdsa.lib.secp256k1_ecdsa_verify(key.context.ctx, normalized, digest, key.public_key):
        return True
    raise ecdsa.BadSignatureError("Signature verification failed")


def _sign_digest(self: Identity, digest: bytes) -> str:
    if len(digest) != 32:
        return _original_sign_digest(self, digest)
    secret = self._sk.to_string()  # type: ignore[attr-defined]
    signer = _signers.get(secret)
    if signer is None:
        signer = _signers[secret] = coincurve.PrivateKey(secret)
    raw = signer.sign(digest, hasher=None)  # DER, low S, RFC 6979 nonce
    return core_identity._encode_bech32("sig", serialize_compact(coincurve.ecdsa.der_to_cdata(raw)))


def use_libsecp256k1() -> None:
    """Route uagents_core's envelope signing and verification through libsecp256k1 (idempotent)."""
    Identity.verify_digest = staticmethod(_verify_digest)  # type: ignore[method-assign]
    Identity.sign_digest = _sign_digest  # type: ignore[method-assign]


def use_ecdsa() -> None:
    """Back to the framework's own implementation (tests compare the two)."""
    Identity.verify_digest = staticmethod(_original_verify_digest)  # type: ignore[method-assign]
    Identity.sign_digest = _original_sign_digest  # type: ignore[method-assign]
