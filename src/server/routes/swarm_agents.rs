//! `/v1/swarm/agents/{agent}/…` and `/v1/swarm/knowledge`: the note's agent-state helpers
//! ([`crate::swarm::agent_state`]), each a write of a swarm key, so that expiry, locks, the
//! event feed and agent isolation hold for them as for any key. A key bound to an agent
//! writes only its own `agent/{agent}/…` keys (403 otherwise).

use axum::Extension;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::super::error::ApiErrorBody;
use super::super::guard::Caller;
use super::super::idempotency::IdempotencyKey;
use super::super::json::ApiJson;
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use super::swarm::agent as bound_agent;
use crate::swarm::{SharedKnowledge, Written};

/// The `{agent}` of a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgentPath {
    /// The agent: one segment of a key.
    #[param(schema_with = schema::swarm_segment)]
    agent: String,
}

/// The `{agent}` and `{task_id}` of a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TaskPath {
    /// The agent: one segment of a key.
    #[param(schema_with = schema::swarm_segment)]
    agent: String,
    /// The task: one segment of a key.
    #[param(schema_with = schema::swarm_segment)]
    task_id: String,
}

/// An agent's configuration (`initialize_agent_memory`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InitializeRequest {
    /// Anything the agent wants kept: role, capacity, …
    #[serde(default)]
    #[schema(schema_with = schema::swarm_object)]
    config: Map<String, Value>,
}

/// A decision (`store_agent_decision`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// What kind of decision (`task_assignment`, …).
    #[schema(schema_with = schema::label)]
    decision_type: String,
    /// What was decided.
    #[schema(schema_with = schema::lease_value)]
    decision: Value,
    /// What it was decided in view of.
    #[serde(default)]
    #[schema(schema_with = schema::lease_value)]
    context: Value,
}

/// Progress on a task (`update_agent_progress`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressRequest {
    /// Fields to set (a JSON merge patch: `null` removes a field).
    #[schema(schema_with = schema::swarm_object)]
    progress: Map<String, Value>,
}

/// Knowledge to share (`share_knowledge_with_swarm`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    /// What kind of knowledge (`optimization_insight`, …): one segment of a key.
    #[schema(schema_with = schema::swarm_segment)]
    knowledge_type: String,
    /// The knowledge.
    #[schema(schema_with = schema::lease_value)]
    knowledge: Value,
}

/// Initialise an agent's memory: `agent/{agent}/state` becomes `{status: "initialized",
/// config, initialized_at}` (last write wins).
#[utoipa::path(
    post,
    path = "/v1/swarm/agents/{agent}/memory",
    tag = "swarm",
    operation_id = "initializeAgentMemory",
    params(AgentPath, IdempotencyKey),
    request_body(content = InitializeRequest, example = json!({"config": {"role": "data_processor", "capacity": 100}})),
    responses(
        (status = 200, description = "The state as written", body = Written),
        (status = 403, description = "Another agent's memory (forbidden)", body = ApiErrorBody),
        (status = 423, description = "The key is locked by someone else (locked)", body = ApiErrorBody),
    )
)]
pub async fn initialize(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(AgentPath { agent }): Path<AgentPath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<InitializeRequest>,
) -> Reply<Written> {
    let caller = bound_agent(&caller);
    blocking(&state, move |e| {
        Ok(e.swarm()?.initialize_agent_memory(
            caller.as_deref(),
            &agent,
            request.config,
            key.as_deref(),
        )?)
    })
    .await
}

/// Store an agent's decision under a new key `agent/{agent}/decision/{id}` (ids are
/// time-ordered UUIDv7).
#[utoipa::path(
    post,
    path = "/v1/swarm/agents/{agent}/decisions",
    tag = "swarm",
    operation_id = "storeAgentDecision",
    params(AgentPath, IdempotencyKey),
    request_body(content = DecisionRequest, example = json!({"decision_type": "task_assignment", "decision": {"task_id": "proc_001", "priority": "high"}, "context": {"workload": "medium"}})),
    responses(
        (status = 200, description = "The decision as stored", body = Written),
        (status = 403, description = "Another agent's memory (forbidden)", body = ApiErrorBody),
    )
)]
pub async fn decide(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(AgentPath { agent }): Path<AgentPath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> Reply<Written> {
    let caller = bound_agent(&caller);
    blocking(&state, move |e| {
        Ok(e.swarm()?.store_agent_decision(
            caller.as_deref(),
            &agent,
            &request.decision_type,
            request.decision,
            request.context,
            key.as_deref(),
        )?)
    })
    .await
}

/// Update an agent's progress on a task: `progress` is merged into
/// `agent/{agent}/progress/{task_id}` (RFC 7396).
#[utoipa::path(
    post,
    path = "/v1/swarm/agents/{agent}/progress/{task_id}",
    tag = "swarm",
    operation_id = "updateAgentProgress",
    params(TaskPath, IdempotencyKey),
    request_body(content = ProgressRequest, example = json!({"progress": {"status": "in_progress", "completion": 0.75}})),
    responses(
        (status = 200, description = "The progress as stored", body = Written),
        (status = 403, description = "Another agent's memory (forbidden)", body = ApiErrorBody),
        (status = 423, description = "The key is locked by someone else (locked)", body = ApiErrorBody),
    )
)]
pub async fn progress(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(TaskPath { agent, task_id }): Path<TaskPath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<ProgressRequest>,
) -> Reply<Written> {
    let caller = bound_agent(&caller);
    blocking(&state, move |e| {
        Ok(e.swarm()?.update_agent_progress(
            caller.as_deref(),
            &agent,
            &task_id,
            request.progress,
            key.as_deref(),
        )?)
    })
    .await
}

/// Share knowledge with the swarm: a new key `global/knowledge/{knowledge_type}/{id}` and a
/// `knowledge_shared` event naming it.
#[utoipa::path(
    post,
    path = "/v1/swarm/knowledge",
    tag = "swarm",
    operation_id = "shareKnowledge",
    params(IdempotencyKey),
    request_body(content = ShareRequest, example = json!({"knowledge_type": "optimization_insight", "knowledge": {"strategy": "parallel_processing", "efficiency_gain": 0.3}})),
    responses((status = 200, description = "The knowledge as stored and its event", body = SharedKnowledge))
)]
pub async fn share(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<ShareRequest>,
) -> Reply<SharedKnowledge> {
    let caller = bound_agent(&caller);
    blocking(&state, move |e| {
        Ok(e.swarm()?.share_knowledge_with_swarm(
            caller.as_deref(),
            &request.knowledge_type,
            request.knowledge,
            key.as_deref(),
        )?)
    })
    .await
}
