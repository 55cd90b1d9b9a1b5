"""Claim codes on badges: unguessable, typed easily, typos told apart, found anywhere in a message."""

from __future__ import annotations

import itertools
import re

from pizza_agent.domain.codes import ALPHABET
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.people.claim_codes import (
    CODE_LENGTH,
    ENTROPY_BITS,
    ClaimCodes,
    Shape,
    find_candidates,
    normalise,
    shape_of,
)
from pizza_agent.rehearsal.precision_corpus import benign_stories

CODES = ClaimCodes.from_signer(CouponSigner("claim-codes-test-secret-0123456789"))
SAMPLE = [CODES.code_for(f"attendee-{i}", 1) for i in range(300)]


def test_a_code_is_three_groups_of_four_with_fifty_bits_or_more():
    assert ENTROPY_BITS >= 50
    for code in SAMPLE:
        assert re.fullmatch(rf"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}", code)
        assert shape_of(normalise(code)) is Shape.WELL_FORMED
    assert len(set(SAMPLE)) == len(SAMPLE)


def test_codes_are_derived_again_from_the_secret_and_differ_by_secret_and_generation():
    again = ClaimCodes.from_signer(CouponSigner("claim-codes-test-secret-0123456789"))
    other = ClaimCodes.from_signer(CouponSigner("another-secret-of-another-event-000"))
    assert again.code_for("attendee-7", 1) == SAMPLE[7]
    assert other.code_for("attendee-7", 1) != SAMPLE[7]
    assert CODES.code_for("attendee-7", 2) != SAMPLE[7]  # a reissued badge
    assert CODES.code_hash(SAMPLE[7]) == CODES.code_hash(SAMPLE[7].lower().replace("-", " "))
    assert SAMPLE[7].replace("-", "") not in CODES.code_hash(SAMPLE[7])


def test_every_single_mistyped_symbol_is_caught_as_a_typo():
    for code in SAMPLE[:40]:
        plain = normalise(code)
        for position, symbol in itertools.product(range(CODE_LENGTH), ALPHABET):
            if symbol != plain[position]:
                typo = plain[:position] + symbol + plain[position + 1 :]
                assert shape_of(typo) is Shape.TYPO, (code, typo)


def test_almost_every_swap_of_neighbours_is_caught():
    swaps = caught = 0
    for code in SAMPLE:
        plain = normalise(code)
        for i in range(CODE_LENGTH - 1):
            if plain[i] != plain[i + 1]:
                swaps += 1
                swapped = plain[:i] + plain[i + 1] + plain[i] + plain[i + 2 :]
                caught += shape_of(swapped) is Shape.TYPO
    assert caught / swaps > 0.95


def test_a_code_is_found_anywhere_with_or_without_dashes_in_any_case():
    code = SAMPLE[0]
    plain = code.replace("-", "")
    for message in (
        code,
        f"my code is {code.lower()}",
        f"hi! {plain} is on my badge",
        f"code: {code.replace('-', ' ')}, here's my story: the demo crashed and we laughed.",
    ):
        found = find_candidates(message)
        assert [c.code for c in found] == [plain], message
        assert found[0].shape is Shape.WELL_FORMED


def test_coupon_codes_and_honest_stories_are_never_read_as_claim_codes():
    signer = CouponSigner("claim-codes-test-secret-0123456789")
    for tier in ("premium", "standard", "basic"):
        assert find_candidates(f"my coupon is {signer.new_code(tier)}") == []
    stories = benign_stories()
    misread = [text for _, text in stories if find_candidates(text)]
    assert len(stories) >= 300 and misread == []
    for words in ("relationship", "HACKATHONERS", "note that said", "team 2024 demo", "2024-2025-2026"):
        assert find_candidates(f"a story about {words} at night") == [], words
