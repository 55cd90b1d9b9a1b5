"""The answer to one message, as the transport sends it, and the one short form of a sender in logs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Reply:
    text: str
    outcome: str
    end_session: bool = False
    intent: str = "-"
    layers: dict[str, str] = field(default_factory=dict)
    code: str | None = None
    card: dict[str, str] | None = None  # an interactive card (MetadataContent) for clients that render one


def sender_id(address: str) -> str:
    """The one short form of an address in every log line and organizer reply: …<last 8 characters>.

    An organizer acting from the dashboard is `dashboard:<name>`, kept whole."""
    if address.startswith("dashboard:"):
        return address
    return "…" + address[-8:]
