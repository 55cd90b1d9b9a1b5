"""The roster in the ledger, on SQLite and PostgreSQL: a code is claimed once, by one address, whoever races."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.roster import Claim
from pizza_agent.ledger.store import Ledger
from pizza_agent.people.claim_codes import ClaimCodes

CODES = ClaimCodes.from_signer(CouponSigner("roster-ledger-secret-0123456789ab"))


def test_importing_twice_adds_once_and_a_removed_attendee_stays_removed(ledger_target):
    ledger = Ledger(ledger_target)
    people = [("a1", "Ada L."), ("a2", "Alan T.")]
    assert ledger.roster.add_many(people, CODES.hash_for) == 2
    ledger.roster.remove("a2")
    assert ledger.roster.add_many([*people, ("a3", "Grace H.")], CODES.hash_for) == 1
    assert [a.key for a in ledger.roster.everyone()] == ["a1", "a3"]
    assert ledger.roster.by_code_hash(CODES.code_hash(CODES.code_for("a2", 1))).removed_at is not None
    ledger.close()


def test_a_code_is_claimed_by_the_first_address_and_refused_from_others(ledger_target):
    ledger = Ledger(ledger_target)
    ledger.roster.add_many([("a1", "Ada L.")], CODES.hash_for)
    assert ledger.roster.claim("a1", "agent1first", "s1") is Claim.BOUND
    assert ledger.roster.claim("a1", "agent1first", "s2") is Claim.BOUND  # another chat of the same address
    assert ledger.roster.claim("a1", "agent1other", "s1") is Claim.ELSEWHERE
    assert ledger.roster.attendee_in("agent1first", "s2") == "a1"
    assert ledger.roster.attendee_in("agent1other", "s1") is None
    assert ledger.roster.attendee_in("agent1first", "s3") is None  # a chat never bound is nobody's
    assert ledger.roster.bound_chats("agent1first") == 2
    renewed = ledger.roster.reissue("a1", CODES.hash_for)
    assert renewed.generation == 2 and renewed.sender is None
    assert ledger.roster.attendee_in("agent1first", "s1") is None  # the old code's chats are dead
    assert ledger.roster.claim("a1", "agent1other", "s9") is Claim.BOUND
    ledger.close()


def test_racing_claims_of_one_code_from_many_addresses_bind_exactly_one(ledger_target):
    setup = Ledger(ledger_target)
    setup.roster.add_many([("a1", "Ada L.")], CODES.hash_for)
    setup.close()

    def claim(n: int) -> Claim:
        ledger = Ledger(ledger_target)  # each thread its own connection, as replicas have
        try:
            return ledger.roster.claim("a1", f"agent1racer{n}", "s")
        finally:
            ledger.close()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(claim, range(16)))
    assert results.count(Claim.BOUND) == 1 and results.count(Claim.ELSEWHERE) == 15
