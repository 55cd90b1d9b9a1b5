"""The answer to one message, as the transport sends it, and the one short form of a sender in logs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

CardKind = Literal["choice", "detail", "confirm", "list", "review"]


@dataclass(frozen=True)
class CardSpec:
    """An interactive card beside a reply's text (which always says the same: a client without cards loses
    nothing). What it shows, and what answering it means: `purpose` names the answer ("diet", "confirm",
    "coupon", "review:<id>"; "schedule" takes none). The transport draws it with the framework's card
    helpers (transport/cards.py) and reads an answer back as the text a person would have typed."""

    kind: CardKind
    purpose: str
    title: str
    rows: tuple[tuple[str, str], ...] = ()  # (label, value): a coupon's details, a meal's times, a story's
    options: tuple[str, ...] = ()  # a choice's values (the diets), in the order the text numbers them
    code: str | None = None  # a coupon's code: its QR image goes on the card
    # The labels of its buttons in the participant's language, in order (a choice's "Send"; a coupon's
    # "Show my code again"; a confirmation's yes and no); the English ones when empty.
    buttons: tuple[str, ...] = ()


@dataclass
class Reply:
    text: str
    outcome: str
    end_session: bool = False
    intent: str = "-"
    layers: dict[str, str] = field(default_factory=dict)
    code: str | None = None
    cards: tuple[CardSpec, ...] = ()  # interactive cards for clients that render them (the text says the same)


def sender_id(address: str) -> str:
    """The one short form of an address in every log line and organizer reply: …<last 8 characters>.

    An organizer acting from the dashboard is `dashboard:<name>`, kept whole."""
    if address.startswith("dashboard:"):
        return address
    return "…" + address[-8:]


def after_line(line: str, reply: Reply) -> Reply:
    """`reply` with `line` before it (the welcome of a claim code, "diet noted")."""
    return replace(reply, text=f"{line}\n\n{reply.text}")
