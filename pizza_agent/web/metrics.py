"""`/metrics` for Prometheus, with the OpenTelemetry GenAI names where one exists.

Two kinds of figure:
- observed as they happen (histograms need that): every provider call's
  duration (`gen_ai_client_operation_duration_seconds`, attribute
  `gen_ai_provider_name`), tokens per call (`gen_ai_client_token_usage`,
  `gen_ai_token_type` input/output), attempts by outcome, and each reply's wait;
- read from the running event at scrape time (the ledger and the providers'
  state are the truth, so they are never counted twice): layer usage, coupons
  issued/redeemed/left per tier, breaker state and failure counter, hedges,
  spend, paused.

Each `EventMetrics` has its own registry (tests build several in one process).
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pizza_agent.event.reply_times import ReplyTimes
from pizza_agent.event.status import EventStatus
from pizza_agent.llm.service import LLMService
from pizza_agent.llm.usage import Completion

# The OpenTelemetry GenAI semantic conventions' recommended buckets.
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576)
PROVIDER_STATES = ("healthy", "stalled", "skipped", "cooling down", "off")


class _Snapshot(Collector):
    """Figures read from the event's own status at scrape time."""

    def __init__(self) -> None:
        self.status: dict = {}

    def collect(self) -> Iterable[Metric]:
        s = self.status
        if not s:
            return
        usage = CounterMetricFamily(
            "pizza_layer_usage", "Answers by step and the layer that gave them", labels=["step", "layer"]
        )
        for key, count in s.get("layer_usage", {}).items():
            step, _, layer = key.partition(":")
            usage.add_metric([step, layer], count)
        yield usage
        ledger = s.get("ledger", {})
        issued = CounterMetricFamily("pizza_coupons_issued", "Coupons issued", labels=["tier"])
        redeemed = CounterMetricFamily("pizza_coupons_redeemed", "Coupons redeemed at the table", labels=["tier"])
        left = GaugeMetricFamily("pizza_coupons_left", "Coupons left (tiers with a cap or a pool)", labels=["tier"])
        for tier, count in ledger.get("coupons_issued", {}).items():
            issued.add_metric([tier], count)
            redeemed.add_metric([tier], ledger.get("coupons_redeemed_by_tier", {}).get(tier, 0))
            if ledger.get("left", {}).get(tier) is not None:
                left.add_metric([tier], ledger["left"][tier])
        yield issued
        yield redeemed
        yield left
        state = GaugeMetricFamily(
            "pizza_provider_state",
            "1 for the provider's current state (the breaker)",
            labels=["gen_ai_provider_name", "state"],
        )
        failures = GaugeMetricFamily(
            "pizza_provider_failure_counter",
            "The global failure counter (skipped at the threshold)",
            labels=["gen_ai_provider_name"],
        )
        for name, health in s.get("providers", {}).items():
            for candidate in PROVIDER_STATES:
                state.add_metric([name, candidate], 1 if health.get("state") == candidate else 0)
            failures.add_metric([name], health.get("failures", 0))
        yield state
        yield failures
        hedges = CounterMetricFamily("pizza_hedges", "Hedged provider calls", labels=["chain", "kind"])
        for chain, h in s.get("hedges", {}).items():
            for kind in ("silent", "speculative", "won", "declined"):
                hedges.add_metric([chain, kind], h.get(kind, 0))
        yield hedges
        spend = CounterMetricFamily(
            "pizza_spend_usd", "Estimated spend (MODEL_PRICES)", labels=["gen_ai_provider_name"]
        )
        for name, entry in s.get("spend", {}).items():
            spend.add_metric([name], entry.get("cost_usd", 0.0))
        yield spend
        yield GaugeMetricFamily(
            "pizza_paused", "1 while an organizer has paused the event", value=1 if s.get("paused") else 0
        )
        yield GaugeMetricFamily("pizza_participants", "Participants seen", value=ledger.get("participants", 0))
        limits = s.get("rate_limit", {})
        yield CounterMetricFamily(
            "pizza_rate_limited_messages", "Messages over the per-sender limit", value=limits.get("refused", 0)
        )


class EventMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.operation_duration = Histogram(
            "gen_ai_client_operation_duration_seconds",
            "GenAI operation duration (one provider call, retries included)",
            ["gen_ai_provider_name", "gen_ai_operation_name", "pizza_task", "error_type"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.token_usage = Histogram(
            "gen_ai_client_token_usage",
            "Tokens per call",
            ["gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type", "pizza_task"],
            buckets=TOKEN_BUCKETS,
            registry=self.registry,
        )
        self.attempts = Counter(
            "pizza_llm_calls",
            "Provider calls by outcome (ok, cancelled, or the error's class)",
            ["gen_ai_provider_name", "pizza_task", "outcome"],
            registry=self.registry,
        )
        self.reply_duration = Histogram(
            "pizza_reply_duration_seconds",
            "From a participant's message to our reply sent",
            buckets=(0.1, 0.25, 0.5, 1, 2, 4, 6, 8, 10, 15, 30),
            registry=self.registry,
        )
        self.snapshot = _Snapshot()
        self.registry.register(self.snapshot)

    def watch(self, llm: LLMService, reply_times: ReplyTimes) -> None:
        """Listen to the event's calls and replies (one observer each: this is the only listener)."""
        for chain in (llm.text_chain, llm.score_chain):
            chain.observer = self.observe_call
        llm.spend.observer = self.observe_tokens
        reply_times.observer = self.reply_duration.observe

    def observe_call(self, provider: str, task: str, outcome: str, seconds: float) -> None:
        error = "" if outcome in ("ok", "cancelled") else outcome
        self.operation_duration.labels(provider, "chat", task, error).observe(seconds)
        self.attempts.labels(provider, task, outcome).inc()

    def observe_tokens(self, provider: str, model: str, task: str, completion: Completion) -> None:
        self.token_usage.labels(provider, model, "input", task).observe(completion.prompt_tokens)
        self.token_usage.labels(provider, model, "output", task).observe(completion.completion_tokens)

    def render(self, status: EventStatus) -> bytes:
        self.snapshot.status = status.as_json()
        return generate_latest(self.registry)
