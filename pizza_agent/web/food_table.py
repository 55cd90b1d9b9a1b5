"""The food table: a code (or a badge) checked and redeemed against the meal being served.

`/table` is the page volunteers use; its API answers with what the screen shows: a colour, a
big word with a symbol, the tier, the person's name (roster mode), diet and pickup group, and
times in the event's time zone. `/api/table/meal` says which meal the table serves now, so the
screen names it before the first scan.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from pizza_agent.domain.identity import attendee_key
from pizza_agent.event.front_desk import FrontDesk
from pizza_agent.event.meals import Meals
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.redemption import CodeCheck, CodeState, TableMeal, check_code, redeem_code
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.people.claim_codes import find_candidates
from pizza_agent.web.auth import Session
from pizza_agent.web.requests import SESSION, json_body, refuse

log = logging.getLogger("pizza.web")

CODE_MAX_CHARS = 64


class FoodTable:
    def __init__(self, ledger: LedgerWorker, signer: CouponSigner, meals: Meals, desk: FrontDesk | None) -> None:
        self.ledger, self.signer, self.meals, self.desk = ledger, signer, meals, desk

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/table/meal", self._meal)
        app.router.add_post("/api/table/check", self._check)
        app.router.add_post("/api/table/redeem", self._redeem)

    @property
    def zone(self) -> ZoneInfo:
        return self.meals.plan.zone

    async def _meal(self, request: web.Request) -> web.StreamResponse:
        """The meal this table serves now (or the one that ended last: a late plate), in the event's zone."""
        if not self.meals.planned:
            return web.json_response({"planned": False, "serving": "any coupon (no meal plan)"})
        meal = self.meals.at_the_table()
        now = self.meals.clock.now()
        body: dict[str, Any] = {"planned": True, "timezone": self.zone.key, "now": f"{now:%H:%M}"}
        if meal is None or meal.starts is None or meal.ends is None:
            upcoming = self.meals.serving().next
            later = f" (next: {upcoming.name} at {upcoming.starts:%a %H:%M})" if upcoming and upcoming.starts else ""
            body["serving"] = "no meal yet" + later
        else:
            state = "" if meal.is_open(now) else " (ended: late plates)"
            body["serving"] = f"{meal.name}, {meal.starts:%a %H:%M}–{meal.ends:%H:%M}{state}"
            body["meal"] = meal.id
        return web.json_response(body)

    async def _check(self, request: web.Request) -> web.StreamResponse:
        meal = self.meals.table_meal()
        code, name = await _badge_coupon(self.ledger, self.desk, await _code_from(request), meal)
        checked = await self.ledger.read(lambda ledger: check_code(ledger.coupons, self.signer, code, meal))
        name = name or await _attendee_name(self.ledger, checked)
        return web.json_response(self._view(checked, redeemed_now=False, name=name))

    async def _redeem(self, request: web.Request) -> web.StreamResponse:
        meal = self.meals.table_meal()
        code, name = await _badge_coupon(self.ledger, self.desk, await _code_from(request), meal)
        checked = await self.ledger.write(lambda ledger: redeem_code(ledger.coupons, self.signer, code, meal))
        session: Session = request[SESSION]
        log.warning("table %r: %s", session.name, checked.line)
        name = name or await _attendee_name(self.ledger, checked)
        return web.json_response(self._view(checked, redeemed_now=checked.state is CodeState.VALID, name=name))

    def _view(self, checked: CodeCheck, *, redeemed_now: bool, name: str | None) -> dict[str, Any]:
        view = _table_view(checked, redeemed_now=redeemed_now, name=name, zone=self.zone)
        coupon = checked.coupon
        if coupon is not None and view["state"] in ("valid", "redeemed"):
            if coupon.diet:
                view["diet"] = coupon.diet
            if coupon.pickup_group:
                view["group"] = coupon.pickup_group
            early = self.meals.early(coupon.meal, coupon.pickup_group)
            if early:
                view["warning"] = early
        return view


async def _badge_coupon(
    ledger: LedgerWorker, desk: FrontDesk | None, code: str, meal: TableMeal | None
) -> tuple[str, str | None]:
    """A badge's claim code (typed or its QR scanned) stands for its attendee's coupon for the meal the table
    serves (their latest one without a plan): (coupon code, name)."""
    if desk is None or not find_candidates(code):
        return code, None
    found = await desk.find(code)
    if len(found) != 1:
        return code, None
    person = found[0].participant
    coupons = await ledger.read(lambda ledger: ledger.coupons.coupons_of(person))
    serving = [c for c in coupons if meal is None or c.meal == meal.id]
    chosen = serving[-1] if serving else (coupons[-1] if coupons else None)
    return (chosen.code if chosen else code), found[0].display_name


async def _attendee_name(ledger: LedgerWorker, checked: CodeCheck) -> str | None:
    """The attendee's display name, as on their badge (roster mode); None for an address's coupon."""
    key = attendee_key(checked.coupon.person) if checked.coupon else None
    if key is None:
        return None
    attendee = await ledger.read(lambda ledger: ledger.roster.get(key))
    return attendee.display_name if attendee else None


async def _code_from(request: web.Request) -> str:
    code = str((await json_body(request)).get("code", "")).strip()
    if not code or len(code) > CODE_MAX_CHARS or not code.isprintable():
        raise refuse(400, "send a code", request)
    return code


def _table_view(
    checked: CodeCheck, *, redeemed_now: bool, name: str | None = None, zone: ZoneInfo | None = None
) -> dict[str, Any]:
    """What the table shows: a colour, a big word, the tier, a time and (roster mode) the badge's name."""
    view = _table_verdict(checked, redeemed_now=redeemed_now, zone=zone)
    if name and view["state"] != "invalid":
        view["name"] = name
    return view


def _table_verdict(checked: CodeCheck, *, redeemed_now: bool, zone: ZoneInfo | None = None) -> dict[str, Any]:
    coupon = checked.coupon
    tier = coupon.tier if coupon else None
    if checked.state is CodeState.VALID:
        if redeemed_now:
            return {"colour": "green", "headline": f"REDEEMED ✓ {tier}", "tier": tier, "state": "redeemed"}
        return {"colour": "green", "headline": f"REDEEM ✓ {tier}", "tier": tier, "state": "valid"}
    if checked.state is CodeState.ALREADY_REDEEMED and coupon and coupon.redeemed_at:
        at = f"{datetime.fromtimestamp(coupon.redeemed_at, zone):%H:%M}"  # the event's time, not the server's
        return {"colour": "red", "headline": f"ALREADY REDEEMED at {at}", "tier": tier, "state": "already_redeemed"}
    if checked.state is CodeState.VOIDED and checked.upgraded_to:
        headline = f"UPGRADED to {checked.upgraded_to}: ask for the new code"
        return {"colour": "red", "headline": headline, "tier": tier, "state": "upgraded"}
    if checked.state is CodeState.VOIDED:
        return {"colour": "red", "headline": "VOIDED: DO NOT SERVE", "tier": tier, "state": "voided"}
    if checked.state is CodeState.WRONG_MEAL:
        meal_line = checked.line.split(": ", 1)[1]
        return {"colour": "red", "headline": f"WRONG MEAL: {meal_line}", "tier": tier, "state": "wrong_meal"}
    return {"colour": "red", "headline": "NOT A VALID CODE", "tier": None, "state": "invalid"}
