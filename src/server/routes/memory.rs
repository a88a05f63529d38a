//! `/v1/patterns`, `/v1/solutions`, `/v1/errors`: store and recall; `/v1/stats`.

use axum::extract::State;
use serde::Deserialize;

use super::super::error::ApiError;
use super::super::idempotency::IdempotencyKey;
use super::super::json::ApiJson;
use super::super::{AppState, Reply, blocking};
use super::{language, optional_language};
use crate::memory::{
    CodePattern, ErrorInput, ErrorResolution, Language, Memory, MemoryStats, Metrics, PatternInput,
    RecallOptions, Recalled, Solution, SolutionInput, Stored,
};

/// `POST /v1/patterns`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternRequest {
    name: String,
    code: String,
    language: String,
    #[serde(default)]
    context: String,
    #[serde(default)]
    pattern_type: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    metrics: Metrics,
}

/// `POST /v1/solutions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolutionRequest {
    problem: String,
    solution: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    context: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    metrics: Metrics,
}

/// `POST /v1/errors`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRequest {
    message: String,
    resolution: String,
    #[serde(default = "yes")]
    success: bool,
    #[serde(default)]
    context: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    source: Option<String>,
}

fn yes() -> bool {
    true
}

/// `POST /v1/{patterns,solutions,errors}/recall`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecallRequest {
    query: String,
    #[serde(default = "five")]
    limit: usize,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    min_success_rate: Option<f64>,
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

pub async fn recall_patterns(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RecallRequest>,
) -> Reply<Vec<Recalled<CodePattern>>> {
    recall(&state, request, Memory::recall_patterns).await
}

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

pub async fn recall_solutions(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RecallRequest>,
) -> Reply<Vec<Recalled<Solution>>> {
    recall(&state, request, Memory::recall_solutions).await
}

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

pub async fn recall_errors(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RecallRequest>,
) -> Reply<Vec<Recalled<ErrorResolution>>> {
    recall(&state, request, Memory::recall_errors).await
}

pub async fn stats(State(state): State<AppState>) -> Reply<MemoryStats> {
    blocking(&state, |e| Ok(e.memory().stats()?)).await
}
