"""ASI:One's interactive cards, through the real agent: drawn and read with the framework's own helpers.

Every card the agent sends passes uagents-core's validation (`extract_card`); a card answered
(`create_card_response_content`, as ASI:One sends it) is the same as typing the answer; a card
answer for another chat, a malformed one or an unknown one is refused in one line and changes
nothing. Every message with a card says the same in its text.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from event_driver import LUNCH, STORY, SUSPECTED, TWO_MEALS
from uagents_core.contrib.protocols.chat import ChatMessage, MetadataContent
from uagents_core.contrib.protocols.chat.cards import (
    Card,
    DetailCardPayload,
    FormCardPayload,
    ReviewCardPayload,
    create_card_response_content,
    extract_card,
    validate_card_payload_json,
)

from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import CODE_PATTERN
from pizza_agent.rehearsal.agent_process import base_env

pytestmark = pytest.mark.slow  # the agent process


def cards_in(message: ChatMessage) -> list[Card]:
    """The cards of a message, each validated by the framework (a card it cannot read fails the test)."""
    found = []
    for part in message.content:
        if isinstance(part, MetadataContent) and "card_kind" in part.metadata:
            meta = part.metadata
            validate_card_payload_json(meta["card_kind"], meta["card_payload"])  # raises on a bad payload
            card = extract_card(part)
            assert card is not None, meta
            found.append(card)
    return found


async def test_the_diet_card_answered_and_the_diet_typed_end_the_same(event):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    asked = await drv.reply("card-person", "I want pizza")
    assert "what do you eat?" in asked.text()  # the text says what the card asks
    [card] = cards_in(asked)
    assert isinstance(card.payload, FormCardPayload)
    [field] = card.payload.fields
    assert [o.value for o in field.options] == ["regular", "vegetarian", "vegan"]
    session = await drv.chat("card-person")
    answered = await session.reply_to_card(
        create_card_response_content(card_id=card.card_id, selection={"diet": "vegetarian"})
    )
    assert answered.text().startswith("Noted: vegetarian.") and "story prompt" in answered.text()
    by_card = CODE_PATTERN.search(await drv.say("card-person", STORY)).group(0)

    assert "what do you eat?" in await drv.say("typing-person", "I want pizza")
    assert (await drv.say("typing-person", "2")).startswith("Noted: vegetarian.")
    by_typing = CODE_PATTERN.search(await drv.say("typing-person", STORY)).group(0)
    carded, typed = drv.coupon_of("card-person", "lunch"), drv.coupon_of("typing-person", "lunch")
    assert (
        (carded.diet, carded.tier, carded.meal)
        == (typed.diet, typed.tier, typed.meal)
        == ("vegetarian", typed.tier, "lunch")
    )
    assert by_card != by_typing


async def test_the_coupon_comes_as_a_detail_card_and_the_schedule_as_a_card(event):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    await drv.say("hungry", "diet vegan")
    coupon = await drv.reply("hungry", STORY)
    code = CODE_PATTERN.search(coupon.text()).group(0)
    [card] = cards_in(coupon)
    assert isinstance(card.payload, DetailCardPayload)
    rows = {row.label: row.value for row in card.payload.summary_rows}
    assert rows["Code"] == code and rows["Meal"] == "Saturday lunch" and rows["Tier"] == code.split("-")[0].lower()
    assert card.payload.hero_image and card.payload.hero_image.startswith("data:image/png")  # the QR already sent
    schedule = await drv.reply("hungry", "when is dinner?")
    [listed] = cards_in(schedule)
    assert "Saturday dinner" in schedule.text() and "Saturday dinner" in listed.payload.model_dump_json()


async def test_a_judge_approves_by_card_once_and_only_an_organizer_may(event):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    await drv.say("suspect", "diet regular")
    await drv.say("suspect", SUSPECTED)  # talks to the judge: capped, queued for a human
    queue = await drv.reply("joints-organizer", "review")
    cards = cards_in(queue)
    assert len(cards) == 1 and isinstance(cards[0].payload, ReviewCardPayload)
    review_id = cards[0].payload.approve_cta.selection["review"]
    assert review_id in queue.text()  # the text lists the same item
    approve = create_card_response_content(card_id=cards[0].card_id, selection=cards[0].payload.approve_cta.selection)
    # A participant who got hold of the card's answer is refused: the card was not sent to their chat.
    stolen = await (await drv.chat("suspect")).reply_to_card(approve)
    assert stolen.text() == "That card wasn't sent to this chat: answer the card I sent you, or type it."
    organizer = await drv.chat("joints-organizer")
    done = await organizer.reply_to_card(approve)
    assert review_id in done.text() and "approved" in done.text().lower()
    again = await organizer.reply_to_card(approve)
    assert "already" in again.text().lower()  # each once, as the typed command


@pytest.mark.parametrize(
    ("metadata", "says"),
    [
        ({"card_protocol_version": "1", "selection": "{not json"}, "I couldn't read that card answer"),
        ({"card_protocol_version": "1", "selection": json.dumps({"launch": "missiles"})}, "isn't one I asked for"),
        ({"card_protocol_version": "1", "selection": json.dumps({"diet": "x" * 3000})}, "too big"),
        ({"card_protocol_version": "1", "card_id": "not-a-uuid", "selection": "{}"}, "I couldn't read that card"),
    ],
)
async def test_a_malformed_unknown_or_oversized_card_answer_is_refused_in_one_line(event, metadata, says):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    session = await drv.chat("odd-client")
    reply = await session.reply_to_card(MetadataContent(metadata=metadata))
    assert says in reply.text() and "\n" not in reply.text()
    assert drv.coupons() == []  # nothing changed
    assert "what do you eat?" in await drv.say("odd-client", "I want pizza")  # and the chat goes on


async def test_the_terminal_client_prints_a_card_and_answers_it_with_choose(event):
    """chat.py rehearses the same path as ASI:One: the card in words, and `--choose N` sends the card answer."""
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    env = base_env(drv.agent.data_dir)
    chat = [sys.executable, str(PROJECT_DIR / "chat.py"), "--seed", "terminal-person"]

    def run(*args: str) -> str:
        done = subprocess.run([*chat, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    asked = run("I want pizza")
    assert "what do you eat?" in asked and "[card: What do you eat?]" in asked
    assert "1) regular · 2) vegetarian · 3) vegan" in asked
    noted = run("--choose", "3")
    assert noted.startswith("Noted: vegan.")
    assert drv.coupons() == [] and "story prompt" in noted
    coupon = run(STORY)
    assert "[card: Your pizza coupon]" in coupon and "Meal: Saturday lunch" in coupon
    assert drv.coupon_of("terminal-person", "lunch").diet == "vegan"


async def test_a_one_sentence_story_is_confirmed_by_its_yes_card_like_a_typed_yes(event):
    drv = await event(plan=TWO_MEALS, at=LUNCH)
    await drv.say("unsure", "diet regular")
    sentence = "Our robot baked a pizza during the demo and won."
    asked = await drv.reply("unsure", sentence)
    assert "reply YES" in asked.text()  # the text asks the same as the card
    [card] = cards_in(asked)
    yes = next(
        node.action.selection for node in _buttons(card.payload.root) if node.action.selection == {"confirm": "yes"}
    )
    session = await drv.chat("unsure")
    scored = await session.reply_to_card(create_card_response_content(card_id=card.card_id, selection=yes))
    assert CODE_PATTERN.search(scored.text())  # scored, as if "yes" had been typed


def _buttons(node):  # type: ignore[no-untyped-def]
    found = [node] if getattr(node, "type", "") == "button" else []
    for child in getattr(node, "children", None) or []:
        found += _buttons(child)
    return found
