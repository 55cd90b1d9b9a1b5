"""Wires settings into providers, health records and the two fallback chains.

- `text_chain`: OpenAI → ASI1 → static, for intent, prompts and replies.
- `score_chain`: ASI1 → heuristic, for scoring (the seed: scoring always uses ASI1).

ASI1 has one health record shared by both chains: a dead ASI1 is dead for both.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

from pizza_agent.config.settings import Settings
from pizza_agent.domain.content import StaticContent
from pizza_agent.domain.scores import Intent, StoryScore
from pizza_agent.llm.fallback import (
    ChainResult,
    ChatProvider,
    FallbackChain,
    HedgePolicy,
    LLMGate,
    ProviderLayer,
    RetryPolicy,
)
from pizza_agent.llm.health import ProviderHealth
from pizza_agent.llm.injection_guard import inspect_story, remove_quotes
from pizza_agent.llm.reply_check import ReplyCheck
from pizza_agent.llm.tasks import DetectTask, IntentTask, PromptTask, ReplyDraftTask, ReplyTask, ScoreTask
from pizza_agent.llm.usage import Price, Spend

log = logging.getLogger("pizza.llm")
# A cleaned story with fewer words than this has nothing left to judge.
MIN_WORDS_LEFT = 5


class _Unconfigured:
    """Stands in for a provider with no key: its health never admits a request."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def complete(self, messages: object, *, model: str, timeout: float, **options: object) -> str:
        raise AssertionError(f"{self.name} has no key and must never be called")

    async def list_models(self, *, timeout: float) -> list[str]:
        raise AssertionError(f"{self.name} has no key and must never be called")

    async def aclose(self) -> None:
        return None


def make_provider(name: str, settings: Settings) -> ChatProvider:
    """The provider for `name` (openai or asi1) from its settings; one that refuses every call without a key."""
    key = getattr(settings, f"{name}_api_key").get_secret_value()
    if not key:
        return _Unconfigured(name)
    if name == "openai":
        from pizza_agent.llm.openai_provider import OpenAIProvider  # late: the SDK costs 0.6 s to import

        return OpenAIProvider(key, settings.openai_base_url)
    from pizza_agent.llm.asi1_provider import ASI1Client

    return ASI1Client(key, settings.asi1_base_url)


def _make_layer(name: str, settings: Settings, clock: Callable[[], float] | None) -> ProviderLayer:
    """One provider's layer from its `<name>_*` settings: the same recipe for OpenAI and ASI1."""

    def setting(field: str) -> Any:
        return getattr(settings, f"{name}_{field}")

    health = ProviderHealth(
        name,
        threshold=setting("failure_threshold"),
        probe_interval=setting("probe_interval"),
        configured=bool(setting("api_key").get_secret_value()),
        not_configured_reason=f"no {name.upper()}_API_KEY set",
        stall_after=settings.llm_stall_after,
        **({"clock": clock} if clock else {}),
    )
    return ProviderLayer(
        make_provider(name, settings),
        health,
        setting("models"),
        setting("timeout"),
        setting("retry_count"),
        LLMGate(settings.llm_max_concurrency),
    )


class LLMService:
    def __init__(
        self,
        settings: Settings,
        *,
        content: StaticContent | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.content = content or StaticContent.load(settings.static_content_dir)
        self.rng = rng or random.Random()
        self.reply_check = ReplyCheck()  # knows the vendor pools once `know_pool_codes` is told them
        openai_layer, asi1_layer = _make_layer("openai", settings, clock), _make_layer("asi1", settings, clock)
        self.openai, self.openai_health = openai_layer.provider, openai_layer.health
        self.asi1, self.asi1_health = asi1_layer.provider, asi1_layer.health
        self.gates = {"openai": openai_layer.gate, "asi1": asi1_layer.gate}
        budgets = {"openai": settings.openai_budget_usd, "asi1": settings.asi1_budget_usd}
        prices = {model: Price(*pair) for model, pair in settings.model_prices.items()}
        self.spend = Spend(prices, {k: v for k, v in budgets.items() if v is not None})
        for layer in (openai_layer, asi1_layer):
            if layer.name in self.spend.budgets:  # no budget, no check on the hot path
                layer.health.off_for_cost = lambda name=layer.name: self.spend.over_budget(name)
        chain_kw: dict[str, Any] = {
            "reply_deadline": settings.reply_deadline,
            "rate_limit_cooldown": settings.rate_limit_cooldown,
            "retry": RetryPolicy(settings.backoff_initial, settings.backoff_max),
            "hedge": HedgePolicy(settings.llm_hedge_max_ratio, settings.llm_fallback_floor),
            "spend": self.spend,
            **({"clock": clock} if clock else {}),
        }
        # ASI1's layer (and so its health) is shared: a dead ASI1 is dead for both chains.
        self.text_chain = FallbackChain([openai_layer, asi1_layer], **chain_kw)
        self.score_chain = FallbackChain([asi1_layer], **chain_kw)

    # --- the tasks -----------------------------------------------------------
    # `deadline` (event-loop time) lets one message share one deadline across its tasks.
    async def understand_intent(self, message: str, deadline: float | None = None) -> ChainResult[Intent]:
        return await self.text_chain.run(IntentTask(message, self.content, self.settings.story_min_chars), deadline)

    async def generate_prompt(
        self, avoid: set[str] | None = None, deadline: float | None = None, pooled: list[str] | None = None
    ) -> ChainResult[str]:
        """`pooled`: prompts OpenAI/ASI1 wrote for others earlier, served before static ones when both are down."""
        task = PromptTask(self.content, self.rng, set(avoid or ()), list(pooled or ()))
        return await self.text_chain.run(task, deadline)

    async def generate_reply(
        self, story: str, rating: int, tier: str, code: str, deadline: float | None = None
    ) -> ChainResult[str]:
        task = ReplyTask(story, rating, tier, code, self.content, self.rng, self.reply_check)
        return await self.text_chain.run(task, deadline)

    async def draft_reply(self, story: str, deadline: float | None = None) -> ChainResult[str | None]:
        """The personal part of the reply, written concurrently with scoring (None: no model answered)."""
        return await self.text_chain.run(ReplyDraftTask(story, self.content, self.reply_check), deadline)

    async def score_story(self, story: str, deadline: float | None = None) -> ChainResult[StoryScore]:
        """Score a story fairly: talking to the judge can cost points, never earn them.

        A pattern match is a suspicion, not a verdict:
        1. The pre-filter (injection_guard) suspects the parts that talk to the judge; the
           rest is scored (rubric, quotes checked) while an LLM looks for instructions in
           the whole story (the detect task), concurrently. A suspected story is also
           scored as written: that uncapped score is what an organizer's approval grants.
        2. What the detector quotes is cut too, and the rest scored again.
        3. "Only instructions" (no coupon, asked again) only when the detector confirms the
           pre-filter's suspicion: nothing story-like is left once the parts it quoted are cut. Otherwise a
           suspected story is scored on what is left (nothing left: the lowest score),
           capped at FLAGGED_SCORE_CAP; the conversation caps its tier and queues it for
           the judges. The heuristic gives at most HEURISTIC_MAX_TIER (standard by default).
        """
        verdict = inspect_story(story)
        reasons = list(verdict.reasons)
        passages = [story[span.start : span.end].strip() for span in verdict.spans]
        text = verdict.cleaned if verdict.flagged else story
        left = not verdict.flagged or not self._nothing_left(text)  # an unsuspected story is always scored
        # The score first: when a provider is being probed, the one probe is the call the participant needs.
        calls = [self.score_chain.run(ScoreTask(text), deadline)] if left else []
        calls.append(self.score_chain.run(DetectTask(story), deadline))
        if verdict.flagged:
            calls.append(self.score_chain.run(ScoreTask(story), deadline))  # the whole story, for the judges
        results = await asyncio.gather(*calls)
        scored = results[0] if left else None
        detected = results[1] if left else results[0]
        full = results[-1] if verdict.flagged else scored
        if detected.value.quotes:
            reasons.append("llm_detected")
            passages += detected.value.quotes
            if verdict.flagged and self._nothing_left(remove_quotes(story, detected.value.quotes)):
                return self._instructions_only(reasons, passages)  # suspected, and the detector confirms it
            before, text = text, remove_quotes(text, detected.value.quotes)
            left = text == before or not self._nothing_left(text)
            if left and text != before:
                scored = await self.score_chain.run(ScoreTask(text), deadline)
        if not left or scored is None:
            scored = ChainResult(
                StoryScore(score=1, reason="nothing left once the suspected parts were cut", source="heuristic"),
                "guard",
            )
        return self._capped(scored, full, reasons, passages)

    def _capped(
        self,
        scored: ChainResult[StoryScore],
        full: ChainResult[StoryScore] | None,
        reasons: list[str],
        passages: list[str],
    ) -> ChainResult[StoryScore]:
        value = scored.value
        score = value.score
        if value.source == "heuristic":
            score = min(score, self.settings.heuristic_max_score)
        full_score, full_source = None, None
        if reasons:
            score = min(score, self.settings.flagged_score_cap)
            judged_whole = full is not None and full.value.source == "asi1"
            full_score = full.value.score if full is not None and judged_whole else value.score
            full_source = "asi1" if judged_whole else value.source
            log.info("story suspected (%s): scored without those parts, capped at %d", ", ".join(reasons), score)
        scored.value = value.model_copy(
            update={
                "score": score,
                "reason": value.reason
                + (f" (suspected of addressing the judge: {', '.join(reasons)})" if reasons else ""),
                "flagged": bool(reasons),
                "flags": reasons,
                "passages": passages if reasons else [],
                "full_score": full_score,
                "full_source": full_source,
            }
        )
        return scored

    def _nothing_left(self, text: str) -> bool:
        return len(text.strip()) < self.settings.story_min_chars or len(text.split()) < MIN_WORDS_LEFT

    def _instructions_only(self, reasons: list[str], passages: list[str]) -> ChainResult[StoryScore]:
        value = StoryScore(
            score=1,
            reason="nothing but instructions to the judge (confirmed by the detector)",
            source="heuristic",
            flagged=True,
            flags=reasons,
            instructions_only=True,
            passages=passages,
        )
        return ChainResult(value, "guard")

    # --- operations ----------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """The seed's OpenAI fields at the top level, plus per-provider detail and usage."""
        openai = self.openai_health.snapshot()
        usage = self.text_chain.usage + self.score_chain.usage
        return {
            "failures": openai["failures"],
            "status": openai["status"],
            "using_fallback": openai["status"] != "healthy",
            "client_available": openai["client_available"],
            "providers": {"openai": openai, "asi1": self.asi1_health.snapshot()},
            "layer_usage": dict(sorted(usage.items())),
            "serving": self.serving(),
            "forced": self.text_chain.pinned_layer(),
            "forced_seconds_left": self.text_chain.pinned_seconds_left(),
            "spend": self.spend.snapshot(),
            "hedges": {
                name: {
                    "calls": chain.hedges.calls,
                    "silent": chain.hedges.silent,
                    "speculative": chain.hedges.speculative,
                    "declined": chain.hedges.declined,
                    "won": chain.hedges.won,
                    "rate": round(chain.hedges.total / chain.hedges.calls, 4) if chain.hedges.calls else 0.0,
                }
                for name, chain in (("text", self.text_chain), ("score", self.score_chain))
            },
            "llm_calls": {
                name: {
                    "in_flight": gate.in_flight,
                    "peak": gate.peak,
                    "cap": gate.capacity,
                    "turned_away": gate.turned_away,
                }
                for name, gate in self.gates.items()
            },
        }

    def reset_openai(self) -> list[str]:
        return self.openai_health.reset()

    def reset(self) -> dict[str, list[str]]:
        """An organizer's `reset`: both providers; per provider, what actually changed."""
        return {"openai": self.openai_health.reset(), "asi1": self.asi1_health.reset()}

    def force(self, layer: str | None, seconds: float | None = None) -> None:
        """Intent, prompts and replies use only `layer` (openai, asi1 or static); None: every layer again.

        Scoring is not affected: it always uses ASI1 (the seed), the heuristic only while ASI1 is down.
        """
        self.text_chain.pin(layer, seconds)

    def serving(self) -> dict[str, str]:
        """Which layer would answer each kind of task right now (for status; changes nothing)."""
        text = next((layer.name for layer in self.text_chain.layers_now() if layer.health.would_admit()), "static")
        score = next((layer.name for layer in self.score_chain.layers_now() if layer.health.would_admit()), "heuristic")
        return {"text": text, "score": score}

    def know_pool_codes(self, codes: list[str]) -> None:
        """The vendor codes loaded (at start and at `reload`): a model's reply carrying one is never sent."""
        self.reply_check = ReplyCheck(codes)

    def reload_content(self, content: StaticContent) -> None:
        """New static content (an organizer's `reload`): used from the next task on."""
        self.content = content

    async def aclose(self) -> None:
        await self.openai.aclose()
        await self.asi1.aclose()
