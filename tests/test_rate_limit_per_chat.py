"""Rate limits per chat: ten people behind one sender are not one person, and a flood is still a flood.

A sender that opens chat sessions (ASI:One's session start: a platform speaking for many
people) is limited per chat, SENDER_RATE_LIMIT each, under a ceiling for all its chats
together of SENDER_RATE_LIMIT × SENDER_RATE_CHATS. A sender that never opens a session
(uagents' own ctx.send puts every message in a new one) is limited as one chat, as before.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from event_driver import import_roster
from helpers import settings_for
from uagents_core.identity import Identity

from pizza_agent.app.composition import assemble_event
from pizza_agent.event.rate_limit import SWEEP_EVERY_CALLS, Admit, SenderRateLimiter
from pizza_agent.ledger.codes import CODE_PATTERN, CouponSigner
from pizza_agent.ledger.store import Ledger
from pizza_agent.llm.service import LLMService
from pizza_agent.rehearsal.agent_process import AgentProcess

OK, SLOW, DROP = Admit.OK, Admit.SLOW_DOWN, Admit.DROP
STORY = (
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon. "
    "The judges were confused, but our demo ran on pepperoni power and we shipped it."
)
SLOW_DOWN = "Please slow down"
ORGANIZER_SEED = "rate-limit-per-chat-organizer"


# --- the limiter, on a clock the test moves --------------------------------------------------------------
def test_each_chat_of_a_sender_that_opens_sessions_has_its_own_limit(clock):
    limiter = SenderRateLimiter(limit=3, window=60, clock=clock, chats=5)
    for chat in ("a", "b", "c", "d"):
        assert limiter.check("platform", chat, opens_session=True) is OK
        assert [limiter.check("platform", chat) for _ in range(2)] == [OK, OK]
    assert [limiter.check("platform", "a") for _ in range(3)] == [SLOW, DROP, DROP]  # one chat flooding
    assert limiter.check("platform", "b") is SLOW  # b is at its own limit too, nobody else's
    assert limiter.check("platform", "e", opens_session=True) is OK  # a new chat: 13 of the 15 allowed
    assert limiter.limited_senders() == 1 and limiter.refused == 4 and limiter.dropped == 2
    clock.advance(60.1)
    assert limiter.check("platform", "a") is OK


def test_a_sender_opening_session_after_session_is_stopped_by_its_ceiling(clock):
    limiter = SenderRateLimiter(limit=3, window=60, clock=clock, chats=5)
    assert limiter.ceiling == 15
    flood = [limiter.check("flooder", str(uuid.uuid4()), opens_session=True) for _ in range(18)]
    assert flood == [OK] * 15 + [SLOW, DROP, DROP]
    assert limiter.check("honest", "x", opens_session=True) is OK  # per sender
    assert limiter.limited_senders() == 1
    clock.advance(60.1)
    assert limiter.check("flooder", str(uuid.uuid4()), opens_session=True) is OK


def test_a_sender_that_never_opens_a_session_is_one_chat_as_before(clock):
    """uagents' ctx.send puts every message in a new session: those are not new chats."""
    limiter = SenderRateLimiter(limit=3, window=60, clock=clock, chats=5)
    assert [limiter.check("plain", str(uuid.uuid4())) for _ in range(5)] == [OK, OK, OK, SLOW, DROP]
    assert [limiter.check("legacy") for _ in range(4)] == [OK, OK, OK, SLOW]  # no session known at all


def test_memory_stays_bounded_under_sender_and_session_churn(clock):
    limiter = SenderRateLimiter(limit=3, window=60, clock=clock, chats=5)
    for n in range(3 * SWEEP_EVERY_CALLS):  # a platform's sessions, each used once
        assert limiter.check("platform", f"session-{n}", opens_session=True) is OK
        clock.advance(5)  # 12 a minute: under its ceiling of 15
    assert limiter.tracked() <= 1 + limiter.ceiling + 1  # its chats past the window are let go as it goes
    for n in range(2 * SWEEP_EVERY_CALLS):  # then address churn
        limiter.check(f"agent1churn{n}", "s", opens_session=True)
    clock.advance(61)
    for _ in range(SWEEP_EVERY_CALLS):
        limiter.check("one-more", "s")
    assert limiter.tracked() <= 4  # the sweep forgot every idle sender and chat


def test_the_ceiling_is_a_setting_and_the_event_is_built_with_it(tmp_path):
    settings = settings_for(None, None, tmp_path, SENDER_RATE_LIMIT="4", SENDER_RATE_CHATS="6")
    parts = assemble_event(settings, LLMService(settings), Ledger(tmp_path / "l.db"), CouponSigner("c" * 32))
    assert (parts.limiter.limit, parts.limiter.ceiling) == (4, 24)
    assert settings_for(None, None, tmp_path).sender_rate_chats == 20


# --- the real agent -----------------------------------------------------------------------------------
@pytest.mark.slow  # agent.py
async def test_ten_people_behind_one_sender_each_get_a_coupon_and_one_flooding_chat_is_slowed(tmp_path):
    data = tmp_path / "data"
    codes = import_roster(data, [f"Person{i} Surname{i}" for i in range(10)])
    # 10 a chat, 50 for the sender: each person sends 4 messages, the platform 40 in all.
    agent = await AgentProcess(
        data,
        PARTICIPANTS="roster",
        SENDER_RATE_LIMIT="10",
        SENDER_RATE_WINDOW="600",
        SENDER_RATE_CHATS="5",
        ORGANIZER_ADDRESSES=Identity.from_seed(ORGANIZER_SEED, 0).address,
    ).start()
    try:
        async with agent.client("one-platform-sender") as platform:
            chats = [platform.chat() for _ in range(10)]
            for chat in chats:
                await chat.open()
            for i, chat in enumerate(chats):
                assert (await chat.ask(codes[f"Person{i} S."])).startswith(f"Hi Person{i} S.,")
            for chat in chats:
                assert "story" in (await chat.ask("I want pizza")).lower()
            replies = await asyncio.gather(*(chat.ask(STORY) for chat in chats))
            assert all(CODE_PATTERN.search(reply) for reply in replies), replies
            assert len({CODE_PATTERN.search(reply).group(0) for reply in replies}) == 10

        async with agent.client("a-flooding-platform") as flooder:
            flood = flooder.chat()
            await flood.open()  # 1 of its 10
            answers = [await flood.ask(f"hello {n}") for n in range(10)]
            assert not any(SLOW_DOWN in a for a in answers[:9]) and SLOW_DOWN in answers[9]
            await flooder.send("and again", session=flood.session)  # dropped: no reply, counted
            await dropped(agent, 1)

        async with agent.client("a-plain-sender") as plain:  # no session opened: one chat, as before
            answers = [await plain.ask(f"hi {n}") for n in range(11)]
            assert not any(SLOW_DOWN in a for a in answers[:10]) and SLOW_DOWN in answers[10]
    finally:
        agent.stop()
    assert "rate limited sender=…" in agent.logs()


async def dropped(agent: AgentProcess, count: int, timeout: float = 20.0) -> None:
    """The organizer's `status` counts the dropped message (polled with a deadline)."""
    deadline = time.monotonic() + timeout
    async with agent.client(ORGANIZER_SEED) as organizer:
        while f"(dropped {count})" not in (status := await organizer.ask("status")):
            assert time.monotonic() < deadline, status
            await asyncio.sleep(0.1)  # polling with a deadline
