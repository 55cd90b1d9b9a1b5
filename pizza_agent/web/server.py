"""The organizer's dashboard, the food-table page and `/metrics`, served by the agent process.

Its own port (DASHBOARD_PORT), bound to 127.0.0.1 unless DASHBOARD_HOST says
otherwise, and off unless DASHBOARD_TOKEN is set. Every route but the login
page needs a session (or a Bearer token): a missing or wrong one is a 401 with
nothing rendered. The vendor's session reaches the food-table routes only.
Every asset comes from `static/` (no CDN: venue Wi-Fi may have no internet).

What the pages show is the event's own status (the same facts as the chat
`status`), a failure-counter history sampled here, and short participant ids;
never a secret, a full address or a story. Controls run the organizer's chat
commands (`Organizer.run_as`), logged with the organizer's name. Redemption is
`redeem_code` in the ledger's one transaction, as `agent.py redeem` does:
exactly once across the page, the command line and several tables.

POSTs need JSON with the header `X-Pizza: 1` (a cross-site form cannot send
either) on top of the SameSite=Strict cookie.

"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from pizza_agent.config.settings import Settings
from pizza_agent.domain.identity import attendee_key
from pizza_agent.event.commands import DASHBOARD_COMMANDS
from pizza_agent.event.front_desk import FrontDesk
from pizza_agent.event.organizer import Organizer
from pizza_agent.event.reply_times import ReplyTimes
from pizza_agent.event.status import EventStatus
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.coupons import exported, write_export
from pizza_agent.ledger.errors import LedgerBusy, LedgerUnreachable
from pizza_agent.ledger.redemption import CodeCheck, CodeState, TableMeal, check_code, redeem_code
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.people.claim_codes import find_candidates
from pizza_agent.web.auth import Role, Session, Sessions, TokenGuard, Tokens
from pizza_agent.web.metrics import EventMetrics
from pizza_agent.web.orders import OrderSheets

log = logging.getLogger("pizza.web")

STATIC = Path(__file__).parent / "static"
COOKIE = "pizza_session"
SESSION = web.RequestKey("session", Session)  # who the request is from, set by the auth middleware
HISTORY_EVERY_SECONDS = 10.0
HISTORY_KEPT = 360  # one hour at HISTORY_EVERY_SECONDS
MAX_BODY_BYTES = 16 * 1024
CODE_MAX_CHARS = 64
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
        "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Permissions-Policy": "camera=(self), microphone=()",
}
PUBLIC = frozenset({"/login", "/static/app.css"})  # the login form and its style sheet: nothing else
PAGES = {"dashboard": "dashboard.html", "table": "table.html", "login": "login.html"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class WebApp:
    def __init__(
        self,
        settings: Settings,
        organizer: Organizer,
        ledger: LedgerWorker,
        signer: CouponSigner,
        reply_times: ReplyTimes,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.organizer = organizer
        self.ledger = ledger
        self.signer = signer
        self.tokens = Tokens(settings.dashboard_token.get_secret_value(), settings.vendor_token.get_secret_value())
        self.sessions = Sessions(clock, idle_seconds=settings.dashboard_idle_minutes * 60)
        self.guard = TokenGuard(self.tokens, clock)
        self.metrics = EventMetrics()
        self.metrics.watch(organizer.llm, reply_times)
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY_KEPT)
        self._runner: web.AppRunner | None = None
        self._sampler: asyncio.Task[None] | None = None
        self.port = settings.dashboard_port

    # --- the app --------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors, self._auth], client_max_size=MAX_BODY_BYTES)
        app.on_response_prepare.append(self._headers)
        app.router.add_get("/login", self._login_page)
        app.router.add_post("/login", self._login)
        app.router.add_post("/logout", self._logout)
        app.router.add_get("/", self._page("dashboard"))
        app.router.add_get("/table", self._page("table"))
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/status", self._status)
        app.router.add_post("/api/control", self._control)
        app.router.add_get("/api/reviews", self._reviews)
        app.router.add_get("/api/export.csv", self._export)
        app.router.add_post("/api/table/check", self._table_check)
        app.router.add_post("/api/table/redeem", self._table_redeem)
        app.router.add_get("/metrics", self._metrics)
        OrderSheets(self.ledger, self.organizer.meals).routes(app)
        return app

    async def start(self) -> WebApp:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.settings.dashboard_host, self.settings.dashboard_port, ssl_context=self._tls()
        )
        await site.start()
        self.port = self._runner.addresses[0][1]  # the port bound (0 asks the system for a free one)
        self._sampler = asyncio.get_running_loop().create_task(self._sample_forever())
        log.warning(
            "dashboard on %s://%s:%d/ (organizers), food-table page on /table%s",
            "https" if self.settings.dashboard_tls else "http",
            self.settings.dashboard_host,
            self.port,
            "" if self.settings.vendor_token.get_secret_value() else " (no VENDOR_TOKEN: organizers only)",
        )
        return self

    async def stop(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
        if self._runner is not None:
            await self._runner.cleanup()

    def _tls(self) -> ssl.SSLContext | None:
        if not self.settings.dashboard_tls:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self.settings.dashboard_tls_cert), str(self.settings.dashboard_tls_key))
        return context

    # --- middleware -----------------------------------------------------------------------------
    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Never a traceback to a client: the ledger in trouble is a 503 with a message, a bug a 500, one line each."""
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except (LedgerBusy, LedgerUnreachable) as exc:
            log.warning(
                "web: 503 %s %s: the ledger is busy or unreachable (%s)",
                request.method,
                request.path,
                type(exc).__name__,
            )
            return web.json_response(
                {"error": "the coupon book is busy or unreachable: try again in a minute"}, status=503
            )
        except Exception as exc:  # a bug: one line, no traceback in the answer
            log.error("web: 500 %s %s: %s: %s", request.method, request.path, type(exc).__name__, str(exc)[:200])
            return web.json_response({"error": "something went wrong on the agent's side"}, status=500)

    @staticmethod
    async def _headers(request: web.Request, response: web.StreamResponse) -> None:
        """Every response, errors and redirects included."""
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC:
            return await handler(request)
        session = await self._session(request)
        if session is None:
            log.info("web: 401 %s %s from %s", request.method, request.path, _client(request))
            raise _refuse(401, "log in first", request)
        needs = _role_needed(request.path)
        if needs is Role.ORGANIZER and session.role is not Role.ORGANIZER:
            log.warning("web: vendor session refused %s %s from %s", request.method, request.path, _client(request))
            raise _refuse(403, "the food-table login cannot open this", request)
        json_post = request.headers.get("X-Pizza") == "1" and request.content_type == "application/json"
        if request.method == "POST" and request.path != "/logout" and not json_post:
            raise _refuse(403, "send JSON with the X-Pizza header", request)
        request[SESSION] = session
        return await handler(request)

    async def _session(self, request: web.Request) -> Session | None:
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is not None:
            return session
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return None
        presented = self.guard.present(_client(request), authorization.removeprefix("Bearer ").strip()[:512], "bearer")
        if presented.role is not None:
            return Session(presented.role, "bearer", float("inf"))
        if presented.slowed:
            await self.guard.slow_down()
            raise _refuse(429, f"too many wrong tokens; try again in {presented.retry_after:.0f} s", request)
        return None

    # --- logging in -----------------------------------------------------------------------------
    async def _login_page(self, request: web.Request) -> web.StreamResponse:
        return _page_file("login")

    async def _login(self, request: web.Request) -> web.StreamResponse:
        client = _client(request)
        if _cross_site(request):  # a page elsewhere posting here: refused, and never counted as a guess
            log.warning("web: cross-site login post refused from %s (origin %s)", client, request.headers.get("Origin"))
            raise _refuse(403, "log in from the dashboard's own page", request)
        form = await request.post()
        token = str(form.get("token", ""))[:512]
        name = str(form.get("name", ""))
        presented = self.guard.present(client, token, "login")  # counted before anything else is awaited
        if presented.role is None:
            if presented.slowed:
                await self.guard.slow_down()
                raise _refuse(429, f"too many wrong tokens; try again in {presented.retry_after:.0f} s", request)
            raise _refuse(401, "wrong token", request)
        session_id = self.sessions.open(presented.role, name)
        session = self.sessions.get(session_id)
        assert session is not None
        log.warning("web: %s %r logged in from %s", presented.role.value, session.name, client)
        response = web.HTTPSeeOther("/" if presented.role is Role.ORGANIZER else "/table")
        response.set_cookie(
            COOKIE,
            session_id,
            httponly=True,
            samesite="Strict",
            path="/",
            max_age=12 * 3600,
            secure=self.settings.dashboard_tls,
        )
        raise response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        self.sessions.close(request.cookies.get(COOKIE))
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE, path="/")
        raise response

    # --- pages and assets -----------------------------------------------------------------------
    def _page(self, name: str) -> Handler:
        async def page(request: web.Request) -> web.StreamResponse:
            return _page_file(name)

        return page

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file() or name.endswith(".html"):
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "private, max-age=300"})

    # --- the dashboard's data and controls -------------------------------------------------------
    async def _status(self, request: web.Request) -> web.StreamResponse:
        status = await self.organizer.status()
        return web.json_response(self.dashboard_view(status), dumps=_dumps)

    def dashboard_view(self, model: EventStatus) -> dict[str, Any]:
        """What the page shows: status facts, the counter history, and a banner; nothing secret."""
        status = model.as_json()
        providers = status["providers"]
        people = status.get("people") or {}
        return {
            "verdict": status["verdict"],
            "banner": _banner(model),
            "people": people or None,
            "plan": status.get("plan"),
            "scoring_note": status.get("scoring_note"),  # keyless: the heuristic's cap, said where people look
            "orders": status.get("orders"),
            "paused": status["paused"],
            "uptime_seconds": status["uptime_seconds"],
            "providers": {
                name: {
                    "state": h["state"],
                    "configured": h["configured"],
                    "failures": h["failures"],
                    "threshold": h.get("threshold"),
                    "p50_ms": h.get("p50_latency_ms"),
                    "p95_ms": h.get("p95_latency_ms"),
                }
                for name, h in providers.items()
            },
            "history": list(self.history),
            "layer_usage": status["layer_usage"],
            "replies": status.get("replies"),
            "coupons": {
                "issued": status["ledger"]["coupons_issued"],
                "redeemed": status["ledger"].get("coupons_redeemed_by_tier", {}),
                "left": status["ledger"]["left"],
                "voided": status["ledger"]["coupons_voided"],
                "participants": status["ledger"]["participants"],
            },
            "flagged": status["ledger"]["flagged"],
            "rate_limit": status["rate_limit"],
            "hedges": status["hedges"],
            "spend": status["spend"],
            "forced": status["forced"],
            "replicas": status.get("replicas"),  # None with one agent; else which replica this is, who answers
        }

    async def _control(self, request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        command = str(body.get("command", ""))
        args = str(body.get("args", ""))[:300]
        if command not in DASHBOARD_COMMANDS:
            raise _refuse(400, f"unknown command; one of {', '.join(sorted(DASHBOARD_COMMANDS))}", request)
        session: Session = request[SESSION]
        text = await self.organizer.run_as(session.name, command, args)
        return web.json_response({"result": text})

    async def _reviews(self, request: web.Request) -> web.StreamResponse:
        """The judges' queue, for organizers, a page at a time (`?page=N`, 1 the oldest): each story whole,
        on one line (the page shows it as text, never markup), the real count, one entry per participant."""
        asked = request.query.get("page", "1")
        if not (asked.isascii() and asked.isdigit() and len(asked) <= 6) or int(asked) < 1:
            raise _refuse(400, "page must be a whole number, 1 or more", request)
        return web.json_response(await self.organizer.judges.waiting_as_data(int(asked)))

    async def _export(self, request: web.Request) -> web.StreamResponse:
        coupons = await self.ledger.read(lambda ledger: exported(ledger.coupons))
        buffer = io.StringIO()
        write_export(buffer, coupons, short_ids=True)  # the page shows short ids: so does its download
        session: Session = request[SESSION]
        log.warning("organizer=dashboard:%s exported %d coupons (CSV download)", session.name, len(coupons))
        return web.Response(
            text=buffer.getvalue(),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="coupons.csv"'},
        )

    # --- the food table ---------------------------------------------------------------------------
    async def _table_check(self, request: web.Request) -> web.StreamResponse:
        meal = self.organizer.meals.table_meal()
        code, name = await _badge_coupon(self.ledger, self.organizer.desk, await _code_from(request), meal)
        checked = await self.ledger.read(lambda ledger: check_code(ledger.coupons, self.signer, code, meal))
        name = name or await _attendee_name(self.ledger, checked)
        return web.json_response(self._table_view(checked, redeemed_now=False, name=name))

    async def _table_redeem(self, request: web.Request) -> web.StreamResponse:
        meal = self.organizer.meals.table_meal()
        code, name = await _badge_coupon(self.ledger, self.organizer.desk, await _code_from(request), meal)
        checked = await self.ledger.write(lambda ledger: redeem_code(ledger.coupons, self.signer, code, meal))
        session: Session = request[SESSION]
        log.warning("table %r: %s", session.name, checked.line)
        name = name or await _attendee_name(self.ledger, checked)
        return web.json_response(self._table_view(checked, redeemed_now=checked.state is CodeState.VALID, name=name))

    def _table_view(self, checked: CodeCheck, *, redeemed_now: bool, name: str | None) -> dict[str, Any]:
        view = _table_view(checked, redeemed_now=redeemed_now, name=name)
        coupon = checked.coupon
        if coupon is not None and view["state"] in ("valid", "redeemed"):
            if coupon.diet:
                view["diet"] = coupon.diet
            early = self.organizer.meals.early(coupon.meal, coupon.pickup_group)
            if early:
                view["warning"] = early
        return view

    # --- /metrics -----------------------------------------------------------------------------------
    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        body = self.metrics.render(await self.organizer.status())
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    # --- the failure-counter history ----------------------------------------------------------------
    async def sample(self) -> None:
        status = self.organizer.llm.status()
        self.history.append(
            {
                "at": round(time.time()),
                "failures": {name: h["failures"] for name, h in status["providers"].items()},  # type: ignore[union-attr]
            }
        )

    async def _sample_forever(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception:  # the dashboard's history is never worth the agent
                log.exception("web: sampling status failed")
            await asyncio.sleep(HISTORY_EVERY_SECONDS)  # the sampling period


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


def _role_needed(path: str) -> Role | None:
    if path in ("/table", "/api/table/check", "/api/table/redeem", "/logout") or path.startswith(
        ("/static/", "/orders/")
    ):
        return None  # either role
    return Role.ORGANIZER


def _page_file(name: str) -> web.StreamResponse:
    return web.FileResponse(STATIC / PAGES[name], headers={"Content-Type": "text/html; charset=utf-8"})


def _refuse(status: int, message: str, request: web.Request) -> web.HTTPException:
    """A 4xx with one short line and nothing else rendered."""
    kind = {401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 400: web.HTTPBadRequest, 429: web.HTTPTooManyRequests}
    if request.path.startswith("/api/") or request.path == "/metrics":
        return kind[status](text=json.dumps({"error": message}), content_type="application/json")
    link = ' <a href="/login">Log in</a>' if status in (401, 403) else ""
    return kind[status](text=f"<!doctype html><title>{status}</title><p>{message}.{link}</p>", content_type="text/html")


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested past Python's limit
        log.warning("web: 400 %s %s from %s: the body is not JSON", request.method, request.path, _client(request))
        raise _refuse(400, "the body is not JSON (or nested too deeply)", request) from None
    if not isinstance(body, dict):
        log.warning("web: 400 %s %s from %s: not a JSON object", request.method, request.path, _client(request))
        raise _refuse(400, "the body must be a JSON object", request)
    return body


async def _code_from(request: web.Request) -> str:
    code = str((await _json(request)).get("code", "")).strip()
    if not code or len(code) > CODE_MAX_CHARS or not code.isprintable():
        raise _refuse(400, "send a code", request)
    return code


def _table_view(checked: CodeCheck, *, redeemed_now: bool, name: str | None = None) -> dict[str, Any]:
    """What the table shows: a colour, a big word, the tier, a time and (roster mode) the badge's name."""
    view = _table_verdict(checked, redeemed_now=redeemed_now)
    if name and view["state"] != "invalid":
        view["name"] = name
    return view


def _banner(model: EventStatus) -> str | None:
    """The one line across the top: paused, not serving, degraded, or (address mode) a shared address."""
    verdict = model.verdict
    degraded = [
        f"{name} {health['state']}"
        for name, health in model.llm["providers"].items()
        if health["configured"] and health["state"] != "healthy"
    ]
    if model.paused:
        return f"PAUSED: {verdict.reason}"
    if not verdict.serving:
        return verdict.text()
    if degraded:
        return f"DEGRADED: {', '.join(degraded)} (the event goes on: {verdict.reason})"
    people = model.people or {}
    if people.get("mode") == "address" and people.get("shared_senders"):
        worst = people["shared_senders"][0]
        return (
            f"SHARED ADDRESS? sender {worst['sender']} carried stories in {worst['sessions']} chat sessions: "
            "participants may be sharing one address (one coupon per address serves only the first); "
            "consider PARTICIPANTS=roster"
        )
    return None


def _table_verdict(checked: CodeCheck, *, redeemed_now: bool) -> dict[str, Any]:
    coupon = checked.coupon
    tier = coupon.tier if coupon else None
    if checked.state is CodeState.VALID:
        if redeemed_now:
            return {"colour": "green", "headline": f"REDEEMED ✓ {tier}", "tier": tier, "state": "redeemed"}
        return {"colour": "green", "headline": f"REDEEM ✓ {tier}", "tier": tier, "state": "valid"}
    if checked.state is CodeState.ALREADY_REDEEMED and coupon and coupon.redeemed_at:
        at = time.strftime("%H:%M", time.localtime(coupon.redeemed_at))
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


def _cross_site(request: web.Request) -> bool:
    """A browser says where a post comes from: Sec-Fetch-Site, else Origin. Neither: not a browser (curl)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin.split("://", 1)[-1] != request.host


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)
