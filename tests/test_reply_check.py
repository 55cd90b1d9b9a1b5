"""The reply check stops what could mislead a participant about their coupon, and nothing else.

Two corpora, written from categories before the check was: realistic warm replies to
hackathon stories (tests/data/replies_realistic.toml, plus combinations of its fragments)
must be delivered (at least 98 %); adversarial replies (fake codes in many spellings, vendor
codes, other tiers named as the participant's, codes of the model's own) must all be refused.
"""

from __future__ import annotations

import pytest
from helpers import settings_for

from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.llm.reply_check import ReplyCheck
from pizza_agent.rehearsal.precision_corpus import POOL, adversarial_replies, realistic_replies

check = ReplyCheck(POOL)


REALISTIC = realistic_replies()
ADVERSARIAL = adversarial_replies()


def test_the_corpora_are_large_enough_to_mean_something():
    assert len(REALISTIC) >= 200
    assert len(ADVERSARIAL) >= 100


def test_at_least_98_percent_of_realistic_replies_are_delivered():
    refused = [(text, check.problem(text, tier)) for tier, text in REALISTIC if check.problem(text, tier)]
    assert len(refused) <= 0.02 * len(REALISTIC), refused


@pytest.mark.parametrize(("category", "tier", "reply"), ADVERSARIAL, ids=[c for c, _, _ in ADVERSARIAL])
def test_every_adversarial_reply_is_refused(category, tier, reply):
    assert check.problem(reply, tier) is not None, reply


@pytest.mark.parametrize(
    "reply",
    [
        "What a late-night thriller, and an award-winning twist!",
        "Your open-source, real-time, GPU-powered oven is a last-minute masterpiece.",
        "Your code compiled on the first try. Commit, push, deploy, pizza.",
        "The standard library saved you and the basic CRUD app became a legend.",
    ],
)
def test_the_words_that_used_to_be_refused_are_delivered(reply):
    """The old check refused any hyphenated word and the word 'code' (13 of 20 warm replies lost)."""
    assert check.problem(reply, "premium") is None


def test_the_tier_the_participant_won_may_be_named():
    assert check.problem("Enjoy your premium pizza, you earned it!", "premium") is None


async def test_a_warm_reply_with_hyphens_and_code_reaches_the_participant_in_one_call(
    openai_server, asi1_server, service_factory
):
    """Misfire 1 of the precision issue: this reply was thrown away, costing two more calls and a template."""
    reply = "What a late-night, award-winning story: your open-source code shipped at the last minute!"
    openai_server.canned_answer = reply
    asi1_server.canned_answer = reply
    service = service_factory(settings_for(openai_server, asi1_server))
    code = CouponSigner("r" * 32).new_code("standard")
    result = await service.generate_reply("A story about a late-night deploy and pizza.", 6, "standard", code)
    assert result.layer == "openai"
    assert result.value.startswith(reply) and result.value.endswith(code)
    assert len(openai_server.requests_for("write-reply")) == 1 and not asi1_server.requests_for("write-reply")


async def test_a_vendor_code_the_model_repeats_is_never_sent(openai_server, service_factory):
    openai_server.canned_answer = "Enjoy! Bring PIZZA-HUT-4821 to the table."
    service = service_factory(settings_for(openai_server, None))
    service.know_pool_codes(POOL)
    result = await service.generate_reply("A story.", 6, "standard", "PIZZA-HUT-9999")
    assert result.layer == "static" and "4821" not in result.value


# Invisible characters a model (or a prompt injection) can slip inside a block of a code: every format
# character (Unicode category Cf, U+00AD included) and the other default-ignorable ones that are not Cf.
INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "combining grapheme joiner": "\u034f",
    "variation selector 16": "\ufe0f",
    "hangul filler": "\u3164",
}


@pytest.mark.parametrize("invisible", INVISIBLE.values(), ids=INVISIBLE.keys())
@pytest.mark.parametrize(
    "fake", ["PREMIUM-ABCD2345-EFGH6789", "PREMIUM-MMMMNNNN-OOOOPPPP", "STANDARD-2345ABCD-0I1O2345"]
)
def test_a_code_with_an_invisible_character_inside_a_block_is_refused(invisible, fake):
    """The letters we never print (0/O, 1/I) still make a code to the person reading it."""
    hidden = f"{fake[:-12]}{invisible}{fake[-12:]}"
    assert check.problem(f"Wonderful story! Bring {hidden} to the pizza table.", "standard") is not None


@pytest.mark.parametrize(
    "reply",
    [
        "Your standard responsibilities tonight: eat pizza and ship.",
        "Premium craftsmanship, basic troubleshooting and one brave demo.",
        "The standard-library-based parser was a highlight.",
    ],
)
def test_a_long_word_after_a_tier_word_is_not_a_code(reply):
    assert check.problem(reply, "premium") is None


def test_a_code_without_its_tier_word_is_caught_even_when_it_drew_no_digit():
    """About 1 code in 100 has no digit in its random part: without the tier word it was delivered."""
    check = ReplyCheck()
    assert check.problem("Here you go: PWZJJRTX-HCFTUUXJ 🍕", "basic") == "contains a coupon code"
    assert check.problem("What a well-written, heart-warming story!", "basic") is None
