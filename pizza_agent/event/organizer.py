"""Organizer commands from chat, and the status an organizer reads at a glance.

Only addresses in ORGANIZER_ADDRESSES may run them; anyone else gets a polite
refusal that reveals nothing, and a log line. A participant's message that
merely starts with a command word ("Pause. The oven hummed...") is not a
command: for non-organizers only a bare command of a few words is.

Pause and force are kept in the ledger, so they survive a restart.

"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pizza_agent.config.settings import Settings
from pizza_agent.domain.content import StaticContent, StaticContentError
from pizza_agent.domain.reply import Reply, sender_id
from pizza_agent.domain.tiers import TIERS
from pizza_agent.event.alerts import Alerts
from pizza_agent.event.front_desk import FrontDesk
from pizza_agent.event.grant_command import GrantCommand
from pizza_agent.event.grants import GrantPolicy
from pizza_agent.event.judging import JudgesDesk
from pizza_agent.event.meals import Meals
from pizza_agent.event.rate_limit import SenderRateLimiter
from pizza_agent.event.reply_times import ReplyTimes
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.coupons import export_csv
from pizza_agent.ledger.errors import LedgerBusy, LedgerUnreachable
from pizza_agent.ledger.redemption import CodeCheck, CodeState, check_code, when
from pizza_agent.ledger.worker import LedgerWorker
from pizza_agent.llm.service import LLMService
from pizza_agent.plan.clock import EventClock
from pizza_agent.plan.model import Meal, Plan

log = logging.getLogger("pizza.organizer")

COMMANDS = (
    "help",
    "status",
    "reset",
    "pause",
    "resume",
    "force",
    "reload",
    "lookup",
    "void",
    "export",
    "review",
    "approve",
    "reject",
    "reissue",
    "grant",
)
# A non-organizer's message is only taken for a command (and refused) when it is this short.
MAX_WORDS_OF_A_STRAY_COMMAND = 3
FORCE_LAYERS = ("openai", "asi1", "static")


@dataclass(frozen=True)
class Command:
    name: str
    args: str = ""


def parse_command(text: str, *, is_organizer: bool) -> Command | None:
    words = text.split()
    if not words:
        return None
    name = words[0].lower().lstrip("/")
    if name not in COMMANDS:
        return None
    if not is_organizer and len(words) > MAX_WORDS_OF_A_STRAY_COMMAND:
        return None  # a participant's sentence that starts with a command word
    return Command(name, text.split(None, 1)[1].strip() if len(words) > 1 else "")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


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


# What the dashboard may run (the rest are chat-only or read-only).
DASHBOARD_COMMANDS = frozenset({"pause", "resume", "force", "reload", "void", "reset", "approve", "reject"})


class Organizer:
    """Runs organizer commands against the event's parts; builds status."""

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
        self.limiter = limiter
        self.controls = controls
        self.addresses = frozenset(settings.organizer_addresses)
        self.started_at = time.time()
        self._started_mono = time.monotonic()
        self.reply_times = reply_times
        # Replicas on one PostgreSQL: who polls the mailbox, who stands by (None: a single agent).
        self.replicas = replicas
        self.desk = desk  # the registration roster's commands (None: a test without one)
        self.meals = meals or Meals(Plan.implicit(settings.agent_name), EventClock(ZoneInfo("UTC")))
        self.policy = GrantPolicy(settings, self.meals.plan)
        self.judges = judges or JudgesDesk(self.policy, ledger, signer)
        # Commands handled by a room of their own (the name -> its handler).
        self._delegated = {"grant": GrantCommand(self.policy, ledger, signer, self.meals, desk).run}

    @property
    def content(self) -> StaticContent:
        return self.llm.content

    async def run(self, sender: str, command: Command) -> Reply:
        content = self.content
        is_organizer = sender in self.addresses
        if command.name == "help":
            text = content.message("help")
            if is_organizer:
                text += "\n\n" + content.message("organizer_help")
            return Reply(text, "help", intent="help")
        if not is_organizer:
            log.warning("refused organizer command %r from non-organizer sender=%s", command.name, sender_id(sender))
            return Reply(content.message("not_authorized"), "refused", intent=command.name)
        handler = self._delegated.get(command.name) or getattr(self, f"_{command.name}")
        text = await handler(sender, command.args)
        log.info("organizer=%s ran %s", sender_id(sender), command.name)
        return Reply(text, command.name, intent=command.name)

    def unknown_command(self, text: str) -> Reply:
        word = text.split()[0][:40] if text.split() else ""
        reply = f"Unknown command {word!r}. " + self.content.message("organizer_help")
        return Reply(reply, "unknown_command", intent="command")

    async def run_as(self, organizer_name: str, command: str, args: str = "") -> str:
        """A command from the dashboard: the same handlers as chat, logged with the organizer's name."""
        if command not in DASHBOARD_COMMANDS:
            raise ValueError(f"not a dashboard command: {command}")
        who = f"dashboard:{organizer_name}"
        text = await getattr(self, f"_{command}")(who, args)
        log.warning("organizer=%s ran %s %s", who, command, args.strip())
        return text

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
        if layer != "static" and not self.llm.status()["providers"][layer]["configured"]:  # type: ignore[index]
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
        ]  # type: ignore[arg-type]
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

    async def _review(self, sender: str, args: str) -> str:
        return await self.judges.review_text(args, sender)

    async def _approve(self, sender: str, args: str) -> str:
        return await self.judges.approve(args, sender)

    async def _reject(self, sender: str, args: str) -> str:
        return await self.judges.reject(args, sender)

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

    # --- status ----------------------------------------------------------------------
    async def status_data(self) -> dict[str, object]:
        llm = self.llm.status()
        caps = self.settings.tier_caps
        try:
            stats = await self.ledger.read(lambda ledger: ledger.coupons.stats(caps))
            stats["ledger_file_ok"] = await self.ledger.read(lambda ledger: ledger.identity_ok())
            stats["reachable"] = True
        except (LedgerBusy, LedgerUnreachable):
            stats = unreachable_stats()
        return {
            **llm,
            "verdict": self._verdict(llm, stats),
            "started_at": datetime.fromtimestamp(self.started_at, UTC).isoformat(timespec="seconds"),
            "uptime_seconds": round(time.monotonic() - self._started_mono, 1),
            "paused": self.controls.paused is not None,
            "pause_message": self.controls.paused,
            "ledger": stats,
            "replies": self.reply_times.summary() if self.reply_times else None,
            "replicas": await self.replicas() if self.replicas else None,
            "alerts": self.controls.alerts.status(),
            "people": await self._people(),
            "plan": self._plan(),
            "scoring_note": self.settings.heuristic_note if llm["serving"]["score"] == "heuristic" else None,
            "orders": await self._orders(),
            "rate_limit": {
                "refused": self.limiter.refused,
                "dropped": self.limiter.dropped,
                "senders_limited": self.limiter.limited_senders(),
            },
        }

    def _plan(self) -> dict[str, object] | None:
        """Now and next (EVENT_PLAN); None without a plan."""
        if not self.meals.planned:
            return None
        serving = self.meals.serving()

        def meal(m: Meal | None) -> dict[str, object] | None:
            if m is None or m.starts is None or m.ends is None:
                return None
            return {"id": m.id, "name": m.name, "starts": m.starts.isoformat(), "ends": m.ends.isoformat()}

        return {
            "name": self.meals.plan.name,
            "timezone": self.meals.plan.zone.key,
            "now": serving.now.isoformat(timespec="seconds"),
            "serving": meal(serving.meal),
            "next": meal(serving.next),
            "meals": [meal(m) for m in self.meals.plan.meals],
        }

    async def _orders(self) -> dict[str, object]:
        """The vendor's numbers: meal id -> tier -> diet -> coupons (live)."""
        try:
            return await self.ledger.read(lambda ledger: ledger.coupons.orders())
        except (LedgerBusy, LedgerUnreachable):
            return {}

    async def _people(self) -> dict[str, object] | None:
        if self.desk is None:
            return None
        try:
            return await self.desk.status()
        except (LedgerBusy, LedgerUnreachable):
            return None

    def _verdict(self, llm: dict[str, object], stats: dict[str, object]) -> str:
        if not stats["reachable"]:
            return "serving everyone: no — the ledger is unreachable: participants are told to send again in a minute"
        if self.controls.paused is not None:
            told = self.controls.paused or self.content.message("paused")
            return f"serving everyone: paused — participants are told: {told}"
        if not stats["ledger_file_ok"]:
            return "serving everyone: no — the ledger file was deleted or replaced; restore it and restart the agent"
        left = stats["left"]
        if all(left[t] == 0 for t in TIERS):  # type: ignore[index]
            return "serving everyone: no — every coupon tier has run out (add codes, then `reload`)"
        serving = llm["serving"]
        names = {"openai": "OpenAI", "asi1": "ASI1", "static": "static rules", "heuristic": "the local heuristic"}
        text = f"intent/prompt/reply via {names[serving['text']]}, scoring via {names[serving['score']]}"  # type: ignore[index]
        if llm["forced"]:
            text += f" (forced {llm['forced']})"
        return f"serving everyone: yes — {text}"

    async def status_text(self) -> str:
        """`status_data()` for people: a verdict first, then one line per concern."""
        s = await self.status_data()
        stats, limits = s["ledger"], s["rate_limit"]
        started = datetime.fromisoformat(str(s["started_at"])).strftime("%Y-%m-%d %H:%M UTC")
        lines = [str(s["verdict"]), f"up {_duration(float(s['uptime_seconds']))} (since {started})"]  # type: ignore[arg-type]
        for name, health in s["providers"].items():  # type: ignore[union-attr]
            lines.append(f"{name}: {_provider_line(health, s['spend'].get(name))}")  # type: ignore[union-attr]
        hedges = s["hedges"]
        lines.append(
            "hedges: "
            + " · ".join(
                f"{chain} {h['silent'] + h['speculative']} of {h['calls']} calls ({h['rate']:.1%}; "
                f"silent {h['silent']}, slow {h['speculative']}, capped {h['declined']}, won {h['won']})"
                for chain, h in hedges.items()  # type: ignore[union-attr]
            )
        )
        if s["forced"]:
            left = s["forced_seconds_left"]
            lines.append(
                f"forced: {s['forced']} " + ("until `force off`" if left is None else f"for {_duration(left)} more")
            )  # type: ignore[arg-type]
        coupons = []
        for tier in TIERS:
            issued, left = stats["coupons_issued"][tier], stats["left"][tier]  # type: ignore[index]
            coupons.append(f"{tier} {issued} issued" + ("" if left is None else f", {left} left"))
        lines.append("coupons: " + " · ".join(coupons))
        lines.append(
            f"participants {stats['participants']} · redeemed {stats['coupons_redeemed']} · "  # type: ignore[index]
            f"voided {stats['coupons_voided']} · flagged stories {stats['flagged']} · "  # type: ignore[index]
            f"waiting for the judges {stats['reviews_waiting']}{_messages_owed(stats)}"  # type: ignore[index]
        )
        people = s.get("people")
        if people:
            lines.append(_people_line(people))  # type: ignore[arg-type]
        if s.get("plan"):
            lines.append(_plan_line(s["plan"], s["orders"]))  # type: ignore[arg-type]
        lines.append(
            f"rate-limited messages {limits['refused']} (dropped {limits['dropped']}) · "  # type: ignore[index]
            f"senders limited now {limits['senders_limited']}"  # type: ignore[index]
        )
        calls = " · ".join(
            f"{name} {c['in_flight']}/{c['cap']} (turned away {c['turned_away']})"
            for name, c in s["llm_calls"].items()  # type: ignore[union-attr]
        )
        lines.append(f"LLM calls in flight: {calls}")
        replicas = s.get("replicas")
        if replicas:
            peers = ", ".join(
                f"{p['name']} ({p['role']}, seen {p['seen_seconds_ago']}s ago)" for p in replicas["peers"]
            )  # type: ignore[index]
            lines.append(
                f"replicas: this is {replicas['this']} ({replicas['role']}); {replicas['doing']}: "  # type: ignore[index]
                f"{replicas['active'] or 'nobody right now'}; seen: {peers or '-'}"
            )  # type: ignore[index]
        usage = ", ".join(f"{k}={v}" for k, v in s["layer_usage"].items()) or "none yet"  # type: ignore[union-attr]
        lines.append(f"layers used: {usage}")
        if s.get("scoring_note"):
            lines.append(f"NOTE: {s['scoring_note']}")
        return "\n".join(lines)


def _plan_line(plan: dict, orders: dict) -> str:
    def at(meal: dict) -> str:
        return datetime.fromisoformat(meal["starts"]).strftime("%a %H:%M")

    serving, upcoming = plan["serving"], plan["next"]
    now = f"now {serving['name']} (until {datetime.fromisoformat(serving['ends']):%H:%M})" if serving else "no meal now"
    line = f"plan {plan['name']}: {now} · " + (
        f"next {upcoming['name']} at {at(upcoming)}" if upcoming else "no meal after"
    )
    if serving:
        counts = orders.get(serving["id"], {})
        kinds = " · ".join(
            f"{tier}: " + ", ".join(f"{n} {diet}" for diet, n in sorted(diets.items()))
            for tier, diets in sorted(counts.items())
        )
        line += f"\norders for {serving['name']}: {kinds or 'none yet'}"
    return line


def _people_line(people: dict) -> str:
    if people["mode"] == "roster":
        line = (
            f"people: roster mode · {people['claimed']} of {people['attendees']} attendees claimed their badge · "
            f"wrong claim codes {people['wrong_codes_refused']}"
        )
    else:
        line = "people: address mode (one coupon per sender address)"
    shared = people["shared_senders"]
    if shared:
        senders = ", ".join(f"{s['sender']} ({s['sessions']} chat sessions)" for s in shared[:5])
        line += f"\nWARNING: participants may be sharing one address: stories from {senders}; " + (
            "consider PARTICIPANTS=roster" if people["mode"] == "address" else "roster mode tells them apart"
        )
    return line


def unreachable_stats() -> dict[str, object]:
    """What status shows while the ledger does not answer: nothing it would have to make up."""
    unknown: dict[str, object] = {tier: None for tier in TIERS}
    return {
        "reachable": False,
        "ledger_file_ok": True,
        "left": unknown,
        "coupons_issued": {tier: 0 for tier in TIERS},
        "coupons_redeemed_by_tier": {},
        "coupons_redeemed": 0,
        "coupons_voided": 0,
        "participants": 0,
        "flagged": 0,
        "rescore_waiting": 0,
        "reviews_waiting": 0,
        "pool_left": {},
    }


def _messages_owed(stats: dict[str, object]) -> str:
    """New codes owed to people (approvals, upgrades, grants): said only while some are not delivered yet."""
    waiting, failed = stats.get("messages_waiting", 0), stats.get("messages_not_delivered", 0)
    if not waiting and not failed:
        return ""
    undelivered = f", {failed} NOT DELIVERED (`review` lists them: tell them at the table)" if failed else ""
    return f" · new codes owed: {waiting} being sent{undelivered}"


def _provider_line(health: dict, spend: dict | None = None) -> str:
    state = health["state"]
    if state == "off":
        if not health["configured"]:
            return "off (no key)"
        if str(health["unavailable_reason"]).startswith("budget spent"):
            return f"off — {health['unavailable_reason']}; raise {health['name'].upper()}_BUDGET_USD and restart"
        return f"off — {health['unavailable_reason']}; fix the key, then send `reset`"
    parts = [state]
    if state == "cooling down":
        parts[0] = f"cooling down {health['cooldown_seconds']}s after a 429"
    elif state == "skipped" and health["seconds_until_probe"] is not None:
        parts[0] = f"skipped after {health['failures']} failures, next probe in {health['seconds_until_probe']}s"
    parts.append(f"failures {health['failures']}/{health['threshold']}")
    parts.append(f"calls {health['calls']} ok {health['successes']}")
    if health["p50_latency_ms"] is not None:
        parts.append(f"p50 {health['p50_latency_ms']:.0f} ms p95 {health['p95_latency_ms']:.0f} ms")
    if spend:
        budget = f" of ${spend['budget_usd']:.2f}" if "budget_usd" in spend else ""
        parts.append(
            f"spent ${spend['cost_usd']:.4f}{budget} ({spend['prompt_tokens']}+{spend['completion_tokens']} tokens)"
        )
    if health["last_error"]:
        parts.append(f"last error {health['last_error']} ({_duration(health['last_error_seconds_ago'])} ago)")
    return " · ".join(parts)
