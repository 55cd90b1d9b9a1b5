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
- Stall detection: when an attempt has waited `stall_after` seconds and no
  answer of any kind has come back since it started, the provider is
  "stalled" and new requests go straight to the next layer. The counter only
  moves when attempts fail (after their time-out), so without this every
  participant arriving in the first OPENAI_TIMEOUT x attempts of a silent
  outage would pay the whole time-out too. Any answer clears it at once.

All methods are synchronous and never await, so on one event loop the
check-and-update of each call is atomic: no lock needed for concurrency.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a request may call the provider now, and whether it is the probe."""

    allowed: bool
    probe: bool = False
    reason: str = ""


ALLOWED = Admission(True)


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
        self.calls = 0
        self.successes = 0
        self.failed_calls = 0
        self.latency_ms_total = 0.0

    # --- decisions -----------------------------------------------------------
    @property
    def available(self) -> bool:
        return self.configured and self.unavailable_reason is None

    @property
    def skipping(self) -> bool:
        return self.failures >= self.threshold

    def admit(self) -> Admission:
        """May this request call the provider? Grants at most one probe at a time."""
        if not self.configured:
            return Admission(False, reason=self._not_configured_reason)
        if self.unavailable_reason is not None:
            return Admission(False, reason=f"unavailable: {self.unavailable_reason}")
        now = self._clock()
        if now < self.cooldown_until:
            return Admission(False, reason=f"cooling down {self.cooldown_until - now:.1f}s after 429")
        if self.stalled(now):
            return Admission(False, reason=f"stalled: no answer for {self.stall_after:g}s")
        if not self.skipping:
            return ALLOWED
        if self.probe_in_flight or now - self.skip_started < self.probe_interval:
            return Admission(False, reason=f"skipped: failures={self.failures}")
        self.probe_in_flight = True
        self.probes_sent += 1
        return Admission(True, probe=True, reason="probe")

    def stalled(self, now: float | None = None) -> bool:
        if not self._attempts_started:
            return False
        now = self._clock() if now is None else now
        # Stalled: some attempt has waited stall_after with no answer of any kind since it began.
        waited_long = [t for t in self._attempts_started.values() if now - t >= self.stall_after]
        return bool(waited_long) and self.last_answer_at < max(waited_long)

    # --- attempts (for stall detection) --------------------------------------
    def attempt_started(self) -> int:
        self._next_attempt += 1
        self._attempts_started[self._next_attempt] = self._clock()
        return self._next_attempt

    def attempt_finished(self, token: int, answered: bool) -> None:
        """`answered`: the provider sent any HTTP response (even an error): it is alive."""
        self._attempts_started.pop(token, None)
        if answered:
            self.last_answer_at = self._clock()

    # --- outcomes ------------------------------------------------------------
    def record_success(self, admission: Admission, latency_ms: float) -> None:
        self._finish(admission, latency_ms)
        self.successes += 1
        self.failures = max(0, self.failures - 1)

    def record_failure(self, admission: Admission, error: str, latency_ms: float) -> None:
        self._finish(admission, latency_ms)
        self.failed_calls += 1
        self.last_error = error
        was_skipping = self.skipping
        self.failures = min(self.threshold, self.failures + 1)
        if admission.probe or (self.skipping and not was_skipping):
            self.skip_started = self._clock()

    def record_neutral(self, admission: Admission, latency_ms: float, error: str | None = None) -> None:
        """Neither success nor failure (e.g. a 400 for one request): counter unchanged."""
        self._finish(admission, latency_ms)
        if error:
            self.last_error = error

    def cool_down(self, seconds: float) -> None:
        self.cooldown_until = max(self.cooldown_until, self._clock() + seconds)

    def mark_unavailable(self, reason: str) -> None:
        self.unavailable_reason = reason

    def reset(self) -> None:
        """Manual recovery: counter to 0, cool-down and a rejected key forgotten."""
        self.failures = 0
        self.unavailable_reason = None
        self.cooldown_until = 0.0
        self.probe_in_flight = False
        self._attempts_started.clear()

    def _finish(self, admission: Admission, latency_ms: float) -> None:
        self.calls += 1
        self.latency_ms_total += latency_ms
        if admission.probe:
            self.probe_in_flight = False

    # --- reporting -----------------------------------------------------------
    def snapshot(self) -> dict[str, object]:
        now = self._clock()
        next_probe = None
        if self.available and self.skipping and not self.probe_in_flight:
            next_probe = round(max(0.0, self.skip_started + self.probe_interval - now), 1)
        return {
            "failures": self.failures,
            "threshold": self.threshold,
            "status": "degraded" if self.skipping or not self.available else "healthy",
            "skipping": self.skipping,
            "stalled": self.stalled(now),
            "client_available": self.available,
            "unavailable_reason": None if self.available else (self.unavailable_reason or self._not_configured_reason),
            "cooldown_seconds": round(max(0.0, self.cooldown_until - now), 1),
            "seconds_until_probe": next_probe,
            "probes_sent": self.probes_sent,
            "last_error": self.last_error,
            "calls": self.calls,
            "successes": self.successes,
            "failed_calls": self.failed_calls,
            "avg_latency_ms": round(self.latency_ms_total / self.calls, 1) if self.calls else None,
        }
