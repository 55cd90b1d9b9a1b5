"""Tokens and money: what every completion used, what it cost, and each provider's budget.

Every provider returns a `Completion` with the token counts of its `usage`
field. `Spend` adds them up per provider, model and task and prices them from
the per-model table (MODEL_PRICES, USD per million tokens). When a provider's
budget (OPENAI_BUDGET_USD, ASI1_BUDGET_USD) is spent, its health skips it with
the reason in status (cost protection: a budget is a promise to the credit card).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

# provider, model, task, calls, prompt tokens, completion tokens, USD: one line of the ledger's spend table.
SpendRow = tuple[str, str, str, int, int, int, float]


@dataclass(frozen=True, slots=True)
class Completion:
    """One provider answer: its text and what it used."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens."""

    prompt: float
    completion: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / 1_000_000


@dataclass(slots=True)
class Tally:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class Spend:
    prices: dict[str, Price] = field(default_factory=dict)
    budgets: dict[str, float] = field(default_factory=dict)  # provider -> USD (absent: no budget)
    by_key: dict[tuple[str, str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    # Told about every completion (provider, model, task, completion): the metrics' token histogram.
    observer: Callable[[str, str, str, Completion], None] | None = None
    # What was spent since the last `take_unsaved()`: the part of `by_key` the ledger does not have yet.
    unsaved: dict[tuple[str, str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))

    def cost_of(self, model: str, completion: Completion) -> float:
        price = self.prices.get(model)
        return price.cost(completion.prompt_tokens, completion.completion_tokens) if price else 0.0

    def record(self, provider: str, model: str, task: str, completion: Completion) -> float:
        """Add one completion; returns its cost."""
        if self.observer is not None:
            self.observer(provider, model, task, completion)
        cost = self.cost_of(model, completion)
        key = (provider, model, task)
        for tally in (self.by_key[key], self.unsaved[key]):  # on every call's path: no rows built
            tally.calls += 1
            tally.prompt_tokens += completion.prompt_tokens
            tally.completion_tokens += completion.completion_tokens
            tally.cost_usd += cost
        return cost

    # --- kept in the ledger (event/spend_book.py): a budget holds across restarts and takeovers ---
    def take_unsaved(self) -> list[SpendRow]:
        """What was spent since the last call, as rows to add to the ledger's totals."""
        rows = _rows(self.unsaved)
        self.unsaved.clear()
        return rows

    def give_back(self, rows: list[SpendRow]) -> None:
        """Rows the ledger did not take (it was busy): they are saved with the next ones."""
        _add(self.unsaved, rows)

    def restore(self, totals: list[SpendRow]) -> None:
        """The ledger's totals (every process and replica so far) plus what is not saved yet."""
        self.by_key.clear()
        _add(self.by_key, totals)
        _add(self.by_key, _rows(self.unsaved))

    def spent(self, provider: str) -> float:
        return sum(t.cost_usd for (name, _, _), t in self.by_key.items() if name == provider)

    def budget_left(self, provider: str) -> float | None:
        budget = self.budgets.get(provider)
        return None if budget is None else budget - self.spent(provider)

    def over_budget(self, provider: str) -> str | None:
        """Why `provider` must be skipped for cost, or None."""
        left = self.budget_left(provider)
        if left is None or left > 0:
            return None
        return f"budget spent (${self.spent(provider):.2f} of ${self.budgets[provider]:.2f})"

    def snapshot(self) -> dict[str, object]:
        providers: dict[str, dict[str, object]] = {}
        for (provider, model, task), tally in sorted(self.by_key.items()):
            entry = providers.setdefault(
                provider, {"cost_usd": 0.0, "prompt_tokens": 0, "completion_tokens": 0, "by_model_task": {}}
            )
            entry["cost_usd"] = round(float(entry["cost_usd"]) + tally.cost_usd, 6)  # type: ignore[arg-type]
            entry["prompt_tokens"] = int(entry["prompt_tokens"]) + tally.prompt_tokens  # type: ignore[call-overload]
            entry["completion_tokens"] = int(entry["completion_tokens"]) + tally.completion_tokens  # type: ignore[call-overload]
            entry["by_model_task"][f"{model}/{task}"] = {  # type: ignore[index]
                "calls": tally.calls,
                "prompt_tokens": tally.prompt_tokens,
                "completion_tokens": tally.completion_tokens,
                "cost_usd": round(tally.cost_usd, 6),
            }
        for provider, budget in self.budgets.items():
            providers.setdefault(provider, {"cost_usd": 0.0, "prompt_tokens": 0, "completion_tokens": 0})
            providers[provider]["budget_usd"] = budget
        return providers


def _rows(tallies: dict[tuple[str, str, str], Tally]) -> list[SpendRow]:
    return [(*key, t.calls, t.prompt_tokens, t.completion_tokens, t.cost_usd) for key, t in tallies.items()]


def _add(tallies: dict[tuple[str, str, str], Tally], rows: list[SpendRow]) -> None:
    for provider, model, task, calls, prompt_tokens, completion_tokens, cost in rows:
        tally = tallies[(provider, model, task)]
        tally.calls += calls
        tally.prompt_tokens += prompt_tokens
        tally.completion_tokens += completion_tokens
        tally.cost_usd += cost
