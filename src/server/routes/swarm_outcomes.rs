//! `/v1/swarm/outcomes`, `/v1/swarm/strategy`, `/v1/swarm/insights`: task outcomes and the
//! strategies and insights they teach (design note 004, "Neural Pattern Learning";
//! [`crate::swarm::outcomes`]). Outcomes are the swarm's shared experience: every caller
//! records and reads them; a key bound to an agent records as that agent.

use axum::Extension;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::super::guard::Caller;
use super::super::idempotency::IdempotencyKey;
use super::super::json::{ApiJson, ApiQuery, usize_integer};
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use super::swarm::agent;
use crate::swarm::outcomes::DEFAULT_NEIGHBOURS;
use crate::swarm::{Insight, InsightKind, NewOutcome, Outcome, Recommendation};

/// A finished task (the note's `record_task_outcome`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskOutcomeRequest {
    /// What kind of task it was (`data_processing`, `code_review`, …).
    #[schema(schema_with = schema::label)]
    task_type: String,
    /// The agents that worked on it (repeats count once).
    #[schema(schema_with = schema::outcome_agents)]
    agents: Vec<String>,
    /// Whether it succeeded.
    success: bool,
    /// Wall time it took, in seconds.
    #[schema(schema_with = schema::execution_time)]
    execution_time: f64,
    /// The situation it ran in (a string `strategy` in it names the strategy when the field
    /// below is not given).
    #[serde(default)]
    #[schema(schema_with = schema::outcome_context)]
    context: Map<String, Value>,
    /// How the swarm went about it; default: the context's `strategy`, else the team size
    /// (`1-agent`, `3-agent`).
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    strategy: Option<String>,
}

/// A situation to recommend a strategy for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StrategyRequest {
    /// The situation: a string `task_type` keeps to outcomes of that type, a whole
    /// `available_agents` to outcomes with no more agents; every other field is matched by
    /// meaning.
    #[schema(schema_with = schema::strategy_context)]
    context: Map<String, Value>,
    /// How many nearest outcomes to weigh, 1 to 500 (default 50).
    #[serde(default = "neighbours", deserialize_with = "usize_integer")]
    #[schema(minimum = 1, maximum = 500, default = 50)]
    neighbours: usize,
}

fn neighbours() -> usize {
    DEFAULT_NEIGHBOURS
}

/// `?kind=&task_type=` of the insights.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InsightsQuery {
    /// What the insights are about.
    kind: InsightKind,
    /// Only outcomes of this task type.
    #[serde(default)]
    #[param(schema_with = schema::optional_label)]
    task_type: Option<String>,
}

/// Record a finished task (the note's `record_task_outcome`): what kind it was, which agents,
/// whether it succeeded, how long it took and the situation it ran in.
#[utoipa::path(
    post,
    path = "/v1/swarm/outcomes",
    tag = "swarm",
    operation_id = "recordTaskOutcome",
    params(IdempotencyKey),
    request_body(content = TaskOutcomeRequest, example = json!({"task_type": "data_processing", "agents": ["worker-1", "worker-2"], "success": true, "execution_time": 120.5, "context": {"data_size": "large", "complexity": "medium"}, "strategy": "parallel_processing"})),
    responses((status = 200, description = "The outcome as recorded", body = Outcome))
)]
pub async fn record(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<TaskOutcomeRequest>,
) -> Reply<Outcome> {
    let agent = agent(&caller);
    let outcome = NewOutcome {
        task_type: request.task_type,
        agents: request.agents,
        success: request.success,
        execution_time: request.execution_time,
        context: request.context,
        strategy: request.strategy,
    };
    blocking(&state, move |e| {
        Ok(e.swarm()?
            .record_task_outcome(agent.as_deref(), &outcome, key.as_deref())?)
    })
    .await
}

/// Recommend a coordination strategy (the note's `get_coordination_strategy`): the
/// outcomes nearest by meaning to the situation, grouped by strategy, ranked by the lower
/// bound of the 95 % Wilson interval of their success rate.
#[utoipa::path(
    post,
    path = "/v1/swarm/strategy",
    tag = "swarm",
    operation_id = "getCoordinationStrategy",
    request_body(content = StrategyRequest, example = json!({"context": {"task_type": "data_processing", "data_size": "large", "available_agents": 5}})),
    responses((status = 200, description = "The best strategy (null when nothing like it is recorded) and the others", body = Recommendation))
)]
pub async fn strategy(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<StrategyRequest>,
) -> Reply<Recommendation> {
    blocking(&state, move |e| {
        Ok(e.swarm()?
            .outcomes()
            .recommend(&request.context, request.neighbours)?)
    })
    .await
}

/// What the recorded outcomes show (the note's `get_learning_insights`), most confident
/// first.
#[utoipa::path(
    get,
    path = "/v1/swarm/insights",
    tag = "swarm",
    operation_id = "getLearningInsights",
    params(InsightsQuery),
    responses((status = 200, description = "Insights, most confident first", body = Vec<Insight>))
)]
pub async fn insights(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<InsightsQuery>,
) -> Reply<Vec<Insight>> {
    blocking(&state, move |e| {
        Ok(e.swarm()?
            .outcomes()
            .insights(query.kind, query.task_type.as_deref())?)
    })
    .await
}
