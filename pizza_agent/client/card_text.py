"""A card as a terminal shows it: readable text, and its answers numbered so `--choose N` can send one.

The rehearsal client (`chat.py`) exercises the same path as ASI:One: it reads the cards the agent
sends with the framework's `extract_card`, prints them, and answers one with
`create_card_response_content` (the card's id and the chosen answer's selection).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from pydantic import BaseModel
from uagents_core.contrib.protocols.chat import ChatMessage, MetadataContent
from uagents_core.contrib.protocols.chat.cards import (
    ButtonNode,
    Card,
    CustomCardPayload,
    DetailCardPayload,
    FormCardPayload,
    ReviewCardPayload,
    create_card_response_content,
    extract_card,
)


def cards_of(message: ChatMessage) -> list[Card]:
    return [card for part in message.content if isinstance(part, MetadataContent) and (card := extract_card(part))]


def answers_of(card: Card) -> list[tuple[str, dict]]:
    """(label, selection) of each answer the card offers, in the order they are numbered."""
    payload = card.payload
    if isinstance(payload, FormCardPayload):
        return [
            (option.label, {field.name: option.value}) for field in payload.fields for option in field.options or []
        ]
    if isinstance(payload, ReviewCardPayload):
        ctas = [payload.approve_cta, *([payload.reject_cta] if payload.reject_cta else [])]
        return [(cta.label, cta.selection) for cta in ctas]
    if isinstance(payload, DetailCardPayload):
        return [(cta.label, cta.selection) for cta in payload.ctas]
    if isinstance(payload, CustomCardPayload):
        return [(b.label, b.action.selection) for b in _nodes(payload.root) if isinstance(b, ButtonNode)]
    return []


def _nodes(node: BaseModel) -> list[BaseModel]:
    found = [node]
    for child in getattr(node, "children", None) or []:
        found += _nodes(child)
    return found


def card_text(card: Card) -> str:
    """The card in words: its title, its rows, its numbered answers."""
    payload = card.payload
    title = getattr(payload, "title", None) or "card"
    lines = [f"[card: {title}]"]
    for row in getattr(payload, "summary_rows", None) or []:
        lines.append(f"  {row.label}: {row.value}")
    if isinstance(payload, CustomCardPayload):
        lines += [f"  {n.value}" for n in _nodes(payload.root) if getattr(n, "type", "") == "text"]
    answers = answers_of(card)
    if answers:
        lines.append("  " + " · ".join(f"{i}) {label}" for i, (label, _) in enumerate(answers, start=1)))
        lines.append("  (answer with --choose N, or type it)")
    return "\n".join(lines)


def remember(path: Path, card: Card) -> None:
    """The last card shown with answers, for `--choose N` in a later run."""
    answers = answers_of(card)
    if not answers:
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(json.dumps({"card_id": str(card.card_id) if card.card_id else None, "answers": answers}))


def chosen(path: Path, n: int) -> MetadataContent:
    """The card response for answer `n` of the last card shown (ValueError when there is none)."""
    if not path.exists():
        raise ValueError("no card to answer yet: send a message first")
    saved = json.loads(path.read_text())
    answers = saved["answers"]
    if not 1 <= n <= len(answers):
        raise ValueError(f"the last card has answers 1 to {len(answers)}")
    card_id = uuid.UUID(saved["card_id"]) if saved["card_id"] else None
    return create_card_response_content(card_id=card_id, selection=answers[n - 1][1])
