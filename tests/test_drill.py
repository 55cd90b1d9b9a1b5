"""The CI-sized outage drill: 100 participants through a compressed fault timeline."""

from __future__ import annotations

import pytest

from pizza_agent.config.settings import PROJECT_DIR
from pizza_agent.rehearsal.drill import DrillResult, Exchange, Timeline, run_drill

CI_TIMELINE = PROJECT_DIR / "drills" / "ci.toml"


# Every reply within the deadline is a measurement of the machine: beside the parallel pass's Chromium and
# agent tests it measured them (14 of 100 late under `make test-stress`), so it runs in the serial pass.
@pytest.mark.serial
@pytest.mark.slow  # agent.py
async def test_ci_drill_answers_everyone_in_time_with_exactly_one_coupon_each(tmp_path):
    timeline = Timeline.load(CI_TIMELINE)
    result, _ = await run_drill(100, timeline, tmp_path, progress=False)
    assert len(result.exchanges) == 200
    assert result.unanswered == 0
    assert result.late == 0, sorted(e.latency for e in result.exchanges)[-5:]
    assert result.duplicates == 0 and result.without_coupon == 0 and result.mismatched == 0
    assert result.openai_requests_while_skipped <= result.allowed_probes
    assert result.failures() == []
    # the timeline really exercised every layer
    used = {key for usage in result.phase_usage.values() for key, n in usage.items() if n > 0}
    assert {"intent:openai", "intent:asi1", "score:asi1", "score:heuristic"} <= used
    assert max(s.status["failures"] for s in result.samples) == 3  # OpenAI was skipped during its outage
    assert result.samples[-1].status["failures"] < 3  # ... and recovered through a probe
    assert "RESULT: PASS" in result.table(timeline)


@pytest.mark.slow  # agent.py
async def test_the_drill_runs_through_the_agentverse_mailbox_with_wan_latency(tmp_path):
    """`drill --via agentverse --rtt-ms 100`, CI-sized: the same promises, the ASI:One path."""
    timeline = Timeline.load(CI_TIMELINE)
    result, _ = await run_drill(40, timeline, tmp_path, progress=False, via="agentverse", rtt_ms=100)
    assert len(result.exchanges) == 80 and result.failures() == []
    assert result.path == "agentverse mailbox (stand-in, +100 ms per mailbox call)"
    assert "RESULT: PASS" in result.table(timeline)


@pytest.mark.slow  # agent.py, PostgreSQL
async def test_the_failover_drill_kills_the_active_replica_and_loses_nothing(tmp_path):
    """`drill --via agentverse --replicas 2 --kill-active-at 5s`, CI-sized, on a real PostgreSQL."""
    timeline = Timeline.load(CI_TIMELINE)
    result, _ = await run_drill(
        40, timeline, tmp_path, progress=False, via="agentverse", replicas=2, kill_active_at=5.0
    )
    assert result.failures() == [], result.table(timeline)
    assert result.failover["killed"] == "replica-a" and result.failover["taken_by"] == "replica-b"
    assert result.failover["takeover_seconds"] < 6.0
    assert len(result.ledger_codes) == 40 and result.duplicates == 0 and result.unanswered == 0


def test_the_drill_fails_a_deploy_on_any_broken_promise():
    timeline = Timeline.load(CI_TIMELINE)
    result = DrillResult(participants=2, deadline=6.0)
    result.exchanges = [Exchange(0, "prompt", "healthy", 0.1), Exchange(1, "prompt", "healthy", None)]
    result.ledger_codes = {"a": "CODE-1"}
    result.codes_seen = {"a": "CODE-2"}
    problems = result.failures()
    assert any("unanswered" in p for p in problems)
    assert any("without a coupon" in p for p in problems)
    assert any("does not hold" in p for p in problems)
    assert "RESULT: FAIL" in result.table(timeline)
