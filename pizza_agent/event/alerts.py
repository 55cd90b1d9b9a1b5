"""Organizer alerts: the things an organizer must hear about, pushed to a Discord, Slack or plain JSON webhook.

`ALERT_WEBHOOK_URL` (off when empty). The format follows the URL
(discord.com / discordapp.com → Discord's `{"content"}`, hooks.slack.com →
Slack's `{"text"}`, anything else → `{"kind", "text", "event", "at"}`);
`ALERT_FORMAT=discord|slack|json` overrides it.

What is sent: the judges' queue has waiting stories (the first at once, then at
most every `ALERT_EVERY_MINUTES`), a tier low or out, pause and resume, a
provider tripped or recovered, the ledger busy or gone, a badge code presented
from a second address, one sender in many chat sessions. Never a secret, a
coupon code or a full address: participants appear as their short id.

Every kind is rate-limited, so nobody outside can flood the organizers' channel
(30 throw-away addresses presenting one stolen badge code): the repeating kinds
once per `ALERT_EVERY_MINUTES`, every other kind `ALERTS_PER_WINDOW` times in
that window. What is held back is counted (status: `held_back`) and said in the
next alert of that kind, or in a summary when the window has room again:
"… and 29 more in the last 10 min".

Alert text holds what attendees chose (a registration name such as `@everyone`
or `[link](https://…)`). All of it is our plain text, so the whole line is
escaped for its destination when the payload is built: Discord gets mentions
broken by a zero-width space after `@`, markdown characters backslash-escaped,
`allowed_mentions` empty (nobody is pinged) and link previews suppressed; Slack
gets `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;` (its documented rule: mentions
and links are written inside `<…>`); a JSON webhook gets the text raw, as data.

A webhook is somebody else's server: it may be slow or down. Sending never
waits on it — `send()` puts the alert on a bounded queue and returns; one
background task posts them with a time-out. When the queue is full the alert is
dropped and counted (status shows sent, failed and dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import aiohttp

log = logging.getLogger("pizza.alerts")

# Alerts waiting to be posted; more are dropped (and counted) rather than held in memory.
QUEUE_LIMIT = 100
POST_TIMEOUT_SECONDS = 5.0
Format = Literal["discord", "slack", "json"]
# Kinds that repeat (a busy ledger, a waiting queue): sent at most once per ALERT_EVERY_MINUTES each.
REPEATING = frozenset({"review_waiting", "ledger_busy"})
# Every other kind: at most this many per ALERT_EVERY_MINUTES (pause and resume, a flapping provider
# fit; a stolen badge code presented from 30 addresses does not).
ALERTS_PER_WINDOW = 3
# How often, at most, the poster looks for held-back alerts to sum up when nothing else is sent.
SUMMARY_TICK_SECONDS = 5.0
DISCORD_LIMIT = 2000  # characters of a message's content
DISCORD_SUPPRESS_EMBEDS = 1 << 2  # a message flag: no link previews of a URL someone put in their name
# Discord markdown: a backslash before any ASCII punctuation shows that character as it is, so
# escaping more than is needed never changes what is read. These start formatting, quotes, masked
# links, spoilers, code, headings and mentions (<@…>, <#…>, <t:…>, custom emoji <:…:…>).
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|<>\[\]()#])")
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")  # and every other control character


def detect_format(url: str, override: str | None = None) -> Format:
    if override in ("discord", "slack", "json"):
        return override  # type: ignore[return-value]
    host = url.split("//", 1)[-1].split("/", 1)[0].lower()
    if host.endswith(("discord.com", "discordapp.com")):
        return "discord"
    if host == "hooks.slack.com":
        return "slack"
    return "json"


def discord_text(line: str) -> str:
    """One line Discord shows as written: no markdown, no mention (a zero-width space after each `@`).

    Hand-written: no maintained Python library escapes Discord's markdown (discord.py's
    `utils.escape_markdown` would bring the whole client for one function). Line breaks become
    spaces, so an attendee's text can never start a heading, a list or a quote on a line of its own.
    """
    line = _LINE_BREAKS.sub(" ", line)
    escaped = _DISCORD_MARKDOWN.sub(r"\\\1", line).replace("@", "@\u200b")
    if len(escaped) > DISCORD_LIMIT:
        escaped = escaped[: DISCORD_LIMIT - 1]
        trailing = len(escaped) - len(escaped.rstrip("\\"))
        escaped = escaped[: len(escaped) - trailing % 2] + "…"  # never a backslash escaping the ellipsis
    return escaped


def slack_text(line: str) -> str:
    """Slack's rule: `&`, `<` and `>` (its control characters) as HTML entities, and nothing else."""
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(kind: str, text: str, event: str, form: Format) -> dict[str, object]:
    line = f"🍕 {event}: {text}"
    if form == "discord":
        return {
            "content": discord_text(line),
            "allowed_mentions": {"parse": []},
            "flags": DISCORD_SUPPRESS_EMBEDS,
        }
    if form == "slack":
        return {"text": slack_text(line)}
    return {"kind": kind, "text": text, "event": event, "at": datetime.now(UTC).isoformat(timespec="seconds")}


def _span(seconds: float) -> str:
    return f"{math.ceil(seconds / 60 - 1e-9)} min" if seconds >= 60 else f"{max(1, math.ceil(seconds - 1e-9))} s"


@dataclass
class _KindLimit:
    """One kind's window: when it was last sent, and what was held back since."""

    sent_at: deque[float] = field(default_factory=deque)
    held: int = 0
    held_since: float = 0.0
    latest_held: str = ""

    def admits(self, now: float, window: float, limit: int) -> bool:
        while self.sent_at and now - self.sent_at[0] >= window:
            self.sent_at.popleft()
        return len(self.sent_at) < limit

    def hold(self, now: float, text: str) -> None:
        if not self.held:
            self.held_since = now
        self.held += 1
        self.latest_held = text

    def note(self, now: float, shown: int = 0) -> str:
        """What was held back (less the `shown` one) as "… and N more in the last M min"; then forgotten."""
        more = self.held - shown
        text = f" … and {more} more in the last {_span(now - self.held_since)}" if more > 0 else ""
        self.held = 0
        return text


class Alerts:
    """`send(kind, text)` never waits; `run()` (a resource of the running agent) posts what was sent."""

    def __init__(
        self,
        url: str = "",
        *,
        event: str = "Pizza Agent",
        form: str | None = None,
        every_minutes: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.event = event
        self.form = detect_format(url, form) if url else "json"
        self.every_seconds = every_minutes * 60
        self.clock = clock
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(QUEUE_LIMIT)
        self._limits: dict[str, _KindLimit] = {}
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.held_back = 0  # alerts over their kind's limit: counted, and summed up later

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def send(self, kind: str, text: str) -> None:
        """Queued if its kind is under its limit (with what was held back said after it); else held back."""
        if not self.enabled:
            return
        now = self.clock()
        limit = self._limits.setdefault(kind, _KindLimit())
        if not limit.admits(now, self.every_seconds, self._per_window(kind)):
            limit.hold(now, text)
            self.held_back += 1
            return
        limit.sent_at.append(now)
        self._enqueue(kind, text + limit.note(now))

    def flush(self) -> None:
        """Sums up each kind's held-back alerts once its window has room again (the poster calls this)."""
        now = self.clock()
        for kind, limit in self._limits.items():
            if limit.held and limit.admits(now, self.every_seconds, self._per_window(kind)):
                limit.sent_at.append(now)
                latest = limit.latest_held
                self._enqueue(kind, latest + limit.note(now, shown=1))

    @staticmethod
    def _per_window(kind: str) -> int:
        return 1 if kind in REPEATING else ALERTS_PER_WINDOW

    def _enqueue(self, kind: str, text: str) -> None:
        try:
            self._queue.put_nowait((kind, text))
        except asyncio.QueueFull:
            self.dropped += 1

    def status(self) -> dict[str, object]:
        return {
            "enabled": self.enabled,
            "format": self.form if self.enabled else None,
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
            "held_back": self.held_back,
            "waiting": self._queue.qsize(),
        }

    async def run(self) -> AsyncIterator[None]:
        """The poster, as a resource: started with the agent, stopped (what is left dropped) at shutdown."""
        if not self.enabled:
            yield
            return
        timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            task = asyncio.get_running_loop().create_task(self._post_forever(http))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _post_forever(self, http: aiohttp.ClientSession) -> None:
        tick = max(0.05, min(SUMMARY_TICK_SECONDS, self.every_seconds / 4))
        while True:
            self.flush()
            try:
                kind, text = await asyncio.wait_for(self._queue.get(), tick)
            except TimeoutError:
                continue
            try:
                async with http.post(self.url, json=payload(kind, text, self.event, self.form)) as response:
                    if response.status >= 300:
                        raise aiohttp.ClientResponseError(response.request_info, (), status=response.status)
                self.sent += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.failed += 1
                # The URL holds the webhook's secret: never in a log line.
                log.warning("alert %s not delivered (%s): the webhook did not take it", kind, type(exc).__name__)
