"""SwarmMemoryManager against a live `engram serve`: the note's usage example end to end
(agent state, decisions, progress, outcomes, a strategy, insights, shared knowledge), keys
with conflicts, and agent isolation through a key bound to an agent."""

import urllib.request

import pytest

from engram_client import (
    Conflict,
    Forbidden,
    InvalidRequest,
    QuotaExceeded,
    SwarmMemoryManager,
)
from engram_server import ADMIN, ALPHA, quota_server, server  # noqa: F401


def test_the_notes_example_end_to_end(server):
    manager = SwarmMemoryManager("alpha", "production-swarm", server, api_key=ALPHA)
    state = manager.initialize_agent_memory({"role": "data_processor", "capacity": 100})
    assert state["entry"]["key"] == "agent/alpha/state"
    assert state["entry"]["value"]["config"]["capacity"] == 100
    decision = manager.store_agent_decision(
        "task_assignment",
        {"task_id": "proc_001", "priority": "high"},
        {"workload": "medium", "deadline": "2025-07-13"},
    )
    assert decision["entry"]["key"].startswith("agent/alpha/decision/")
    manager.update_agent_progress("proc_001", {"status": "in_progress"})
    progress = manager.update_agent_progress("proc_001", {"completion": 0.75})
    assert progress["entry"]["value"] == {"status": "in_progress", "completion": 0.75}

    for success in [True, True, True, False]:
        manager.record_task_outcome(
            "data_processing",
            ["alpha", "beta", "gamma"],
            success=success,
            execution_time=120.5,
            context={"data_size": "large", "complexity": "medium"},
            strategy="parallel_processing",
        )
    for success in [False, False, True]:
        manager.record_task_outcome(
            "data_processing", ["alpha"], success, 300.0, {"data_size": "large"}
        )
    strategy = manager.get_coordination_strategy(
        {"task_type": "data_processing", "data_size": "large", "available_agents": 5}
    )
    assert strategy["strategy"] == "parallel_processing"
    assert strategy["expected_success_rate"] == 0.75
    assert strategy["outcomes"] == 4
    low, high = strategy["confidence_interval"]
    # statsmodels 0.15: proportion_confint(3, 4, alpha=0.05, method="wilson").
    assert abs(low - 0.3006418) < 1e-6 and abs(high - 0.9544127) < 1e-6
    assert "parallel_processing" in strategy["description"]
    assert manager.recommend({"task_type": "data_processing"})["alternatives"][0][
        "strategy"
    ] == "1-agent"
    assert manager.get_coordination_strategy({"task_type": "nothing_like_it"}) is not None

    insights = manager.get_learning_insights("failure")
    assert [i["subject"] for i in insights] == ["1-agent"]
    assert 0 < insights[0]["confidence"] < 1
    with pytest.raises(InvalidRequest):
        manager.get_learning_insights("telepathy")

    shared = manager.share_knowledge_with_swarm(
        "optimization_insight",
        {"strategy": "parallel_processing", "efficiency_gain": 0.3},
    )
    assert shared["event"]["kind"] == "knowledge_shared"
    feed = manager.events(prefix="global/knowledge")
    assert [e["kind"] for e in feed["events"]] == ["memory_updated", "knowledge_shared"]
    manager.close()


def test_keys_conflicts_and_isolation(server):
    with SwarmMemoryManager("alpha", "prod", server, api_key=ALPHA) as alpha:
        first = alpha.store_swarm_state("plan", {"step": 1})
        assert first["entry"]["key"] == "swarm/prod/plan"
        alpha.store_swarm_state("plan", {"owner": "alpha"})
        assert alpha.retrieve("swarm/prod/plan")["value"] == {"step": 1, "owner": "alpha"}
        with pytest.raises(Conflict) as stale:
            alpha.store("swarm/prod/plan", {"step": 9}, expected_version=1)
        assert stale.value.current_version == 2
        assert alpha.retrieve("swarm/prod/none") is None
        assert len(alpha.list_keys("swarm/prod")["entries"]) == 1
        with pytest.raises(Forbidden):
            alpha.store("agent/beta/state", {"status": "spoofed"})
        with pytest.raises(Forbidden):
            SwarmMemoryManager("beta", "prod", server, api_key=ALPHA).initialize_agent_memory()
        assert alpha.delete("swarm/prod/plan", expected_version=2) is True
    with SwarmMemoryManager("beta", "prod", server, api_key=ADMIN) as admin:
        assert admin.initialize_agent_memory()["entry"]["key"] == "agent/beta/state"


def test_a_quota_refusal_is_typed_and_not_retried_and_the_health_report_shows_it(quota_server):
    with SwarmMemoryManager("alpha", "prod", quota_server, api_key=ALPHA) as alpha:
        alpha.initialize_agent_memory()
        alpha.store_agent_decision("routing", {"to": "reviewer"})
        with pytest.raises(QuotaExceeded) as refused:
            alpha.update_agent_progress("t-1", {"done": 1})
        assert refused.value.status == 429
        assert refused.value.quota == "entries"
        assert refused.value.details["used"] == 2
        # A verdict, not a failure: sent once (no retry), and the breaker counts nothing.
        assert alpha._client.breaker.status()["consecutive_failures"] == 0
        metrics = urllib.request.urlopen(
            urllib.request.Request(
                f"{quota_server}/metrics", headers={"Authorization": f"Bearer {ADMIN}"}
            )
        ).read().decode()
        refusals = [
            line for line in metrics.splitlines()
            if line.startswith("engram_http_requests_total") and 'status="429"' in line
        ]
        assert [line.rsplit(" ", 1)[1] for line in refusals] == ["1"], refusals
        # Reads go on.
        assert alpha.retrieve("agent/alpha/state")["value"]["status"] == "initialized"
        with pytest.raises(Forbidden):
            alpha.get_memory_health_report()
    with SwarmMemoryManager("ops", "prod", quota_server, api_key=ADMIN) as admin:
        report = admin.get_memory_health_report()
        assert report["overall_health"] == "needs_attention"
        [use] = [q for q in report["quotas"] if q["agent"] == "alpha"]
        assert use["warning"] is True and use["usage"]["entries"] == 2
        plan = admin.optimize_memory()
        assert plan["applied"] is False
        assert plan["plan"]["steps"] == []
