"""The vendor's order sheets: per meal, coupons by tier and diet, at the meal's cut-off and live.

`/orders/<meal>` is a printable page, `/orders/<meal>.csv` the same numbers for a
spreadsheet; the organizer's and the vendor's sessions may open both. "Live"
counts every coupon of the meal now, per tier and diet (voided ones left out):
after the meal, exactly what was issued. "At cut-off" counts the coupons issued
by the meal's `order_cutoff`, each with the diet it had then: a diet changed
after the cut-off shows under "live" only, so what the kitchen was told at the
cut-off never moves. Coupons are issued only inside a meal's window, so for a
cut-off before the meal that column is 0; what the kitchen can bake for then is
the forecast (event/forecast.py): how many people (attendees on the roster,
holders of a coupon of any meal; never an address that only typed `diet NAME`)
had told each diet, how many have not said, and whose diet this meal does not
offer, as of the cut-off once it has passed (ledger/vendor_numbers.py says who
counts). In the CSV, rows whose `tier` is not a tier (forecast lines, and "of
which without a story": the coupons of mentors, volunteers, …, already counted
under their tier) are not part of the totals.
"""

from __future__ import annotations

import csv
import html
import io

from aiohttp import web

from pizza_agent.domain.spreadsheet import safe_row
from pizza_agent.domain.tiers import TIERS
from pizza_agent.event.forecast import forecast
from pizza_agent.event.meals import Meals
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.plan.model import Meal

CSV_COLUMNS = ("meal", "tier", "diet", "at_cutoff", "live")


class OrderSheets:
    def __init__(self, ledger: LedgerWorker, meals: Meals) -> None:
        self.ledger = ledger
        self.meals = meals

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/orders/{meal}.csv", self.csv)
        app.router.add_get("/orders/{meal}", self.page)

    async def rows(self, meal: Meal) -> tuple[list[tuple[str, str, int | None, int]], bool]:
        """(tier, diet, at cut-off or None before it, live) for every tier and diet; and whether the cut-off passed."""
        cutoff = meal.order_cutoff
        passed = cutoff is not None and self.meals.clock.now() >= cutoff
        live = (await self.ledger.read(lambda ledger: ledger.coupons.orders())).get(meal.id, {})
        at_cutoff: dict = {}
        if passed and cutoff is not None:
            until = cutoff.timestamp()
            at_cutoff = await self.ledger.read(lambda ledger: ledger.vendor.coupons_at(meal.id, until))
        diets = list(self.meals.diets(meal)) or ["unknown"]
        for tier_counts in live.values():
            diets += [d for d in tier_counts if d not in diets]
        rows = []
        for tier in TIERS:
            for diet in diets:
                then = at_cutoff.get(tier, {}).get(diet, 0) if passed else None
                rows.append((tier, diet, then, live.get(tier, {}).get(diet, 0)))
        return rows, passed

    def _meal(self, request: web.Request) -> Meal:
        meal = self.meals.plan.meal(request.match_info["meal"])
        if meal is None:
            raise web.HTTPNotFound(text="no such meal in the plan")
        return meal

    async def forecast_rows(self, meal: Meal) -> list[tuple[str, str, int]]:
        """(kind, name, people) of the forecast (event/forecast.py): by diet, not said, not offered, roles."""
        found = await forecast(self.ledger, self.meals, meal)
        rows = [("forecast (people by diet)", diet, n) for diet, n in found.by_diet.items()]
        rows.append(("forecast (people by diet)", "not said", found.not_said))
        rows += [("forecast: diet not offered at this meal", diet, n) for diet, n in sorted(found.not_offered.items())]
        rows += [("forecast: of which without a story", role, n) for role, n in sorted(found.roles.items())]
        return rows

    async def csv(self, request: web.Request) -> web.StreamResponse:
        meal = self._meal(request)
        rows, _ = await self.rows(meal)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for tier, diet, then, live in rows:
            writer.writerow(safe_row([meal.id, tier, diet, "" if then is None else then, live]))
        for kind, name, people in await self.forecast_rows(meal):
            writer.writerow(safe_row([meal.id, kind, name, people, ""]))
        roles = await self.ledger.read(lambda ledger: ledger.vendor.role_coupons(meal.id))
        for role, coupons in sorted(roles.items()):
            writer.writerow(safe_row([meal.id, "of which without a story", role, "", coupons]))
        return web.Response(
            text=buffer.getvalue(),
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="orders-{meal.id}.csv"'},
        )

    async def page(self, request: web.Request) -> web.StreamResponse:
        meal = self._meal(request)
        rows, passed = await self.rows(meal)
        cutoff = f"{meal.order_cutoff:%a %H:%M}" if meal.order_cutoff else "no cut-off set"
        body = "".join(
            f'<tr data-tier="{tier}" data-diet="{html.escape(diet)}"><td>{tier}</td>'
            f'<td dir="auto">{html.escape(diet)}</td>'
            f'<td class="at-cutoff">{"—" if then is None else then}</td><td class="live">{live}</td></tr>'
            for tier, diet, then, live in rows
        )
        total_then = sum(then or 0 for _, _, then, _ in rows)
        total_live = sum(live for *_, live in rows)
        title = html.escape(f"Order sheet: {meal.name}")
        forecast = "".join(
            f'<tr data-forecast="{html.escape(name)}" data-kind="{html.escape(kind)}"><td dir="auto">'
            f"{html.escape(name)}{_kind_note(kind)}</td><td>{people}</td></tr>"
            for kind, name, people in await self.forecast_rows(meal)
        )
        forecast = (
            '<table id="forecast"><thead><tr><th scope="col">diet</th><th scope="col">people</th></tr></thead>'
            f"<tbody>{forecast}</tbody></table>"
        )

        when = f"{meal.starts:%A %H:%M}–{meal.ends:%H:%M}" if meal.starts and meal.ends else ""
        page = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            '<link rel="stylesheet" href="/static/app.css"></head><body class="order-sheet">'
            f"<h1><bdi>{title}</bdi></h1><p><bdi>{html.escape(self.meals.plan.name)}</bdi> · {when} · cut-off {cutoff}"
            f"{'' if passed else ' (not reached yet: the at-cut-off column fills in then)'}</p>"
            '<table id="orders"><thead><tr><th>tier</th><th>diet</th><th>at cut-off</th><th>live</th></tr></thead>'
            f'<tbody>{body}</tbody><tfoot><tr><th colspan="2">total</th><td id="total-at-cutoff">'
            f'{total_then if passed else "—"}</td><td id="total-live">{total_live}</td></tr></tfoot></table>'
            f"<h2>Forecast: people who can eat this meal, by the diet they had told by the cut-off</h2>{forecast}"
            f'<p><a href="/orders/{html.escape(meal.id)}.csv">CSV</a></p></body></html>'
        )
        return web.Response(text=page, content_type="text/html")


def _kind_note(kind: str) -> str:
    if "not offered" in kind:
        return " (this meal has no option for it: order one, or tell them)"
    if "without a story" in kind:
        return " (already counted above by diet: eats without a story)"
    return ""
