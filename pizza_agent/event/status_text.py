"""`status` in chat: the event's status model (status.py) as lines an organizer reads at a glance.

A verdict first, then one line per concern; nothing here decides anything, it only words what
`EventStatus` holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pizza_agent.domain.tiers import TIERS
from pizza_agent.event.status import EventStatus


def status_lines(status: EventStatus) -> str:
    """The status for people: a verdict first, then one line per concern."""
    llm, stats, limits = status.llm, status.ledger, status.rate_limit
    started = datetime.fromtimestamp(status.started_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [status.verdict.text(), f"up {duration(status.uptime_seconds)} (since {started})"]
    for name, health in llm["providers"].items():
        lines.append(f"{name}: {_provider_line(health, llm['spend'].get(name))}")
    lines.append(_hedges_line(llm["hedges"]))
    if llm["forced"]:
        left = llm["forced_seconds_left"]
        lines.append(
            f"forced: {llm['forced']} " + ("until `force off`" if left is None else f"for {duration(left)} more")
        )
    coupons = []
    meal_caps = bool(stats.get("caps_of") and stats.get("caps"))  # what is left is said for the meal, below
    for tier in TIERS:
        issued, left = stats["coupons_issued"][tier], stats["left"][tier]
        coupons.append(f"{tier} {issued} issued" + ("" if left is None or meal_caps else f", {left} left"))
    lines.append("coupons (every meal): " + " · ".join(coupons) if meal_caps else "coupons: " + " · ".join(coupons))
    if stats.get("caps_of") and stats.get("caps"):
        left = ", ".join(f"{tier} {stats['left'][tier]} of {cap}" for tier, cap in stats["caps"].items())
        lines.append(f"left for {stats['caps_of']} (its caps): {left}")
    lines.append(
        f"participants {stats['participants']} · redeemed {stats['coupons_redeemed']} · "
        f"voided {stats['coupons_voided']} · flagged stories {stats['flagged']} · "
        f"waiting for the judges {stats['reviews_waiting']}{_messages_owed(stats)}"
        + (
            f" · table conflicts {stats['table_conflicts']} (served twice while offline)"
            if stats.get("table_conflicts")
            else ""
        )
    )
    if status.people:
        lines.append(_people_line(status.people))
    if status.plan:
        lines.append(_plan_line(status.plan, status.orders))
    lines.append(
        f"rate-limited messages {limits['refused']} (dropped {limits['dropped']}) · "
        f"senders limited now {limits['senders_limited']}"
    )
    calls = " · ".join(
        f"{name} {c['in_flight']}/{c['cap']} (turned away {c['turned_away']})" for name, c in llm["llm_calls"].items()
    )
    lines.append(f"LLM calls in flight: {calls}")
    if status.replicas:
        lines.append(_replicas_line(status.replicas))
    usage = ", ".join(f"{k}={v}" for k, v in llm["layer_usage"].items()) or "none yet"
    lines.append(f"layers used: {usage}")
    if status.scoring_note:
        lines.append(f"NOTE: {status.scoring_note}")
    return "\n".join(lines)


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _hedges_line(hedges: dict[str, Any]) -> str:
    return "hedges: " + " · ".join(
        f"{chain} {h['silent'] + h['speculative']} of {h['calls']} calls ({h['rate']:.1%}; "
        f"silent {h['silent']}, slow {h['speculative']}, capped {h['declined']}, won {h['won']})"
        for chain, h in hedges.items()
    )


def _replicas_line(replicas: dict[str, Any]) -> str:
    peers = ", ".join(f"{p['name']} ({p['role']}, seen {p['seen_seconds_ago']}s ago)" for p in replicas["peers"])
    return (
        f"replicas: this is {replicas['this']} ({replicas['role']}); {replicas['doing']}: "
        f"{replicas['active'] or 'nobody right now'}; seen: {peers or '-'}"
    )


def _plan_line(plan: dict[str, Any], orders: dict[str, Any]) -> str:
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


def _people_line(people: dict[str, Any]) -> str:
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


def _messages_owed(stats: dict[str, Any]) -> str:
    """New codes owed to people (approvals, upgrades, grants): said only while some are not delivered yet."""
    waiting, failed = stats.get("messages_waiting", 0), stats.get("messages_not_delivered", 0)
    if not waiting and not failed:
        return ""
    undelivered = f", {failed} NOT DELIVERED (`review` lists them: tell them at the table)" if failed else ""
    return f" · new codes owed: {waiting} being sent{undelivered}"


def _provider_line(health: dict[str, Any], spend: dict[str, Any] | None = None) -> str:
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
        parts.append(f"last error {health['last_error']} ({duration(health['last_error_seconds_ago'])} ago)")
    return " · ".join(parts)
