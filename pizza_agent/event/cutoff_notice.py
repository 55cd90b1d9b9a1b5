"""At each meal's order cut-off, the final forecast goes to the organizers' alert channel, with a link.

The vendor's number is final at the cut-off (event/forecast.py); an organizer should not have to
remember to open the order sheet at 16:00. Said once per meal: the ledger keeps that it was said
(`cutoff_sent:<meal>` among the controls), so a restart, or the replica that takes over, does not
say it again. Only the active replica says it (the caller checks the lease, as for the outbox).
"""

from __future__ import annotations

import logging

from pizza_agent.event.alerts import Alerts
from pizza_agent.event.forecast import forecast
from pizza_agent.event.meals import Meals
from pizza_agent.ledger.worker import LedgerWorker

log = logging.getLogger("pizza.organizer")

CHECK_SECONDS = 15.0


class CutoffNotices:
    def __init__(self, ledger: LedgerWorker, meals: Meals, alerts: Alerts, dashboard_url: str | None) -> None:
        self.ledger, self.meals, self.alerts, self.dashboard_url = ledger, meals, alerts, dashboard_url

    async def check(self) -> list[str]:
        """Announce every meal whose cut-off has passed (and which has not ended): the meals announced now."""
        if not self.meals.planned:
            return []
        now = self.meals.clock.now()
        announced = []
        for meal in self.meals.plan.meals:
            if meal.order_cutoff is None or not meal.order_cutoff <= now or (meal.ends and meal.ends <= now):
                continue
            name = f"cutoff_sent:{meal.id}"
            if await self.ledger.read(lambda ledger, n=name: ledger.controls.get(n)) is not None:
                continue
            found = await forecast(self.ledger, self.meals, meal)
            link = f" · {self.dashboard_url.rstrip('/')}/orders/{meal.id}" if self.dashboard_url else ""
            text = f"order cut-off for {meal.name} ({meal.order_cutoff:%a %H:%M}): final forecast {found.line()}{link}"
            await self.ledger.write(lambda ledger, n=name: ledger.controls.set(n, "sent", "cut-off"))
            self.alerts.send("order_cutoff", text)
            log.warning("%s", text)
            announced.append(meal.id)
        return announced
