"""The food table when the venue's network fails: a snapshot to judge scans by, and a sync applied once.

`GET /api/table/snapshot`: the meal being served, and for each of its valid coupons a keyed hash
of the code (never the code, never COUPON_SECRET), its tier, diet, pickup group, the holder's
name and whether it is redeemed. The page keeps it (and refreshes it every few seconds and on
every scan); offline it hashes a scanned code with the snapshot's key and judges it from there.
The hash key is derived from COUPON_SECRET for this purpose only: it can tell whether a code is
in the list, not make one (a code's signature is another key), and a code is too long to be
found from its hash by trying.

`POST /api/table/sync`: the scans a table made offline, in order, each with its nonce. A nonce
seen before is acknowledged with the result it had and not applied again (a re-sent queue, a
reload). A code two offline tables both served is redeemed once; the second to sync is recorded
as a conflict with the first one's table and time, shown to both tables and to the organizers
(dashboard, `status`, an alert). Nothing is lost.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from pizza_agent.domain.identity import attendee_key
from pizza_agent.event.alerts import Alerts
from pizza_agent.event.meals import Meals
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.redemption import CodeState, redeem_code
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.web.auth import Session
from pizza_agent.web.requests import SESSION, json_body, refuse

log = logging.getLogger("pizza.web")

MAX_SCANS_PER_SYNC = 500
WORKER = Path(__file__).parent / "static" / "table-sw.js"
NONCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CODE = re.compile(r"^[A-Za-z0-9 -]{4,64}$")


def code_hash(key: str, code: str) -> str:
    """The snapshot's keyed hash of a code, as the page computes it: SHA-256 of key ":" CODE (upper case)."""
    return hashlib.sha256(f"{key}:{code.strip().upper()}".encode()).hexdigest()[:32]


class OfflineTable:
    def __init__(self, ledger: LedgerWorker, signer: CouponSigner, meals: Meals, alerts: Alerts) -> None:
        self.ledger, self.signer, self.meals, self.alerts = ledger, signer, meals, alerts
        self.key = signer.subkey(b"food-table-snapshot").hex()[:32]

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/table/snapshot", self._snapshot)
        app.router.add_post("/api/table/sync", self._sync)
        app.router.add_get("/table-sw.js", self._worker)

    async def _worker(self, request: web.Request) -> web.StreamResponse:
        """The table's service worker, from the site's root so that it may serve /table when offline."""
        return web.FileResponse(WORKER, headers={"Content-Type": "text/javascript", "Service-Worker-Allowed": "/"})

    async def _snapshot(self, request: web.Request) -> web.StreamResponse:
        table = self.meals.table_meal()
        meal_id = table.id if table is not None else None

        def read(ledger: Any) -> list[tuple]:
            names = {a.key: a.display_name for a in ledger.roster.everyone()}
            return [
                (c, names.get(attendee_key(c.person) or "", ""))
                for c in ledger.coupons.all()
                if c.voided_at is None and (meal_id is None or c.meal == meal_id)
            ]

        coupons = await self.ledger.read(read)
        now = self.meals.clock.now()
        session: Session = request[SESSION]
        return web.json_response(
            {
                "conflicts": await self._conflicts_of(session.name),
                "key": self.key,
                "meal": meal_id or "",
                "serving": self.meals.name_of(meal_id) if meal_id else "any coupon",
                "made_at": f"{now:%H:%M}",
                "entries": {
                    code_hash(self.key, c.code): {
                        "tier": c.tier,
                        "diet": c.diet,
                        "group": c.pickup_group,
                        "name": name,
                        "redeemed": c.redeemed_at is not None,
                    }
                    for c, name in coupons
                },
            }
        )

    async def _conflicts_of(self, table: str) -> list[dict[str, str]]:
        """The conflicts this table took part in, first or second: shown to both tables, not only the second."""

        def read(ledger: Any) -> list[dict[str, str]]:
            found = []
            for scan in ledger.scans.conflicts():
                first = ledger.scans.get(scan.conflict_with) if scan.conflict_with else None
                if table in (scan.table, first.table if first else None):
                    where = f"table {first.table}" if first else "another table"
                    line = f"{scan.code} served at {where} and again at table {scan.table} while both were offline"
                    found.append({"nonce": scan.nonce, "line": line})
            return found

        return await self.ledger.read(read)

    async def _sync(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        scans = body.get("scans")
        if not isinstance(scans, list) or len(scans) > MAX_SCANS_PER_SYNC:
            raise refuse(400, f"send scans: a list of at most {MAX_SCANS_PER_SYNC}", request)
        session: Session = request[SESSION]
        results = []
        for scan in scans:
            if not isinstance(scan, dict) or not _valid(scan):
                raise refuse(400, "each scan needs a nonce, a code, a time and whether it was served", request)
            results.append(await self.apply(session.name, scan))
        return web.json_response({"results": results})

    async def apply(self, table: str, scan: dict[str, Any]) -> dict[str, Any]:
        """One scan a table made offline: applied once by its nonce; a second serving of a code is a conflict."""
        nonce, code, at, served = scan["nonce"], scan["code"].strip(), float(scan["at"]), bool(scan["served"])
        seen = await self.ledger.write(lambda ledger: ledger.scans.claim(nonce, table, code, at, offline=True))
        if seen is not None and seen.result != "pending":
            return {"nonce": nonce, "result": seen.result, "replayed": True}
        meal = self.meals.table_meal()
        checked = await self.ledger.write(lambda ledger: redeem_code(ledger.coupons, self.signer, code, meal))
        first = None
        if checked.state is CodeState.VALID:
            result = "redeemed"
        elif checked.state is CodeState.ALREADY_REDEEMED and served:
            # Served here while offline, and redeemed already: by another scan (two tables apart: a conflict,
            # recorded and shown, nothing lost), or by this very nonce in a sync still in flight (the same).
            first = await self.ledger.read(lambda ledger: ledger.scans.redeemed_by(checked.coupon.code, nonce))
            result = "conflict" if first is not None else "redeemed"
        else:
            result = "refused"
        other = first.nonce if first else None
        await self.ledger.write(lambda ledger: ledger.scans.settle(nonce, result, other))
        answer: dict[str, Any] = {"nonce": nonce, "result": result, "line": checked.line}
        if result == "conflict":
            where = f"table {first.table!r}" if first else "another table"
            answer["first"] = {"table": first.table if first else None, "at": first.scanned_at if first else None}
            text = f"CONFLICT: {code} was served at {where} and again at table {table!r} while offline"
            log.warning("%s", text)
            self.alerts.send("table_conflict", text)
        return answer


def _valid(scan: dict[str, Any]) -> bool:
    nonce, code, at = scan.get("nonce"), scan.get("code"), scan.get("at")
    return (
        isinstance(nonce, str)
        and bool(NONCE.match(nonce))
        and isinstance(code, str)
        and bool(CODE.match(code))
        and isinstance(at, int | float)
        and isinstance(scan.get("served"), bool)
    )
