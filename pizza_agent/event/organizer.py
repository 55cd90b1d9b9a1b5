"""Organizer commands: who may run them, and each command's handler.

The grammar (which words are commands) is commands.py, the pause/force switches controls.py,
the status model status.py and its wording status_text.py. Here: the dispatcher (a table of
command name → handler, the same for chat and the dashboard) and the handlers themselves.
Only addresses in ORGANIZER_ADDRESSES may run them; anyone else gets a polite refusal that
reveals nothing, and a log line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pizza_agent.config.settings import Settings
from pizza_agent.domain.content import StaticContent, StaticContentError
from pizza_agent.domain.reply import Reply, sender_id
from pizza_agent.event.commands import DASHBOARD_COMMANDS, FORCE_LAYERS, Command
from pizza_agent.event.controls import Controls
from pizza_agent.event.front_desk import FrontDesk
from pizza_agent.event.grant_command import GrantCommand
from pizza_agent.event.grants import GrantPolicy
from pizza_agent.event.judging import JudgesDesk
from pizza_agent.event.meals import Meals
from pizza_agent.event.rate_limit import SenderRateLimiter
from pizza_agent.event.reply_times import ReplyTimes
from pizza_agent.event.status import EventStatus, StatusSources
from pizza_agent.event.status_text import status_lines
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.coupons import export_csv
from pizza_agent.ledger.redemption import CodeCheck, CodeState, check_code, when
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.service import LLMService
from pizza_agent.plan.clock import EventClock
from pizza_agent.plan.model import Plan

log = logging.getLogger("pizza.organizer")

Handler = Callable[[str, str], Awaitable[str]]


class Organizer:
    """Runs organizer commands against the event's parts."""

    def __init__(
        self,
        settings: Settings,
        llm: LLMService,
        ledger: LedgerWorker,
        signer: CouponSigner,
        limiter: SenderRateLimiter,
        controls: Controls,
        reply_times: ReplyTimes | None = None,
        replicas: Callable[[], Awaitable[dict[str, object]]] | None = None,
        judges: JudgesDesk | None = None,
        desk: FrontDesk | None = None,
        meals: Meals | None = None,
    ) -> None:
        self.settings = settings
        self.llm = llm
        self.ledger = ledger
        self.signer = signer
        self.controls = controls
        self.addresses = frozenset(settings.organizer_addresses)
        self.desk = desk  # the registration roster's commands (None: a test without one)
        self.meals = meals or Meals(Plan.implicit(settings.agent_name), EventClock(ZoneInfo("UTC")))
        self.policy = GrantPolicy(settings, self.meals.plan)
        self.judges = judges or JudgesDesk(self.policy, ledger, signer)
        # Replicas on one PostgreSQL: who polls the mailbox, who stands by (None: a single agent).
        self.sources = StatusSources(
            settings,
            llm,
            ledger,
            controls,
            limiter,
            self.meals,
            reply_times,
            replicas,
            desk,
            time.time(),
            time.monotonic(),
        )
        # The dispatcher: every command's handler, by name (chat and the dashboard use the same table).
        self.handlers: dict[str, Handler] = {
            "status": self._status,
            "reset": self._reset,
            "pause": self._pause,
            "resume": self._resume,
            "force": self._force,
            "reload": self._reload,
            "lookup": self._lookup,
            "void": self._void,
            "export": self._export,
            "review": lambda sender, args: self.judges.review_text(args, sender),
            "approve": lambda sender, args: self.judges.approve(args, sender),
            "reject": lambda sender, args: self.judges.reject(args, sender),
            "reissue": self._reissue,
            "grant": GrantCommand(self.policy, ledger, signer, self.meals, desk).run,
        }

    @property
    def content(self) -> StaticContent:
        return self.llm.content

    async def run(self, sender: str, command: Command) -> Reply:
        content = self.content
        is_organizer = sender in self.addresses
        if command.name == "help":
            text = self.meals.help(content)
            if is_organizer:
                text += "\n\n" + content.message("organizer_help")
            return Reply(text, "help", intent="help")
        if not is_organizer:
            log.warning("refused organizer command %r from non-organizer sender=%s", command.name, sender_id(sender))
            return Reply(content.message("not_authorized"), "refused", intent=command.name)
        text = await self.handlers[command.name](sender, command.args)
        log.info("organizer=%s ran %s", sender_id(sender), command.name)
        cards = self.judges.cards_shown.pop(sender, ()) if command.name == "review" else ()
        return Reply(text, command.name, intent=command.name, cards=cards)

    def unknown_command(self, text: str) -> Reply:
        word = text.split()[0][:40] if text.split() else ""
        reply = f"Unknown command {word!r}. " + self.content.message("organizer_help")
        return Reply(reply, "unknown_command", intent="command")

    async def run_as(self, organizer_name: str, command: str, args: str = "") -> str:
        """A command from the dashboard: the same handlers as chat, logged with the organizer's name."""
        if command not in DASHBOARD_COMMANDS:
            raise ValueError(f"not a dashboard command: {command}")
        who = f"dashboard:{organizer_name}"
        text = await self.handlers[command](who, args)
        log.warning("organizer=%s ran %s %s", who, command, args.strip())
        return text

    # --- status ------------------------------------------------------------------------
    async def status(self) -> EventStatus:
        return await self.sources.gather()

    async def status_data(self) -> dict[str, object]:
        """`status json`: the model's one JSON shape."""
        return (await self.status()).as_json()

    async def status_text(self) -> str:
        return status_lines(await self.status())

    # --- the commands --------------------------------------------------------------
    async def _status(self, sender: str, args: str) -> str:
        if args.lower() == "json":
            return json.dumps(await self.status_data(), sort_keys=True)
        return await self.status_text()

    async def _reset(self, sender: str, args: str) -> str:
        changes = self.llm.reset()
        done = [f"{name}: " + "; ".join(items) for name, items in changes.items() if items]
        if not done:
            return "Nothing to reset: no failures, cool-downs or rejected keys on OpenAI or ASI1."
        return "Reset. " + " · ".join(done)

    async def _pause(self, sender: str, args: str) -> str:
        await self.controls.pause(args, sender)
        told = args or self.content.message("paused")
        return f"Paused: no prompts, scoring or new coupons until `resume`. Participants are told: {told}"

    async def _resume(self, sender: str, args: str) -> str:
        if await self.controls.resume(sender):
            return "Resumed: prompts, scoring and coupons are back on."
        return "Not paused: nothing to resume."

    async def _force(self, sender: str, args: str) -> str:
        words = args.lower().split()
        if words[:1] == ["off"]:
            await self.controls.force(None, None, sender)
            return "Force off: intent, prompts and replies use OpenAI → ASI1 → static again."
        if not words or words[0] not in FORCE_LAYERS or len(words) > 2:
            return "Usage: force openai|asi1|static [minutes], or force off."
        minutes: float | None = None
        if len(words) == 2:
            try:
                minutes = float(words[1])
            except ValueError:
                minutes = -1
            if not 0 < minutes <= 24 * 60:
                return "Minutes must be a number between 0 and 1440, e.g. force asi1 15."
        layer = words[0]
        await self.controls.force(layer, minutes, sender)
        span = "until `force off`" if minutes is None else f"for {minutes:g} minutes"
        note = ""
        if layer != "static" and not self.llm.status()["providers"][layer]["configured"]:
            note = f" Note: {layer} has no key, so the static layer answers everything."
        return f"Forced {layer} for intent, prompts and replies {span} (scoring still uses ASI1).{note}"

    async def _reload(self, sender: str, args: str) -> str:
        settings = self.settings
        try:
            content = StaticContent.load(settings.static_content_dir)
        except StaticContentError as exc:
            return f"Static content NOT reloaded (the old one stays in use): {exc}"
        self.llm.reload_content(content)
        parts = [f"static content reloaded ({len(content.prompts)} prompts)"]
        if settings.coupon_pool_dir is not None:
            pools = settings.coupon_pool_dir
            added = await self.ledger.write(lambda ledger: ledger.coupons.load_pools(pools))
            self.llm.know_pool_codes(await self.ledger.read(lambda ledger: ledger.coupons.pool_codes()))
            parts.append("vendor pools: " + (", ".join(f"{t} +{n}" for t, n in added.items()) or "no files"))
        log.warning("organizer=%s reloaded: %s", sender_id(sender), "; ".join(parts))
        return "Reloaded: " + "; ".join(parts) + "."

    async def _lookup(self, sender: str, args: str) -> str:
        target = args.strip()
        if not target:
            return "Usage: lookup <participant address, or its last 8+ characters> | lookup <code>"
        if self.desk is not None:
            attendees = await self.desk.lookup(target)
            if attendees is not None:
                return attendees
        ledger = self.ledger
        known = (await ledger.read(lambda ledger: ledger.state.participant_facts(target)))["first_seen"]
        address = target if known else await ledger.read(lambda ledger: ledger.state.find_participant(target))
        if address is None:
            checked = await self._check(target)
            if checked.coupon is None and checked.state is CodeState.INVALID and "-" not in target:
                return f"No participant matches {target!r} (give more of the address, or a code)."
            owner = f" · participant {sender_id(checked.coupon.person)}" if checked.coupon else ""
            return checked.line + owner
        facts = await ledger.read(lambda ledger: ledger.state.participant_facts(address))
        lines = [
            f"participant {sender_id(address)}: first seen {when(facts['first_seen'])}, {facts['prompts']} prompt(s)"
        ]
        if facts["story_waiting_for_yes"]:
            lines.append("a story is waiting for their YES")
        coupons = await ledger.read(lambda ledger: ledger.coupons.coupons_of(address))
        if not coupons:
            lines.append("no coupon yet")
        for coupon in coupons:  # every meal's, oldest first
            meal = f"{self.meals.name_of(coupon.meal)}: " if coupon.meal else ""
            lines.append(meal + (await self._check(coupon.code)).line)
            lines.append(f"score {coupon.score} by {coupon.score_source}, flagged {'yes' if coupon.flagged else 'no'}")
        return "\n".join(lines)

    async def _void(self, sender: str, args: str) -> str:
        code, _, reason = args.strip().partition(" ")
        if not code:
            return "Usage: void <code> [reason]"
        checked = await self._check(code)
        if checked.coupon is None or checked.state is CodeState.INVALID:
            return checked.line
        if checked.state is not CodeState.VALID:
            return f"Not voided: {checked.line}"
        reason = reason.strip() or f"voided by organizer {sender_id(sender)}"
        voiding = checked.coupon.code
        coupon = await self.ledger.write(lambda ledger: ledger.coupons.void(voiding, reason))
        assert coupon is not None
        log.warning(
            "organizer=%s voided %s coupon %s of sender=%s: %s",
            sender_id(sender),
            coupon.tier,
            coupon.code,
            sender_id(coupon.person),
            reason,
        )
        owner = sender_id(coupon.person)
        return f"VOIDED {coupon.tier} coupon {coupon.code} (participant {owner}): it now fails verify and redeem."

    async def _check(self, code: str) -> CodeCheck:
        return await self.ledger.read(lambda ledger: check_code(ledger.coupons, self.signer, code))

    async def _reissue(self, sender: str, args: str) -> str:
        if self.desk is None or not self.desk.people.roster:
            return "reissue is for roster mode (PARTICIPANTS=roster): in address mode there are no badge codes."
        return await self.desk.reissue(args, sender)

    async def _export(self, sender: str, args: str) -> str:
        folder = self.settings.data_dir / "exports"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"coupons-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S-%f')}.csv"
        rows = await self.ledger.read(lambda ledger: export_csv(ledger.coupons, path))
        log.warning("organizer=%s exported %d coupons to %s", sender_id(sender), rows, path)
        return f"Exported {rows} coupon(s) to {path}"
