"""Roster mode, in process: one coupon per attendee, whatever addresses they use and however many share one.

The rule under test is people/identity.py's (README: "Running with a registration list").
"""

from __future__ import annotations

import random
import uuid

import pytest

from pizza_agent.app.composition import assemble_event
from pizza_agent.config.settings import load_settings
from pizza_agent.ledger.codes import CODE_PATTERN, CouponSigner
from pizza_agent.ledger.store import Ledger
from pizza_agent.llm.service import LLMService
from pizza_agent.people.claim_codes import ClaimCodes

STORY = "At 3 a.m. my laptop ordered pizza for the whole hackathon, and the demo ran on pepperoni power."
SECRET = "roster-conversation-secret-0123456789"


@pytest.fixture
async def event(tmp_path):
    settings = load_settings(
        {"ENV_FILE": "", "PARTICIPANTS": "roster", "SENDER_RATE_LIMIT": "100000", "DATA_DIR": str(tmp_path / "d")}
    )
    signer = CouponSigner(SECRET)
    ledger = Ledger(tmp_path / "ledger.db")
    ledger.roster.add_many([(f"k{i}", f"Person{i} X.") for i in range(20)], ClaimCodes.from_signer(signer).hash_for)
    llm = LLMService(settings, rng=random.Random(3))
    parts = assemble_event(settings, llm, ledger, signer)
    yield parts
    await llm.aclose()


def badge(i: int) -> str:
    return ClaimCodes.from_signer(CouponSigner(SECRET)).code_for(f"k{i}", 1)


def coupons(parts) -> list:
    return parts.ledger.coupons.all()


async def test_the_code_first_then_the_story_gives_the_attendee_one_coupon(event):
    talk = event.conversation
    welcome = await talk.handle("agent1ada", f"hi, my code is {badge(0).lower()}", "s1")
    assert welcome.text.startswith("Hi Person0 X.,") and "story prompt" in welcome.text
    reply = await talk.handle("agent1ada", STORY, "s1")
    assert reply.outcome == "coupon"
    assert [c.person for c in coupons(event)] == ["attendee:k0"]


async def test_a_story_before_the_code_waits_for_it_and_is_scored_when_it_comes(event):
    talk = event.conversation
    asked = await talk.handle("agent1bob", STORY, "s1")
    assert asked.outcome == "claim_story_waits" and coupons(event) == []
    reply = await talk.handle("agent1bob", badge(1).replace("-", ""), "s1")
    assert reply.outcome == "coupon" and reply.text.startswith("Hi Person1 X.,")
    assert CODE_PATTERN.search(reply.text)


async def test_a_request_without_a_code_is_asked_for_the_code_and_costs_no_model_call(event):
    reply = await event.conversation.handle("agent1cat", "I want pizza", "s1")
    assert reply.outcome == "claim_ask" and "claim code printed on your badge" in reply.text
    assert reply.layers == {"prompt": "static"}


async def test_one_person_with_four_addresses_gets_one_coupon(event):
    talk = event.conversation
    first = await talk.handle("agent1addr0", f"{badge(2)} {STORY}", "s")
    assert first.outcome == "coupon"
    for n in range(1, 4):
        again = await talk.handle(f"agent1addr{n}", f"{badge(2)} {STORY}", "s")
        assert again.outcome == "claim_elsewhere" and "already linked to another chat" in again.text
        assert CODE_PATTERN.search(again.text) is None  # the owner's coupon is never shown to another address
        no_code = await talk.handle(f"agent1addr{n}", STORY, "s")
        assert no_code.outcome == "claim_story_waits"
    assert len(coupons(event)) == 1


async def test_ten_people_behind_one_sender_each_in_their_own_session_get_ten_coupons(event):
    talk = event.conversation
    sessions = [str(uuid.uuid4()) for _ in range(10)]
    for i, session in enumerate(sessions):
        await talk.people.open_session("agent1platform", session)  # ASI:One opens each chat
        assert (await talk.handle("agent1platform", badge(i), session)).text.startswith(f"Hi Person{i} X.,")
    for session in sessions:
        assert (await talk.handle("agent1platform", STORY, session)).outcome == "coupon"
    assert sorted(c.person for c in coupons(event)) == sorted(f"attendee:k{i}" for i in range(10))
    # An eleventh chat with no code belongs to nobody: it is asked for one (nobody's coupon is shown).
    stranger = await talk.handle("agent1platform", "I want pizza", str(uuid.uuid4()))
    assert stranger.outcome == "claim_ask"


async def test_a_platform_sender_with_one_claim_so_far_does_not_lend_it_to_the_next_chat(event):
    talk = event.conversation
    await talk.people.open_session("agent1platform", "chat-1")
    await talk.handle("agent1platform", badge(3), "chat-1")
    await talk.people.open_session("agent1platform", "chat-2")
    other = await talk.handle("agent1platform", STORY, "chat-2")
    assert other.outcome == "claim_story_waits" and coupons(event) == []


async def test_a_chat_never_bound_is_asked_for_the_code_even_from_a_sender_that_never_opened_a_session(event):
    """A sender with one claim and no session start may still be a platform carrying the next person."""
    talk = event.conversation
    await talk.handle("agent1loopback", STORY, "m1")  # the story first
    reply = await talk.handle("agent1loopback", badge(4), "m1")  # then the code, in the same chat
    assert reply.outcome == "coupon"
    other = await talk.handle("agent1loopback", "I want pizza", "m2")  # another chat of the same sender
    assert other.outcome == "claim_ask" and reply.code not in other.text
    again = await talk.handle("agent1loopback", "what was my coupon?", "m1")
    assert again.outcome == "repeat_coupon" and again.code == reply.code


async def test_a_typo_and_an_unknown_code_hear_why_and_five_wrong_codes_mean_slow_down(event):
    talk = event.conversation
    good = badge(5).replace("-", "")
    typo = good[:-1] + ("A" if good[-1] != "A" else "B")
    assert (await talk.handle("agent1typo", typo, "s")).outcome == "claim_typo"
    unknown = ClaimCodes.from_signer(CouponSigner("another-event-secret-000000000000")).code_for("k5", 1)
    assert (await talk.handle("agent1typo", unknown, "s")).outcome == "claim_unknown_code"
    for _ in range(3):
        await talk.handle("agent1typo", unknown, "s")
    assert (await talk.handle("agent1typo", badge(5), "s")).outcome == "claim_slow_down"  # even the right one, now
    assert coupons(event) == []


async def test_a_thousand_guesses_from_a_hundred_addresses_claim_nothing(event):
    talk = event.conversation
    guesser = ClaimCodes.from_signer(CouponSigner("the-guessers-own-secret-0000000000"))
    outcomes = set()
    for n in range(1000):
        reply = await talk.handle(f"agent1guess{n % 100}", guesser.code_for(f"g{n}", 1), "s")
        outcomes.add(reply.outcome)
    assert outcomes == {"claim_unknown_code", "claim_slow_down"}
    assert event.ledger.roster.counts()["claimed"] == 0 and coupons(event) == []
    honest = await talk.handle("agent1honest", f"{badge(6)} {STORY}", "s")
    assert honest.outcome == "coupon"


async def test_reissue_kills_the_old_code_and_the_new_one_reaches_the_same_coupon(event):
    talk, organizer = event.conversation, event.organizer
    await talk.handle("agent1dana", f"{badge(7)} {STORY}", "s")
    found = await organizer.desk.lookup("Person7")
    assert "Person7 X. (attendee k7" in found and "VALID" in found
    text = await organizer.desk.reissue(badge(7), "agent1org")
    new = text.split(": ", 1)[1].split(" ")[0]
    assert new != badge(7)
    assert (await talk.handle("agent1newphone", badge(7), "s")).outcome == "claim_unknown_code"
    again = await talk.handle("agent1newphone", new, "s")
    assert again.outcome == "repeat_coupon" and again.text.startswith("Hi Person7 X.,")
    assert len(coupons(event)) == 1


async def test_address_mode_tripwire_names_a_sender_carrying_stories_in_three_sessions(tmp_path):
    settings = load_settings({"ENV_FILE": "", "SENDER_RATE_LIMIT": "100000", "DATA_DIR": str(tmp_path / "d")})
    llm = LLMService(settings, rng=random.Random(3))
    parts = assemble_event(settings, llm, Ledger(tmp_path / "l.db"), CouponSigner(SECRET))
    try:
        for session in ("a", "b"):
            await parts.conversation.handle("agent1shared", STORY, session)
        assert "sharing one address" not in await parts.organizer.status_text()
        await parts.conversation.handle("agent1shared", STORY, "c")
        status = await parts.organizer.status_text()
        assert "participants may be sharing one address: stories from …t1shared (3 chat sessions)" in status
        assert "consider PARTICIPANTS=roster" in status
    finally:
        await llm.aclose()
