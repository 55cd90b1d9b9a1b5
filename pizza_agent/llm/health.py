"""Health of one provider: the global failure counter, its single probe, cool-downs.

One class serves OpenAI and ASI1 alike. The counter is the seed design's:
+1 when the provider fails after all its retries, -1 (floor 0) on a success,
skipped at `failures >= threshold`.

Decisions beyond the seed (it never recovers once skipped):
- After `probe_interval` in skip mode exactly one request is admitted as a
  probe; success takes the counter below the threshold, failure restarts the
  interval. Everyone else keeps skipping meanwhile.
- The counter is capped at the threshold. Fifty requests that were already in
  flight when the provider went silent would otherwise push it to 50, and
  one good probe could never bring the provider back.
- A 429 sets a cool-down (the provider's Retry-After) during which the
  provider is skipped; 401/403 marks it unavailable until `reset()`.
- Stall detection: when an attempt has waited LLM_STALL_AFTER and no answer
  of any kind has come back since it started, the provider is "stalled" and
  new requests go straight to the next layer. An attempt that ended that way
  counts too, until the provider answers again; meanwhile one request at a
  time is let through to find out. Any answer clears it.
- `hedge_after()`: how long the fallback chain lets an attempt go unanswered
  before starting the next provider beside it: the smaller of LLM_STALL_AFTER
  and 1.5 x the recent p95 latency, never under HEDGE_MIN_SECONDS.
- A 429 without Retry-After cools the provider down exponentially: 1, 2, 4 … s,
  at most `rate_limit_cooldown`; any success starts the series again.

Every state change (tripped, key rejected, probe sent, recovered, cool-down
started and ended) is logged as a WARNING line of its own, so an organizer can
follow an outage in the log at 2 a.m.

All methods are synchronous and never await, so on one event loop the
check-and-update of each call is atomic: no lock needed for concurrency.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a request may call the provider now, and whether it is the probe."""

    allowed: bool
    probe: bool = False
    reason: str = ""


ALLOWED = Admission(True)
log = logging.getLogger("pizza.health")

# Latencies of recent successful calls kept for p50/p95 (the hedge trigger and status).
LATENCY_WINDOW = 200
# Below this many samples the p95 is not trusted: the hedge waits the full LLM_STALL_AFTER.
MIN_LATENCY_SAMPLES = 20
# The percentiles are recomputed after this many new samples (sorting 200 floats on every call
# would cost more than the whole fallback chain).
PERCENTILE_REFRESH_SAMPLES = 16
# A hedge never starts sooner than this, however fast the provider usually is (jitter is not silence).
HEDGE_MIN_SECONDS = 0.5


class ProviderHealth:
    def __init__(
        self,
        name: str,
        *,
        threshold: int,
        probe_interval: float,
        configured: bool = True,
        not_configured_reason: str = "no API key",
        clock: Callable[[], float] = time.monotonic,
        stall_after: float = float("inf"),
    ) -> None:
        self.name = name
        self.stall_after = stall_after
        self._attempts_started: dict[int, float] = {}
        self._next_attempt = 0
        self.last_answer_at = float("-inf")
        self.threshold = threshold
        self.probe_interval = probe_interval
        self._clock = clock
        self.configured = configured
        self._not_configured_reason = not_configured_reason
        self.failures = 0
        self.unavailable_reason: str | None = None
        self.cooldown_until = 0.0
        self.skip_started = 0.0
        self.probe_in_flight = False
        self.probes_sent = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self._cooling = False
        self._silent_since = float("-inf")  # start of the latest attempt that ended with no answer at all
        self._silence_trial = False  # the one request let through to a provider that went silent
        # Told ("tripped" | "recovered", detail) when the breaker opens or closes (organizer alerts).
        self.on_change: list[Callable[[str, str], None]] = []
        self._rate_limits_in_a_row = 0
        self.latencies_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._percentiles: list[float] | None = None  # of latencies_ms, refreshed every few samples
        self._new_samples = 0
        self.off_for_cost: Callable[[], str | None] = lambda: None  # the budget guard (usage.Spend)
        self.calls = 0
        self.successes = 0
        self.failed_calls = 0
        self.latency_ms_total = 0.0

    # --- decisions -----------------------------------------------------------
    @property
    def available(self) -> bool:
        return self.configured and self.unavailable_reason is None and self.off_for_cost() is None

    @property
    def skipping(self) -> bool:
        return self.failures >= self.threshold

    def admit(self) -> Admission:
        """May this request call the provider? Grants at most one probe at a time."""
        if not self.configured:
            return Admission(False, reason=self._not_configured_reason)
        if self.unavailable_reason is not None:
            return Admission(False, reason=f"unavailable: {self.unavailable_reason}")
        if (cost := self.off_for_cost()) is not None:
            return Admission(False, reason=cost)
        now = self._clock()
        if self._cooling_down(now):
            return Admission(False, reason=f"cooling down {self.cooldown_until - now:.1f}s after 429")
        if self.stalled(now):
            return Admission(False, reason=f"stalled: no answer for {self.stall_after:g}s")
        if not self.skipping:
            self._silence_trial = self.went_silent()  # nothing in flight: this one finds out if it answers again
            return ALLOWED
        if self.probe_in_flight or now - self.skip_started < self.probe_interval:
            return Admission(False, reason=f"skipped: failures={self.failures}")
        self._silence_trial = self.went_silent()
        self.probe_in_flight = True
        self.probes_sent += 1
        log.warning("provider=%s probe sent (skipped for %.0fs)", self.name, now - self.skip_started)
        return Admission(True, probe=True, reason="probe")

    def would_admit(self) -> bool:
        """Would a request be sent now (a due probe counts)? Changes nothing: for status."""
        now = self._clock()
        if not self.available or self._cooling_down(now) or self.stalled(now):
            return False
        return not self.skipping or (not self.probe_in_flight and now - self.skip_started >= self.probe_interval)

    def _cooling_down(self, now: float) -> bool:
        if now < self.cooldown_until:
            return True
        if self._cooling:  # noticed at the first look after it ended
            self._cooling = False
            log.warning("provider=%s cool-down ended", self.name)
        return False

    def stalled(self, now: float | None = None) -> bool:
        """Silent: an attempt waited hedge_after() with no answer of any kind since it began.

        The attempt may still be in flight, or have ended (timed out, or cancelled
        because a hedge won); in the second case one request at a time is let
        through (when nothing is in flight) to see whether it answers again.
        """
        now = self._clock() if now is None else now
        waited_long = [t for t in self._attempts_started.values() if now - t >= self.stall_after]
        if waited_long and self.last_answer_at < max(waited_long):
            return True
        return self.went_silent() and (self._silence_trial or bool(self._attempts_started))

    def went_silent(self) -> bool:
        """An attempt ended with no answer at all, and nothing has been heard since."""
        return self._silent_since > self.last_answer_at

    def now(self) -> float:
        """This health's clock (tests move it by hand)."""
        return self._clock()

    def answered_since(self, moment: float) -> bool:
        return self.last_answer_at >= moment

    def hedge_after(self) -> float:
        """How long an attempt may go unanswered before the next layer is started beside it."""
        p95 = self.latency_ms(0.95)
        if p95 is None or len(self.latencies_ms) < MIN_LATENCY_SAMPLES:
            return self.stall_after
        return min(self.stall_after, max(HEDGE_MIN_SECONDS, 1.5 * p95 / 1000))

    def latency_ms(self, quantile: float) -> float | None:
        """A recent latency percentile, refreshed every few samples: it is read on every call's hot path."""
        if not self.latencies_ms:
            return None
        if self._percentiles is None or self._new_samples >= PERCENTILE_REFRESH_SAMPLES:
            self._new_samples = 0
            if len(self.latencies_ms) == 1:
                self._percentiles = [self.latencies_ms[0]] * 99
            else:
                self._percentiles = statistics.quantiles(self.latencies_ms, n=100, method="inclusive")
        return self._percentiles[round(quantile * 100) - 1]

    # --- attempts (for stall detection) --------------------------------------
    def attempt_started(self) -> int:
        self._next_attempt += 1
        self._attempts_started[self._next_attempt] = self._clock()
        return self._next_attempt

    def attempt_finished(self, token: int, answered: bool) -> None:
        """`answered`: the provider sent any HTTP response (even an error): it is alive."""
        started = self._attempts_started.pop(token, None)
        now = self._clock()
        if answered:
            self.last_answer_at = now
        elif started is not None and now - started >= self.stall_after and self.last_answer_at < started:
            self._silent_since = max(self._silent_since, started)

    # --- outcomes ------------------------------------------------------------
    def record_success(self, admission: Admission, latency_ms: float) -> None:
        self._finish(admission, latency_ms)
        self.successes += 1
        self.latencies_ms.append(latency_ms)
        self._new_samples += 1
        self._rate_limits_in_a_row = 0
        was_skipping = self.skipping
        self.failures = max(0, self.failures - 1)
        if was_skipping and not self.skipping:
            log.warning(
                "provider=%s recovered: %s answered, failures=%d",
                self.name,
                "the probe" if admission.probe else "a call",
                self.failures,
            )
            _tell(self, "recovered", f"{'the probe' if admission.probe else 'a call'} answered")

    def record_failure(self, admission: Admission, error: str, latency_ms: float) -> None:
        self._finish(admission, latency_ms)
        self.failed_calls += 1
        self._note_error(error)
        was_skipping = self.skipping
        self.failures = min(self.threshold, self.failures + 1)
        if admission.probe or (self.skipping and not was_skipping):
            self.skip_started = self._clock()
        if self.skipping and not was_skipping:
            log.warning(
                "provider=%s tripped: %d failures, skipped now, one probe every %gs (last error: %s)",
                self.name,
                self.failures,
                self.probe_interval,
                error,
            )
            _tell(self, "tripped", f"{self.failures} failures (last: {error})")
        elif admission.probe:
            log.warning(
                "provider=%s probe failed (%s): still skipped, next probe in %gs", self.name, error, self.probe_interval
            )

    def record_neutral(self, admission: Admission, latency_ms: float, error: str | None = None) -> None:
        """Neither success nor failure (e.g. a 400 for one request): counter unchanged."""
        self._finish(admission, latency_ms)
        if error:
            self._note_error(error)

    def _note_error(self, error: str) -> None:
        self.last_error = error
        self.last_error_at = self._clock()

    def rate_limited(self, retry_after: float | None, longest: float) -> float:
        """A 429: cool down for what it asked, or exponentially (1, 2, 4 … ≤ `longest`) when it did not say."""
        self._rate_limits_in_a_row += 1
        seconds = retry_after if retry_after is not None else min(longest, 2.0 ** (self._rate_limits_in_a_row - 1))
        self.cool_down(seconds)
        return seconds

    def cool_down(self, seconds: float) -> None:
        now = self._clock()
        if now + seconds <= self.cooldown_until:
            return
        if not self._cooling_down(now):
            self._cooling = True
            log.warning("provider=%s cool-down started: skipped for %.1fs after a 429", self.name, seconds)
        self.cooldown_until = now + seconds

    def mark_unavailable(self, reason: str) -> None:
        if self.unavailable_reason is None:
            log.warning("provider=%s key rejected (%s): off until an organizer sends `reset`", self.name, reason)
        self.unavailable_reason = reason

    def reset(self) -> list[str]:
        """Manual recovery: counter to 0, cool-down and a rejected key forgotten. Says what it changed."""
        now = self._clock()
        changed = []
        if self.failures:
            changed.append(f"failure counter {self.failures} → 0")
        if now < self.cooldown_until:
            changed.append(f"cool-down ({self.cooldown_until - now:.0f}s left) cleared")
        if self.unavailable_reason is not None:
            changed.append(f"rejected key re-enabled ({self.unavailable_reason})")
        if self.stalled(now):
            changed.append("stall cleared")
        self.failures = 0
        self.unavailable_reason = None
        self.cooldown_until = 0.0
        self._cooling = False
        self.probe_in_flight = False
        self._attempts_started.clear()
        self._silent_since = float("-inf")
        self._silence_trial = False
        self._rate_limits_in_a_row = 0
        if changed:
            log.warning("provider=%s reset: %s", self.name, "; ".join(changed))
        return changed

    def _finish(self, admission: Admission, latency_ms: float) -> None:
        self._silence_trial = False
        self.calls += 1
        self.latency_ms_total += latency_ms
        if admission.probe:
            self.probe_in_flight = False

    # --- reporting -----------------------------------------------------------
    def state(self, now: float | None = None) -> str:
        """One word for people, never two that contradict: off, cooling down, skipped, stalled, healthy."""
        now = self._clock() if now is None else now
        if not self.available:
            return "off"
        if now < self.cooldown_until:
            return "cooling down"
        if self.skipping:
            return "skipped"
        if self.stalled(now):
            return "stalled"
        return "healthy"

    def snapshot(self) -> dict[str, object]:
        now = self._clock()
        next_probe = None
        if self.available and self.skipping and not self.probe_in_flight:
            next_probe = round(max(0.0, self.skip_started + self.probe_interval - now), 1)
        return {
            "name": self.name,
            "failures": self.failures,
            "threshold": self.threshold,
            "status": "degraded" if self.skipping or not self.available else "healthy",
            "skipping": self.skipping,
            "stalled": self.stalled(now),
            "client_available": self.available,
            "unavailable_reason": None
            if self.available
            else (self.unavailable_reason or self.off_for_cost() or self._not_configured_reason),
            "cooldown_seconds": round(max(0.0, self.cooldown_until - now), 1),
            "seconds_until_probe": next_probe,
            "probes_sent": self.probes_sent,
            "state": self.state(now),
            "configured": self.configured,
            "last_error": self.last_error,
            "last_error_seconds_ago": None if self.last_error_at is None else round(now - self.last_error_at, 1),
            "calls": self.calls,
            "successes": self.successes,
            "failed_calls": self.failed_calls,
            "avg_latency_ms": round(self.latency_ms_total / self.calls, 1) if self.calls else None,
            "p50_latency_ms": _rounded(self.latency_ms(0.50)),
            "p95_latency_ms": _rounded(self.latency_ms(0.95)),
            "hedge_after_seconds": round(self.hedge_after(), 2),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _tell(health: ProviderHealth, change: str, detail: str) -> None:
    """The breaker opened or closed: tell the listeners (a listener's bug never breaks the provider layer)."""
    for listener in health.on_change:
        try:
            listener(change, detail)
        except Exception:
            log.exception("provider=%s: a listener failed", health.name)
