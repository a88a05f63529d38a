"""SwarmMemoryManager: the swarm-memory note's manager API over engram's HTTP API
(`/v1/swarm/…`, `/v1/events`), with MemoryClient's retries, circuit breaker and typed errors.

One manager speaks for one agent (`agent_id`); with a key bound to an agent, the server
takes the identity from the key and refuses writes to another agent's `agent/{agent}/…`
keys (`Forbidden`). Every write is sent with an Idempotency-Key (the same on every attempt),
so a retry after a broken connection counts once.
"""

from typing import Any, Dict, List, Optional

from .client import DEFAULT_URL, MemoryClient, _Request
from .errors import NotFound


class SwarmMemoryManager:
    """The note's `SwarmMemoryManager(agent_id, swarm_id)`. Keys of the swarm's own state
    (`store_swarm_state`) live under `swarm/{swarm_id}/…`."""

    def __init__(
        self,
        agent_id: str,
        swarm_id: str,
        base_url: str = DEFAULT_URL,
        api_key: Optional[str] = None,
        **client_options: Any,
    ) -> None:
        self.agent_id = agent_id
        self.swarm_id = swarm_id
        self._client = MemoryClient(base_url, api_key=api_key, agent_id=agent_id, **client_options)

    def _call(self, request: _Request) -> Any:
        return self._client._call(request)

    # Agent state
    def initialize_agent_memory(self, config: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Sets `agent/{agent_id}/state` to {status: "initialized", config, initialized_at}."""
        body = {"config": config or {}}
        return self._call(
            _Request("POST", f"/v1/swarm/agents/{self.agent_id}/memory", body, key=True)
        )

    def store_agent_decision(
        self,
        decision_type: str,
        decision: Any,
        context: Any = None,
    ) -> Dict[str, Any]:
        """A new key `agent/{agent_id}/decision/{id}` holding the decision."""
        body = {"decision_type": decision_type, "decision": decision, "context": context}
        return self._call(
            _Request("POST", f"/v1/swarm/agents/{self.agent_id}/decisions", body, key=True)
        )

    def update_agent_progress(self, task_id: str, progress: Dict[str, Any]) -> Dict[str, Any]:
        """Merges `progress` into `agent/{agent_id}/progress/{task_id}` (null removes a field)."""
        path = f"/v1/swarm/agents/{self.agent_id}/progress/{task_id}"
        return self._call(_Request("POST", path, {"progress": progress}, key=True))

    # Outcomes and learning
    def record_task_outcome(
        self,
        task_type: str,
        agents: List[str],
        success: bool,
        execution_time: float,
        context: Optional[Dict[str, Any]] = None,
        strategy: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Records a finished task; `strategy` defaults to the context's, else the team size."""
        body = {
            "task_type": task_type,
            "agents": list(agents),
            "success": success,
            "execution_time": execution_time,
            "context": context or {},
            "strategy": strategy,
        }
        return self._call(_Request("POST", "/v1/swarm/outcomes", body, key=True))

    def get_coordination_strategy(
        self, context: Dict[str, Any], neighbours: int = 50
    ) -> Optional[Dict[str, Any]]:
        """The best strategy for the situation (`description`, `expected_success_rate`,
        `confidence_interval`, `outcomes`, `example_ids`, …), or None when nothing like it is
        recorded. `recommend` answers the alternatives too."""
        return self.recommend(context, neighbours)["strategy"]

    def recommend(self, context: Dict[str, Any], neighbours: int = 50) -> Dict[str, Any]:
        """The whole recommendation: `strategy`, `alternatives`, `considered`,
        `same_task_type`."""
        body = {"context": context, "neighbours": neighbours}
        return self._call(_Request("POST", "/v1/swarm/strategy", body, idempotent=True))

    def get_learning_insights(
        self, kind: str, task_type: Optional[str] = None
    ) -> List[Dict[str, Any]]:
        """Insights of a kind (task_distribution, resource_allocation, optimization,
        failure), most confident first: each has `description` and `confidence`."""
        params = {"kind": kind, "task_type": task_type}
        return self._call(_Request("GET", "/v1/swarm/insights", params=params))

    def share_knowledge_with_swarm(self, knowledge_type: str, knowledge: Any) -> Dict[str, Any]:
        """A new key `global/knowledge/{knowledge_type}/{id}` and a knowledge_shared event."""
        body = {"knowledge_type": knowledge_type, "knowledge": knowledge}
        return self._call(_Request("POST", "/v1/swarm/knowledge", body, key=True))

    # Keys
    def store(
        self,
        key: str,
        value: Any,
        policy: str = "reject",
        expected_version: Optional[int] = None,
        ttl_ms: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Writes a key by its conflict policy (reject, last_write_wins, merge)."""
        body = {
            "key": key,
            "value": value,
            "policy": policy,
            "expected_version": expected_version,
            "ttl_ms": ttl_ms,
        }
        return self._call(_Request("PUT", "/v1/swarm/entry", body, key=True))

    def store_swarm_state(self, name: str, value: Any, policy: str = "merge") -> Dict[str, Any]:
        """Writes `swarm/{swarm_id}/{name}` (merged into what is there, by default)."""
        return self.store(f"swarm/{self.swarm_id}/{name}", value, policy=policy)

    def retrieve(self, key: str) -> Optional[Dict[str, Any]]:
        """A key's live entry, or None."""
        try:
            return self._call(_Request("GET", "/v1/swarm/entry", params={"key": key}))
        except NotFound:
            return None

    def list_keys(
        self, prefix: str, limit: int = 100, after: Optional[str] = None
    ) -> Dict[str, Any]:
        """A page of live entries under a prefix of whole segments (`entries`, `next`)."""
        params = {"prefix": prefix, "limit": limit, "after": after}
        return self._call(_Request("GET", "/v1/swarm/entries", params=params))

    def delete(self, key: str, expected_version: Optional[int] = None) -> bool:
        """Deletes a key; answers whether a live entry was removed."""
        params = {"key": key, "expected_version": expected_version}
        answer = self._call(_Request("DELETE", "/v1/swarm/entry", params=params))
        return answer["deleted"]

    def events(
        self, after: int = 0, prefix: Optional[str] = None, limit: int = 100
    ) -> Dict[str, Any]:
        """Coordination events after the cursor `after` (`events`, `cursor`)."""
        params = {"after": after, "prefix": prefix, "limit": limit}
        return self._call(_Request("GET", "/v1/events", params=params))

    # Health and optimisation (admin keys)
    def get_memory_health_report(self) -> Dict[str, Any]:
        """The memory health report: `overall_health` ("healthy" or "needs_attention"),
        `findings`, entries per agent and category, expired keys and memories not swept,
        leaked leases, orphans, duplicates, collections and quota use."""
        return self._call(_Request("GET", "/v1/swarm/health"))

    def optimize_memory(self, auto_apply: bool = False) -> Dict[str, Any]:
        """The repairs the health report calls for: `plan`; with `auto_apply`, carried out
        (`optimizations_applied`, `space_saved` in bytes)."""
        body = {"apply": auto_apply}
        return self._call(_Request("POST", "/v1/swarm/optimize", body, idempotent=True))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "SwarmMemoryManager":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()
