"""The pieces a running event needs, opened once: settings, the agent's seed, coupon signer, ledger.

The agent and the vendor commands (verify, redeem) open the same runtime.
May import: pizza_agent.config, pizza_agent.ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from pizza_agent.config.data_dir import DataDirError
from pizza_agent.config.secret_files import load_or_create_secret, read_secret
from pizza_agent.config.settings import Settings
from pizza_agent.ledger.codes import CouponSigner
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


def open_runtime(settings: Settings) -> Runtime:
    data = settings.data_dir
    seed = load_or_create_secret(data / "agent_seed", settings.agent_seed.get_secret_value())
    secret = load_or_create_secret(data / "coupon_secret", settings.coupon_secret.get_secret_value())
    ledger = Ledger(settings.ledger_target)
    if settings.coupon_pool_dir is not None:
        ledger.load_pools(settings.coupon_pool_dir)
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
    return Runtime(settings, seed, secret, CouponSigner(secret), ledger)
