"""What the agent says to one message: prompt, story → score → tier → coupon, or a command.

Independent of uAgents: it takes a sender address and text and returns a
`Reply`, so the whole conversation is testable without a network, and the
agent module only adds transport.

Participants are keyed on the sender's agent address (authenticated by the
envelope signature), never on the chat session.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import unicodedata
import weakref
from dataclasses import dataclass, field

from pizza_agent.config.settings import Settings
from pizza_agent.event.rate_limit import Admit, SenderRateLimiter
from pizza_agent.ledger.codes import CouponSigner
from pizza_agent.ledger.store import Coupon, Issuance, Ledger
from pizza_agent.llm.service import LLMService
from pizza_agent.llm.static_layer import StaticContent

log = logging.getLogger("pizza.conversation")

ORGANIZER_COMMANDS = ("status", "status json", "reset", "help")
# Kept back from REPLY_DEADLINE for signing and sending the reply.
REPLY_SEND_MARGIN_SECONDS = 0.2


@dataclass
class Reply:
    text: str
    outcome: str
    end_session: bool = False
    intent: str = "-"
    layers: dict[str, str] = field(default_factory=dict)
    code: str | None = None


def clean_text(text: str) -> str:
    """Text safe to store and show: valid UTF-8, NFC, no control characters but newlines and tabs."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").strip()


def tier_for(score: int, settings: Settings) -> str:
    if score >= settings.tier_premium_min:
        return "premium"
    if score >= settings.tier_standard_min:
        return "standard"
    return "basic"


class Conversation:
    def __init__(
        self,
        settings: Settings,
        llm: LLMService,
        ledger: Ledger,
        signer: CouponSigner,
        limiter: SenderRateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.llm = llm
        self.ledger = ledger
        self.signer = signer
        self.content: StaticContent = llm.content
        self.organizers = frozenset(settings.organizer_addresses)
        self.limiter = limiter or SenderRateLimiter(settings.sender_rate_limit, settings.sender_rate_window)
        # Weak: a participant's lock lives only while one of their messages holds it.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock_for(self, address: str) -> asyncio.Lock:
        lock = self._locks.get(address)
        if lock is None:
            lock = self._locks[address] = asyncio.Lock()
        return lock

    def admit(self, sender: str) -> Admit:
        """Rate limit before any work (organizers exempt): OK, SLOW_DOWN once, then DROP."""
        if sender in self.organizers:
            return Admit.OK
        decision = self.limiter.check(sender)
        if decision is Admit.SLOW_DOWN:
            log.warning("rate limited sender=%s (more than %d messages)", sender[-8:], self.limiter.limit)
        return decision

    def slow_down(self) -> Reply:
        return Reply(self.content.message("slow_down"), "rate_limited")

    async def handle(self, sender: str, raw_text: str) -> Reply:
        text = clean_text(raw_text)
        command = text.lower().lstrip("/").strip()
        if command in ORGANIZER_COMMANDS:
            return self._command(sender, command)
        if not text:
            return Reply(self.content.message("empty"), "empty")
        self.ledger.touch(sender)
        # One message per participant at a time: two stories in flight give one coupon.
        async with self._lock_for(sender):
            return await self._converse(sender, text)

    async def _converse(self, sender: str, text: str) -> Reply:
        # One deadline for the whole message: intent, score and reply share REPLY_DEADLINE.
        deadline = asyncio.get_running_loop().time() + self.settings.reply_deadline - REPLY_SEND_MARGIN_SECONDS
        coupon = self.ledger.coupon_for(sender)
        if coupon is not None:
            return self._already(coupon)
        if len(text) > self.settings.story_max_chars:
            message = self.content.message("story_too_long", max_chars=self.settings.story_max_chars, length=len(text))
            return Reply(message, "story_too_long", intent="story")
        intent = await self.llm.understand_intent(text, deadline)
        layers = {"intent": intent.layer}
        kind = intent.value.kind
        if kind == "help":
            return Reply(self.content.message("help"), "help", intent=kind, layers=layers)
        if kind == "story" or len(text) >= self.settings.story_min_chars * 2:
            return await self._story(sender, text, layers, deadline)
        return await self._prompt(sender, kind, layers, deadline)

    async def _prompt(self, sender: str, kind: str, layers: dict[str, str], deadline: float) -> Reply:
        given = set(self.ledger.prompts_for(sender))
        prompt = await self.llm.generate_prompt(given, deadline)
        self.ledger.record_prompt(sender, prompt.value, prompt.layer)
        layers["prompt"] = prompt.layer
        return Reply(self.content.message("prompt_intro", prompt=prompt.value), "prompt", intent=kind, layers=layers)

    async def _story(self, sender: str, story: str, layers: dict[str, str], deadline: float) -> Reply:
        if len(story) < self.settings.story_min_chars:
            message = self.content.message(
                "story_too_short", min_chars=self.settings.story_min_chars, length=len(story)
            )
            return Reply(message, "story_too_short", intent="story", layers=layers)
        scored = await self.llm.score_story(story, deadline)
        layers["score"] = scored.layer
        score = scored.value
        request = Issuance(
            address=sender,
            tier=tier_for(score.score, self.settings),
            score=score.score,
            score_source=score.source,
            reason=score.reason,
            prompt=self.ledger.last_prompt(sender),
            story_hash=hashlib.sha256(story.encode()).hexdigest(),
            flagged=score.flagged,
        )
        coupon = self.ledger.issue(request, self.signer.new_code, fall_down=self.settings.tier_fallback_down)
        if coupon is None:
            log.warning("coupon pools exhausted for tier=%s sender=%s", request.tier, sender[-8:])
            return Reply(self.content.message("tier_exhausted"), "pool_exhausted", intent="story", layers=layers)
        reply = await self.llm.generate_reply(story, coupon.score, coupon.tier, coupon.code, deadline)
        layers["reply"] = reply.layer
        return Reply(reply.value, "coupon", end_session=True, intent="story", layers=layers, code=coupon.code)

    def _already(self, coupon: Coupon) -> Reply:
        text = self.content.message("already_has_coupon", code=coupon.code, tier=coupon.tier)
        return Reply(text, "repeat_coupon", end_session=True, code=coupon.code)

    # --- organizer commands ------------------------------------------------------
    def _command(self, sender: str, command: str) -> Reply:
        is_organizer = sender in self.organizers
        if command == "help":
            text = self.content.message("help")
            if is_organizer:
                text += "\n\n" + self.content.message("organizer_help")
            return Reply(text, "help", intent="help")
        if not is_organizer:
            log.warning("refused organizer command %r from non-organizer sender=%s", command, sender[-8:])
            return Reply(self.content.message("not_authorized"), "refused", intent=command)
        if command == "reset":
            before = self.llm.status()["failures"]
            self.llm.reset_openai()
            log.info("organizer sender=%s reset the OpenAI failure counter (was %s)", sender[-8:], before)
            return Reply(
                f"OpenAI failure counter reset (was {before}); rejected keys re-enabled.", "reset", intent=command
            )
        if command == "status json":  # for scripts (the drill samples it): the same facts, machine-readable
            return Reply(json.dumps(self.status_data(), sort_keys=True), "status", intent="status")
        return Reply(self.status_text(), "status", intent=command)

    def status_data(self) -> dict[str, object]:
        return {
            **self.llm.status(),
            "ledger": self.ledger.stats(),
            "rate_limit": {"refused": self.limiter.refused, "senders_limited": self.limiter.limited_senders()},
        }

    def status_text(self) -> str:
        """`status_data()` for people: the same facts, one line per concern."""
        status = self.status_data()
        stats, limits = status["ledger"], status["rate_limit"]
        lines = ["Pizza Agent status"]
        for name, health in status["providers"].items():  # type: ignore[union-attr]
            parts = [f"{health['status']}", f"failures {health['failures']}/{health['threshold']}"]
            if not health["client_available"]:
                parts.append(f"off: {health['unavailable_reason']}")
            if health["cooldown_seconds"]:
                parts.append(f"cooling down {health['cooldown_seconds']}s")
            if health["seconds_until_probe"] is not None:
                parts.append(f"next probe in {health['seconds_until_probe']}s")
            parts.append(f"calls {health['calls']} ok {health['successes']}")
            if health["avg_latency_ms"] is not None:
                parts.append(f"avg {health['avg_latency_ms']} ms")
            if health["last_error"]:
                parts.append(f"last error {health['last_error']}")
            lines.append(f"{name}: " + " · ".join(parts))
        lines.append(
            f"OpenAI (seed fields): failures={status['failures']} status={status['status']} "
            f"using_fallback={status['using_fallback']} client_available={status['client_available']}"
        )
        calls = " · ".join(
            f"{name} {c['in_flight']}/{c['cap']} (turned away {c['turned_away']})"
            for name, c in status["llm_calls"].items()  # type: ignore[union-attr]
        )
        lines.append(f"LLM calls in flight: {calls}")
        lines.append(
            f"rate-limited messages {limits['refused']} · senders limited now {limits['senders_limited']}"  # type: ignore[index]
        )
        usage = ", ".join(f"{k}={v}" for k, v in status["layer_usage"].items()) or "none yet"  # type: ignore[union-attr]
        lines.append(f"layers used: {usage}")
        issued = ", ".join(f"{tier} {n}" for tier, n in stats["coupons_issued"].items())  # type: ignore[union-attr]
        lines.append(
            f"participants {stats['participants']} · coupons issued: {issued} · redeemed {stats['coupons_redeemed']}"
        )
        if stats["pool_left"]:
            left = ", ".join(f"{tier} {n}" for tier, n in stats["pool_left"].items())  # type: ignore[union-attr]
            lines.append(f"vendor codes left: {left}")
        return "\n".join(lines)
