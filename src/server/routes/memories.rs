//! `/v1/memories`, `/v1/sessions`, `/v1/groups` and `/v1/circuit-breaker`: general memory
//! (design note 003) — memories with tiers, importance, versions, decay and reinforcement;
//! parent/child, relationships, sessions, context groups and batches.
//!
//! Identity comes from the key: a key bound to an agent stores memories as that agent
//! (naming another `agent_id` is 403) and sees its own memories and those of no agent;
//! another agent's memory is answered 404, exactly as one that does not exist. It updates
//! and deletes only its own (an agentless memory is 403 for it). Admin keys see and change
//! everything.

use axum::Extension;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::super::error::ApiError;
use super::super::guard::Caller;
use super::super::idempotency::IdempotencyKey;
use super::super::json::{
    ApiJson, ApiQuery, IgnoredBody, object, optional_i64, query_integer, usize_integer,
};
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use crate::memories::{
    BatchAdded, Deletion, GroupMembers, Memory, MemoryFilters, MemoryHistory, MemoryInput,
    MemoryUpdate, Reinforced, Related, Relationship, ScoredMemory, Session, Tier,
};
use crate::store::PointId;

/// A memory to add (the note's `add_memory`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemoryRequest {
    /// What to remember.
    #[schema(schema_with = schema::message)]
    content: String,
    /// Its type (null: `general`).
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    memory_type: Option<String>,
    /// Its tier (null: `short`, which expires unless reinforced or promoted).
    #[serde(default)]
    memory_tier: Option<Tier>,
    /// How much it matters, 0 to 1 (default 0.5).
    #[serde(default = "half")]
    #[schema(minimum = 0.0, maximum = 1.0, default = 0.5)]
    importance: f64,
    /// Any JSON object kept with it.
    #[serde(default)]
    #[schema(schema_with = schema::memory_metadata)]
    metadata: Map<String, Value>,
    /// Labels to filter on.
    #[serde(default)]
    #[schema(schema_with = schema::tags)]
    tags: Vec<String>,
    /// The memory it belongs under (must exist).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    parent_id: Option<PointId>,
    /// The session it was made in (must exist).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    session_id: Option<PointId>,
    /// Its agent (null: the key's agent, else no agent: every caller may see it).
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    agent_id: Option<String>,
}

fn half() -> f64 {
    0.5
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

impl AddMemoryRequest {
    fn into_input(self, caller: &Option<Extension<Caller>>) -> Result<MemoryInput, ApiError> {
        Ok(MemoryInput {
            content: self.content,
            memory_type: self.memory_type,
            memory_tier: self.memory_tier,
            importance: Some(self.importance),
            metadata: Some(self.metadata),
            tags: self.tags,
            parent_id: self.parent_id,
            session_id: self.session_id,
            agent_id: owner(caller, self.agent_id)?,
        })
    }
}

/// The agent a write is for: a bound key's own (naming another is 403), or what an admin
/// names.
fn owner(
    caller: &Option<Extension<Caller>>,
    named: Option<String>,
) -> Result<Option<String>, ApiError> {
    match (Caller::agent_of(caller), named) {
        (Some(own), None) => Ok(Some(own.to_owned())),
        (Some(_), Some(named)) => {
            let named = crate::text::label(&named).to_owned();
            Caller::require(caller, "agent", &named)?;
            Ok(Some(named))
        }
        (None, named) => Ok(named),
    }
}

/// Who reads: a bound key's agent, or an admin (`None`).
fn viewer(caller: &Option<Extension<Caller>>) -> Option<String> {
    Caller::agent_of(caller).map(str::to_owned)
}

fn memory_id(text: &str) -> Result<PointId, ApiError> {
    text.parse::<PointId>().map_err(|_| {
        ApiError::invalid_id(text, "a memory", "use the id POST /v1/memories returned")
    })
}

/// Many memories at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchAddRequest {
    /// 1 to 1000 objects, each with the fields of an `AddMemoryRequest`. Each is checked on
    /// its own: one that is invalid gets its error in the result and the others are stored.
    #[schema(min_items = 1, max_items = 1000, value_type = Vec<Object>)]
    memories: Vec<Map<String, Value>>,
}

/// Ids to read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchGetRequest {
    /// 1 to 1000 memory ids.
    #[schema(schema_with = schema::memory_ids)]
    memory_ids: Vec<PointId>,
}

/// Memories in the order asked, null where there is none the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchGot {
    /// One entry per id asked, in order.
    memories: Vec<Option<Memory>>,
}

/// Changes to a memory: absent or null fields keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemoryRequest {
    /// New content (re-embedded).
    #[serde(default)]
    #[schema(schema_with = schema::optional_message)]
    content: Option<String>,
    /// New type.
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    memory_type: Option<String>,
    /// New tier (medium or long ends a short-term memory's expiry).
    #[serde(default)]
    memory_tier: Option<Tier>,
    /// New importance, 0 to 1.
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1.0)]
    importance: Option<f64>,
    /// New metadata (replaces the old object).
    #[serde(default)]
    #[schema(schema_with = schema::optional_memory_metadata)]
    metadata: Option<Map<String, Value>>,
    /// New tags (replace the old ones).
    #[serde(default)]
    #[schema(schema_with = schema::optional_tags)]
    tags: Option<Vec<String>>,
    /// The version this change is based on: another current version is 409 `conflict`
    /// with `current_version`, and nothing changes.
    #[serde(default)]
    #[schema(minimum = 1)]
    expected_version: Option<u64>,
}

/// How to delete.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Delete its descendants too (default true); false leaves its children, detached.
    #[serde(default = "yes")]
    #[param(default = true)]
    cascade: bool,
}

/// A search (the note's `search_memory`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchMemoryRequest {
    /// What to look for.
    #[schema(schema_with = schema::message)]
    query: String,
    /// Only this type.
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    memory_type: Option<String>,
    /// How many (1 to 1000, default 10).
    #[serde(default = "ten", deserialize_with = "usize_integer")]
    #[schema(minimum = 1, maximum = 1000, default = 10)]
    limit: usize,
    /// Only children of this memory.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    parent_id: Option<PointId>,
}

fn ten() -> usize {
    10
}

fn five() -> usize {
    5
}

fn fifty() -> usize {
    50
}

/// Filters of a semantic search (each one given must hold).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FiltersRequest {
    /// Only this type.
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    memory_type: Option<String>,
    /// Only this tier.
    #[serde(default)]
    memory_tier: Option<Tier>,
    /// Only memories with every one of these tags.
    #[serde(default)]
    #[schema(schema_with = schema::tags)]
    tags: Vec<String>,
    /// Only children of this memory.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    parent_id: Option<PointId>,
    /// Only memories of this session.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    session_id: Option<PointId>,
    /// Only members of this context group (an unknown group is 404).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    group_id: Option<PointId>,
    /// Only memories of this agent.
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    agent_id: Option<String>,
    /// Only memories added at or after this time.
    #[serde(default, deserialize_with = "optional_i64")]
    #[schema(schema_with = schema::optional_millis)]
    created_after: Option<i64>,
    /// Only memories added before this time.
    #[serde(default, deserialize_with = "optional_i64")]
    #[schema(schema_with = schema::optional_millis)]
    created_before: Option<i64>,
}

/// A semantic search (the note's `semantic_search`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SemanticSearchRequest {
    /// What to look for.
    #[schema(schema_with = schema::message)]
    query: String,
    /// How many (1 to 1000, default 5).
    #[serde(default = "five", deserialize_with = "usize_integer")]
    #[schema(minimum = 1, maximum = 1000, default = 5)]
    k: usize,
    /// Filters.
    #[serde(default, deserialize_with = "object")]
    filters: FiltersRequest,
}

/// Which children, in which order.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChildrenQuery {
    /// At most this many (1 to 1000, default 50).
    #[serde(default = "fifty", deserialize_with = "query_integer")]
    #[param(minimum = 1, maximum = 1000, default = 50)]
    limit: usize,
    /// `created_at` (default), `updated_at`, `touched_at` or `importance`.
    #[serde(default)]
    #[param(inline)]
    sort_field: SortField,
    /// `desc` (default) or `asc`.
    #[serde(default)]
    #[param(inline)]
    sort_order: SortOrder,
}

/// A field children may be sorted by.
#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    /// When added.
    #[default]
    CreatedAt,
    /// When last changed.
    UpdatedAt,
    /// When last touched.
    TouchedAt,
    /// Importance.
    Importance,
}

impl SortField {
    fn name(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::TouchedAt => "touched_at",
            Self::Importance => "importance",
        }
    }
}

/// A sort direction.
#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Largest first.
    #[default]
    Desc,
    /// Smallest first.
    Asc,
}

/// A reinforcement.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReinforceRequest {
    /// Above 1, at most 10 (default 1.2, the note's): the share `1 − 1/factor` of the
    /// distance between the memory's reinforcement and 1 that this one closes.
    #[serde(default = "one_point_two")]
    #[schema(exclusive_minimum = 1.0, maximum = 10.0, default = 1.2)]
    reinforcement_factor: f64,
}

fn one_point_two() -> f64 {
    1.2
}

/// A relationship from the memory of the path to another.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationshipRequest {
    /// The memory it points to (not the source itself).
    #[schema(value_type = String, format = Uuid)]
    target_id: PointId,
    /// Its type, e.g. `supports`.
    #[schema(schema_with = schema::label)]
    relationship_type: String,
    /// How strong, 0 to 1 (default 1).
    #[serde(default = "one")]
    #[schema(minimum = 0.0, maximum = 1.0, default = 1.0)]
    strength: f64,
}

/// Which relationships.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RelatedQuery {
    /// Only this type.
    #[param(schema_with = schema::label)]
    relationship_type: Option<String>,
}

/// The `{id}` of a memory, session or group.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdPath {
    /// The id.
    #[param(value_type = String, format = Uuid)]
    id: String,
}

/// A session to open (the note's `create_session`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionRequest {
    /// The user it is with.
    #[schema(schema_with = schema::label)]
    user_id: String,
    /// Its kind (default `conversation`).
    #[serde(default = "conversation")]
    #[schema(schema_with = schema::label)]
    session_type: String,
    /// Any JSON object kept with it.
    #[serde(default)]
    #[schema(schema_with = schema::memory_metadata)]
    session_metadata: Map<String, Value>,
}

fn conversation() -> String {
    "conversation".to_owned()
}

/// Which sessions.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionsQuery {
    /// Only this user's.
    #[param(schema_with = schema::label)]
    user_id: Option<String>,
    /// Only sessions not ended (default false).
    #[serde(default)]
    active: bool,
    /// At most this many, newest first (1 to 1000, default 100).
    #[serde(default = "hundred", deserialize_with = "query_integer")]
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: usize,
}

fn hundred() -> usize {
    100
}

/// A context group to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupRequest {
    /// Its name.
    #[schema(schema_with = schema::title)]
    name: String,
    /// What it is for.
    #[serde(default)]
    #[schema(schema_with = schema::optional_text)]
    description: Option<String>,
}

/// A memory to add to a group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    /// The memory.
    #[schema(value_type = String, format = Uuid)]
    memory_id: PointId,
}

/// The store connection's circuit breaker.
#[derive(Debug, Serialize, ToSchema)]
pub struct CircuitBreaker {
    /// `remote` (a Qdrant server: the breaker guards it) or `edge` (embedded: no network,
    /// no breaker; always closed).
    backend: &'static str,
    /// `closed` (requests go through) or `open` (they fail fast until the cool-down ends).
    state: &'static str,
    /// Consecutive failed requests.
    consecutive_failures: u32,
    /// The last failure, if any.
    last_error: Option<String>,
}

/// Add a memory (durable when answered).
#[utoipa::path(
    post,
    path = "/v1/memories",
    tag = "memories",
    operation_id = "addMemory",
    params(IdempotencyKey),
    request_body(content = AddMemoryRequest, example = json!({"content": "The user prefers concise answers", "memory_type": "preference", "memory_tier": "long", "importance": 0.8, "tags": ["style"]})),
    responses(
        (status = 200, description = "The memory as stored", body = Memory),
        (status = 403, description = "A key bound to another agent (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "The parent or session does not exist (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn add_memory(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<AddMemoryRequest>,
) -> Reply<Memory> {
    let input = request.into_input(&caller)?;
    blocking(&state, move |e| {
        Ok(e.memories()?.add_memory(input, key.as_deref())?)
    })
    .await
}

/// Add many memories: one embedding batch and one write; a result per item, in order.
#[utoipa::path(
    post,
    path = "/v1/memories/batch",
    tag = "memories",
    operation_id = "batchAddMemories",
    params(IdempotencyKey),
    request_body(content = BatchAddRequest, example = json!({"memories": [{"content": "Paris is the capital of France", "memory_tier": "long"}, {"content": ""}]})),
    responses(
        (status = 200, description = "One result per item: the memory, or its error", body = BatchAdded),
        (status = 403, description = "An item names another agent with a key bound to one (forbidden)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn batch_add(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<BatchAddRequest>,
) -> Reply<BatchAdded> {
    let count = request.memories.len();
    if count == 0 || count > crate::memories::MAX_LIST {
        return Err(ApiError::invalid(format!(
            "a batch holds 1 to {} memories, not {count}",
            crate::memories::MAX_LIST
        )));
    }
    // Items that do not parse get their error in place; the rest go to the library.
    let mut parsed: Vec<Result<MemoryInput, String>> = Vec::with_capacity(count);
    for item in request.memories {
        parsed.push(
            match serde_json::from_value::<AddMemoryRequest>(Value::Object(item)) {
                Ok(item) => Ok(item.into_input(&caller)?),
                Err(error) => Err(format!("invalid input: {error}")),
            },
        );
    }
    blocking(&state, move |e| {
        let inputs: Vec<MemoryInput> = parsed.iter().filter_map(|p| p.clone().ok()).collect();
        let added = e.memories()?.batch_add_memories(inputs, key.as_deref())?;
        let mut stored = added.results.into_iter();
        let results = parsed
            .into_iter()
            .enumerate()
            .map(|(index, item)| match item {
                Ok(_) => stored
                    .next()
                    .map(|mut r| {
                        r.index = index;
                        r
                    })
                    .ok_or_else(|| ApiError::internal("a batch result is missing")),
                Err(message) => Ok(crate::memories::BatchItem {
                    index,
                    memory: None,
                    error: Some(crate::memories::ItemError {
                        code: "invalid_request".into(),
                        message,
                    }),
                }),
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let stored = results.iter().filter(|r| r.memory.is_some()).count();
        Ok(BatchAdded {
            stored,
            failed: results.len() - stored,
            results,
        })
    })
    .await
}

/// Read many memories: in the order asked, null where there is none the caller may see.
#[utoipa::path(
    post,
    path = "/v1/memories/batch-get",
    tag = "memories",
    operation_id = "batchGetMemories",
    request_body(content = BatchGetRequest, example = json!({"memory_ids": ["6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b7c1a90"]})),
    responses((status = 200, description = "The memories, in order", body = BatchGot))
)]
pub async fn batch_get(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiJson(request): ApiJson<BatchGetRequest>,
) -> Reply<BatchGot> {
    let count = request.memory_ids.len();
    if count == 0 || count > crate::memories::MAX_LIST {
        return Err(ApiError::invalid(format!(
            "give 1 to {} memory ids, not {count}",
            crate::memories::MAX_LIST
        )));
    }
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(BatchGot {
            memories: e
                .memories()?
                .batch_get_memories(viewer.as_deref(), &request.memory_ids)?,
        })
    })
    .await
}

/// One memory.
#[utoipa::path(
    get,
    path = "/v1/memories/{id}",
    tag = "memories",
    operation_id = "getMemory",
    params(IdPath),
    responses(
        (status = 200, description = "The memory", body = Memory),
        (status = 404, description = "No memory with this id that the caller may see, or it expired (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn get_memory(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
) -> Reply<Memory> {
    let id = memory_id(&id)?;
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.get_memory(viewer.as_deref(), id)?)
    })
    .await
}

/// Update a memory: a new version (compare-and-set on `expected_version` when given).
#[utoipa::path(
    patch,
    path = "/v1/memories/{id}",
    tag = "memories",
    operation_id = "updateMemory",
    params(IdPath),
    request_body(content = UpdateMemoryRequest, example = json!({"importance": 0.9, "memory_tier": "long", "expected_version": 1})),
    responses(
        (status = 200, description = "The new version", body = Memory),
        (status = 403, description = "A key bound to an agent and a memory that is not that agent's (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "No memory with this id that the caller may see (not_found)", body = super::super::error::ApiErrorBody),
        (status = 409, description = "expected_version is not the current version (conflict, with current_version)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn update_memory(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
    ApiJson(request): ApiJson<UpdateMemoryRequest>,
) -> Reply<Memory> {
    let id = memory_id(&id)?;
    let viewer = viewer(&caller);
    let update = MemoryUpdate {
        content: request.content,
        memory_type: request.memory_type,
        memory_tier: request.memory_tier,
        importance: request.importance,
        metadata: request.metadata,
        tags: request.tags,
        expected_version: request.expected_version,
    };
    blocking(&state, move |e| {
        Ok(e.memories()?.update_memory(viewer.as_deref(), id, update)?)
    })
    .await
}

/// Delete a memory (with its descendants unless `cascade=false`), its relationships,
/// memberships, reinforcements and history.
#[utoipa::path(
    delete,
    path = "/v1/memories/{id}",
    tag = "memories",
    operation_id = "deleteMemory",
    params(IdPath, DeleteQuery),
    responses(
        (status = 200, description = "What was removed", body = Deletion),
        (status = 403, description = "A key bound to an agent and a memory that is not that agent's (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "No memory with this id that the caller may see (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn delete_memory(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
) -> Reply<Deletion> {
    let id = memory_id(&id)?;
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?
            .delete_memory(viewer.as_deref(), id, query.cascade)?)
    })
    .await
}

/// A memory's versions, oldest first; the last is the current one.
#[utoipa::path(
    get,
    path = "/v1/memories/{id}/history",
    tag = "memories",
    operation_id = "memoryHistory",
    params(IdPath),
    responses(
        (status = 200, description = "Every version", body = MemoryHistory),
        (status = 404, description = "No memory with this id that the caller may see (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
) -> Reply<MemoryHistory> {
    let id = memory_id(&id)?;
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.history(viewer.as_deref(), id)?)
    })
    .await
}

/// A memory's children.
#[utoipa::path(
    get,
    path = "/v1/memories/{id}/children",
    tag = "memories",
    operation_id = "getChildren",
    params(IdPath, ChildrenQuery),
    responses(
        (status = 200, description = "Children the caller may see, sorted", body = [Memory]),
        (status = 404, description = "No memory with this id that the caller may see (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn children(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
    ApiQuery(query): ApiQuery<ChildrenQuery>,
) -> Reply<Vec<Memory>> {
    let id = memory_id(&id)?;
    let viewer = viewer(&caller);
    let order = match query.sort_order {
        SortOrder::Asc => "asc",
        SortOrder::Desc => "desc",
    };
    blocking(&state, move |e| {
        Ok(e.memories()?.get_children(
            viewer.as_deref(),
            id,
            query.limit,
            query.sort_field.name(),
            order,
        )?)
    })
    .await
}

/// Reinforce a memory: a bounded bonus, and it counts as touched (recency restarts; a
/// short-term memory lives another TTL).
#[utoipa::path(
    post,
    path = "/v1/memories/{id}/reinforce",
    tag = "memories",
    operation_id = "reinforceMemory",
    params(IdPath, IdempotencyKey),
    request_body(content = ReinforceRequest, example = json!({"reinforcement_factor": 1.2})),
    responses(
        (status = 200, description = "The memory and its reinforcement", body = Reinforced),
        (status = 404, description = "No memory with this id that the caller may see (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn reinforce(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<ReinforceRequest>,
) -> Reply<Reinforced> {
    let id = memory_id(&id)?;
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.reinforce_memory(
            viewer.as_deref(),
            id,
            request.reinforcement_factor,
            key.as_deref(),
        )?)
    })
    .await
}

/// Relate the memory to another (adding the same relationship again keeps one).
#[utoipa::path(
    post,
    path = "/v1/memories/{id}/relationships",
    tag = "memories",
    operation_id = "addRelationship",
    params(IdPath),
    request_body(content = RelationshipRequest, example = json!({"target_id": "6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b7c1a90", "relationship_type": "supports", "strength": 0.8})),
    responses(
        (status = 200, description = "The relationship", body = Relationship),
        (status = 404, description = "Either memory does not exist for the caller (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn add_relationship(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
    ApiJson(request): ApiJson<RelationshipRequest>,
) -> Reply<Relationship> {
    let id = memory_id(&id)?;
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.add_relationship(
            viewer.as_deref(),
            id,
            request.target_id,
            &request.relationship_type,
            request.strength,
        )?)
    })
    .await
}

/// Memories related to this one, in either direction, strongest first.
#[utoipa::path(
    get,
    path = "/v1/memories/{id}/related",
    tag = "memories",
    operation_id = "relatedMemories",
    params(IdPath, RelatedQuery),
    responses(
        (status = 200, description = "Related memories the caller may see", body = [Related]),
        (status = 404, description = "No memory with this id that the caller may see (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn related(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
    ApiQuery(query): ApiQuery<RelatedQuery>,
) -> Reply<Vec<Related>> {
    let id = memory_id(&id)?;
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.get_related_memories(
            viewer.as_deref(),
            id,
            query.relationship_type.as_deref(),
        )?)
    })
    .await
}

/// Search memories (the note's `search_memory`), ranked by the retrieval score.
#[utoipa::path(
    post,
    path = "/v1/memories/search",
    tag = "memories",
    operation_id = "searchMemory",
    request_body(content = SearchMemoryRequest, example = json!({"query": "how does the user like answers?", "limit": 5})),
    responses((status = 200, description = "Best first", body = [ScoredMemory]))
)]
pub async fn search(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiJson(request): ApiJson<SearchMemoryRequest>,
) -> Reply<Vec<ScoredMemory>> {
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.search_memory(
            viewer.as_deref(),
            &request.query,
            request.memory_type.as_deref(),
            request.limit,
            request.parent_id,
        )?)
    })
    .await
}

/// Search memories with filters (the note's `semantic_search`).
#[utoipa::path(
    post,
    path = "/v1/memories/semantic-search",
    tag = "memories",
    operation_id = "semanticSearch",
    request_body(content = SemanticSearchRequest, example = json!({"query": "capital of France", "k": 3, "filters": {"memory_tier": "long", "tags": ["geography"]}})),
    responses(
        (status = 200, description = "Best first", body = [ScoredMemory]),
        (status = 404, description = "The filter's group does not exist (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn semantic_search(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiJson(request): ApiJson<SemanticSearchRequest>,
) -> Reply<Vec<ScoredMemory>> {
    let viewer = viewer(&caller);
    let f = request.filters;
    let filters = MemoryFilters {
        memory_type: f.memory_type,
        memory_tier: f.memory_tier,
        tags: f.tags,
        parent_id: f.parent_id,
        session_id: f.session_id,
        group_id: f.group_id,
        agent_id: f.agent_id,
        created_after: f.created_after,
        created_before: f.created_before,
    };
    blocking(&state, move |e| {
        Ok(e.memories()?
            .semantic_search(viewer.as_deref(), &request.query, request.k, &filters)?)
    })
    .await
}

fn session_id(text: &str) -> Result<PointId, ApiError> {
    text.parse::<PointId>().map_err(|_| {
        ApiError::invalid_id(text, "a session", "use the id POST /v1/sessions returned")
    })
}

fn group_id(text: &str) -> Result<PointId, ApiError> {
    text.parse::<PointId>().map_err(|_| {
        ApiError::invalid_id(
            text,
            "a context group",
            "use the id POST /v1/groups returned",
        )
    })
}

/// Open a session (as the key's agent).
#[utoipa::path(
    post,
    path = "/v1/sessions",
    tag = "memories",
    operation_id = "createSession",
    params(IdempotencyKey),
    request_body(content = CreateSessionRequest, example = json!({"user_id": "user-42", "session_type": "conversation", "session_metadata": {"channel": "cli"}})),
    responses((status = 200, description = "The session", body = Session))
)]
pub async fn create_session(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<CreateSessionRequest>,
) -> Reply<Session> {
    let agent = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.create_session(
            agent.as_deref(),
            &request.user_id,
            &request.session_type,
            Some(request.session_metadata),
            key.as_deref(),
        )?)
    })
    .await
}

/// Sessions the caller opened (an admin: all), newest first.
#[utoipa::path(
    get,
    path = "/v1/sessions",
    tag = "memories",
    operation_id = "listSessions",
    params(SessionsQuery),
    responses((status = 200, description = "Sessions", body = [Session]))
)]
pub async fn list_sessions(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiQuery(query): ApiQuery<SessionsQuery>,
) -> Reply<Vec<Session>> {
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.list_sessions(
            viewer.as_deref(),
            query.user_id.as_deref(),
            query.active,
            query.limit,
        )?)
    })
    .await
}

/// One session.
#[utoipa::path(
    get,
    path = "/v1/sessions/{id}",
    tag = "memories",
    operation_id = "getSession",
    params(IdPath),
    responses(
        (status = 200, description = "The session", body = Session),
        (status = 404, description = "No session with this id that the caller opened (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn get_session(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
) -> Reply<Session> {
    let id = session_id(&id)?;
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.get_session(viewer.as_deref(), id)?)
    })
    .await
}

/// End a session (ending it again keeps the first end time).
#[utoipa::path(
    post,
    path = "/v1/sessions/{id}/end",
    tag = "memories",
    operation_id = "endSession",
    params(IdPath),
    responses(
        (status = 200, description = "The ended session", body = Session),
        (status = 403, description = "A key bound to an agent and a session it did not open (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "No session with this id that the caller opened (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn end_session(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
    _ignored: IgnoredBody,
) -> Reply<Session> {
    let id = session_id(&id)?;
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.end_session(viewer.as_deref(), id)?)
    })
    .await
}

/// Make a context group (its id is a UUID: unique across servers).
#[utoipa::path(
    post,
    path = "/v1/groups",
    tag = "memories",
    operation_id = "createContextGroup",
    params(IdempotencyKey),
    request_body(content = GroupRequest, example = json!({"name": "release 2.0", "description": "What we know about the release"})),
    responses((status = 200, description = "The group", body = crate::memories::Group))
)]
pub async fn create_group(
    State(state): State<AppState>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<GroupRequest>,
) -> Reply<crate::memories::Group> {
    blocking(&state, move |e| {
        Ok(e.memories()?.create_context_group(
            &request.name,
            request.description.as_deref(),
            key.as_deref(),
        )?)
    })
    .await
}

/// Add a memory to a group (adding it twice keeps one membership).
#[utoipa::path(
    post,
    path = "/v1/groups/{id}/members",
    tag = "memories",
    operation_id = "addToGroup",
    params(IdPath),
    request_body(content = MemberRequest, example = json!({"memory_id": "6f1c2a4e-0b7d-4c1e-9a3f-2d5e8b7c1a90"})),
    responses(
        (status = 200, description = "The group and its members the caller may see", body = GroupMembers),
        (status = 404, description = "No such group, or no such memory for the caller (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn add_to_group(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
    ApiJson(request): ApiJson<MemberRequest>,
) -> Reply<GroupMembers> {
    let id = group_id(&id)?;
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?
            .add_to_group(viewer.as_deref(), request.memory_id, id)?)
    })
    .await
}

/// A group's members the caller may see, oldest membership first.
#[utoipa::path(
    get,
    path = "/v1/groups/{id}/members",
    tag = "memories",
    operation_id = "getMemoriesByGroup",
    params(IdPath),
    responses(
        (status = 200, description = "The group and its members", body = GroupMembers),
        (status = 404, description = "No such group (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn group_members(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(IdPath { id }): Path<IdPath>,
) -> Reply<GroupMembers> {
    let id = group_id(&id)?;
    let viewer = viewer(&caller);
    blocking(&state, move |e| {
        Ok(e.memories()?.get_memories_by_group(viewer.as_deref(), id)?)
    })
    .await
}

fn breaker(engram: &crate::Engram) -> CircuitBreaker {
    match engram.memory().store().breaker_status() {
        Some(status) => CircuitBreaker {
            backend: "remote",
            state: if status.open { "open" } else { "closed" },
            consecutive_failures: status.consecutive_failures,
            last_error: status.last_error,
        },
        None => CircuitBreaker {
            backend: "edge",
            state: "closed",
            consecutive_failures: 0,
            last_error: None,
        },
    }
}

/// The store connection's circuit breaker.
#[utoipa::path(
    get,
    path = "/v1/circuit-breaker",
    tag = "memories",
    operation_id = "getCircuitBreakerStatus",
    responses((status = 200, description = "The breaker", body = CircuitBreaker))
)]
pub async fn circuit_breaker(State(state): State<AppState>) -> Reply<CircuitBreaker> {
    blocking(&state, move |e| Ok(breaker(e))).await
}

/// Close the store connection's circuit breaker (admin keys only): requests go through
/// again at once instead of after the cool-down.
#[utoipa::path(
    post,
    path = "/v1/circuit-breaker/reset",
    tag = "memories",
    operation_id = "resetCircuitBreaker",
    responses(
        (status = 200, description = "The breaker, closed", body = CircuitBreaker),
        (status = 403, description = "A key bound to an agent (forbidden)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn reset_circuit_breaker(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    _ignored: IgnoredBody,
) -> Reply<CircuitBreaker> {
    Caller::require_admin(&caller, "resetting the circuit breaker")?;
    blocking(&state, move |e| {
        e.memory().store().reset_breaker();
        Ok(breaker(e))
    })
    .await
}
