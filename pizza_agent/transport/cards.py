"""ASI:One's interactive cards, drawn and read with the framework's own helpers.

uagents-core's `contrib.protocols.chat.cards` defines the wire format (a versioned
`MetadataContent`: `card_protocol_version`, `card_kind`, `card_payload`) and the builders and
readers (`create_card_content`, `extract_card_response`); nothing here hand-rolls its keys. A
`CardSpec` (domain/reply.py) says what a card shows and what answering it means; this room
draws it (a form for a choice, a detail card for a coupon, a custom card for a yes/no and for
the schedule, a review card for a judge) and reads an answer back as the text a person would
have typed: the diet's name, "yes", "approve R12". The conversation then handles that text
exactly as typed, with every check it already makes (only organizers approve, each once).

Each card carries an id made from a keyed hash of the chat (sender, session) and what it asks,
so an answer is accepted only in the chat its card was sent to, for that question: a card id
from another chat, a missing one, an unknown answer, a malformed or oversized response is
refused in one line and changes nothing. No table remembers the ids: the key recomputes them.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from uagents_core.contrib.protocols.chat import ChatMessage, MetadataContent
from uagents_core.contrib.protocols.chat.cards import (
    META_CARD_KIND,
    META_CARD_PROTOCOL_VERSION,
    ButtonAction,
    ButtonNode,
    CardPayload,
    CtaAction,
    CustomCardPayload,
    DetailCardPayload,
    DetailSummaryRow,
    FormCardPayload,
    FormField,
    FormFieldOption,
    GroupNode,
    ReviewCardPayload,
    ReviewSummaryRow,
    SectionNode,
    TextNode,
    create_card_content,
    extract_card_response,
)

from pizza_agent.domain.reply import CardSpec

# A card answer is a few short values: anything larger is not one of ours.
MAX_ANSWER_CHARS = 2048
MAX_VALUE_CHARS = 80


@dataclass(frozen=True)
class CardAnswer:
    """What a card response means: the text to handle as if typed, or why it is refused (one line)."""

    text: str | None = None
    refusal: str | None = None


class Cards:
    def __init__(self, key: bytes, qr_image: Callable[[str], str] | None = None) -> None:
        self._key = key
        self._qr_image = qr_image

    def card_id(self, sender: str, session: str, purpose: str) -> uuid.UUID:
        """The card's id for this chat and question: a keyed hash, shaped as the UUID4 the format wants."""
        digest = hmac.new(self._key, f"{sender}\n{session}\n{purpose}".encode(), hashlib.sha256).digest()
        return uuid.UUID(bytes=digest[:16], version=4)

    def content(self, spec: CardSpec, sender: str, session: str) -> MetadataContent:
        card_id = self.card_id(sender, session, spec.purpose)
        return create_card_content(self._payload(spec), card_id=card_id, is_terminal=spec.purpose == "schedule")

    def _payload(self, spec: CardSpec) -> CardPayload:
        if spec.kind == "choice":
            options = [FormFieldOption(value=o, label=o) for o in spec.options]
            field = FormField(name=spec.purpose, kind="select", label=spec.title, required=True, options=options)
            return FormCardPayload(title=spec.title, fields=[field], submit_cta=_cta(_label(spec, 0, "Send"), {}))
        if spec.kind == "detail":
            rows = [DetailSummaryRow(label=label, value=value) for label, value in spec.rows]
            image = self._qr_image(spec.code) if spec.code and self._qr_image else None
            cta = _cta(_label(spec, 0, "Show my code again"), {"coupon": "show"})
            return DetailCardPayload(title=spec.title, hero_image=image, summary_rows=rows or None, ctas=[cta])
        if spec.kind == "review":
            rows = [ReviewSummaryRow(label=label, value=value) for label, value in spec.rows]
            review = spec.purpose.removeprefix("review:")
            return ReviewCardPayload(
                title=spec.title,
                summary_rows=rows,
                approve_cta=_cta("Approve", {"review": review, "decision": "approve"}),
                reject_cta=_cta("Reject", {"review": review, "decision": "reject"}, primary=False),
            )
        if spec.kind == "confirm":
            yes, no = _label(spec, 0, "Yes, score it"), _label(spec, 1, "No")
            buttons = [_button(yes, {"confirm": "yes"}, True), _button(no, {"confirm": "no"}, False)]
            body = [TextNode(type="text", value=spec.title), GroupNode(type="group", direction="row", children=buttons)]
            return CustomCardPayload(root=SectionNode(type="section", children=body))
        lines = [TextNode(type="text", value=f"{label}: {value}") for label, value in spec.rows]
        return CustomCardPayload(root=SectionNode(type="section", title=spec.title, children=lines or [_empty()]))

    def answer(self, msg: ChatMessage, sender: str, session: str) -> CardAnswer | None:
        """The meaning of a card response in `msg`; None when `msg` carries none (an ordinary message)."""
        blocks = [part for part in msg.content if isinstance(part, MetadataContent)]
        ours = [b for b in blocks if META_CARD_PROTOCOL_VERSION in b.metadata and META_CARD_KIND not in b.metadata]
        if not ours:
            return None
        block = ours[0]
        size = sum(len(str(k)) + len(str(v)) for k, v in block.metadata.items())
        if size > MAX_ANSWER_CHARS:
            return CardAnswer(refusal="That card answer is too big to be one of mine: please type your answer.")
        response = extract_card_response(block)
        if response is None:
            return CardAnswer(refusal="I couldn't read that card answer: please type your answer instead.")
        if response.cancelled:
            return CardAnswer(refusal="OK, nothing changed.")
        meaning = _meaning(response.selection or {})
        if meaning is None:
            return CardAnswer(refusal="That card answer isn't one I asked for: please type your answer.")
        purpose, text = meaning
        if response.card_id is None or response.card_id != self.card_id(sender, session, purpose):
            return CardAnswer(refusal="That card wasn't sent to this chat: answer the card I sent you, or type it.")
        return CardAnswer(text=text)


def _meaning(selection: dict[str, object]) -> tuple[str, str] | None:
    """(purpose, the text a person would type) for each answer our cards offer; None for anything else."""
    values = {key: str(value) for key, value in selection.items()}
    if any(len(value) > MAX_VALUE_CHARS or not value.isprintable() for value in values.values()):
        return None
    if values.keys() == {"diet"} and values["diet"].strip():
        return "diet", values["diet"].strip()
    if values.keys() == {"confirm"} and values["confirm"] in ("yes", "no"):
        return "confirm", values["confirm"]
    if values == {"coupon": "show"}:
        return "coupon", "what is my code?"
    if values.keys() == {"review", "decision"} and values["decision"] in ("approve", "reject"):
        review = values["review"].strip()
        if review and review.replace("-", "").isalnum():
            return f"review:{review}", f"{values['decision']} {review}"
    return None


def _label(spec: CardSpec, index: int, english: str) -> str:
    return spec.buttons[index] if index < len(spec.buttons) else english


def _cta(label: str, selection: dict[str, str], *, primary: bool = True) -> CtaAction:
    return CtaAction(label=label, selection=selection, primary=primary)


def _button(label: str, selection: dict[str, str], primary: bool) -> ButtonNode:
    return ButtonNode(type="button", label=label, primary=primary, action=ButtonAction(selection=selection))


def _empty() -> TextNode:
    return TextNode(type="text", value="-")
