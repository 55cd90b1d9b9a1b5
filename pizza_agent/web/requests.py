"""What every route of the dashboard reads a request with, and refuses one with.

The session key the auth middleware sets, a JSON body read with a clear 400, a 4xx of one short
line (JSON for the API, a small page otherwise), and who asked (for the log line).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web

from pizza_agent.web.auth import Session

log = logging.getLogger("pizza.web")

SESSION = web.RequestKey("session", Session)  # who the request is from, set by the auth middleware


def refuse(status: int, message: str, request: web.Request) -> web.HTTPException:
    """A 4xx with one short line and nothing else rendered."""
    kind = {401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 400: web.HTTPBadRequest, 429: web.HTTPTooManyRequests}
    if request.path.startswith("/api/") or request.path == "/metrics":
        return kind[status](text=json.dumps({"error": message}), content_type="application/json")
    link = ' <a href="/login">Log in</a>' if status in (401, 403) else ""
    return kind[status](text=f"<!doctype html><title>{status}</title><p>{message}.{link}</p>", content_type="text/html")


async def json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested past Python's limit
        log.warning("web: 400 %s %s from %s: the body is not JSON", request.method, request.path, client_of(request))
        raise refuse(400, "the body is not JSON (or nested too deeply)", request) from None
    if not isinstance(body, dict):
        log.warning("web: 400 %s %s from %s: not a JSON object", request.method, request.path, client_of(request))
        raise refuse(400, "the body must be a JSON object", request)
    return body


def client_of(request: web.Request) -> str:
    return request.remote or "unknown"
