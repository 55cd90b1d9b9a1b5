"""Organizer controls and what status and the log tell an organizer, without a network.

The end-to-end versions (the real agent process, real envelopes) are in
tests/test_organizer_e2e.py.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pytest
from helpers import FakeClock, settings_for
from uagents_core.identity import Identity

from pizza_agent.app.composition import assemble_event
from pizza_agent.domain.reply import sender_id
from pizza_agent.event.conversation import Conversation
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.coupons import Issuance
from pizza_agent.ledger.redemption import CodeState, check_code, redeem_code
from pizza_agent.ledger.store import Ledger
from pizza_agent.llm.health import ProviderHealth

ORGANIZER = Identity.from_seed("organizer-unit-tests", 0).address
STORY = (
    "At 3 a.m. my laptop became sentient and ordered pizza for the whole hackathon; the demo ran on pepperoni power."
)


@pytest.fixture
def make_conversation(service_factory, tmp_path):
    def make(openai=None, asi1=None, **env: str) -> Conversation:
        settings = settings_for(openai, asi1, tmp_path, ORGANIZER_ADDRESSES=ORGANIZER, **env)
        return assemble_event(
            settings, service_factory(settings), Ledger(tmp_path / "l.db"), CouponSigner("o" * 32)
        ).conversation

    return make


# --- participants: the truth about tiers -------------------------------------------------------
async def test_an_empty_premium_pool_gives_standard_and_says_so(make_conversation, tmp_path, caplog, asi1_server):
    pools = tmp_path / "pools"
    pools.mkdir()
    (pools / "premium.csv").write_text("PREMIUM-VENDOR-1\n")  # premium: a vendor pool of one code
    quote = " ".join(STORY.split()[:6])
    asi1_server.canned_answer = json.dumps(
        {n: {"score": 9, "quote": quote, "why": "ok"} for n in ("craft", "theme", "originality")}
    )
    conversation = make_conversation(None, asi1_server, COUPON_POOL_DIR=str(pools))
    conversation.ledger.ledger.coupons.load_pools(pools)
    await conversation.handle("agent1first", STORY)  # takes the only premium code
    with caplog.at_level(logging.WARNING):
        reply = await conversation.handle("agent1second", STORY)
    coupon = conversation.ledger.ledger.coupons.coupon_for("agent1second")
    assert coupon.tier == "standard"
    assert "scored 9/10, which earns a premium pizza, but the premium coupons have run out" in reply.text
    assert f"standard pizza coupon code: {coupon.code}" in reply.text
    assert "which earns a standard" not in reply.text and "which earns a basic" not in reply.text
    assert "tier ran out: premium (sender=…t1second scored 9, gave standard)" in caplog.text
    assert "premium coupons empty: 0 of 1 left" in caplog.text


async def test_when_every_tier_is_gone_every_tier_is_logged(make_conversation, caplog):
    conversation = make_conversation(TIER_CAPS="premium:0,standard:0,basic:0")
    with caplog.at_level(logging.WARNING):
        reply = await conversation.handle("agent1late", STORY)
    assert reply.outcome == "pool_exhausted"
    assert "coupons ran out for every tier offered (basic)" in caplog.text  # the heuristic scored basic
    conversation = make_conversation(TIER_CAPS="premium:0,standard:0,basic:0")
    issued = conversation.ledger.ledger.coupons.issue(
        Issuance("agent1x", "premium", 9, "asi1", "", None, "h"),
        conversation.signer.new_code,
        caps=conversation.settings.tier_caps,
    )
    assert issued.coupon is None and issued.ran_out == ("premium", "standard", "basic")


async def test_tier_caps_limit_generated_codes_and_status_shows_what_is_left(make_conversation):
    conversation = make_conversation(TIER_CAPS="basic:2")
    for i in range(2):
        assert (await conversation.handle(f"agent1cap{i}", STORY)).outcome == "coupon"
    assert (await conversation.organizer.status_data())["ledger"]["left"] == {
        "premium": None,
        "standard": None,
        "basic": 0,
    }
    assert "basic 2 issued, 0 left" in (await conversation.organizer.status_text())
    assert (await conversation.handle("agent1cap9", STORY)).outcome == "pool_exhausted"


# --- pause, force, reload, lookup, void, export --------------------------------------------------
async def test_pause_tells_participants_and_issues_nothing_until_resume(make_conversation, caplog):
    conversation = make_conversation()
    with caplog.at_level(logging.WARNING):
        paused = await conversation.handle(ORGANIZER, "pause Pizza is on its way, back at 8pm!")
    assert paused.outcome == "pause" and "Pizza is on its way, back at 8pm!" in paused.text
    reply = await conversation.handle("agent1hungry", STORY)
    assert reply.outcome == "paused" and reply.text == "Pizza is on its way, back at 8pm!"
    assert conversation.ledger.ledger.coupons.coupon_for("agent1hungry") is None
    assert (await conversation.organizer.status_text()).startswith(
        "serving everyone: paused — participants are told: Pizza is on"
    )
    assert f"paused by organizer={sender_id(ORGANIZER)}" in caplog.text
    assert (await conversation.handle(ORGANIZER, "resume")).text.startswith("Resumed")
    assert (await conversation.handle("agent1hungry", STORY)).outcome == "coupon"


async def test_pause_survives_a_restart(make_conversation):
    conversation = make_conversation()
    await conversation.handle(ORGANIZER, "pause")
    again = make_conversation()  # a new process on the same ledger
    reply = await again.handle("agent1p", STORY)
    assert reply.outcome == "paused" and "paused for a moment" in reply.text


async def test_force_pins_a_layer_for_minutes_then_lets_go(make_conversation, openai_server, asi1_server, clock):
    conversation = make_conversation(openai_server, asi1_server)
    assert (await conversation.llm.understand_intent("hello")).layer == "openai"
    reply = await conversation.handle(ORGANIZER, "force asi1 10")
    assert "Forced asi1 for intent, prompts and replies for 10 minutes" in reply.text
    assert (await conversation.llm.understand_intent("hello")).layer == "asi1"
    assert "forced: asi1 for 10m 00s more" in (await conversation.organizer.status_text())
    clock.advance(601)
    assert (await conversation.llm.understand_intent("hello")).layer == "openai"
    await conversation.handle(ORGANIZER, "force static")
    assert (await conversation.llm.understand_intent("hello")).layer == "static"
    assert "(forced static)" in (await conversation.organizer.status_text()).splitlines()[0]
    await conversation.handle(ORGANIZER, "force off")
    assert (await conversation.llm.understand_intent("hello")).layer == "openai"
    assert "Usage" in (await conversation.handle(ORGANIZER, "force gemini")).text


async def test_reload_reads_new_static_content_and_pool_files(make_conversation, tmp_path):
    import shutil

    from pizza_agent.config.settings import PROJECT_DIR

    content = tmp_path / "content"
    shutil.copytree(PROJECT_DIR / "static_content", content)
    pools = tmp_path / "pools"
    pools.mkdir()
    conversation = make_conversation(STATIC_CONTENT_DIR=str(content), COUPON_POOL_DIR=str(pools))
    messages = content / "messages.toml"
    messages.write_text(messages.read_text().replace("I'm the Pizza Agent.", "I'm the Reloaded Pizza Agent."))
    (pools / "standard.csv").write_text("STD-1\nSTD-2\n")
    reply = await conversation.handle(ORGANIZER, "reload")
    assert reply.text == "Reloaded: static content reloaded (12 prompts); vendor pools: standard +2."
    assert "I'm the Reloaded Pizza Agent." in (await conversation.handle("agent1h", "help")).text
    assert (await conversation.organizer.status_data())["ledger"]["left"]["standard"] == 2
    (content / "prompts.toml").write_text("prompts = []\n")
    broken = await conversation.handle(ORGANIZER, "reload")
    assert broken.text.startswith("Static content NOT reloaded (the old one stays in use): prompts.toml")


async def test_lookup_void_and_export(make_conversation, tmp_path):
    conversation = make_conversation()
    participant = "agent1qsupportparticipant0000000000000000000000000000000abcd1234"
    code = (await conversation.handle(participant, STORY)).code
    by_tail = await conversation.handle(ORGANIZER, "lookup abcd1234")
    assert "participant …abcd1234" in by_tail.text and code in by_tail.text and "not yet redeemed" in by_tail.text
    by_code = await conversation.handle(ORGANIZER, f"lookup {code}")
    assert by_code.text.startswith(f"VALID basic coupon {code}") and "participant …abcd1234" in by_code.text
    assert "No participant matches" in (await conversation.handle(ORGANIZER, "lookup nobody42")).text

    voided = await conversation.handle(ORGANIZER, f"void {code} shared on social media")
    assert voided.text.startswith(f"VOIDED basic coupon {code}")
    assert check_code(conversation.ledger.ledger.coupons, conversation.signer, code).state is CodeState.VOIDED
    assert redeem_code(conversation.ledger.ledger.coupons, conversation.signer, code).state is CodeState.VOIDED
    assert "shared on social media" in check_code(conversation.ledger.ledger.coupons, conversation.signer, code).line
    again = await conversation.handle(participant, "hi")  # still their one coupon, used up: never a second one,
    assert again.outcome == "coupon_voided" and again.code is None  # and never the dead code repeated as valid
    assert conversation.ledger.ledger.coupons.coupon_for(participant).code == code

    exported = await conversation.handle(ORGANIZER, "export")
    path = exported.text.removeprefix("Exported 1 coupon(s) to ")
    rows = list(csv.DictReader(Path(path).read_text().splitlines()))
    assert rows[0]["code"] == code and rows[0]["participant"] == participant and rows[0]["voided_at"]
    assert (tmp_path / "data" / "exports").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "command",
    [
        "status",
        "status json",
        "reset",
        "pause",
        "pause now",
        "resume",
        "force static",
        "force off",
        "reload",
        "lookup abcd1234",
        "void BASIC-AAAAAAAA-BBBBBBBB",
        "export",
        "/pause",
    ],
)
async def test_every_command_is_refused_to_participants(make_conversation, command, caplog):
    conversation = make_conversation()
    with caplog.at_level(logging.WARNING):
        reply = await conversation.handle("agent1mallory", command)
    assert reply.outcome == "refused"
    assert reply.text == "Sorry, that command is for event organizers only. Ask me for pizza instead!"
    assert "refused organizer command" in caplog.text
    assert conversation.controls.paused is None and conversation.llm.status()["forced"] is None


async def test_a_story_that_starts_with_a_command_word_is_a_story(make_conversation):
    conversation = make_conversation()
    reply = await conversation.handle("agent1writer", "Pause. The oven hummed while our robot debugged the pizza API.")
    assert reply.outcome == "coupon"


# --- status and reset -----------------------------------------------------------------------
async def test_status_reads_at_a_glance(make_conversation, openai_server):
    openai_server.set_fault("rate-limit-40")
    conversation = make_conversation(openai_server, None, OPENAI_RETRY_COUNT="1")
    await conversation.handle("agent1someone", "hello")
    text = await conversation.organizer.status_text()
    lines = text.splitlines()
    assert lines[0] == "serving everyone: yes — intent/prompt/reply via static rules, scoring via the local heuristic"
    assert lines[1].startswith("up 0s (since 20")
    assert lines[2].startswith("openai: cooling down 40.0s after a 429 · failures 1/3")
    assert "last error RateLimited: HTTP 429 (0s ago)" in lines[2]
    assert "healthy" not in lines[2]  # no "healthy · cooling down" contradiction
    assert lines[3] == "asi1: off (no key)"
    assert "coupons: premium 0 issued · standard 0 issued · basic 0 issued" in text
    assert "flagged stories 0" in text and "participants 1" in text
    assert "seed" not in text and "using_fallback" not in text
    data = json.loads((await conversation.handle(ORGANIZER, "status json")).text)
    assert {"failures", "status", "using_fallback", "client_available", "verdict", "paused"} <= set(data)


async def test_a_rejected_key_says_off_and_how_to_fix_it(make_conversation, openai_server):
    openai_server.set_fault("unauthorized")
    conversation = make_conversation(openai_server, None)
    await conversation.handle("agent1someone", "hello")
    assert "openai: off — HTTP 401: key rejected; fix the key, then send `reset`" in (
        await conversation.organizer.status_text()
    )


async def test_reset_says_what_it_actually_did(make_conversation, openai_server):
    conversation = make_conversation(openai_server, None, OPENAI_RETRY_COUNT="1")
    nothing = await conversation.handle(ORGANIZER, "reset")
    assert nothing.text == "Nothing to reset: no failures, cool-downs or rejected keys on OpenAI or ASI1."
    openai_server.set_fault("unauthorized")
    await conversation.handle("agent1someone", "hello")
    reset = await conversation.handle(ORGANIZER, "reset")
    assert reset.text == "Reset. openai: rejected key re-enabled (HTTP 401: key rejected)"
    assert "failure counter" not in reset.text


# --- the log an organizer follows at 2 a.m. --------------------------------------------------
def test_every_provider_state_change_is_a_warning_of_its_own(caplog):
    clock = FakeClock()
    health = ProviderHealth("openai", threshold=2, probe_interval=30, clock=clock)
    with caplog.at_level(logging.WARNING, logger="pizza.health"):
        for _ in range(2):
            health.record_failure(health.admit(), "TransientError: HTTP 503", 10)
        clock.advance(30)
        probe = health.admit()
        health.record_success(probe, 10)
        health.cool_down(5)
        clock.advance(6)
        health.admit()
        health.mark_unavailable("HTTP 401: key rejected")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "provider=openai tripped: 2 failures, skipped now, one probe every 30s (last error: TransientError: HTTP 503)",
        "provider=openai probe sent (skipped for 30s)",
        "provider=openai recovered: the probe answered, failures=1",
        "provider=openai cool-down started: skipped for 5.0s after a 429",
        "provider=openai cool-down ended",
        "provider=openai key rejected (HTTP 401: key rejected): off until an organizer sends `reset`",
    ]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


async def test_coupon_lines_carry_tier_score_source_and_flagged(make_conversation, caplog):
    conversation = make_conversation()
    with caplog.at_level(logging.INFO, logger="pizza.conversation"):
        await conversation.handle("agent1qlogged00000000000000000000000000000000000000000000000a1b2c3d4", STORY)
    assert "coupon issued sender=…a1b2c3d4 tier=basic score=5 source=heuristic flagged=False" in caplog.text


async def test_an_organizers_unknown_command_gets_the_command_list_not_a_story_prompt(make_conversation):
    """Before: 'stauts' from an organizer got a story prompt and counted the organizer as a participant."""
    conversation = make_conversation()
    reply = await conversation.handle(ORGANIZER, "stauts")
    assert reply.outcome == "unknown_command" and "Unknown command 'stauts'" in reply.text
    assert "Organizer commands:" in reply.text
    assert (await conversation.organizer.status_data())["ledger"]["participants"] == 0
