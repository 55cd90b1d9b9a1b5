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
from pizza_agent.event.commands import DASHBOARD_COMMANDS
from pizza_agent.event.organizer import Organizer
from pizza_agent.event.reply_times import ReplyTimes
from pizza_agent.event.status import EventStatus
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.coupons import exported, write_export
from pizza_agent.ledger.errors import LedgerBusy, LedgerUnreachable
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.web.auth import Role, Session, Sessions, TokenGuard, Tokens
from pizza_agent.web.food_table import FoodTable
from pizza_agent.web.metrics import EventMetrics
from pizza_agent.web.offline_table import OfflineTable
from pizza_agent.web.orders import OrderSheets
from pizza_agent.web.requests import SESSION, client_of, json_body, refuse

log = logging.getLogger("pizza.web")

STATIC = Path(__file__).parent / "static"
COOKIE = "pizza_session"
HISTORY_EVERY_SECONDS = 10.0
HISTORY_KEPT = 360  # one hour at HISTORY_EVERY_SECONDS
MAX_BODY_BYTES = 16 * 1024
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
# What a food table (the vendor's token) may open besides the static files and order sheets.
TABLE_PATHS = frozenset(
    {
        "/table",
        "/table-sw.js",
        "/api/table/meal",
        "/api/table/check",
        "/api/table/redeem",
        "/api/table/snapshot",
        "/api/table/sync",
        "/logout",
    }
)
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
        app.router.add_get("/metrics", self._metrics)
        OrderSheets(self.ledger, self.organizer.meals).routes(app)
        FoodTable(self.ledger, self.signer, self.organizer.meals, self.organizer.desk).routes(app)
        OfflineTable(self.ledger, self.signer, self.organizer.meals, self.organizer.controls.alerts).routes(app)
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
            log.info("web: 401 %s %s from %s", request.method, request.path, client_of(request))
            raise refuse(401, "log in first", request)
        needs = _role_needed(request.path)
        if needs is Role.ORGANIZER and session.role is not Role.ORGANIZER:
            log.warning("web: vendor session refused %s %s from %s", request.method, request.path, client_of(request))
            raise refuse(403, "the food-table login cannot open this", request)
        json_post = request.headers.get("X-Pizza") == "1" and request.content_type == "application/json"
        if request.method == "POST" and request.path != "/logout" and not json_post:
            raise refuse(403, "send JSON with the X-Pizza header", request)
        request[SESSION] = session
        return await handler(request)

    async def _session(self, request: web.Request) -> Session | None:
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is not None:
            return session
        authorization = request.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return None
        presented = self.guard.present(
            client_of(request), authorization.removeprefix("Bearer ").strip()[:512], "bearer"
        )
        if presented.role is not None:
            return Session(presented.role, "bearer", float("inf"))
        if presented.slowed:
            await self.guard.slow_down()
            raise refuse(429, f"too many wrong tokens; try again in {presented.retry_after:.0f} s", request)
        return None

    # --- logging in -----------------------------------------------------------------------------
    async def _login_page(self, request: web.Request) -> web.StreamResponse:
        return _page_file("login")

    async def _login(self, request: web.Request) -> web.StreamResponse:
        client = client_of(request)
        if _cross_site(request):  # a page elsewhere posting here: refused, and never counted as a guess
            log.warning("web: cross-site login post refused from %s (origin %s)", client, request.headers.get("Origin"))
            raise refuse(403, "log in from the dashboard's own page", request)
        form = await request.post()
        token = str(form.get("token", ""))[:512]
        name = str(form.get("name", ""))
        presented = self.guard.present(client, token, "login")  # counted before anything else is awaited
        if presented.role is None:
            if presented.slowed:
                await self.guard.slow_down()
                raise refuse(429, f"too many wrong tokens; try again in {presented.retry_after:.0f} s", request)
            raise refuse(401, "wrong token", request)
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
            "table_conflicts": status["ledger"].get("table_conflicts", 0),
            "tables": status["ledger"].get("tables", {}),
            "hedges": status["hedges"],
            "spend": status["spend"],
            "forced": status["forced"],
            "replicas": status.get("replicas"),  # None with one agent; else which replica this is, who answers
        }

    async def _control(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        command = str(body.get("command", ""))
        args = str(body.get("args", ""))[:300]
        if command not in DASHBOARD_COMMANDS:
            raise refuse(400, f"unknown command; one of {', '.join(sorted(DASHBOARD_COMMANDS))}", request)
        session: Session = request[SESSION]
        text = await self.organizer.run_as(session.name, command, args)
        return web.json_response({"result": text})

    async def _reviews(self, request: web.Request) -> web.StreamResponse:
        """The judges' queue, for organizers, a page at a time (`?page=N`, 1 the oldest): each story whole,
        on one line (the page shows it as text, never markup), the real count, one entry per participant."""
        asked = request.query.get("page", "1")
        if not (asked.isascii() and asked.isdigit() and len(asked) <= 6) or int(asked) < 1:
            raise refuse(400, "page must be a whole number, 1 or more", request)
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


def _role_needed(path: str) -> Role | None:
    if path in TABLE_PATHS or path.startswith(("/static/", "/orders/")):
        return None  # either role
    return Role.ORGANIZER


def _page_file(name: str) -> web.StreamResponse:
    return web.FileResponse(STATIC / PAGES[name], headers={"Content-Type": "text/html; charset=utf-8"})


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


def _cross_site(request: web.Request) -> bool:
    """A browser says where a post comes from: Sec-Fetch-Site, else Origin. Neither: not a browser (curl)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin.split("://", 1)[-1] != request.host


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)
