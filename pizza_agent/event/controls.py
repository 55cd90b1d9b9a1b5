"""Pause and force: an organizer's switches, kept in the ledger so they survive a restart.

Another replica may change them at any time (PostgreSQL notifies every replica); a switch set
while the ledger is away is held in memory and written when it answers again.
"""

from __future__ import annotations

import json
import logging
import time

from pizza_agent.domain.reply import sender_id
from pizza_agent.event.alerts import Alerts
from pizza_agent.ledger.errors import LedgerBusy, LedgerUnreachable
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.service import LLMService

log = logging.getLogger("pizza.organizer")


class Controls:
    """Pause and force: an organizer's switches, kept in the ledger across restarts."""

    def __init__(self, ledger: LedgerWorker, llm: LLMService, alerts: Alerts | None = None) -> None:
        self._ledger = ledger
        self._llm = llm
        self.alerts = alerts or Alerts()
        self.paused: str | None = None  # None: running; "" paused with the default message
        # Switches set while the ledger was away: held here, written when it answers again.
        self._unsaved: dict[str, tuple[str | None, str]] = {}
        self._forced_until: float | None = None  # wall-clock end of the current force, as stored

    @classmethod
    def load(cls, ledger: LedgerWorker, llm: LLMService, alerts: Alerts | None = None) -> Controls:
        """Read the switches at start, before the event loop serves anyone (so directly, not on a thread)."""
        controls = cls(ledger, llm, alerts)
        switches = ledger.ledger.controls
        pause = switches.get("pause")
        if pause is not None:
            controls.paused = json.loads(pause).get("message", "")
            log.warning("the giveaway is paused (since before this start): send `resume` to continue")
        force = switches.get("force")
        if force is not None:
            state = json.loads(force)
            until = state.get("until")
            if until is None or until > time.time():
                llm.force(state["layer"], None if until is None else until - time.time())
                controls._forced_until = until
                log.warning("force %s still on from before this start", state["layer"])
            else:
                switches.set("force", None, "expired")
        return controls

    async def refresh(self) -> None:
        """Read pause and force again from the ledger: another replica may have changed them.

        Called when any replica changes a switch (PostgreSQL notifies every replica:
        replicas/notifications.py), every half minute in case a notification was lost,
        and when this replica takes over the mailbox. Applies and logs only what changed.
        """
        if not await self.save_unsaved():
            return  # what this replica holds is newer than what the ledger says
        pause = await self._ledger.read(lambda ledger: ledger.controls.get("pause"))
        paused = None if pause is None else json.loads(pause).get("message", "")
        force = await self._ledger.read(lambda ledger: ledger.controls.get("force"))
        state = json.loads(force) if force is not None else None
        until = state.get("until") if state else None
        layer = None if state is None or (until is not None and until <= time.time()) else state["layer"]
        pin_changed = layer != self._llm.text_chain.pinned_layer() or (
            layer is not None and until != self._forced_until
        )
        if paused == self.paused and not pin_changed:
            return
        self.paused = paused
        if pin_changed:
            self._forced_until = until
            self._llm.force(layer, None if layer is None or until is None else until - time.time())
        log.warning(
            "controls read from the ledger: %s, %s",
            "paused" if paused is not None else "running",
            f"force {layer}" if layer is not None else "no force",
        )

    async def _set(self, name: str, value: str | None, by: str) -> None:
        self._unsaved[name] = (value, by)
        await self.save_unsaved()

    async def save_unsaved(self) -> bool:
        """Write the switches set while the ledger was away; True when none is left to write."""
        for name, (value, by) in list(self._unsaved.items()):
            try:
                await self._ledger.write(lambda ledger, n=name, v=value, b=by: ledger.controls.set(n, v, b))
            except (LedgerBusy, LedgerUnreachable):
                log.warning("the ledger is away: %s is held in memory and written when it is back", name)
                return False
            self._unsaved.pop(name, None)
        return True

    async def pause(self, message: str, by: str) -> None:
        self.paused = message
        await self._set("pause", json.dumps({"message": message}), by)
        log.warning("paused by organizer=%s: participants are told %r", sender_id(by), message or "(default message)")
        self.alerts.send("paused", f"paused by {sender_id(by)}: no prompts, scoring or coupons until resume")

    async def resume(self, by: str) -> bool:
        was = self.paused is not None
        self.paused = None
        await self._set("pause", None, by)
        if was:
            log.warning("resumed by organizer=%s", sender_id(by))
            self.alerts.send("resumed", f"resumed by {sender_id(by)}: prompts, scoring and coupons are back on")
        return was

    async def force(self, layer: str | None, minutes: float | None, by: str) -> None:
        seconds = None if minutes is None else minutes * 60
        self._llm.force(layer, seconds)
        self._forced_until = None if layer is None or seconds is None else time.time() + seconds
        if layer is None:
            await self._set("force", None, by)
            log.warning("force off by organizer=%s: every layer is used again", sender_id(by))
            return
        until = self._forced_until
        await self._set("force", json.dumps({"layer": layer, "until": until}), by)
        span = "until `force off`" if minutes is None else f"for {minutes:g} min"
        log.warning("force %s by organizer=%s %s", layer, sender_id(by), span)
