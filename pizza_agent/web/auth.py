"""Who may see what: two tokens, two roles, sessions in HttpOnly cookies, and a login rate limit.

The organizer's token (DASHBOARD_TOKEN) opens everything; the vendor's
(VENDOR_TOKEN) opens the food-table page and nothing else. A login sets a
random session id in an HttpOnly, SameSite=Strict cookie; the token itself
never travels again, and is never stored in the browser. Scripts (Prometheus)
may send `Authorization: Bearer <token>` instead. Tokens are compared in
constant time. Failed logins are limited per client address and logged.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 1000
FAILED_LOGINS_ALLOWED = 5
FAILED_LOGIN_WINDOW_SECONDS = 300.0
NAME_MAX_CHARS = 40


class Role(Enum):
    ORGANIZER = "organizer"
    VENDOR = "vendor"


@dataclass(frozen=True)
class Session:
    role: Role
    name: str  # who, for the log of every control ("dashboard:<name>")
    expires: float


class Tokens:
    def __init__(self, organizer: str, vendor: str) -> None:
        self._organizer = organizer.encode()
        self._vendor = vendor.encode()

    def role_of(self, token: str) -> Role | None:
        given = token.encode()
        # Both compared, always: the time taken says nothing about which one (or whether) it matched.
        is_organizer = bool(self._organizer) and hmac.compare_digest(given, self._organizer)
        is_vendor = bool(self._vendor) and hmac.compare_digest(given, self._vendor)
        if is_organizer:
            return Role.ORGANIZER
        if is_vendor:
            return Role.VENDOR
        return None


class Sessions:
    """Random session ids -> Session; bounded (the oldest go first), each for SESSION_SECONDS."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    def open(self, role: Role, name: str) -> str:
        while len(self._by_id) >= MAX_SESSIONS:
            self._by_id.popitem(last=False)
        session_id = secrets.token_urlsafe(32)
        self._by_id[session_id] = Session(role, clean_name(name, role), self._clock() + SESSION_SECONDS)
        return session_id

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._by_id.get(session_id)
        if session is None or session.expires < self._clock():
            self._by_id.pop(session_id, None)
            return None
        return session

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._by_id.pop(session_id, None)


def clean_name(name: str, role: Role) -> str:
    """A display name for logs: printable, short, never empty."""
    kept = "".join(ch for ch in name if ch.isalnum() or ch in " ._-@").strip()[:NAME_MAX_CHARS]
    return kept or role.value


class LoginLimiter:
    """At most FAILED_LOGINS_ALLOWED failures per client in FAILED_LOGIN_WINDOW_SECONDS."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, client: str) -> float:
        """Seconds until this client may try again (0: now)."""
        failures = self._recent(client)
        if len(failures) < FAILED_LOGINS_ALLOWED:
            return 0.0
        return max(0.0, failures[0] + FAILED_LOGIN_WINDOW_SECONDS - self._clock())

    def failed(self, client: str) -> None:
        self._recent(client).append(self._clock())
        if len(self._failures) > 10_000:  # bounded: forget clients with nothing recent
            for key in [k for k, v in self._failures.items() if not v]:
                del self._failures[key]

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque(maxlen=FAILED_LOGINS_ALLOWED))
        while failures and failures[0] < self._clock() - FAILED_LOGIN_WINDOW_SECONDS:
            failures.popleft()
        return failures
