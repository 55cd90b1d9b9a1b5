"""The pieces a running event needs, opened once: settings, the agent's seed, coupon signer, ledger.

The agent and the vendor commands (verify, redeem) open the same runtime.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pizza_agent.config.data_dir import DataDirError
from pizza_agent.config.secret_files import load_or_create_secret, read_secret
from pizza_agent.config.settings import Settings
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.errors import LedgerIdentityMismatch
from pizza_agent.ledger.store import Ledger


@dataclass
class Runtime:
    settings: Settings
    seed: str
    coupon_secret: str
    signer: CouponSigner
    ledger: Ledger

    @property
    def secrets(self) -> list[str]:
        return [*self.settings.secrets, self.seed, self.coupon_secret]


# Why each secret must stay the same for the life of a ledger (the refusal says it).
IDENTITY_MATTERS = {
    "COUPON_SECRET": "its codes are signed with that one: with another, every code issued so far reads as forged",
    "AGENT_SEED": "another seed is another agent address: participants of the first would not reach this one",
}


def fingerprint(name: str, value: str) -> str:
    """A one-way tag of a secret, safe to keep in the ledger (the secrets are long and random)."""
    return hashlib.sha256(f"pizza-agent identity {name}:{value}".encode()).hexdigest()[:24]


def check_identity(settings: Settings, ledger: Ledger, values: dict[str, str], *, record: bool) -> None:
    """Refuse (LedgerIdentityMismatch, one line) a seed or coupon secret the ledger was not started with."""
    differ = ledger.books.check_identity({name: fingerprint(name, v) for name, v in values.items() if v}, record=record)
    if differ:
        ledger.close()
        name = differ[0]
        raise LedgerIdentityMismatch(
            f"error: the ledger {settings.ledger_display} was started with a different {name} "
            f"({IDENTITY_MATTERS[name]}); "
            f"use the same {name} on every machine and every restart, or a fresh ledger for a new event"
        )


def open_runtime(settings: Settings) -> Runtime:
    data = settings.data_dir
    seed = load_or_create_secret(data / "agent_seed", settings.agent_seed.get_secret_value())
    secret = load_or_create_secret(data / "coupon_secret", settings.coupon_secret.get_secret_value())
    ledger = Ledger(settings.ledger_target)
    check_identity(settings, ledger, {"COUPON_SECRET": secret, "AGENT_SEED": seed}, record=True)
    if settings.coupon_pool_dir is not None:
        ledger.coupons.load_pools(settings.coupon_pool_dir)
    return Runtime(settings, seed, secret, CouponSigner(secret), ledger)


def open_existing_runtime(settings: Settings, *, writable: bool) -> Runtime:
    """For `verify` and `redeem` on a vendor's machine: open what is there, create nothing.

    A missing DATA_DIR, seed, coupon secret or ledger is a DataDirError with one
    line: answering "forged" for genuine codes because a new empty ledger and a
    new secret were made on the spot would be worse than refusing.
    """
    data = settings.data_dir
    if not data.is_dir():
        raise DataDirError(f"no data directory at {data}: set DATA_DIR to the agent's data directory")
    secret = settings.coupon_secret.get_secret_value() or read_secret(data / "coupon_secret")
    if not secret:
        raise DataDirError(f"no coupon secret in {data} (coupon_secret) and COUPON_SECRET is not set")
    if not settings.ledger_url.get_secret_value() and not settings.ledger_path.is_file():
        raise DataDirError(f"no ledger at {settings.ledger_path}: is DATA_DIR the agent's data directory?")
    seed = settings.agent_seed.get_secret_value() or read_secret(data / "agent_seed") or ""
    target = settings.ledger_target
    ledger = Ledger(target) if writable else Ledger(target, read_only=True)
    check_identity(settings, ledger, {"COUPON_SECRET": secret}, record=False)
    return Runtime(settings, seed, secret, CouponSigner(secret), ledger)
