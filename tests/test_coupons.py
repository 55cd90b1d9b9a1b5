"""Coupon codes: unguessable, verifiable offline, issued once, redeemed once (surviving restarts)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.ledger.codes import ALPHABET, CouponSigner
from pizza_agent.ledger.coupons import Issuance
from pizza_agent.ledger.schema import MIGRATIONS
from pizza_agent.ledger.store import Ledger
from pizza_agent.rehearsal.agent_process import base_env

SECRET = "a-test-coupon-secret-0123456789"


def issue(ledger: Ledger, signer: CouponSigner, address: str, tier: str = "standard", score: int = 7):
    request = Issuance(address, tier, score, "asi1", "fun", "a prompt", "hash")
    return ledger.coupons.issue(request, signer.new_code).coupon


def test_codes_verify_and_every_single_character_change_is_rejected():
    signer = CouponSigner(SECRET)
    code = signer.new_code("premium")
    assert signer.check(code).authentic and signer.check(code).tier == "premium"
    assert signer.check(code.lower()).authentic  # read aloud, typed in lower case: still fine
    for i, ch in enumerate(code):
        if ch == "-":
            continue
        for replacement in ("A", "Z", "7"):
            if replacement != ch:
                altered = code[:i] + replacement + code[i + 1 :]
                assert not signer.check(altered).authentic, altered
    assert not CouponSigner("another-secret-0123456789").check(code).authentic


def test_codes_are_random():
    signer = CouponSigner(SECRET)
    codes = {signer.new_code("basic") for _ in range(2000)}
    assert len(codes) == 2000
    assert all(set(c.replace("-", "").removeprefix("BASIC")) <= set(ALPHABET) for c in codes)


def test_one_coupon_per_participant_is_a_database_property(tmp_path):
    ledger, signer = Ledger(tmp_path / "l.db"), CouponSigner(SECRET)
    first = issue(ledger, signer, "agent1alice", "premium", 9)
    second = issue(ledger, signer, "agent1alice", "basic", 2)
    assert second == first
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        ledger.db.execute(
            "INSERT INTO coupons (code, person, meal, tier, score, score_source, story_hash, issued_at) "
            "VALUES ('X', 'agent1alice', '', 'basic', 1, 'asi1', 'h', 0)"
        )


def test_vendor_pools_are_used_and_an_exhausted_tier_falls_down(tmp_path):
    pools = tmp_path / "pools"
    pools.mkdir()
    (pools / "premium.csv").write_text("code\nVENDOR-P-1\n")
    (pools / "standard.csv").write_text("VENDOR-S-1\n")
    ledger, signer = Ledger(tmp_path / "l.db"), CouponSigner(SECRET)
    assert ledger.coupons.load_pools(pools) == {"premium": 1, "standard": 1}
    assert ledger.coupons.load_pools(pools) == {"premium": 0, "standard": 0}  # loading twice adds nothing
    assert issue(ledger, signer, "a1", "premium").code == "VENDOR-P-1"
    fallen = issue(ledger, signer, "a2", "premium")
    assert (fallen.code, fallen.tier) == ("VENDOR-S-1", "standard")
    generated = issue(ledger, signer, "a3", "premium")  # basic has no pool: generated codes
    assert generated.tier == "basic" and signer.check(generated.code).authentic
    assert ledger.coupons.stats()["pool_left"] == {"premium": 0, "standard": 0}
    strict = Ledger(tmp_path / "l.db")
    assert (
        strict.coupons.issue(
            Issuance("a4", "standard", 7, "asi1", "", None, "h"), signer.new_code, fall_down=False
        ).coupon
        is None
    )


def test_migrations_are_recorded_and_idempotent(tmp_path):
    Ledger(tmp_path / "l.db").close()
    ledger = Ledger(tmp_path / "l.db")
    assert ledger.schema_version == len(MIGRATIONS)


def run_cli(data_dir, *args):
    env = base_env(data_dir, COUPON_SECRET=SECRET)
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def issued(tmp_path):
    data = tmp_path / "data"
    ledger = Ledger(data / "ledger.sqlite3")
    coupon = issue(ledger, CouponSigner(SECRET), "agent1vendor-test", "premium", 9)
    ledger.close()
    return data, coupon.code


@pytest.mark.slow  # agent.py
def test_verify_accepts_issued_codes_and_rejects_altered_ones(issued):
    data, code = issued
    ok = run_cli(data, "verify", code)
    assert ok.returncode == 0 and ok.stdout.startswith(f"VALID premium coupon {code}, issued ")
    altered = code[:-1] + ("A" if code[-1] != "A" else "B")
    bad = run_cli(data, "verify", altered)
    assert bad.returncode == 1 and "signature does not match" in bad.stdout
    unissued = run_cli(data, "verify", CouponSigner(SECRET).new_code("basic"))  # authentic, never issued
    assert unissued.returncode == 1 and "no such code was issued" in unissued.stdout


@pytest.mark.slow  # agent.py
def test_redeem_works_once_and_survives_a_restart(issued):
    data, code = issued
    first = run_cli(data, "redeem", code)
    assert first.returncode == 0 and first.stdout.startswith(f"REDEEMED premium coupon {code} at ")
    second = run_cli(data, "redeem", code)  # a new process: the ledger, not memory, remembers
    assert second.returncode == 3 and "already redeemed" in second.stdout
    assert "redeemed 20" in run_cli(data, "verify", code).stdout


@pytest.mark.slow  # agent.py
def test_a_restart_with_another_coupon_secret_is_refused_before_it_forges_every_code(tmp_path):
    """Codes are signed with COUPON_SECRET: another one would make every code issued so far "forged"."""
    data = tmp_path / "data"
    started = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "agent.py"), "verify", "BASIC-AAAAAAAA-BBBBBBBB"],
        env=base_env(data, COUPON_SECRET=SECRET),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 2  # verify creates nothing: no ledger yet
    from pizza_agent.config.settings import load_settings
    from pizza_agent.event.runtime import open_runtime

    open_runtime(load_settings({"DATA_DIR": str(data), "COUPON_SECRET": SECRET})).ledger.close()  # the agent's start
    other = "another-coupon-secret-0123456789"
    for args in (["verify", "BASIC-AAAAAAAA-BBBBBBBB"], []):
        refused = subprocess.run(
            [sys.executable, str(PROJECT_DIR / "agent.py"), *args],
            env=base_env(data, COUPON_SECRET=other),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2, refused.stderr
        assert "a different COUPON_SECRET" in refused.stderr and "Traceback" not in refused.stderr
        assert other not in refused.stderr and SECRET not in refused.stderr
