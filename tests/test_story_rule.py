"""A coupon is only ever spent on a story the participant meant as their story.

The corpora were written from categories before the rule: tests/data/not_stories.toml
(requests, greetings, questions, support, thanks, in eight languages, long polite ones
included) and tests/data/stories.toml (genuine stories). The LLM layers are played by
the fault provider, including a model that calls every message a story.
"""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import pytest
from helpers import settings_for

from pizza_agent.app.composition import assemble_event
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.store import Ledger

DATA = Path(__file__).parent / "data"
NOT_STORIES = [
    (group["category"], text)
    for group in tomllib.loads((DATA / "not_stories.toml").read_text())["message"]
    for text in group["texts"]
]
STORIES = [
    (group["category"], text)
    for group in tomllib.loads((DATA / "stories.toml").read_text())["story"]
    for text in group["texts"]
]
_ids = itertools.count()


def test_the_corpus_is_big_and_varied():
    assert len(NOT_STORIES) >= 40
    assert sum(80 <= len(text) <= 300 for _, text in NOT_STORIES) >= 20  # long polite ones
    assert len({category for category, _ in NOT_STORIES}) >= 10


@pytest.fixture(params=["static", "openai says story", "asi1 says story"])
def conversation(request, openai_server, asi1_server, service_factory, tmp_path):
    """A conversation whose intent comes from the keyword rules, or from an LLM layer that calls everything a story."""
    if request.param == "static":
        settings = settings_for(None, None)
    elif request.param == "openai says story":
        openai_server.set_fault("intent-story")
        settings = settings_for(openai_server, asi1_server)
    else:
        asi1_server.set_fault("intent-story")
        settings = settings_for(None, asi1_server)
    ledger = Ledger(tmp_path / "ledger.db")
    return assemble_event(settings, service_factory(settings), ledger, CouponSigner("r" * 32)).conversation


async def test_no_request_greeting_or_question_is_ever_scored(conversation):
    for category, text in NOT_STORIES:
        sender = f"agent1corpus{next(_ids)}"
        first = await conversation.handle(sender, "I want pizza")  # a participant who already has a prompt
        assert first.outcome == "prompt"
        reply = await conversation.handle(sender, text)
        assert reply.outcome not in ("coupon", "pool_exhausted"), f"{category}: {text!r} was scored"
        assert conversation.ledger.ledger.coupons.coupon_for(sender) is None
        assert reply.outcome in ("prompt", "help", "confirm_story"), f"{category}: {text!r} -> {reply.outcome}"
    assert conversation.ledger.ledger.coupons.all() == []


async def test_a_request_the_llm_took_for_a_story_gets_a_prompt_and_a_question(
    openai_server, asi1_server, service_factory, tmp_path
):
    openai_server.set_fault("intent-story")
    settings = settings_for(openai_server, asi1_server)
    conversation = assemble_event(
        settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("r" * 32)
    ).conversation
    reply = await conversation.handle("agent1polite", "I would like a pizza coupon for me and my team please")
    assert reply.outcome == "confirm_story"
    assert "reply YES" in reply.text and "here's one" in reply.text  # asked, and given a prompt anyway
    assert conversation.ledger.ledger.coupons.coupon_for("agent1polite") is None


async def test_genuine_stories_are_scored_at_once_in_static_mode(service_factory, tmp_path):
    settings = settings_for(None, None)
    conversation = assemble_event(
        settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("r" * 32)
    ).conversation
    for category, story in STORIES:
        sender = f"agent1story{next(_ids)}"
        await conversation.handle(sender, "hi, I want pizza")
        reply = await conversation.handle(sender, story)
        assert reply.outcome == "coupon", f"{category}: {story!r} -> {reply.outcome}"


async def test_when_the_readings_disagree_the_participants_yes_scores_the_held_story(
    openai_server, asi1_server, service_factory, tmp_path
):
    openai_server.set_fault("intent-greeting")  # the LLM misses a genuine story
    settings = settings_for(openai_server, asi1_server)
    conversation = assemble_event(
        settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("r" * 32)
    ).conversation
    story = STORIES[0][1]
    asked = await conversation.handle("agent1unsure", story)
    assert asked.outcome == "confirm_story" and conversation.ledger.ledger.coupons.coupon_for("agent1unsure") is None
    scored = await conversation.handle("agent1unsure", "Yes!")
    assert scored.outcome == "coupon" and scored.layers["intent"] == "confirmed"
    assert conversation.ledger.ledger.coupons.coupon_for("agent1unsure").code == scored.code


async def test_sending_the_same_story_again_counts_as_yes(openai_server, asi1_server, service_factory, tmp_path):
    openai_server.set_fault("intent-other")
    settings = settings_for(openai_server, asi1_server)
    conversation = assemble_event(
        settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("r" * 32)
    ).conversation
    story = STORIES[1][1]
    assert (await conversation.handle("agent1again", story)).outcome == "confirm_story"
    assert (await conversation.handle("agent1again", story)).outcome == "coupon"


async def test_yes_without_a_held_story_is_not_a_story(service_factory, tmp_path):
    settings = settings_for(None, None)
    conversation = assemble_event(
        settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("r" * 32)
    ).conversation
    assert (await conversation.handle("agent1yes", "yes")).outcome == "prompt"


@pytest.mark.parametrize("intent_fault", ["intent-other", "intent-story", None])
async def test_a_too_short_story_is_told_why(intent_fault, openai_server, asi1_server, service_factory, tmp_path):
    if intent_fault:
        openai_server.set_fault(intent_fault)
    settings = settings_for(openai_server if intent_fault else None, asi1_server if intent_fault else None)
    conversation = assemble_event(
        settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("r" * 32)
    ).conversation
    reply = await conversation.handle("agent1short", "The laptop ate my code.")
    assert reply.outcome == "story_too_short"
    assert "at least 40 characters (yours has 23)" in reply.text


@pytest.mark.parametrize("text", ["🍕🍕🍕", "🙂", "!!! ??? ...", "🍕 🚀 💻 🔥 🎉 🍕 🚀 💻 🔥 🎉 🍕 🚀 💻 🔥 🎉"])
async def test_emoji_only_messages_are_told_why(text, service_factory, tmp_path):
    settings = settings_for(None, None)
    conversation = assemble_event(
        settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("r" * 32)
    ).conversation
    reply = await conversation.handle("agent1emoji", text)
    assert reply.outcome == "no_words"
    assert "emoji alone" in reply.text


# --- participant dead ends, tried as a new user would (the precision issue) ----------------------------
@pytest.fixture
def static_conversation(service_factory, tmp_path):  # type: ignore[no-untyped-def]
    settings = settings_for(None, None)
    return assemble_event(settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("d" * 32))


async def test_a_short_story_that_mentions_pizza_is_told_it_is_too_short(static_conversation):
    """Before: the word 'pizza' made it a request, and a new prompt came instead of the promised reply."""
    reply = await static_conversation.conversation.handle("agent1short", "I ate cold pizza and fixed the bug.")
    assert reply.outcome == "story_too_short" and "at least 40 characters" in reply.text


async def test_a_story_ending_in_a_rhetorical_question_is_not_lost_to_the_help_text(static_conversation):
    story = (
        "We coded all night and the demo crashed twice before breakfast. The pizza saved us at dawn, "
        "and the judges laughed at our slides. Who needs sleep anyway?"
    )
    reply = await static_conversation.conversation.handle("agent1rhetoric", story)
    assert reply.outcome == "coupon", reply.text


async def test_a_forty_character_sentence_is_asked_about_before_it_spends_the_coupon(static_conversation):
    """Before: 8 words and 40 characters were scored at once, and the one coupon was spent on them."""
    text = "The build finally passed and we all cheered."
    assert len(text) >= 40 and 8 <= len(text.split()) < 12
    reply = await static_conversation.conversation.handle("agent1terse", text)
    assert reply.outcome == "confirm_story" and static_conversation.ledger.coupons.coupon_for("agent1terse") is None
    yes = await static_conversation.conversation.handle("agent1terse", "yes")
    assert yes.outcome == "coupon"


async def test_a_voided_code_is_never_handed_out_again_as_valid(static_conversation):
    parts = static_conversation
    story = STORIES[0][1]
    code = (await parts.conversation.handle("agent1voided", story)).code
    parts.ledger.coupons.void(code, "shared on social media")
    again = await parts.conversation.handle("agent1voided", "I want pizza")
    assert again.outcome == "coupon_voided" and code not in again.text and again.code is None
    assert "voided by an organizer (shared on social media)" in again.text


@pytest.mark.parametrize(
    "story",
    [
        "深夜三時にやっとコードが動いて、審査員が来たときにはピザしか残っていなかった。でもデモは成功した。",
        "深夜三点，我们的机器人点了三个披萨，修好了最后一个错误，然后在键盘上睡着了。第二天早上评委来了，我们的演示很成功。",
    ],
)
async def test_a_chinese_or_japanese_story_is_scored_not_answered_with_a_prompt(static_conversation, story):
    """Before: no spaces between words made a long story look like one word, and it got a prompt."""
    reply = await static_conversation.conversation.handle("agent1cjk", story)
    assert reply.outcome in ("coupon", "confirm_story"), reply.outcome
    if reply.outcome == "confirm_story":
        reply = await static_conversation.conversation.handle("agent1cjk", "yes")
    assert reply.outcome == "coupon"
