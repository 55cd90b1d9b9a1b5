"""Organizer alerts: the things an organizer must hear about, pushed to a Discord, Slack or plain JSON webhook.

`ALERT_WEBHOOK_URL` (off when empty). The format follows the URL
(discord.com / discordapp.com → Discord's `{"content"}`, hooks.slack.com →
Slack's `{"text"}`, anything else → `{"kind", "text", "event", "at"}`);
`ALERT_FORMAT=discord|slack|json` overrides it.

What is sent: the judges' queue has waiting stories (the first at once, then at
most every `ALERT_EVERY_MINUTES`), a tier low or out, pause and resume, a
provider tripped or recovered, the ledger busy or gone. Never a secret, a
coupon code or a full address: participants appear as their short id.

A webhook is somebody else's server: it may be slow or down. Sending never
waits on it — `send()` puts the alert on a bounded queue and returns; one
background task posts them with a time-out. When the queue is full the alert is
dropped and counted (status shows sent, failed and dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
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


def detect_format(url: str, override: str | None = None) -> Format:
    if override in ("discord", "slack", "json"):
        return override  # type: ignore[return-value]
    host = url.split("//", 1)[-1].split("/", 1)[0].lower()
    if host.endswith(("discord.com", "discordapp.com")):
        return "discord"
    if host == "hooks.slack.com":
        return "slack"
    return "json"


def payload(kind: str, text: str, event: str, form: Format) -> dict[str, object]:
    line = f"🍕 {event}: {text}"
    if form == "discord":
        return {"content": line[:1900]}
    if form == "slack":
        return {"text": line}
    return {"kind": kind, "text": text, "event": event, "at": datetime.now(UTC).isoformat(timespec="seconds")}


class Alerts:
    """`send(kind, text)` never waits; `run()` (a resource of the running agent) posts what was sent."""

    def __init__(
        self,
        url: str = "",
        *,
        event: str = "Pizza Agent",
        form: str | None = None,
        every_minutes: float = 10.0,
    ) -> None:
        self.url = url
        self.event = event
        self.form = detect_format(url, form) if url else "json"
        self.every_seconds = every_minutes * 60
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(QUEUE_LIMIT)
        self._last_sent: dict[str, float] = {}
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def send(self, kind: str, text: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if kind in REPEATING:
            last = self._last_sent.get(kind)
            if last is not None and now - last < self.every_seconds:
                return
            self._last_sent[kind] = now
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
        while True:
            kind, text = await self._queue.get()
            try:
                async with http.post(self.url, json=payload(kind, text, self.event, self.form)) as response:
                    if response.status >= 300:
                        raise aiohttp.ClientResponseError(response.request_info, (), status=response.status)
                self.sent += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.failed += 1
                # The URL holds the webhook's secret: never in a log line.
                log.warning("alert %s not delivered (%s): the webhook did not take it", kind, type(exc).__name__)
