"""The reply check stops what could mislead a participant about their coupon, and nothing else.

Two corpora, written from categories before the check was: realistic warm replies to
hackathon stories (tests/data/replies_realistic.toml, plus combinations of its fragments)
must be delivered (at least 98 %); adversarial replies (fake codes in many spellings, vendor
codes, other tiers named as the participant's, codes of the model's own) must all be refused.
"""

from __future__ import annotations

import random
import tomllib
from pathlib import Path

import pytest
from conftest import settings_for

from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.llm.reply_check import ReplyCheck

DATA = Path(__file__).parent / "data"
POOL = ["PIZZA-HUT-4821", "FREESLICE2027", "DOM-77X-Q9", "SLICE-9981-AB", "HACKPIE-0042"]
check = ReplyCheck(POOL)


def realistic_replies() -> list[tuple[str, str]]:
    doc = tomllib.loads((DATA / "replies_realistic.toml").read_text())
    written = [(r["tier"], r["text"]) for r in doc["replies"]]
    fragments = doc["fragments"][0]
    rng = random.Random(2026)
    combined = []
    for _ in range(160):
        parts = [rng.choice(fragments["openers"]), rng.choice(fragments["details"]), rng.choice(fragments["closers"])]
        combined.append((rng.choice(["premium", "standard", "basic"]), " ".join(parts)))
    return written + combined


def _spell(code: str, how: str) -> str:
    """One spelling of a code in a model's reply: what a careless or hostile model might write."""
    word, first, second = code.split("-")
    zw = "\u200b"
    return {
        "as issued": code,
        "lower case": code.lower(),
        "title case": code.title(),
        "no dashes": code.replace("-", ""),
        "spaces for dashes": code.replace("-", " "),
        "blocks split": f"{word}-{first[:4]} {first[4:]}-{second[:4]} {second[4:]}",
        "zero-width inside": zw.join(code),
        "spaced out": " ".join(code),
        "no tier word": f"{first}-{second}",
        "in backticks": f"`{code}`",
        "dots": f"{word}.{first}.{second}",
        "underscores": f"{word}_{first}_{second}",
    }[how]


SPELLINGS = [
    "as issued",
    "lower case",
    "title case",
    "no dashes",
    "spaces for dashes",
    "blocks split",
    "zero-width inside",
    "spaced out",
    "no tier word",
    "in backticks",
    "dots",
    "underscores",
]
CODE_SENTENCES = [
    "Great story! Your code: {code}",
    "Enjoy the pizza. {code} is yours.",
    "Here you go: {code} 🍕",
    "Congratulations! Show {code} at the food table.",
    "What a tale. ({code})",
    "Brilliant writing.\n{code}",
    "Your new code is {code}, enjoy!",
    "Use {code} at the counter tonight.",
    "Well done — {code} — see you at dinner.",
]


def adversarial_replies() -> list[tuple[str, str, str]]:
    """(category, tier, reply): every one must be refused."""
    signer = CouponSigner("an-adversarial-test-secret-0123")
    rng = random.Random(7)
    cases = []
    for how in SPELLINGS:
        for sentence in CODE_SENTENCES:
            tier = rng.choice(["premium", "standard", "basic"])
            cases.append((f"our code, {how}", tier, sentence.format(code=_spell(signer.new_code(tier), how))))
    for code in POOL:
        cases += [
            ("vendor code", "standard", f"Lovely story! Your code {code} works at the table."),
            ("vendor code, lower case", "basic", f"Enjoy, and bring {code.lower()} along!"),
            (
                "vendor-shaped code",
                "premium",
                "Enjoy! " + "".join(str(rng.randrange(10)) if c.isdigit() else c for c in code),
            ),
        ]
    for tier, other in [("standard", "premium"), ("basic", "standard"), ("premium", "basic"), ("basic", "premium")]:
        cases += [
            ("another tier", tier, f"Amazing story! You won a {other} pizza tonight."),
            ("another tier", tier, f"Your {other} coupon is waiting at the table."),
            ("another tier", tier, f"We upgraded you to {other} because this was so good!"),
            ("another tier", tier, f"Tier: {other.upper()}. Enjoy!"),
            ("another tier", tier, f"That's a {other.title()} Slice for you!"),
            ("another tier", tier, f"You've earned a {other} reward, congrats."),
        ]
    for token in ["PIZZA2027", "SLICE-9981", "HACK4PIZZA", "FREE-PIE-77", "ABCD-1234", "X7Q9ZT", "PIZZALOVE", "887766"]:
        cases += [
            ("a code of its own", "standard", f"Great story! Your coupon code is {token}."),
            ("a code of its own", "premium", f"Use code {token} at the food table."),
            ("a code of its own", "basic", f"Here's your voucher code: {token} 🍕"),
        ]
    return cases


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
