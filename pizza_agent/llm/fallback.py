"""The fallback chain: the one place that decides retries, hedges, fall-through and deadlines.

A task (intent, prompt, reply, score) runs through an ordered list of provider
layers and ends, if none of them answers in time, in the task's own static
answer, which cannot fail. Per layer:

- the layer's `ProviderHealth` admits the request, skips it, or admits it as
  the single probe;
- the layer gets a **time budget**: the reply deadline minus what the next
  live layer needs (its recent p95, at least LLM_FALLBACK_FLOOR), so the
  fallback always gets its turn;
- each model of the layer's model chain is tried with `stamina` retries on
  transient errors (jittered exponential backoff); a 429 waits exactly its
  Retry-After when that still fits; an attempt that heard nothing at all
  (silent) is never retried on the same provider;
- **hedging**: when an attempt has had no answer for the provider's
  `hedge_after()` (LLM_STALL_AFTER, or 1.5 x its recent p95 if lower), the rest
  of the chain starts beside it; the first usable answer wins and the other is
  cancelled. Hedging a provider that answered nothing at all since the attempt
  began is always allowed (the alternative is a participant paying the whole
  time-out); hedging a provider that is alive but slow on this request is
  capped at LLM_HEDGE_MAX_RATIO of calls. The static answer only replaces a
  provider that stayed silent for the whole LLM_STALL_AFTER. A cancelled
  attempt counts as neither success nor failure, except when the provider
  stayed completely silent: that is a failure, so a silent provider still
  trips the seed's counter. A probe is never cancelled: it finishes in the
  background, so a provider that became slower than its history can recover.

Every decision is recorded once in a `ChainResult` (layer, model, attempts,
latency, hedged, tokens, cost, and a trail of why earlier layers fell through)
that feeds logs, status and tests alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import stamina
import stamina.instrumentation

from pizza_agent.llm.errors import (
    BadResponse,
    ContentFiltered,
    CredentialsRejected,
    ProviderError,
    RateLimited,
    RequestRejected,
    TransientError,
    UnusableAnswer,
)
from pizza_agent.llm.health import Admission, ProviderHealth
from pizza_agent.llm.usage import Completion, Spend

log = logging.getLogger("pizza.fallback")


def _log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    cause = details.caused_by
    log.info("retry #%d in %.2fs after %s", details.retry_num, details.wait_for, getattr(cause, "reason", cause))


# stamina's default hook logs every retry as a WARNING with a traceback; during an
# outage that floods the log. One INFO line per retry, with the reason, instead.
stamina.instrumentation.set_on_retry_hooks([_log_retry])

T = TypeVar("T")
Messages = list[dict[str, str]]

# Time kept back from the deadline so the static answer and the reply still fit.
STATIC_RESERVE_SECONDS = 0.05
# An attempt with less time than this left is not worth starting.
MIN_ATTEMPT_SECONDS = 0.1
# A cut-off answer is asked for once more with this many times the tokens.
TRUNCATION_RETRY_FACTOR = 2
# Structured output, strictest first: json_schema, then json_object, then plain text (2).
STRUCTURE_LEVELS = 2
# Set while the conversation starts calls ahead of need (scoring while the intent is still being read,
# the reply while the story is still being scored): cancelling such a call is never a provider failure.
SPECULATIVE: ContextVar[bool] = ContextVar("speculative", default=False)


@contextmanager
def speculative() -> Iterator[None]:
    """Tasks created inside start speculative: `asyncio.create_task` copies this context."""
    token = SPECULATIVE.set(True)
    try:
        yield
    finally:
        SPECULATIVE.reset(token)


# How often the chain looks for calls due a hedge (one timer for all calls in flight, not one per call).
HEDGE_WATCH_SECONDS = 0.05


class ChatProvider(Protocol):
    """What a layer needs from a provider: one chat completion, or a ProviderError."""

    name: str

    async def complete(
        self,
        messages: Messages,
        *,
        model: str,
        timeout: float,
        max_tokens: int | None = None,
        temperature: float | None = None,
        response_format: dict[str, object] | None = None,
    ) -> Completion: ...

    async def list_models(self, *, timeout: float) -> list[str]: ...

    async def aclose(self) -> None: ...


class LLMTask(Protocol[T]):
    """One job for the chain: how to ask, how to read the answer, what to say if nobody answers."""

    name: str
    max_tokens: int  # sized to the answer: a verbose model cannot write until its context is full
    temperature: float  # near 0 for judging, higher for creative text

    def messages(self) -> Messages: ...

    def parse(self, text: str) -> T:
        """Turn the provider's text into a result, or raise UnusableAnswer."""
        ...

    def fallback(self) -> tuple[T, str]:
        """The answer that never fails, and the layer name to report (static/heuristic)."""
        ...


@dataclass(slots=True)
class ProviderLayer:
    provider: ChatProvider
    health: ProviderHealth
    models: Sequence[str]
    timeout: float
    attempts: int
    gate: LLMGate = field(default_factory=lambda: LLMGate(10_000))
    # Per model, how strictly it accepts structured output: 0 json_schema, 1 json_object, 2 plain text.
    formats: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.provider.name


@dataclass(slots=True)
class ChainResult(Generic[T]):
    """A usable value plus how it was obtained."""

    value: T
    layer: str
    model: str | None = None
    attempts: int = 0
    latency_ms: float = 0.0
    probe: bool = False
    trail: list[str] = field(default_factory=list)
    hedged: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(slots=True)
class _Run:
    """What one run of the chain used, across its layers and hedges."""

    attempts: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    hedged: bool = False
    counted: bool = False  # counted once in HedgeCounts.calls


class LLMGate:
    """A cap on one provider's calls in flight.

    A flood cannot run up the bill or pile up behind a silent provider: when
    every slot is taken the request does not queue, it goes on at once to the
    next layer (ASI1, then the static answer). Single-threaded asyncio makes
    the counter exact without a lock.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.in_flight = 0
        self.peak = 0  # the most calls in flight at once
        self.turned_away = 0

    def try_acquire(self) -> bool:
        if self.in_flight >= self.capacity:
            self.turned_away += 1
            return False
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        return True

    def release(self) -> None:
        self.in_flight -= 1


@dataclass(slots=True)
class RetryPolicy:
    wait_initial: float = 0.2
    wait_max: float = 2.0


@dataclass(slots=True)
class HedgePolicy:
    max_ratio: float = 0.10  # speculative hedges, as a share of calls that reached a provider
    fallback_floor: float = 1.5  # seconds a layer always leaves for the next live one


@dataclass(slots=True)
class HedgeCounts:
    calls: int = 0  # runs that reached a provider
    silent: int = 0  # hedges of a provider that had answered nothing since the attempt began
    speculative: int = 0  # hedges of a provider alive but slow on this request
    declined: int = 0  # speculative hedges refused by the cap
    won: int = 0  # hedges whose answer was used

    @property
    def total(self) -> int:
        return self.silent + self.speculative


class FallbackChain:
    def __init__(
        self,
        layers: Sequence[ProviderLayer],
        *,
        reply_deadline: float,
        rate_limit_cooldown: float = 60.0,
        retry: RetryPolicy | None = None,
        hedge: HedgePolicy | None = None,
        spend: Spend | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.layers = list(layers)
        self.reply_deadline = reply_deadline
        self.rate_limit_cooldown = rate_limit_cooldown
        self.retry = retry or RetryPolicy()
        self.hedge = hedge or HedgePolicy()
        self.spend = spend or Spend()
        self.usage: Counter[str] = Counter()
        self.hedges = HedgeCounts()
        self.speculative_cancelled = 0  # calls started ahead of need, then dropped
        self._background: set[asyncio.Future[object]] = set()  # probes finishing after a hedge won
        self._armed: dict[_Hedge, float] = {}  # hedges waiting for their moment (loop time)
        self._watch: asyncio.TimerHandle | None = None
        self._clock = clock
        self.pinned: str | None = None  # an organizer's `force`: only this layer (or "static": none)
        self.pinned_until: float | None = None
        # Told about every provider call: (provider, task, outcome, seconds); outcome "ok", "cancelled"
        # or the error's class name. The metrics endpoint listens; nothing here depends on it.
        self.observer: Callable[[str, str, str, float], None] | None = None

    def _observe(self, provider: str, task: str, outcome: str, seconds: float) -> None:
        if self.observer is not None:
            try:
                self.observer(provider, task, outcome, seconds)
            except Exception:  # an observer's bug never costs a reply
                log.exception("the call observer failed")

    # --- an organizer's `force`: pin one layer for a while ------------------------
    def pin(self, layer: str | None, seconds: float | None = None) -> None:
        """Use only `layer` ("static": no provider) for `seconds` (None: until unpinned); None unpins."""
        self.pinned = layer
        self.pinned_until = None if layer is None or seconds is None else self._clock() + seconds

    def pinned_layer(self) -> str | None:
        if self.pinned is not None and self.pinned_until is not None and self._clock() >= self.pinned_until:
            log.warning("force %s expired: every layer is used again", self.pinned)
            self.pin(None)
        return self.pinned

    def pinned_seconds_left(self) -> float | None:
        if self.pinned_layer() is None or self.pinned_until is None:
            return None
        return round(max(0.0, self.pinned_until - self._clock()), 1)

    def layers_now(self) -> list[ProviderLayer]:
        pinned = self.pinned_layer()
        return self.layers if pinned is None else [layer for layer in self.layers if layer.name == pinned]

    # --- running a task --------------------------------------------------------------
    async def run(self, task: LLMTask[T], deadline: float | None = None) -> ChainResult[T]:
        """Answer `task` by `deadline` (loop time; default: now + the reply deadline).

        A conversation passes one deadline to all the tasks of one message, so
        the participant's wait, not each task's, is what the deadline bounds.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        own = start + self.reply_deadline
        deadline = own if deadline is None else min(deadline, own)
        trail: list[str] = []
        run = _Run()
        result = await self._from(self.layers_now(), 0, task, deadline, trail, run)
        if result is None:
            value, source = task.fallback()
            result = ChainResult(value, source, trail=trail)
        result.latency_ms = (loop.time() - start) * 1000
        result.attempts = result.attempts or 0
        result.hedged = run.hedged
        result.prompt_tokens, result.completion_tokens = run.prompt_tokens, run.completion_tokens
        result.cost_usd = run.cost_usd
        self.usage[f"{task.name}:{result.layer}"] += 1
        return result

    async def _from(
        self, layers: list[ProviderLayer], index: int, task: LLMTask[T], deadline: float, trail: list[str], run: _Run
    ) -> ChainResult[T] | None:
        """The first usable answer from layers[index:], hedging a silent or slow one; None: static."""
        for position in range(index, len(layers)):
            layer = layers[position]
            admission = layer.health.admit()
            if not admission.allowed:
                trail.append(f"{layer.name}: {admission.reason}")
                continue
            if not run.counted:
                self.hedges.calls += 1
                run.counted = True
            rest = layers[position + 1 :]
            following = next((other for other in rest if other.health.would_admit()), None)
            budget_end = deadline - self._reserve_for(following, deadline - asyncio.get_running_loop().time())
            return await self._with_hedge(
                layer, admission, rest, following is not None, task, budget_end, deadline, trail, run
            )
        return None

    def _reserve_for(self, following: ProviderLayer | None, remaining: float) -> float:
        """Seconds this layer must leave for the next live layer (static needs almost none).

        What that layer needs: its recent p95, at least LLM_FALLBACK_FLOOR — but
        never more than half of what is left, so with a short deadline both get a turn.
        """
        if following is None:
            return STATIC_RESERVE_SECONDS
        p95 = following.health.latency_ms(0.95)
        need = max(self.hedge.fallback_floor, (p95 or 0.0) / 1000)
        return STATIC_RESERVE_SECONDS + min(need, remaining / 2)

    async def _with_hedge(
        self,
        layer: ProviderLayer,
        admission: Admission,
        rest: list[ProviderLayer],
        another_provider: bool,
        task: LLMTask[T],
        budget_end: float,
        deadline: float,
        trail: list[str],
        run: _Run,
    ) -> ChainResult[T] | None:
        """Call `layer`; if it has not answered in time, start the rest of the chain beside it.

        Two clocks: another live provider is started after `hedge_after()` (the
        p95 trigger); the static answer only replaces a provider that stayed
        completely silent for the whole LLM_STALL_AFTER, so a provider that is
        merely slower than usual still answers when nothing else can.

        The call runs in the caller's own task and the hedge is a timer, not a
        second task to wait on: that keeps the common case (an answer in time)
        within the layer's overhead budget (BENCHMARKS.md figure 1). When the
        hedge wins, the call is cancelled the way `asyncio.timeout` does it.
        """
        health = layer.health
        first_wait = health.hedge_after() if another_provider else health.stall_after
        hedge = _Hedge(self, layer, rest, task, deadline, trail, run, another_provider)
        call = self._call_layer(layer, admission, task, budget_end, trail, run)
        if admission.probe:
            # A probe asks whether the provider is back: if a hedge wins it finishes in the background
            # (within its own time-out), so a provider that became slower than its history can recover.
            probe = asyncio.ensure_future(call)
            self._background.add(probe)
            probe.add_done_callback(self._background.discard)
            call = asyncio.shield(probe)
        hedge.arm(first_wait)
        try:
            result = await call
        except asyncio.CancelledError:
            if hedge.cancelled_the_call():
                return hedge.outcome
            raise
        finally:
            hedge.call_finished()
        if hedge.backup is None:
            return result if result is not None else await self._from(rest, 0, task, deadline, trail, run)
        if result is not None:
            await hedge.cancel_backup()
            return result
        return await hedge.backup  # the call failed; the rest of the chain is already under way

    def _arm(self, hedge: _Hedge, at: float) -> None:
        self._armed[hedge] = at
        if self._watch is None:
            self._watch = asyncio.get_running_loop().call_later(HEDGE_WATCH_SECONDS, self._tick)

    def _disarm(self, hedge: _Hedge) -> None:
        self._armed.pop(hedge, None)

    def _tick(self) -> None:
        """Fire every hedge whose moment has come; keep ticking while any is armed."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = [hedge for hedge, at in self._armed.items() if at <= now]
        for hedge in due:
            del self._armed[hedge]
            hedge.fire()
        self._watch = loop.call_later(HEDGE_WATCH_SECONDS, self._tick) if self._armed else None

    def _may_hedge(self, silent: bool, another_provider: bool) -> bool:
        """Silence may always hedge (even to the static answer); slowness only to a live provider, under the cap."""
        if silent:
            self.hedges.silent += 1
            return True
        if not another_provider:
            return False
        if self.hedges.speculative + 1 > self.hedge.max_ratio * max(1, self.hedges.calls):
            self.hedges.declined += 1
            return False
        self.hedges.speculative += 1
        return True

    async def _call_layer(
        self,
        layer: ProviderLayer,
        admission: Admission,
        task: LLMTask[T],
        budget_end: float,
        trail: list[str],
        run: _Run,
    ) -> ChainResult[T] | None:
        """Call one admitted layer within its budget; record the outcome in its health.

        Each model of the layer's chain in order; a 400 for this request moves on to the next model. A
        content filter moves on to the next provider instead (every model of this one would refuse the same
        text); a cut-off answer is asked for once more with twice the tokens. (The bookkeeping is in plain
        methods: every coroutine frame more is resumed at each of the HTTP call's suspension points.)"""
        loop = asyncio.get_running_loop()
        started = loop.time()
        if not self._may_start(layer, admission, budget_end - started, trail):
            return None
        started_mono = layer.health.now()
        attempts_before = run.attempts
        # No time-out scope of its own: every attempt is cut to the budget, and a retry is
        # only started when even the longest backoff still leaves it time (see backoff()).
        try:
            rejected: RequestRejected | None = None
            for model in layer.models:
                # A probe is one attempt: it asks whether the provider is back, not how hard it can be pushed.
                tries = 1 if admission.probe else layer.attempts
                try:
                    value = await self._call_model(layer, model, tries, admission.probe, task, budget_end, run, trail)
                    break
                except RequestRejected as exc:
                    trail.append(f"{layer.name}/{model}: {exc.reason}")
                    rejected = exc
            else:
                assert rejected is not None
                raise rejected
        except asyncio.CancelledError:
            self._record_cancelled(layer, admission, task, started_mono, loop.time() - started)
            raise
        except ProviderError as exc:
            error: Exception = exc
        except Exception as exc:  # our own bug: never retried, never fatal to the reply
            log.exception("task=%s layer=%s raised an unexpected error", task.name, layer.name)
            layer.health.record_neutral(admission, (loop.time() - started) * 1000, type(exc).__name__)
            trail.append(f"{layer.name}: internal error {type(exc).__name__}")
            return None
        else:
            latency_ms = (loop.time() - started) * 1000
            layer.health.record_success(admission, latency_ms)
            self._observe(layer.name, task.name, "ok", latency_ms / 1000)
            attempts = run.attempts - attempts_before
            return ChainResult(value, layer.name, model, attempts, probe=admission.probe, trail=trail)
        finally:
            layer.gate.release()
        self._fell_through(
            layer, admission, task.name, error, loop.time() - started, trail, run.attempts - attempts_before
        )
        return None

    def _may_start(self, layer: ProviderLayer, admission: Admission, left: float, trail: list[str]) -> bool:
        """Time left before the reply deadline, and a free slot: else the layer is passed over (neutral)."""
        if left - STATIC_RESERVE_SECONDS < MIN_ATTEMPT_SECONDS:
            layer.health.record_neutral(admission, 0.0)
            trail.append(f"{layer.name}: no time left before the reply deadline")
            return False
        if not layer.gate.try_acquire():
            layer.health.record_neutral(admission, 0.0)  # busy is not the provider's fault
            trail.append(f"{layer.name}: all {layer.gate.capacity} slots busy")
            return False
        return True

    def _fell_through(
        self,
        layer: ProviderLayer,
        admission: Admission,
        task: str,
        error: Exception,
        seconds: float,
        trail: list[str],
        attempts: int,
    ) -> None:
        """A layer that failed this call: its health, its metric, the trail's line and the log's."""
        self._record_failure(layer, admission, error, seconds * 1000)
        self._observe(layer.name, task, type(error).__name__, seconds)
        reason = f"{layer.name}: {type(error).__name__} {getattr(error, 'reason', error)} after {attempts} attempt(s)"
        trail.append(reason)
        log.info("fallthrough task=%s %s", task, reason)

    def _record_cancelled(
        self, layer: ProviderLayer, admission: Admission, task: LLMTask[T], started: float, seconds: float
    ) -> None:
        """A hedge won (or the message was abandoned): neutral, unless the provider stayed silent throughout.

        A speculative call (started before the agent knew it would need it) is always neutral when
        cancelled: it was dropped because the answer was not needed, not because the provider failed;
        the provider read the request, so its input is paid for (estimated)."""
        self._observe(layer.name, task.name, "cancelled", seconds)
        if SPECULATIVE.get():
            sent = sum(len(str(m.get("content", ""))) for m in task.messages())
            self.spend.record(layer.name, layer.models[0], task.name, Completion("", prompt_tokens=sent // 4))
        latency_ms = seconds * 1000
        health = layer.health
        silent_for = health.now() - started
        if SPECULATIVE.get():
            self.speculative_cancelled += 1
            health.record_neutral(admission, latency_ms)
        elif not health.answered_since(started) and silent_for >= health.hedge_after():
            health.record_failure(admission, f"TransientError: no answer for {silent_for:.1f}s (hedged)", latency_ms)
        else:
            health.record_neutral(admission, latency_ms)

    def _record_failure(self, layer: ProviderLayer, admission: Admission, error: Exception, latency_ms: float) -> None:
        health = layer.health
        label = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
        if isinstance(error, CredentialsRejected):
            health.mark_unavailable(error.reason)
            health.record_neutral(admission, latency_ms, label)
        elif isinstance(error, ProviderError) and not error.health_failure:
            health.record_neutral(admission, latency_ms, label)  # this request's problem, not the provider's
        else:
            if isinstance(error, RateLimited):
                health.rate_limited(error.retry_after, self.rate_limit_cooldown)
            health.record_failure(admission, label, latency_ms)

    async def _call_model(
        self,
        layer: ProviderLayer,
        model: str,
        tries: int,
        probe: bool,
        task: LLMTask[T],
        budget_end: float,
        run: _Run,
        trail: list[str],
    ) -> T:
        """One model: structured output as strict as it accepts, and one more try for a cut-off answer."""
        schema = getattr(task, "response_format", None)
        while True:
            level = layer.formats.get(model, 0) if schema is not None else STRUCTURE_LEVELS
            try:
                try:
                    return await self._call_with_retries(
                        layer, model, tries, task, task.max_tokens, _response_format(schema, level), budget_end, run
                    )
                except UnusableAnswer as exc:
                    if not exc.truncated or probe:
                        raise
                    trail.append(f"{layer.name}/{model}: cut off at {task.max_tokens} tokens, asking once for more")
                    more = task.max_tokens * TRUNCATION_RETRY_FACTOR
                    return await self._call_with_retries(
                        layer, model, 1, task, more, _response_format(schema, level), budget_end, run
                    )
            except RequestRejected as exc:
                if level >= STRUCTURE_LEVELS:
                    raise
                # This model does not take that kind of structured output: ask less strictly, and remember.
                layer.formats[model] = level + 1
                trail.append(f"{layer.name}/{model}: {exc.reason}; asking with a less strict response format")

    async def _call_with_retries(
        self,
        layer: ProviderLayer,
        model: str,
        tries: int,
        task: LLMTask[T],
        max_tokens: int,
        response_format: dict[str, object] | None,
        budget_end: float,
        run: _Run,
    ) -> T:
        backoff = self._backoff(layer, budget_end)
        call = (layer, model, task, max_tokens, response_format, budget_end, run)
        # The first attempt runs outside stamina: setting up its retry loop costs ~30 us,
        # more than the whole rest of the chain, and most calls succeed at once. Only a
        # retryable failure enters the loop, which replays that failure first so stamina
        # computes the wait before attempt 2 exactly as if it had run attempt 1 itself.
        try:
            return await self._attempt(*call)
        except ProviderError as exc:
            if tries == 1 or backoff(exc) is False:
                raise
            first_failure: ProviderError | None = exc
        async for attempt in stamina.retry_context(
            on=backoff,
            attempts=tries,
            timeout=None,  # the layer's time budget bounds the whole layer instead
            wait_initial=self.retry.wait_initial,
            wait_max=self.retry.wait_max,
            wait_jitter=self.retry.wait_initial,
        ):
            with attempt:
                if first_failure is not None:
                    replay, first_failure = first_failure, None
                    raise replay
                return await self._attempt(*call)
        raise AssertionError("unreachable: stamina re-raises the last error")

    def _backoff(self, layer: ProviderLayer, budget_end: float) -> Callable[[Exception], bool | float]:
        """Whether (and how long) to wait before the next attempt: stamina's `on=` for this layer's call."""
        loop = asyncio.get_running_loop()
        last_useful_moment = budget_end - STATIC_RESERVE_SECONDS - MIN_ATTEMPT_SECONDS

        def backoff(exc: Exception) -> bool | float:
            # Retry only named provider trouble; a 429 waits exactly what it asked for.
            if layer.health.skipping or layer.health.stalled():
                return False  # it tripped or stalled while we were in flight: do not wait on it again
            if isinstance(exc, TransientError) and exc.silent:
                return False  # it heard nothing: the next layer gets the time, not the same silence
            if isinstance(exc, RateLimited):
                wait = exc.retry_after
                return wait if wait is not None and loop.time() + wait <= last_useful_moment else False
            if loop.time() + self.retry.wait_max + self.retry.wait_initial > last_useful_moment:
                return False  # the backoff could outlast the layer's budget: the next layer gets the time
            return isinstance(exc, ProviderError) and exc.retryable

        return backoff

    async def _attempt(
        self,
        layer: ProviderLayer,
        model: str,
        task: LLMTask[T],
        max_tokens: int,
        response_format: dict[str, object] | None,
        budget_end: float,
        run: _Run,
    ) -> T:
        """One HTTP call to one model, cut to the layer's time budget."""
        loop = asyncio.get_running_loop()
        run.attempts += 1
        timeout = min(layer.timeout, budget_end - STATIC_RESERVE_SECONDS - loop.time())
        if timeout < MIN_ATTEMPT_SECONDS:
            raise TransientError("layer time budget reached", silent=True)
        token = layer.health.attempt_started()
        answered = False
        try:
            async with asyncio.timeout(timeout):
                completion = await layer.provider.complete(
                    task.messages(),
                    model=model,
                    timeout=timeout,
                    max_tokens=max_tokens,
                    temperature=task.temperature,
                    **({"response_format": response_format} if response_format is not None else {}),
                )
            answered = True
        except TimeoutError:
            raise TransientError(f"no answer within {timeout:.2f}s", silent=True) from None
        except ProviderError as exc:
            answered = exc.status is not None or isinstance(exc, BadResponse | UnusableAnswer | ContentFiltered)
            raise
        finally:
            layer.health.attempt_finished(token, answered)
        self._count(layer.name, model, task.name, completion, run)
        return task.parse(completion.text)

    def _count(self, provider: str, model: str, task: str, completion: Completion, run: _Run) -> None:
        run.prompt_tokens += completion.prompt_tokens
        run.completion_tokens += completion.completion_tokens
        run.cost_usd += self.spend.record(provider, model, task, completion)


class _Hedge(Generic[T]):
    """The hedge of one layer call: the moment the rest of the chain may start beside the call.

    Hand-written because no library races a running call against a fallback
    started later without moving the call into a task of its own (which costs
    an extra event-loop step per call); the cancel-and-uncancel dance is the
    one `asyncio.timeout` uses.
    """

    __slots__ = (
        "_cancelled",
        "_finished",
        "_timer",
        "another_provider",
        "backup",
        "caller",
        "chain",
        "deadline",
        "layer",
        "loop",
        "outcome",
        "rest",
        "run",
        "started",
        "task",
        "trail",
    )

    def __init__(
        self,
        chain: FallbackChain,
        layer: ProviderLayer,
        rest: list[ProviderLayer],
        task: LLMTask[T],
        deadline: float,
        trail: list[str],
        run: _Run,
        another_provider: bool,
    ) -> None:
        self.chain, self.layer, self.rest, self.task = chain, layer, rest, task
        self.deadline, self.trail, self.run = deadline, trail, run
        self.another_provider = another_provider
        self.started = layer.health.now()
        self.loop = asyncio.get_running_loop()
        self.caller = asyncio.current_task()
        self.backup: asyncio.Future[ChainResult[T] | None] | None = None
        self.outcome: ChainResult[T] | None = None
        self._timer: asyncio.TimerHandle | None = None  # the give-up timer, rarely needed
        self._cancelled = False
        self._finished = False

    def arm(self, seconds: float) -> None:
        self.chain._arm(self, self.loop.time() + seconds)

    def call_finished(self) -> None:
        self._finished = True
        self.chain._disarm(self)
        if self._timer is not None:
            self._timer.cancel()

    def cancelled_the_call(self) -> bool:
        """Was the CancelledError ours (a hedge answered, or a silent provider was given up)?"""
        return self._cancelled and self.caller is not None and self.caller.uncancel() == 0

    async def cancel_backup(self) -> None:
        if self.backup is not None and not self.backup.done():
            self.backup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.backup

    def fire(self) -> None:
        health = self.layer.health
        silent = not health.answered_since(self.started)
        if self._finished or not self.chain._may_hedge(silent, self.another_provider):
            return
        self.run.hedged = True
        waited = health.now() - self.started
        self.trail.append(
            f"{self.layer.name}: no answer yet, hedged ({'silent' if silent else 'slow'}) after {waited:.2g}s"
        )
        self.backup = asyncio.ensure_future(
            self.chain._from(self.rest, 0, self.task, self.deadline, self.trail, self.run)
        )
        self.backup.add_done_callback(lambda backup: self._backup_done(backup, silent))

    def _backup_done(self, backup: asyncio.Future[ChainResult[T] | None], silent: bool) -> None:
        if self._finished or backup.cancelled() or backup.exception() is not None:
            return
        result = backup.result()
        if result is not None:
            self.chain.hedges.won += 1
            self._cancel_call(result)
        elif silent:
            # Nothing else answered either: wait on the provider, unless it stays silent for its whole stall window.
            health = self.layer.health
            left = health.stall_after - (health.now() - self.started)
            self._timer = self.loop.call_later(max(0.0, left), self._give_up)

    def _give_up(self) -> None:
        if not self._finished and not self.layer.health.answered_since(self.started):
            self.trail.append(f"{self.layer.name}: silent for {self.layer.health.stall_after:g}s, given up")
            self._cancel_call(None)

    def _cancel_call(self, outcome: ChainResult[T] | None) -> None:
        if self._finished or self._cancelled or self.caller is None:
            return
        self.outcome = outcome
        self._cancelled = True
        self.caller.cancel()


def _response_format(schema: dict[str, object] | None, level: int) -> dict[str, object] | None:
    if schema is None or level >= STRUCTURE_LEVELS:
        return None
    return {"type": "json_schema", "json_schema": schema} if level == 0 else {"type": "json_object"}
