"""The pieces a running event needs, opened once: settings, the agent's seed, coupon signer, ledger.

The agent and the vendor commands (verify, redeem) open the same runtime.
May import: pizza_agent.config, pizza_agent.ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from pizza_agent.config.secret_files import load_or_create_secret
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
    ledger = Ledger(settings.ledger_path)
    if settings.coupon_pool_dir is not None:
        ledger.load_pools(settings.coupon_pool_dir)
    return Runtime(settings, seed, secret, CouponSigner(secret), ledger)
