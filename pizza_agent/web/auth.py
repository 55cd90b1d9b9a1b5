"""Who may see what: two tokens, two roles, sessions in HttpOnly cookies, and one guard for every guess.

The organizer's token (DASHBOARD_TOKEN) opens everything; the vendor's
(VENDOR_TOKEN) opens the food-table page and nothing else. A login sets a
random session id in an HttpOnly, SameSite=Strict cookie (Secure with TLS); the
token itself never travels again, and is never stored in the browser. Scripts
(Prometheus) may send `Authorization: Bearer <token>` instead.

`TokenGuard` sees every token presented, by the login form and by a Bearer
header alike, and counts a wrong one at once (no await between the decision
and the count, so parallel attempts cannot race past it). Past
FAILED_LOGINS_ALLOWED wrong tokens in the window a client is *slowed*, not
locked out: its wrong guesses wait and get 429, while the right token is
accepted from anywhere at any time, so nobody can lock an organizer out by
guessing from the same NAT. The guard forgets a client by age and holds at most
MAX_TRACKED_CLIENTS, so memory and the cost of a failure stay bounded.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

log = logging.getLogger("pizza.web")

SESSION_SECONDS = 12 * 3600
# Sessions kept per role: the vendor's logins can never push an organizer's out.
MAX_SESSIONS = {"organizer": 200, "vendor": 1000}
FAILED_LOGINS_ALLOWED = 5
FAILED_LOGIN_WINDOW_SECONDS = 300.0
MAX_TRACKED_CLIENTS = 20_000
# A limited client's wrong guess waits this long before its 429 (at most SLOWED_AT_ONCE wait at once).
SLOW_DOWN_SECONDS = 1.0
SLOWED_AT_ONCE = 64
NAME_MAX_CHARS = 40


class Role(Enum):
    ORGANIZER = "organizer"
    VENDOR = "vendor"


@dataclass
class Session:
    role: Role
    name: str  # who, for the log of every control ("dashboard:<name>")
    expires: float
    last_seen: float = 0.0


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


@dataclass
class _Failures:
    # The latest wrong tokens' times: one more than allowed is all the decision needs (bounded per client).
    times: deque[float] = field(default_factory=lambda: deque(maxlen=FAILED_LOGINS_ALLOWED + 1))
    total: int = 0


@dataclass(frozen=True)
class Presented:
    """What a presented token was: its role, or a wrong one (and whether its client is being slowed)."""

    role: Role | None
    slowed: bool = False
    retry_after: float = 0.0


class TokenGuard:
    def __init__(self, tokens: Tokens, clock: Callable[[], float] = time.monotonic) -> None:
        self.tokens = tokens
        self._clock = clock
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._slowing = 0
        self.refused = 0
        self.slow_down_seconds = SLOW_DOWN_SECONDS

    def present(self, client: str, token: str, how: str) -> Presented:
        """Synchronous on purpose: a wrong token is counted before the caller awaits anything."""
        role = self.tokens.role_of(token)
        if role is not None:
            return Presented(role)
        now = self._clock()
        self._forget_old(now)
        failures = self._failures.pop(client, None) or _Failures()
        while failures.times and failures.times[0] <= now - FAILED_LOGIN_WINDOW_SECONDS:
            failures.times.popleft()
        failures.times.append(now)
        failures.total += 1
        self._failures[client] = failures  # most recent last: the oldest are forgotten first
        self.refused += 1
        slowed = len(failures.times) > FAILED_LOGINS_ALLOWED
        if not slowed or failures.total & (failures.total - 1) == 0:  # the first ones, then 2^n-th
            log.warning(
                "web: wrong token (%s) from %s: %d from this address so far%s",
                how,
                client,
                failures.total,
                ", slowed down" if slowed else "",
            )
        retry = failures.times[0] + FAILED_LOGIN_WINDOW_SECONDS - now if slowed else 0.0
        return Presented(None, slowed, max(0.0, retry))

    async def slow_down(self) -> None:
        """Hold a limited client's wrong guess a moment (bounded: past SLOWED_AT_ONCE, answer at once)."""
        if self._slowing >= SLOWED_AT_ONCE:
            return
        self._slowing += 1
        try:
            await asyncio.sleep(self.slow_down_seconds)
        finally:
            self._slowing -= 1

    @property
    def tracked(self) -> int:
        return len(self._failures)

    def _forget_old(self, now: float) -> None:
        # Amortised O(1): the dict is ordered by last failure, so the stale ones are at its front.
        while self._failures:
            oldest_client, oldest = next(iter(self._failures.items()))
            if oldest.times and oldest.times[-1] > now - FAILED_LOGIN_WINDOW_SECONDS:
                break
            del self._failures[oldest_client]
        while len(self._failures) >= MAX_TRACKED_CLIENTS:
            self._failures.popitem(last=False)


class Sessions:
    """Random session ids -> Session, bounded per role (a role's oldest go first), each for SESSION_SECONDS
    and closed after `idle_seconds` unused."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, idle_seconds: float = 3600.0) -> None:
        self._clock = clock
        self.idle_seconds = idle_seconds
        self._by_role: dict[Role, OrderedDict[str, Session]] = {role: OrderedDict() for role in Role}

    def open(self, role: Role, name: str) -> str:
        sessions = self._by_role[role]
        while len(sessions) >= MAX_SESSIONS[role.value]:
            sessions.popitem(last=False)
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        sessions[session_id] = Session(role, clean_name(name, role), now + SESSION_SECONDS, now)
        return session_id

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        now = self._clock()
        for sessions in self._by_role.values():
            session = sessions.get(session_id)
            if session is None:
                continue
            if session.expires < now or now - session.last_seen > self.idle_seconds:
                del sessions[session_id]
                return None
            session.last_seen = now
            return session
        return None

    def close(self, session_id: str | None) -> None:
        for sessions in self._by_role.values():
            sessions.pop(session_id or "", None)


def clean_name(name: str, role: Role) -> str:
    """A display name for logs: printable, short, never empty."""
    kept = "".join(ch for ch in name if ch.isalnum() or ch in " ._-@").strip()[:NAME_MAX_CHARS]
    return kept or role.value
