"""The fallback chain: the one place that decides retries, fall-through and deadlines.

A task (intent, prompt, reply, score) runs through an ordered list of provider
layers and ends, if none of them answers in time, in the task's own static
answer, which cannot fail. Per layer:

- the layer's `ProviderHealth` admits the request, skips it, or admits it as
  the single probe;
- each model of the layer's model chain is tried with `stamina` retries on
  transient errors (jittered exponential backoff), and a 429 waits exactly its
  Retry-After when that still fits the deadline;
- the whole layer is bounded by the reply deadline (minus a small reserve for
  the static answer), and each attempt's time-out is cut to what is left.

Every decision is recorded once in a `ChainResult` (layer, model, attempts,
latency, and a trail of why earlier layers fell through) that feeds logs,
status and tests alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import stamina
import stamina.instrumentation

from pizza_agent.llm.errors import (
    BadResponse,
    CredentialsRejected,
    ProviderError,
    RateLimited,
    RequestRejected,
    TransientError,
)
from pizza_agent.llm.health import Admission, ProviderHealth

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
    ) -> str: ...

    async def list_models(self, *, timeout: float) -> list[str]: ...

    async def aclose(self) -> None: ...


class LLMTask(Protocol[T]):
    """One job for the chain: how to ask, how to read the answer, what to say if nobody answers."""

    name: str

    def messages(self) -> Messages: ...

    def parse(self, text: str) -> T:
        """Turn the provider's text into a result, or raise BadResponse."""
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


@dataclass(slots=True)
class _Attempts:
    count: int = 0


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
        self.turned_away = 0

    def try_acquire(self) -> bool:
        if self.in_flight >= self.capacity:
            self.turned_away += 1
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight -= 1


@dataclass(slots=True)
class RetryPolicy:
    wait_initial: float = 0.2
    wait_max: float = 2.0


class FallbackChain:
    def __init__(
        self,
        layers: Sequence[ProviderLayer],
        *,
        reply_deadline: float,
        rate_limit_cooldown: float = 60.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.layers = list(layers)
        self.reply_deadline = reply_deadline
        self.rate_limit_cooldown = rate_limit_cooldown
        self.retry = retry or RetryPolicy()
        self.usage: Counter[str] = Counter()
        self._clock = clock
        self.pinned: str | None = None  # an organizer's `force`: only this layer (or "static": none)
        self.pinned_until: float | None = None

    # --- an organizer's `force` (seed 001's force_provider) --------------------
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
        for layer in self.layers_now():
            admission = layer.health.admit()
            if not admission.allowed:
                trail.append(f"{layer.name}: {admission.reason}")
                continue
            result = await self._try_layer(layer, admission, task, deadline, trail)
            if result is not None:
                result.latency_ms = (loop.time() - start) * 1000
                self.usage[f"{task.name}:{result.layer}"] += 1
                return result
        value, source = task.fallback()
        self.usage[f"{task.name}:{source}"] += 1
        return ChainResult(value, source, latency_ms=(loop.time() - start) * 1000, trail=trail)

    async def _try_layer(
        self,
        layer: ProviderLayer,
        admission: Admission,
        task: LLMTask[T],
        deadline: float,
        trail: list[str],
    ) -> ChainResult[T] | None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        budget = deadline - STATIC_RESERVE_SECONDS - started
        if budget < MIN_ATTEMPT_SECONDS:
            layer.health.record_neutral(admission, 0.0)
            trail.append(f"{layer.name}: no time left before the reply deadline")
            return None
        if not layer.gate.try_acquire():
            layer.health.record_neutral(admission, 0.0)  # busy is not the provider's fault
            trail.append(f"{layer.name}: all {layer.gate.capacity} slots busy")
            return None
        try:
            return await self._call_layer(layer, admission, task, deadline, trail)
        finally:
            layer.gate.release()

    async def _call_layer(
        self, layer: ProviderLayer, admission: Admission, task: LLMTask[T], deadline: float, trail: list[str]
    ) -> ChainResult[T] | None:
        """Call one admitted layer within the deadline; record the outcome in its health."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        attempts = _Attempts()
        try:
            async with asyncio.timeout_at(deadline - STATIC_RESERVE_SECONDS):
                value, model = await self._call_models(layer, admission.probe, task, deadline, attempts, trail)
        except TimeoutError:
            error: Exception = TransientError("reply deadline reached")
        except ProviderError as exc:
            error = exc
        except Exception as exc:  # our own bug: never retried, never fatal to the reply
            log.exception("task=%s layer=%s raised an unexpected error", task.name, layer.name)
            layer.health.record_neutral(admission, (loop.time() - started) * 1000, type(exc).__name__)
            trail.append(f"{layer.name}: internal error {type(exc).__name__}")
            return None
        else:
            latency_ms = (loop.time() - started) * 1000
            layer.health.record_success(admission, latency_ms)
            return ChainResult(value, layer.name, model, attempts.count, probe=admission.probe, trail=trail)
        self._record_failure(layer, admission, error, (loop.time() - started) * 1000)
        reason = (
            f"{layer.name}: {type(error).__name__} {getattr(error, 'reason', error)} after {attempts.count} attempt(s)"
        )
        trail.append(reason)
        log.info("fallthrough task=%s %s", task.name, reason)
        return None

    def _record_failure(self, layer: ProviderLayer, admission: Admission, error: Exception, latency_ms: float) -> None:
        health = layer.health
        label = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
        if isinstance(error, CredentialsRejected):
            health.mark_unavailable(error.reason)
            health.record_neutral(admission, latency_ms, label)
        elif isinstance(error, RequestRejected):
            health.record_neutral(admission, latency_ms, label)
        else:
            if isinstance(error, RateLimited):
                health.cool_down(error.retry_after if error.retry_after is not None else self.rate_limit_cooldown)
            health.record_failure(admission, label, latency_ms)

    async def _call_models(
        self,
        layer: ProviderLayer,
        probe: bool,
        task: LLMTask[T],
        deadline: float,
        attempts: _Attempts,
        trail: list[str],
    ) -> tuple[T, str]:
        """Each model of the layer's chain in order; a 400 moves on to the next model."""
        rejected: RequestRejected | None = None
        for model in layer.models:
            try:
                # A probe is one attempt: it asks whether the provider is back, not how hard it can be pushed.
                tries = 1 if probe else layer.attempts
                return await self._call_with_retries(layer, model, tries, task, deadline, attempts), model
            except RequestRejected as exc:
                trail.append(f"{layer.name}/{model}: {exc.reason}")
                rejected = exc
        assert rejected is not None
        raise rejected

    async def _call_with_retries(
        self, layer: ProviderLayer, model: str, tries: int, task: LLMTask[T], deadline: float, attempts: _Attempts
    ) -> T:
        loop = asyncio.get_running_loop()
        last_useful_moment = deadline - STATIC_RESERVE_SECONDS - MIN_ATTEMPT_SECONDS

        def backoff(exc: Exception) -> bool | float:
            # Retry only named provider trouble; a 429 waits exactly what it asked for.
            if layer.health.skipping or layer.health.stalled():
                return False  # it tripped or stalled while we were in flight: do not wait on it again
            if isinstance(exc, RateLimited):
                wait = exc.retry_after
                return wait if wait is not None and loop.time() + wait <= last_useful_moment else False
            return isinstance(exc, ProviderError) and exc.retryable

        async def attempt_once() -> T:
            attempts.count += 1
            timeout = min(layer.timeout, deadline - STATIC_RESERVE_SECONDS - loop.time())
            token = layer.health.attempt_started()
            answered = False
            try:
                async with asyncio.timeout(timeout):
                    text = await layer.provider.complete(task.messages(), model=model, timeout=timeout)
                answered = True
            except TimeoutError:
                raise TransientError(f"no answer within {timeout:.2f}s") from None
            except ProviderError as exc:
                answered = exc.status is not None or isinstance(exc, BadResponse)
                raise
            finally:
                layer.health.attempt_finished(token, answered)
            return task.parse(text)

        # The first attempt runs outside stamina: setting up its retry loop costs ~30 us,
        # more than the whole rest of the chain, and most calls succeed at once. Only a
        # retryable failure enters the loop, which replays that failure first so stamina
        # computes the wait before attempt 2 exactly as if it had run attempt 1 itself.
        try:
            return await attempt_once()
        except ProviderError as exc:
            if tries == 1 or backoff(exc) is False:
                raise
            first_failure: ProviderError | None = exc
        async for attempt in stamina.retry_context(
            on=backoff,
            attempts=tries,
            timeout=None,  # the reply deadline bounds the whole layer instead
            wait_initial=self.retry.wait_initial,
            wait_max=self.retry.wait_max,
            wait_jitter=self.retry.wait_initial,
        ):
            with attempt:
                if first_failure is not None:
                    replay, first_failure = first_failure, None
                    raise replay
                return await attempt_once()
        raise AssertionError("unreachable: stamina re-raises the last error")
