//! `/v1/agents` and `/v1/workspaces`: agent memory (design note 000) — private learnings,
//! the workspace's shared pool, promotion and its ledger, cross-pollination, expertise.
//!
//! Identity comes from the key, never from the request: a key bound to an agent acts only
//! as that agent (a path naming another is 403) and, when bound to a workspace, only in it
//! (another workspace is 403). Another agent's private learning is answered 404, exactly as
//! an id that does not exist. Cross-pollination promotes other agents' learnings, so it
//! needs an admin key. Expertise is not private: any key may read any agent's (that is what
//! routing work needs), but records interactions only for its own agent.

// utoipa 5's `params(...)` expansion trips `unused_qualifications` in whichever of this
// module and `episodes` expands second (both declare `{id}` paths of `value_type = String`);
// the paths it flags are the macro's, not ours.
#![allow(
    unused_qualifications,
    reason = "false positive from utoipa's params expansion"
)]

use axum::Extension;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::super::error::ApiError;
use super::super::guard::Caller;
use super::super::idempotency::IdempotencyKey;
use super::super::json::{ApiJson, ApiQuery, query_integer, usize_integer};
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use crate::agents::{
    BestAgent, Expertise, Learning, LearningInput, MAX_AGENTS, MAX_LIST, MAX_RECALL,
    PollinationOptions, PollinationReport, Promotion, PromotionEntry, RecalledLearning,
};
use crate::store::PointId;

/// A learning to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LearningRequest {
    /// What was learned.
    #[schema(schema_with = schema::message)]
    content: String,
    /// Where it came from, e.g. `user_feedback`, `self_evaluation`.
    #[schema(schema_with = schema::label)]
    source: String,
    /// `positive`, `negative` or `neutral` (any label; default `neutral`).
    #[serde(default = "neutral")]
    #[schema(schema_with = schema::sentiment)]
    sentiment: String,
    /// How sure the agent is, 0 to 1 (default 0.8).
    #[serde(default = "point_eight")]
    #[schema(minimum = 0.0, maximum = 1.0, default = 0.8)]
    confidence: f64,
    /// The tool it concerns.
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    tool_name: Option<String>,
    /// What to do about it.
    #[serde(default)]
    #[schema(schema_with = schema::context)]
    recommendation: String,
    /// The agent's role (null: its name).
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    role: Option<String>,
    /// The workspace (null: the key's workspace, else `default`).
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    workspace: Option<String>,
    /// The domain (null: `general`).
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    domain: Option<String>,
    /// Private to the agent (default) or shared with the workspace at once.
    #[serde(default = "yes")]
    #[schema(default = true)]
    private: bool,
}

fn neutral() -> String {
    "neutral".to_owned()
}

fn point_eight() -> f64 {
    0.8
}

fn yes() -> bool {
    true
}

/// Why a learning is promoted.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// The reason kept in the ledger (default "Applicable across team", the note's).
    #[serde(default = "applicable")]
    #[schema(schema_with = schema::reason)]
    reason: String,
}

fn applicable() -> String {
    "Applicable across team".to_owned()
}

/// A recall by meaning.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LearningRecallRequest {
    /// What to look for.
    #[schema(schema_with = schema::message)]
    query: String,
    /// How many learnings (1 to 100, default 5).
    #[serde(default = "default_k", deserialize_with = "usize_integer")]
    #[schema(minimum = 1, maximum = 100, default = 5)]
    k: usize,
    /// The workspace (null: the key's workspace, else `default`).
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    workspace: Option<String>,
    /// Only this domain.
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    domain: Option<String>,
}

fn default_k() -> usize {
    5
}

/// An interaction's outcome.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionRequest {
    /// The domain, e.g. `research`.
    #[schema(schema_with = schema::label)]
    domain: String,
    /// Whether it went well (default true).
    #[serde(default = "yes")]
    #[schema(default = true)]
    successful: bool,
}

/// A cross-pollination run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollinationRequest {
    /// The agents whose private learnings may be promoted, in this order (1 to 256).
    #[schema(schema_with = schema::agents)]
    agents: Vec<String>,
    /// Only learnings at least this confident (default 0.75).
    #[serde(default = "three_quarters")]
    #[schema(minimum = 0.0, maximum = 1.0, default = 0.75)]
    confidence_threshold: f64,
    /// At most this many promotions per agent (default 3).
    #[serde(default = "three", deserialize_with = "usize_integer")]
    #[schema(minimum = 0, maximum = 1000, default = 3)]
    max_promotions_per_agent: usize,
}

fn three_quarters() -> f64 {
    0.75
}

fn three() -> usize {
    3
}

/// The `{agent}` of an agent route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AgentPath {
    /// The agent's name.
    #[param(schema_with = schema::label)]
    agent: String,
}

/// The `{agent}` and `{id}` of a learning.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LearningPath {
    /// The agent's name.
    #[param(schema_with = schema::label)]
    agent: String,
    /// The learning's id.
    #[param(value_type = String, format = Uuid)]
    id: String,
}

/// The `{agent}` and `{domain}` of an expertise.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DomainPath {
    /// The agent's name.
    #[param(schema_with = schema::label)]
    agent: String,
    /// The domain.
    #[param(schema_with = schema::label)]
    domain: String,
}

/// The `{workspace}` of a pool route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WorkspacePath {
    /// The workspace.
    #[param(schema_with = schema::label)]
    workspace: String,
}

/// The `{workspace}` and `{id}` of a ledger entry.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WorkspaceLearningPath {
    /// The workspace.
    #[param(schema_with = schema::label)]
    workspace: String,
    /// The learning's id.
    #[param(value_type = String, format = Uuid)]
    id: String,
}

/// Which private learnings.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PrivateQuery {
    /// Only this workspace (default: the key's workspace, else all).
    #[param(schema_with = schema::label)]
    workspace: Option<String>,
}

/// Which shared learnings.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PoolQuery {
    /// Only this domain.
    #[param(schema_with = schema::label)]
    domain: Option<String>,
    /// At most this many, newest first (1 to 1000, default 100).
    #[serde(default = "hundred", deserialize_with = "query_integer")]
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: usize,
    /// The agent they are shown to, whose exposures are counted (a key bound to an agent
    /// is that agent; an admin may name one).
    #[param(schema_with = schema::label)]
    agent: Option<String>,
}

fn hundred() -> usize {
    100
}

/// Which domain and candidates.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BestRequest {
    /// The domain.
    #[schema(schema_with = schema::label)]
    domain: String,
    /// The candidates (1 to 256); ties keep this order.
    #[schema(schema_with = schema::agents)]
    agents: Vec<String>,
}

/// A label of the path or the query (agent, workspace, domain) in its one form, or 422.
fn labelled(field: &str, value: &str) -> Result<String, ApiError> {
    let value = crate::text::label(value);
    crate::text::check_label(field, value).map_err(ApiError::invalid)?;
    Ok(value.to_owned())
}

/// The caller acts as `agent` (answered in its one form): an admin key, or a key bound to
/// that agent.
fn act_as(caller: &Option<Extension<Caller>>, agent: &str) -> Result<String, ApiError> {
    let agent = labelled("agent", agent)?;
    Caller::require(caller, "agent", &agent)?;
    Ok(agent)
}

/// The workspace a request works in: the one it names, which must be the key's when the
/// key is bound to one; else the key's.
fn workspace_of(
    caller: &Option<Extension<Caller>>,
    named: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let own = Caller::workspace_of(caller);
    let named = named.map(|n| labelled("workspace", n)).transpose()?;
    match (named, own) {
        (Some(named), Some(own)) if named != own => Err(ApiError::forbidden(format!(
            "this key works in workspace {own:?}, not {named:?}"
        ))),
        (Some(named), _) => Ok(Some(named)),
        (None, own) => Ok(own.map(str::to_owned)),
    }
}

fn learning_id(text: &str) -> Result<PointId, ApiError> {
    text.parse::<PointId>().map_err(|_| {
        ApiError::invalid_id(
            text,
            "a learning",
            "use the id POST /v1/agents/{agent}/learnings returned",
        )
    })
}

/// Add a learning (private unless `private` is false; durable when answered).
#[utoipa::path(
    post,
    path = "/v1/agents/{agent}/learnings",
    tag = "agents",
    operation_id = "addLearning",
    params(AgentPath, IdempotencyKey),
    request_body(content = LearningRequest, example = json!({"content": "Clear requirements reduce debugging time", "source": "self_evaluation", "confidence": 0.95, "domain": "development"})),
    responses(
        (status = 200, description = "The learning as stored", body = Learning),
        (status = 403, description = "A key bound to another agent or workspace (forbidden)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn add_learning(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(AgentPath { agent }): Path<AgentPath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<LearningRequest>,
) -> Reply<Learning> {
    let agent = act_as(&caller, &agent)?;
    let workspace = workspace_of(&caller, request.workspace.as_deref())?;
    let input = LearningInput {
        content: request.content,
        source: request.source,
        sentiment: request.sentiment,
        confidence: request.confidence,
        tool_name: request.tool_name,
        recommendation: request.recommendation,
        role: request.role,
        workspace,
        domain: request.domain,
        private: request.private,
    };
    blocking(&state, move |e| {
        Ok(e.agents()?.add_learning(&agent, input, key.as_deref())?)
    })
    .await
}

/// The agent's private learnings, newest first.
#[utoipa::path(
    get,
    path = "/v1/agents/{agent}/learnings",
    tag = "agents",
    operation_id = "privateLearnings",
    params(AgentPath, PrivateQuery),
    responses(
        (status = 200, description = "Private learnings (at most 1000)", body = [Learning]),
        (status = 403, description = "A key bound to another agent or workspace (forbidden)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn private_learnings(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(AgentPath { agent }): Path<AgentPath>,
    ApiQuery(query): ApiQuery<PrivateQuery>,
) -> Reply<Vec<Learning>> {
    let agent = act_as(&caller, &agent)?;
    let workspace = workspace_of(&caller, query.workspace.as_deref())?;
    blocking(&state, move |e| {
        Ok(e.agents()?
            .get_private_learnings(&agent, workspace.as_deref())?)
    })
    .await
}

/// One learning, as the agent may see it: its own or a shared one (else 404).
#[utoipa::path(
    get,
    path = "/v1/agents/{agent}/learnings/{id}",
    tag = "agents",
    operation_id = "getLearning",
    params(LearningPath),
    responses(
        (status = 200, description = "The learning", body = Learning),
        (status = 403, description = "A key bound to another agent (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "No learning with this id that the agent may see (not_found)", body = super::super::error::ApiErrorBody),
        (status = 422, description = "An agent name that is not a label (invalid_request)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn get_learning(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(LearningPath { agent, id }): Path<LearningPath>,
) -> Reply<Learning> {
    let agent = act_as(&caller, &agent)?;
    let id = learning_id(&id)?;
    let workspace = workspace_of(&caller, None)?;
    blocking(&state, move |e| {
        Ok(e.agents()?
            .get_learning(Some(&agent), workspace.as_deref(), id)?)
    })
    .await
}

/// Promote the agent's learning to its workspace's shared pool (or merge it into a shared
/// near-duplicate); the ledger keeps one entry per learning.
#[utoipa::path(
    post,
    path = "/v1/agents/{agent}/learnings/{id}/promote",
    tag = "agents",
    operation_id = "promoteLearning",
    params(LearningPath),
    request_body(content = PromoteRequest, example = json!({"reason": "Broadly applicable insight for all domains"})),
    responses(
        (status = 200, description = "Whether it was promoted now, and its ledger entry", body = Promotion),
        (status = 403, description = "A key bound to another agent (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "No learning of this agent with this id (not_found)", body = super::super::error::ApiErrorBody),
        (status = 503, description = "Another promotion of the workspace held it too long (busy, with Retry-After)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn promote_learning(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(LearningPath { agent, id }): Path<LearningPath>,
    ApiJson(request): ApiJson<PromoteRequest>,
) -> Reply<Promotion> {
    let agent = act_as(&caller, &agent)?;
    let id = learning_id(&id)?;
    let workspace = workspace_of(&caller, None)?;
    blocking(&state, move |e| {
        Ok(e.agents()?
            .promote_learning(Some(&agent), workspace.as_deref(), id, &request.reason)?)
    })
    .await
}

/// Recall by meaning over the workspace's shared pool and the agent's own private learnings
/// (never another agent's private ones).
#[utoipa::path(
    post,
    path = "/v1/agents/{agent}/recall",
    tag = "agents",
    operation_id = "recallLearnings",
    params(AgentPath),
    request_body(content = LearningRecallRequest, example = json!({"query": "how do we cut debugging time?", "k": 5})),
    responses(
        (status = 200, description = "Learnings, most similar first", body = [RecalledLearning]),
        (status = 403, description = "A key bound to another agent or workspace (forbidden)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn recall_learnings(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(AgentPath { agent }): Path<AgentPath>,
    ApiJson(request): ApiJson<LearningRecallRequest>,
) -> Reply<Vec<RecalledLearning>> {
    let agent = act_as(&caller, &agent)?;
    if request.k == 0 || request.k > MAX_RECALL {
        return Err(ApiError::invalid(format!(
            "k is {}; give 1 to {MAX_RECALL}",
            request.k
        )));
    }
    let workspace = workspace_of(&caller, request.workspace.as_deref())?;
    blocking(&state, move |e| {
        Ok(e.agents()?.recall(
            &agent,
            workspace.as_deref(),
            &request.query,
            request.k,
            request.domain.as_deref(),
        )?)
    })
    .await
}

/// Record how an interaction of the agent in a domain went (one observation).
#[utoipa::path(
    post,
    path = "/v1/agents/{agent}/interactions",
    tag = "agents",
    operation_id = "recordInteraction",
    params(AgentPath, IdempotencyKey),
    request_body(content = InteractionRequest, example = json!({"domain": "development", "successful": true})),
    responses(
        (status = 200, description = "The agent's expertise in the domain after it", body = Expertise),
        (status = 403, description = "A key bound to another agent (forbidden)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn record_interaction(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(AgentPath { agent }): Path<AgentPath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<InteractionRequest>,
) -> Reply<Expertise> {
    let agent = act_as(&caller, &agent)?;
    blocking(&state, move |e| {
        Ok(e.agents()?.record_interaction(
            &agent,
            &request.domain,
            request.successful,
            key.as_deref(),
        )?)
    })
    .await
}

/// The agent's expertise in every domain it has interactions in.
#[utoipa::path(
    get,
    path = "/v1/agents/{agent}/expertise",
    tag = "agents",
    operation_id = "expertiseReport",
    params(AgentPath),
    responses(
        (status = 200, description = "Per domain, by name", body = [Expertise]),
        (status = 422, description = "An agent name that is not a label (invalid_request)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn expertise_report(
    State(state): State<AppState>,
    Path(AgentPath { agent }): Path<AgentPath>,
) -> Reply<Vec<Expertise>> {
    let agent = labelled("agent", &agent)?;
    blocking(&state, move |e| {
        Ok(e.agents()?.get_expertise_report(&agent)?)
    })
    .await
}

/// The agent's expertise in one domain (score 0.5 before any interaction).
#[utoipa::path(
    get,
    path = "/v1/agents/{agent}/expertise/{domain}",
    tag = "agents",
    operation_id = "expertiseScore",
    params(DomainPath),
    responses(
        (status = 200, description = "Score, lower bound and counts", body = Expertise),
        (status = 422, description = "An agent or domain name that is not a label (invalid_request)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn expertise_score(
    State(state): State<AppState>,
    Path(DomainPath { agent, domain }): Path<DomainPath>,
) -> Reply<Expertise> {
    let agent = labelled("agent", &agent)?;
    let domain = labelled("domain", &domain)?;
    blocking(&state, move |e| {
        Ok(e.agents()?.expertise(&agent, &domain)?)
    })
    .await
}

/// The best of some agents for a domain, by the Wilson lower bound of their success ratio.
#[utoipa::path(
    post,
    path = "/v1/agents/best",
    tag = "agents",
    operation_id = "bestAgent",
    request_body(content = BestRequest, example = json!({"domain": "research", "agents": ["researcher", "coder", "designer"]})),
    responses((status = 200, description = "The best candidate and the ranking", body = BestAgent))
)]
pub async fn best_agent(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<BestRequest>,
) -> Reply<BestAgent> {
    if request.agents.len() > MAX_AGENTS {
        return Err(ApiError::invalid(format!(
            "{} agents; the limit is {MAX_AGENTS}",
            request.agents.len()
        )));
    }
    blocking(&state, move |e| {
        Ok(e.agents()?
            .get_best_agent_for_domain(&request.domain, &request.agents)?)
    })
    .await
}

/// The workspace's shared pool, newest first (optionally one domain).
#[utoipa::path(
    get,
    path = "/v1/workspaces/{workspace}/learnings",
    tag = "agents",
    operation_id = "sharedLearnings",
    params(WorkspacePath, PoolQuery),
    responses(
        (status = 200, description = "Shared learnings", body = [Learning]),
        (status = 403, description = "A key bound to another workspace, or naming another agent (forbidden)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn shared_learnings(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(WorkspacePath { workspace }): Path<WorkspacePath>,
    ApiQuery(query): ApiQuery<PoolQuery>,
) -> Reply<Vec<Learning>> {
    let workspace = workspace_of(&caller, Some(&workspace))?.unwrap_or_default();
    let named = query.agent.map(|n| labelled("agent", &n)).transpose()?;
    if let Some(named) = &named {
        Caller::require(&caller, "agent", named)?;
    }
    let viewer = Caller::agent_of(&caller).map(str::to_owned).or(named);
    if query.limit == 0 || query.limit > MAX_LIST {
        return Err(ApiError::invalid(format!(
            "limit is {}; give 1 to {MAX_LIST}",
            query.limit
        )));
    }
    blocking(&state, move |e| {
        let agents = e.agents()?;
        Ok(match query.domain {
            Some(domain) => agents.get_learnings_by_domain(
                &workspace,
                &domain,
                viewer.as_deref(),
                query.limit,
            )?,
            None => agents.get_shared_learnings(&workspace, viewer.as_deref(), query.limit)?,
        })
    })
    .await
}

/// Promote the confident private learnings of some agents (admin key): at most N per agent,
/// near-duplicates merged; two runs at once promote every learning once.
#[utoipa::path(
    post,
    path = "/v1/workspaces/{workspace}/cross-pollination",
    tag = "agents",
    operation_id = "crossPollinate",
    params(WorkspacePath),
    request_body(content = PollinationRequest, example = json!({"agents": ["researcher", "coder", "designer"], "confidence_threshold": 0.85, "max_promotions_per_agent": 3})),
    responses(
        (status = 200, description = "Promotions per agent and the ledger entries written", body = PollinationReport),
        (status = 403, description = "A key bound to an agent (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 503, description = "Another promotion of the workspace held it too long (busy, with Retry-After)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn cross_pollinate(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(WorkspacePath { workspace }): Path<WorkspacePath>,
    ApiJson(request): ApiJson<PollinationRequest>,
) -> Reply<PollinationReport> {
    Caller::require_admin(&caller, "cross-pollination")?;
    let workspace = labelled("workspace", &workspace)?;
    let options = PollinationOptions {
        confidence_threshold: request.confidence_threshold,
        max_promotions_per_agent: request.max_promotions_per_agent,
    };
    blocking(&state, move |e| {
        Ok(e.agents()?
            .run_cross_pollination(Some(&workspace), &request.agents, options)?)
    })
    .await
}

/// A learning's promotion: the ledger entry with its exposure count.
#[utoipa::path(
    get,
    path = "/v1/workspaces/{workspace}/promotions/{id}",
    tag = "agents",
    operation_id = "promotionHistory",
    params(WorkspaceLearningPath),
    responses(
        (status = 200, description = "The ledger entry", body = PromotionEntry),
        (status = 403, description = "A key bound to another workspace (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "No promotion of this learning in this workspace (not_found)", body = super::super::error::ApiErrorBody),
        (status = 422, description = "A workspace name that is not a label (invalid_request)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn promotion_history(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(WorkspaceLearningPath { workspace, id }): Path<WorkspaceLearningPath>,
) -> Reply<PromotionEntry> {
    let workspace = workspace_of(&caller, Some(&workspace))?.unwrap_or_default();
    let id = learning_id(&id)?;
    blocking(&state, move |e| {
        let entry = e.agents()?.get_promotion_history(id)?;
        if entry.workspace != workspace {
            return Err(ApiError::not_found(format!(
                "learning {id} has no promotion in workspace {workspace:?}"
            )));
        }
        Ok(entry)
    })
    .await
}
