"""One canonical form per agent address: lowercase bech32, any `agent://`-style prefix stripped.

bech32 accepts an all-uppercase address and a signature covers the string as
sent, so `AGENT1Q…` and `agent1q…` would otherwise be two participants for
one key. Every lookup and write uses the form returned here.
"""

from __future__ import annotations

import bech32

AGENT_PREFIX = "agent"
# A compressed secp256k1 public key.
KEY_BYTES = 33


def canonical_agent_address(value: str) -> str | None:
    """The canonical address, or None if `value` is not an agent address."""
    text = value.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.rsplit("/", 1)[-1]
    if text != text.lower() and text != text.upper():
        return None  # bech32 forbids mixed case
    hrp, data = bech32.bech32_decode(text.lower())
    if hrp != AGENT_PREFIX or data is None:
        return None
    key = bech32.convertbits(data, 5, 8, False)
    if key is None or len(key) != KEY_BYTES:
        return None
    return text.lower()
