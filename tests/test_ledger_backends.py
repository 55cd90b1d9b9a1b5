"""The ledger's promises, on SQLite and on a real PostgreSQL: every test runs against both back-ends.

Several `Ledger` objects on one target stand for replicas (machines on one
database; processes on one SQLite file), each used by one thread as the agent's
writer thread uses its ledger.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from pizza_agent.domain.identity import CouponOwner
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.coupons import Issuance
from pizza_agent.ledger.errors import LedgerBusy
from pizza_agent.ledger.redemption import CodeState, redeem_code
from pizza_agent.ledger.schema import MIGRATIONS, migrations_for
from pizza_agent.ledger.store import Ledger

SECRET = "a-test-coupon-secret-0123456789"
signer = CouponSigner(SECRET)


def request(address: str, tier: str = "standard") -> Issuance:
    return Issuance(address, tier, 7, "asi1", "fun", "a prompt", "hash")


def on_each(replicas: list[Ledger], times: int, call):  # type: ignore[no-untyped-def]
    """Every replica on its own thread, `times` calls each, all at once; the results in call order."""

    def run(index: int) -> list:
        return [call(replicas[index], index * times + k) for k in range(times)]

    with ThreadPoolExecutor(len(replicas)) as pool:
        return [result for batch in pool.map(run, range(len(replicas))) for result in batch]


def test_migrations_are_numbered_the_same_and_run_once(ledger_target):
    first = Ledger(ledger_target)
    assert first.schema_version == len(MIGRATIONS) == len(migrations_for("postgres")) == 18
    first.close()
    again = Ledger(ledger_target)  # a restart, or a second replica: nothing to do
    assert again.schema_version == 18
    again.close()


def _columns(ledger: Ledger) -> dict[str, list[str]]:
    """Every table of ours and its columns, in the order the database lists them."""
    if ledger.postgres:
        rows = ledger.db.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        ).fetchall()
    else:
        tables = [r[0] for r in ledger.db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()]
        rows = [(t, r[1]) for t in sorted(tables) for r in ledger.db.execute(f"PRAGMA table_info({t})").fetchall()]
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


@pytest.mark.slow  # PostgreSQL
def test_both_dialects_create_the_same_tables_and_columns(tmp_path, postgres_server):
    """One list of migrations (schema.py) for both; where the SQL differs, this says the result does not.

    The one column PostgreSQL has and SQLite does not is the vendor pool's claim order (`seq`:
    SQLite has `rowid` for it)."""
    sqlite, postgres = Ledger(tmp_path / "l.db"), Ledger(postgres_server.database("same_tables"))
    try:
        on_postgres = _columns(postgres)
        on_postgres["pool_codes"].remove("seq")
        assert _columns(sqlite) == on_postgres
        assert {"coupons", "pool_codes", "participants", "controls", "spend", "identity"} <= set(on_postgres)
    finally:
        sqlite.close()
        postgres.close()


def test_one_coupon_per_participant_across_replicas_racing(ledger_target):
    replicas = [Ledger(ledger_target) for _ in range(4)]
    try:
        issued = on_each(replicas, 4, lambda ledger, i: ledger.coupons.issue(request("agent1qsame"), signer.new_code))
        codes = {result.coupon.code for result in issued}
        assert len(codes) == 1
        assert sum(not result.existing for result in issued) == 1
        assert len(replicas[0].coupons.all()) == 1
    finally:
        for ledger in replicas:
            ledger.close()


def test_tier_caps_hold_across_replicas(ledger_target):
    replicas = [Ledger(ledger_target) for _ in range(3)]
    try:
        results = on_each(
            replicas,
            4,
            lambda ledger, i: ledger.coupons.issue(
                request(f"agent1qcapped{i}", "premium"), signer.new_code, fall_down=False, caps={"premium": 5}
            ),
        )
        assert sum(r.coupon is not None for r in results) == 5
        assert replicas[0].coupons.stats({"premium": 5})["left"]["premium"] == 0
    finally:
        for ledger in replicas:
            ledger.close()


def test_vendor_pool_codes_are_each_given_once_across_replicas(ledger_target, tmp_path):
    pools = tmp_path / "pools"
    pools.mkdir()
    (pools / "basic.csv").write_text("code\n" + "\n".join(f"VENDOR-{i:03d}" for i in range(10)) + "\n")
    replicas = [Ledger(ledger_target) for _ in range(3)]
    try:
        assert replicas[0].coupons.load_pools(pools) == {"basic": 10}
        assert replicas[1].coupons.load_pools(pools) == {"basic": 0}  # loading twice adds nothing
        results = on_each(
            replicas, 5, lambda ledger, i: ledger.coupons.issue(request(f"agent1qpool{i}", "basic"), signer.new_code)
        )
        given = [r.coupon.code for r in results if r.coupon is not None]
        assert sorted(given) == [f"VENDOR-{i:03d}" for i in range(10)]
        assert sum(r.coupon is None and r.ran_out == ("basic",) for r in results) == 5
        assert replicas[2].coupons.pool_sizes() == {"basic": (0, 10)}
    finally:
        for ledger in replicas:
            ledger.close()


def test_a_code_is_redeemed_exactly_once_by_tables_racing(ledger_target):
    setup = Ledger(ledger_target)
    code = setup.coupons.issue(request("agent1qhungry"), signer.new_code).coupon.code
    tables = [Ledger(ledger_target) for _ in range(4)]
    try:
        outcomes = [r.state for r in on_each(tables, 2, lambda ledger, i: redeem_code(ledger.coupons, signer, code))]
        assert outcomes.count(CodeState.VALID) == 1
        assert outcomes.count(CodeState.ALREADY_REDEEMED) == 7
    finally:
        for ledger in [setup, *tables]:
            ledger.close()


def test_void_upgrade_and_replaced_codes(ledger_target):
    ledger = Ledger(ledger_target)
    old = ledger.coupons.issue(request("agent1qupgraded", "basic"), signer.new_code).coupon
    voided_old, new = ledger.coupons.upgrade("agent1qupgraded", "premium", 9, "great", signer.new_code)
    assert voided_old.code == old.code and new.tier == "premium"
    assert ledger.coupons.replaced_code(old.code)[1] == "basic"
    assert ledger.coupons.upgrade("agent1qupgraded", "basic", 2, "no downgrades", signer.new_code) is None
    assert ledger.coupons.void(new.code, "lost phone").voided_at is not None
    coupon, newly = ledger.coupons.redeem(new.code)
    assert not newly and coupon.voided_at is not None
    ledger.close()


def test_handled_messages_controls_stories_and_rescores(ledger_target):
    ledger = Ledger(ledger_target, clock=lambda: 1000.0)
    ledger.books.remember_messages([("k1", 2000.0), ("k2", 500.0)])
    ledger.books.remember_messages([("k1", 3000.0)])  # seen again: the later expiry wins
    assert ledger.books.seen_message("k1") and not ledger.books.seen_message("k2")
    ledger.controls.set("paused", "back at 8", "organizer")
    ledger.controls.set("paused", "back at 9", "organizer")
    assert ledger.controls.get("paused") == "back at 9"
    ledger.controls.set("paused", None, "organizer")
    assert ledger.controls.get("paused") is None
    ledger.state.hold_story("agent1qwaiting", "once upon a time")
    ledger.state.hold_story("agent1qwaiting", "twice upon a time")
    assert ledger.state.held_story("agent1qwaiting", max_age=60) == "twice upon a time"
    ledger.state.queue_rescore("agent1qwaiting", "a story")
    ledger.state.queue_rescore("agent1qwaiting", "the same participant again")
    assert ledger.state.waiting_rescores() == [(CouponOwner("agent1qwaiting"), "a story")]
    ledger.state.record_prompt("agent1qwaiting", "prompt one", "openai")
    ledger.state.record_prompt("agent1qwaiting", "prompt one", "openai")
    assert ledger.state.prompts_for("agent1qwaiting") == ["prompt one"]
    assert ledger.state.pooled_prompts(exclude=set()) == ["prompt one"]
    assert ledger.state.find_participant("…qwaiting") == "agent1qwaiting"
    assert ledger.state.participant_facts("agent1qwaiting")["prompts"] == 1
    assert ledger.coupons.stats()["participants"] == 1
    assert ledger.integrity_ok()
    ledger.close()


def test_the_reader_sees_committed_writes(ledger_target):
    writer = Ledger(ledger_target)
    reader = writer.reader()
    coupon = writer.coupons.issue(request("agent1qread"), signer.new_code).coupon
    assert reader.coupons.find(coupon.code) == coupon
    writer.close()
    if reader is not writer:
        reader.close()


@pytest.mark.slow  # PostgreSQL
def test_a_write_waiting_on_another_replica_gives_up_as_busy(postgres_server):
    """PostgreSQL only: SQLite's busy case is tested with a second process in test_hostile_traffic.py."""
    ledger_target = postgres_server.database("ledger_busy")
    holder, waiter = Ledger(ledger_target), Ledger(ledger_target)
    holder.db.execute("BEGIN")
    holder.db.execute("SELECT pg_advisory_xact_lock(?)", (0x7E57_C0DE,))  # another replica is issuing
    try:
        with pytest.raises(LedgerBusy):
            waiter.coupons.issue(request("agent1qpatient"), signer.new_code)
    finally:
        holder.db.execute("ROLLBACK")
    assert waiter.coupons.issue(request("agent1qpatient"), signer.new_code).coupon is not None
    holder.close()
    waiter.close()


def test_a_waiting_story_is_claimed_by_one_replica_and_a_lapsed_claim_is_free_again(ledger_target):
    now = {"t": 1000.0}
    first, second = (Ledger(ledger_target, clock=lambda: now["t"]) for _ in range(2))
    first.state.queue_rescore("agent1qwaiting", "a story")
    waiting = CouponOwner("agent1qwaiting")
    claims = on_each([first, second], 5, lambda ledger, _: ledger.state.claim_rescore(waiting, 60))
    assert claims.count(True) == 1
    assert second.state.waiting_rescores() == []  # claimed: not offered to the other replica
    now["t"] += 61  # the claiming replica died mid-call
    assert second.state.waiting_rescores() == [(waiting, "a story")]
    assert second.state.claim_rescore(waiting, 60)
    second.state.release_rescore(waiting)  # ASI1 failed again
    assert first.state.claim_rescore(waiting, 60)
    first.state.finish_rescore(waiting, "kept")
    assert not second.state.claim_rescore(waiting, 60) and second.state.waiting_rescores() == []


def test_spend_added_by_replicas_at_once_adds_up(ledger_target):
    replicas = [Ledger(ledger_target) for _ in range(3)]
    try:
        on_each(
            replicas,
            10,
            lambda ledger, _: ledger.books.add_spend([("openai", "gpt-4o-mini", "reply", 1, 100, 20, 0.01)]),
        )
        replicas[0].books.add_spend([("asi1", "asi1-mini", "score", 2, 300, 40, 0.0)])
        totals = {row[:3]: row[3:] for row in replicas[1].books.spend_totals()}
        calls, prompt_tokens, completion_tokens, cost = totals[("openai", "gpt-4o-mini", "reply")]
        assert (calls, prompt_tokens, completion_tokens) == (30, 3000, 600) and cost == pytest.approx(0.30)
        assert totals[("asi1", "asi1-mini", "score")][:3] == (2, 300, 40)
    finally:
        for ledger in replicas:
            ledger.close()


@pytest.mark.slow  # PostgreSQL
def test_a_lost_postgresql_connection_is_made_again_and_no_write_is_guessed(postgres_server):
    """A managed PostgreSQL restarts or fails over: the ledger's sessions end under it."""
    url = postgres_server.database("connection_lost")
    ledger = Ledger(url)
    admin = Ledger(url)
    try:
        ledger.coupons.issue(request("agent1qbefore"), signer.new_code)

        def end_the_ledgers_session() -> None:
            admin.db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

        end_the_ledgers_session()
        assert ledger.coupons.coupon_for("agent1qbefore") is not None  # a read is simply asked again
        end_the_ledgers_session()
        with pytest.raises(LedgerBusy):  # a write is not repeated blindly: the caller says "try again"
            ledger.coupons.issue(request("agent1qafter"), signer.new_code)
        assert ledger.coupons.issue(request("agent1qafter"), signer.new_code).coupon.person == "agent1qafter"
        assert len(admin.coupons.all()) == 2
    finally:
        ledger.close()
        admin.close()


def test_the_ledger_remembers_which_secrets_it_was_started_with(ledger_target):
    first, second = Ledger(ledger_target), Ledger(ledger_target)
    try:
        assert first.books.check_identity({"AGENT_SEED": "fp-seed", "COUPON_SECRET": "fp-secret"}) == []
        assert second.books.check_identity({"AGENT_SEED": "fp-seed", "COUPON_SECRET": "fp-secret"}) == []
        assert second.books.check_identity({"AGENT_SEED": "fp-seed", "COUPON_SECRET": "fp-typo"}) == ["COUPON_SECRET"]
        assert second.books.check_identity({"COUPON_SECRET": "fp-typo"}, record=False) == ["COUPON_SECRET"]
    finally:
        first.close()
        second.close()
