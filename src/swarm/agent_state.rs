//! The note's agent-state helpers (`SwarmMemoryManager`), as swarm keys so that everything
//! the keys do — expiry, locks, conflict policies, the event feed, isolation of
//! `agent/{agent}/…` keys — holds for them too:
//!
//! | helper                       | key                                         | write            |
//! |------------------------------|---------------------------------------------|------------------|
//! | `initialize_agent_memory`    | `agent/{agent}/state`                       | last write wins  |
//! | `store_agent_decision`       | `agent/{agent}/decision/{time-ordered id}`  | create           |
//! | `update_agent_progress`      | `agent/{agent}/progress/{task_id}`          | merge patch      |
//! | `share_knowledge_with_swarm` | `global/knowledge/{type}/{time-ordered id}` | create, and a `knowledge_shared` event |
//!
//! Time-ordered ids are UUIDv7 (RFC 9562): an agent's decisions sorted by key are in the
//! order they were taken (a listing pages in its own stable order, not by key).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{ConflictPolicy, Event, EventKind, Put, Result, Swarm, SwarmError, Written};

/// What `share_knowledge_with_swarm` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SwarmSharedKnowledge)]
pub struct SharedKnowledge {
    /// The knowledge as stored.
    pub written: Written,
    /// The `knowledge_shared` event that tells the swarm.
    pub event: Event,
}

impl Swarm {
    /// `initialize_agent_memory(config)`: sets `agent/{agent}/state` to
    /// `{"status": "initialized", "config": config, "initialized_at": now}` (a repeat
    /// replaces it). `caller` is whoever writes (`None`: an admin); an agent initialises
    /// only itself.
    pub fn initialize_agent_memory(
        &self,
        caller: Option<&str>,
        agent: &str,
        config: Map<String, Value>,
        key: Option<&str>,
    ) -> Result<Written> {
        let agent = segment("agent", agent)?;
        let request = serde_json::json!({"caller": caller, "agent": agent, "config": config});
        // The time is part of the value: the idempotency key covers the request, not it.
        self.keys.run("swarm/initialize", key, &request, |_| {
            let value = serde_json::json!({
                "status": "initialized",
                "config": config,
                "initialized_at": self.now(),
            });
            self.put(
                caller,
                &write(
                    format!("agent/{agent}/state"),
                    value,
                    ConflictPolicy::LastWriteWins,
                ),
                None,
            )
        })
    }

    /// `store_agent_decision(decision_type, decision, context)`: a new key
    /// `agent/{agent}/decision/{id}` holding `{decision_type, decision, context,
    /// decided_at}`.
    pub fn store_agent_decision(
        &self,
        caller: Option<&str>,
        agent: &str,
        decision_type: &str,
        decision: Value,
        context: Value,
        key: Option<&str>,
    ) -> Result<Written> {
        let agent = segment("agent", agent)?;
        let decision_type = crate::text::label(decision_type);
        crate::text::check_label("decision_type", decision_type)
            .map_err(SwarmError::InvalidInput)?;
        let request = serde_json::json!({
            "caller": caller, "agent": agent, "decision_type": decision_type,
            "decision": decision, "context": context,
        });
        // A new id and time per call: the idempotency key covers the request, not them.
        self.keys.run("swarm/decision", key, &request, |_| {
            let value = serde_json::json!({
                "decision_type": decision_type,
                "decision": decision,
                "context": context,
                "decided_at": self.now(),
            });
            let id = uuid::Uuid::now_v7();
            self.put(
                caller,
                &write(
                    format!("agent/{agent}/decision/{id}"),
                    value,
                    ConflictPolicy::Reject,
                ),
                None,
            )
        })
    }

    /// `update_agent_progress(task_id, progress)`: merges `progress` into
    /// `agent/{agent}/progress/{task_id}` (RFC 7396: a field set to `null` is removed), so
    /// two updates of different fields both land.
    pub fn update_agent_progress(
        &self,
        caller: Option<&str>,
        agent: &str,
        task_id: &str,
        progress: Map<String, Value>,
        key: Option<&str>,
    ) -> Result<Written> {
        let agent = segment("agent", agent)?;
        let task_id = segment("task_id", task_id)?;
        self.put(
            caller,
            &write(
                format!("agent/{agent}/progress/{task_id}"),
                Value::Object(progress),
                ConflictPolicy::Merge,
            ),
            key,
        )
    }

    /// `share_knowledge_with_swarm(knowledge_type, knowledge)`: a new key
    /// `global/knowledge/{knowledge_type}/{id}` holding the knowledge, then a
    /// `knowledge_shared` event naming it (`data`: `knowledge_type`). With an idempotency
    /// `key`, a retry answers the first call's outcome: one entry, one event.
    pub fn share_knowledge_with_swarm(
        &self,
        caller: Option<&str>,
        knowledge_type: &str,
        knowledge: Value,
        key: Option<&str>,
    ) -> Result<SharedKnowledge> {
        let knowledge_type = segment("knowledge_type", knowledge_type)?;
        let request = serde_json::json!({
            "agent": caller, "knowledge_type": knowledge_type, "knowledge": knowledge,
        });
        self.keys.run("swarm/share", key, &request, |_| {
            let id = uuid::Uuid::now_v7();
            let written = self.put(
                caller,
                &write(
                    format!("global/knowledge/{knowledge_type}/{id}"),
                    knowledge.clone(),
                    ConflictPolicy::Reject,
                ),
                None,
            )?;
            let event = self.publish(
                caller,
                EventKind::KnowledgeShared,
                Some(&written.entry.key),
                serde_json::json!({"knowledge_type": knowledge_type}),
            )?;
            Ok(SharedKnowledge { written, event })
        })
    }
}

fn write(key: String, value: Value, policy: ConflictPolicy) -> Put {
    Put {
        key,
        value,
        policy,
        expected_version: None,
        ttl_ms: None,
        lock: None,
    }
}

/// One segment of a key: a label ([`crate::text::check_label`]) without `/`.
fn segment(field: &str, value: &str) -> Result<String> {
    let value = crate::text::label(value);
    crate::text::check_label(field, value).map_err(SwarmError::InvalidInput)?;
    if value.contains('/') {
        return Err(SwarmError::InvalidInput(format!(
            "{field} {value:?} may not contain '/' (it is one segment of a key)"
        )));
    }
    Ok(value.to_owned())
}
