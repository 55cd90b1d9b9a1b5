"""The conversation without a network: one deadline per message, and garbage in never breaks it."""

from __future__ import annotations

import asyncio
import time

import pytest
from helpers import TIMER_SLACK, settings_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pizza_agent.app.composition import assemble_event
from pizza_agent.config.settings import load_settings
from pizza_agent.domain.text import clean_text
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.store import Ledger
from pizza_agent.llm.service import LLMService

STORY = "At 3 a.m. my laptop ordered pizza for the whole hackathon, and the demo ran on pepperoni power."


async def test_one_deadline_covers_every_step_of_a_message(openai_server, asi1_server, service_factory, tmp_path):
    openai_server.set_fault("silent")
    asi1_server.set_fault("silent")
    settings = settings_for(openai_server, asi1_server, REPLY_DEADLINE="1.5", OPENAI_TIMEOUT="8", ASI1_TIMEOUT="8")
    conversation = assemble_event(
        settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("s" * 32)
    ).conversation
    started = time.monotonic()
    reply = await conversation.handle("agent1slow", STORY)  # intent, score and reply: three tasks
    assert time.monotonic() - started <= 1.5 + TIMER_SLACK  # not 3 x 8 s
    assert reply.outcome == "coupon"
    assert reply.layers == {"intent": "static", "score": "heuristic", "reply": "static"}


# --- property tests: whatever the text, a clear reply and an intact ledger -----------------------
_SETTINGS = load_settings({"ENV_FILE": "", "SENDER_RATE_LIMIT": "1000000"})
_NASTY = st.sampled_from(
    [
        "",
        "   \n\t ",
        "\x00\x01\x02\x1b[31m",
        "\ud800\udfff lone surrogates \udc00",
        "\u202eevil rtl\u202c \u200b\u200c\u200d\ufeff",
        "🍕" * 50,
        "<script>alert(1)</script> **bold** [link](javascript:alert(1))",
        "status",
        "reset",
        "/reset",
        "STATUS",
        "x" * 100_000,
        "' OR 1=1; DROP TABLE coupons; --",
    ]
)


@pytest.fixture(scope="module")
def garbage_conversation(tmp_path_factory):
    path = tmp_path_factory.mktemp("garbage") / "ledger.db"
    service = LLMService(_SETTINGS)
    return assemble_event(_SETTINGS, service, Ledger(path), CouponSigner("g" * 32)).conversation


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sender=st.sampled_from(["agent1alpha", "agent1beta", "agent1gamma"]), text=st.one_of(st.text(), _NASTY))
def test_any_text_gets_a_clear_reply_and_the_ledger_stays_sound(garbage_conversation, sender, text):
    reply = asyncio.run(garbage_conversation.handle(sender, text))
    assert isinstance(reply.text, str) and reply.text.strip()
    assert reply.outcome != "internal_error"
    if text.strip().lower().lstrip("/") in ("status", "reset"):
        assert reply.outcome == "refused"  # nobody here is an organizer
    ledger = garbage_conversation.ledger.ledger
    coupons = ledger.coupons.all()
    assert len({c.person for c in coupons}) == len(coupons)  # one coupon per participant
    for coupon in coupons:
        check = garbage_conversation.signer.check(coupon.code)
        assert check.authentic and check.tier == coupon.tier


@given(st.text())
def test_clean_text_is_storable_and_printable(text):
    cleaned = clean_text(text)
    cleaned.encode("utf-8")  # never raises: no lone surrogates survive
    assert all(ch in "\n\t" or ord(ch) >= 32 for ch in cleaned if ord(ch) < 128)
