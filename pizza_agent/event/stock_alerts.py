"""Low stock: one warning when a limited tier gets low and one when it is empty, beside the other alerts.

A tier is limited by a cap (the meal's, else the event's) or by a vendor pool; "low" is 10 % or
less of it left. Each level is said once per tier, so a busy meal does not repeat it.
"""

from __future__ import annotations

import logging

from pizza_agent.config.settings import Settings
from pizza_agent.event.alerts import Alerts
from pizza_agent.event.meals import Meals
from pizza_agent.ledger.worker import LedgerWorker

log = logging.getLogger("pizza.conversation")

# A pool or capped tier with this share (or less) of its codes left is logged as low.
POOL_LOW_SHARE = 0.10


class StockWatch:
    def __init__(self, settings: Settings, meals: Meals, ledger: LedgerWorker, alerts: Alerts) -> None:
        self.settings, self.meals, self.ledger, self.alerts = settings, meals, ledger, alerts
        self._announced: set[tuple[str, str]] = set()

    async def after_issuing(self, tier: str, meal_id: str = "") -> None:
        """Called after every coupon: says "low" or "empty" the first time a limited tier gets there."""
        meal = self.meals.plan.meal(meal_id)
        caps = (meal.tier_caps if meal else None) or self.settings.tier_caps
        left = (await self.ledger.read(lambda ledger: ledger.coupons.left(caps, meal_id)))[tier]
        if left is None:
            return
        pools = await self.ledger.read(lambda ledger: ledger.coupons.pool_sizes(meal_id))
        total = pools[tier][1] if tier in pools else caps.get(tier, left)
        level = "empty" if left == 0 else "low" if left <= POOL_LOW_SHARE * total else None
        if level is not None and (tier, level) not in self._announced:
            self._announced.add((tier, level))
            log.warning("%s coupons %s: %d of %d left", tier, level, left, total)
            self.alerts.send(
                f"tier_{level}",
                f"{tier} coupons {'ran out' if level == 'empty' else 'are low'}: {left} of {total} left",
            )
