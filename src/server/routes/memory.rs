//! `/v1/patterns`, `/v1/solutions`, `/v1/errors`: store and recall; `/v1/stats`.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::super::error::ApiError;
use super::super::idempotency::IdempotencyKey;
use super::super::json::{ApiJson, usize_integer as integer};
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use super::{language, optional_language};
use crate::memory::{
    CodePattern, ErrorInput, ErrorResolution, Language, Memory, MemoryStats, Metrics, PatternInput,
    RecallOptions, Recalled, Solution, SolutionInput, Stored,
};

/// A code pattern to store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternRequest {
    /// Short name of the pattern.
    #[schema(schema_with = schema::title)]
    name: String,
    /// The code.
    #[schema(schema_with = schema::content)]
    code: String,
    /// Its language.
    #[schema(schema_with = schema::language)]
    language: String,
    /// Where and why it applies.
    #[serde(default)]
    #[schema(schema_with = schema::context)]
    context: String,
    /// function, class, error_handling, snippet (the default), …
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    pattern_type: Option<String>,
    /// Labels for filtering at recall.
    #[serde(default)]
    #[schema(schema_with = schema::tags)]
    tags: Vec<String>,
    /// Who stores it (default `api`).
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    source: Option<String>,
    /// Measurements of this use; `success_rate` (default 1) is its outcome.
    #[serde(default)]
    #[schema(schema_with = schema::metrics)]
    metrics: Metrics,
}

/// A solution to store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SolutionRequest {
    /// The problem it solves.
    #[schema(schema_with = schema::message)]
    problem: String,
    /// The solution (code or prose).
    #[schema(schema_with = schema::content)]
    solution: String,
    /// Its language (null: text).
    #[serde(default)]
    #[schema(schema_with = schema::optional_language)]
    language: Option<String>,
    /// Constraints, environment, what was tried.
    #[serde(default)]
    #[schema(schema_with = schema::context)]
    context: String,
    /// Labels for filtering at recall.
    #[serde(default)]
    #[schema(schema_with = schema::tags)]
    tags: Vec<String>,
    /// Who stores it (default `api`).
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    source: Option<String>,
    /// Measurements of this use; `success_rate` (default 1) is its outcome.
    #[serde(default)]
    #[schema(schema_with = schema::metrics)]
    metrics: Metrics,
}

/// How an error was resolved.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorRequest {
    /// The error message, as printed.
    #[schema(schema_with = schema::message)]
    message: String,
    /// What resolved it, or was tried.
    #[schema(schema_with = schema::content)]
    resolution: String,
    /// Whether the resolution worked.
    #[serde(default = "yes")]
    #[schema(default = true)]
    success: bool,
    /// What was going on.
    #[serde(default)]
    #[schema(schema_with = schema::context)]
    context: String,
    /// The language (null: text).
    #[serde(default)]
    #[schema(schema_with = schema::optional_language)]
    language: Option<String>,
    /// Labels for filtering at recall.
    #[serde(default)]
    #[schema(schema_with = schema::tags)]
    tags: Vec<String>,
    /// Who stores it (default `api`).
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    source: Option<String>,
}

fn yes() -> bool {
    true
}

/// What to recall, and which entries may answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallRequest {
    /// What to look for, in words or code.
    #[schema(schema_with = schema::message)]
    query: String,
    /// At most this many entries.
    #[serde(default = "five", deserialize_with = "integer")]
    #[schema(schema_with = schema::limit)]
    limit: usize,
    /// Only entries in this language.
    #[serde(default)]
    #[schema(schema_with = schema::optional_language)]
    language: Option<String>,
    /// Only entries carrying all of these tags.
    #[serde(default)]
    #[schema(schema_with = schema::tags)]
    tags: Vec<String>,
    /// Only entries from this source.
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    source: Option<String>,
    /// Only entries whose success rate is at least this.
    #[serde(default)]
    #[schema(schema_with = schema::optional_rate)]
    min_success_rate: Option<f64>,
    /// Only entries whose similarity (the relevance each result reports, which does not
    /// depend on what else is stored) is at least this.
    #[serde(default)]
    #[schema(schema_with = schema::optional_rate)]
    min_score: Option<f32>,
}

fn five() -> usize {
    5
}

impl RecallRequest {
    fn options(&self) -> Result<RecallOptions, ApiError> {
        Ok(RecallOptions {
            limit: self.limit,
            language: optional_language(self.language.as_deref())?,
            tags: self.tags.clone(),
            source: self.source.clone(),
            min_success_rate: self.min_success_rate,
            min_score: self.min_score,
        })
    }
}

const API_SOURCE: &str = "api";

/// The memory call behind a recall route.
type Find<T> = fn(&Memory, &str, &RecallOptions) -> crate::memory::Result<Vec<Recalled<T>>>;

async fn recall<T: Send + 'static>(
    state: &AppState,
    request: RecallRequest,
    find: Find<T>,
) -> Reply<Vec<Recalled<T>>> {
    let options = request.options()?;
    blocking(state, move |e| {
        Ok(find(e.memory(), &request.query, &options)?)
    })
    .await
}

/// Store a code pattern; the same code again is one more sighting of one entry.
#[utoipa::path(
    post,
    path = "/v1/patterns",
    tag = "memory",
    operation_id = "storePattern",
    params(IdempotencyKey),
    request_body(content = PatternRequest, example = json!({
        "name": "JWT bearer check",
        "code": "def require_token(request):\n    return verify_jwt(request.headers['Authorization'])",
        "language": "python",
        "context": "REST API authentication",
        "tags": ["auth"],
        "metrics": {"success_rate": 0.9}
    })),
    responses((status = 200, description = "Stored: the entry's id, its sightings, and whether this call created it", body = Stored))
)]
pub async fn store_pattern(
    State(state): State<AppState>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<PatternRequest>,
) -> Reply<Stored> {
    let input = PatternInput {
        context: request.context,
        pattern_type: request.pattern_type.unwrap_or_else(|| "snippet".to_owned()),
        tags: request.tags,
        source: request.source.unwrap_or_else(|| API_SOURCE.to_owned()),
        metrics: request.metrics,
        idempotency_key: key.0,
        ..PatternInput::new(request.name, request.code, language(&request.language)?)
    };
    blocking(&state, move |e| Ok(e.memory().store_pattern(input)?)).await
}

/// Recall code patterns by meaning.
#[utoipa::path(
    post,
    path = "/v1/patterns/recall",
    tag = "memory",
    operation_id = "recallPatterns",
    request_body(content = RecallRequest, example = json!({"query": "check a bearer token", "limit": 5})),
    responses((status = 200, description = "The best matches, best first", body = [Recalled<CodePattern>]))
)]
pub async fn recall_patterns(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RecallRequest>,
) -> Reply<Vec<Recalled<CodePattern>>> {
    recall(&state, request, Memory::recall_patterns).await
}

/// Store a solution; the same solution to the same problem again is one more sighting.
#[utoipa::path(
    post,
    path = "/v1/solutions",
    tag = "memory",
    operation_id = "storeSolution",
    params(IdempotencyKey),
    request_body(content = SolutionRequest, example = json!({
        "problem": "paginate a large SQL table without OFFSET",
        "solution": "keyset pagination: WHERE id > :last ORDER BY id LIMIT :n",
        "language": "sql",
        "tags": ["db"]
    })),
    responses((status = 200, description = "Stored", body = Stored))
)]
pub async fn store_solution(
    State(state): State<AppState>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<SolutionRequest>,
) -> Reply<Stored> {
    let language = optional_language(request.language.as_deref())?;
    let input = SolutionInput {
        language: language.unwrap_or(Language::Text),
        context: request.context,
        tags: request.tags,
        source: request.source.unwrap_or_else(|| API_SOURCE.to_owned()),
        metrics: request.metrics,
        idempotency_key: key.0,
        ..SolutionInput::new(request.problem, request.solution)
    };
    blocking(&state, move |e| Ok(e.memory().store_solution(input)?)).await
}

/// Recall solutions by meaning.
#[utoipa::path(
    post,
    path = "/v1/solutions/recall",
    tag = "memory",
    operation_id = "recallSolutions",
    request_body(content = RecallRequest, example = json!({"query": "page through a big table"})),
    responses((status = 200, description = "The best matches, best first", body = [Recalled<Solution>]))
)]
pub async fn recall_solutions(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RecallRequest>,
) -> Reply<Vec<Recalled<Solution>>> {
    recall(&state, request, Memory::recall_solutions).await
}

/// Store how an error was resolved (or that a resolution failed). The whole message is
/// stored and keyword-indexed; one longer than 600 characters and 8 lines is embedded from
/// the lines that name the error (the model reads only 256 tokens).
#[utoipa::path(
    post,
    path = "/v1/errors",
    tag = "memory",
    operation_id = "storeError",
    params(IdempotencyKey),
    request_body(content = ErrorRequest, example = json!({
        "message": "ModuleNotFoundError: No module named 'fastapi'",
        "resolution": "pip install fastapi uvicorn",
        "context": "starting the API server",
        "language": "python"
    })),
    responses((status = 200, description = "Stored", body = Stored))
)]
pub async fn store_error(
    State(state): State<AppState>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<ErrorRequest>,
) -> Reply<Stored> {
    let language = optional_language(request.language.as_deref())?;
    let input = ErrorInput {
        language: language.unwrap_or(Language::Text),
        context: request.context,
        tags: request.tags,
        source: request.source.unwrap_or_else(|| API_SOURCE.to_owned()),
        idempotency_key: key.0,
        ..ErrorInput::new(request.message, request.resolution, request.success)
    };
    blocking(&state, move |e| Ok(e.memory().store_error(input)?)).await
}

/// Recall resolutions of errors like this one (normalised, and embedded from its naming
/// lines when long, as stored errors are).
#[utoipa::path(
    post,
    path = "/v1/errors/recall",
    tag = "memory",
    operation_id = "recallErrors",
    request_body(content = RecallRequest, example = json!({"query": "Cannot import fastapi"})),
    responses((status = 200, description = "The best matches, best first", body = [Recalled<ErrorResolution>]))
)]
pub async fn recall_errors(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RecallRequest>,
) -> Reply<Vec<Recalled<ErrorResolution>>> {
    recall(&state, request, Memory::recall_errors).await
}

/// Entries per collection, language and source, and disk use.
#[utoipa::path(
    get,
    path = "/v1/stats",
    tag = "memory",
    operation_id = "stats",
    responses((status = 200, description = "Counts per collection", body = MemoryStats))
)]
pub async fn stats(State(state): State<AppState>) -> Reply<MemoryStats> {
    blocking(&state, |e| Ok(e.memory().stats()?)).await
}
