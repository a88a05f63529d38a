//! `/v1/extract`, `/v1/learn`, `/v1/patterns/suggest`: the pattern extractor and learning
//! from consensus winners.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::super::error::ApiError;
use super::super::idempotency::IdempotencyKey;
use super::super::json::ApiJson;
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use super::optional_language;
use crate::extract::learn::{self, Learned};
use crate::extract::{Candidate, ConsensusResult, Extraction, SourceLanguage, TaskContext};
use crate::memory::{CodePattern, MAX_CONTENT_CHARS, Metrics, Recalled};

/// Longest code `POST /v1/extract` takes (characters).
pub const MAX_EXTRACT_CHARS: usize = MAX_CONTENT_CHARS * 4;

/// Source code to extract patterns from (its schema: [`schema::extract_request`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    code: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
}

/// A consensus winner to learn from (its schema: [`schema::learn_request`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnRequest {
    code: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
    task: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    metrics: Metrics,
}

impl utoipa::PartialSchema for ExtractRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::extract_request()
    }
}

impl ToSchema for ExtractRequest {}

impl utoipa::PartialSchema for LearnRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        schema::learn_request()
    }
}

impl ToSchema for LearnRequest {}

/// A task to suggest patterns for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestRequest {
    /// The task, in words.
    #[schema(schema_with = schema::message)]
    task: String,
    /// Only patterns in this language.
    #[serde(default)]
    #[schema(schema_with = schema::optional_language)]
    language: Option<String>,
}

/// The language a request names, or tells by its file name: the name wins, but a file
/// name is checked whenever it is given (as the document's pattern says).
fn source_language(
    name: Option<&str>,
    file_name: Option<&str>,
) -> Result<Option<SourceLanguage>, ApiError> {
    let from_file = file_name.map(SourceLanguage::from_file_name).transpose()?;
    match name {
        Some(name) => Ok(Some(SourceLanguage::from_exact_name(name)?)),
        None => Ok(from_file),
    }
}

/// Extract functions, types, error handling and async code from source (tree-sitter).
#[utoipa::path(
    post,
    path = "/v1/extract",
    tag = "extraction",
    operation_id = "extract",
    request_body(content = ExtractRequest, example = json!({"code": "def add(a, b):\n    return a + b\n", "language": "python"})),
    responses((status = 200, description = "The patterns found, and the syntax errors met", body = Extraction))
)]
pub async fn extract(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ExtractRequest>,
) -> Reply<Extraction> {
    let language = source_language(request.language.as_deref(), request.file_name.as_deref())?
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "name the code's language (`language`: {}) or give a `file_name`",
                SourceLanguage::supported()
            ))
        })?;
    crate::text::check_required("code", &request.code, MAX_EXTRACT_CHARS)
        .map_err(ApiError::invalid)?;
    blocking(&state, move |_| {
        Ok(crate::extract::extract(&request.code, language)?)
    })
    .await
}

/// Learn from a consensus winner: store its patterns with the task as context.
#[utoipa::path(
    post,
    path = "/v1/learn",
    tag = "extraction",
    operation_id = "learn",
    params(IdempotencyKey),
    request_body(content = LearnRequest, example = json!({
        "code": "async def fetch(url):\n    try:\n        return await get(url)\n    except TimeoutError:\n        return None\n",
        "language": "python",
        "task": "fetch a URL and tolerate timeouts",
        "metrics": {"success_rate": 1.0}
    })),
    responses((status = 200, description = "The patterns stored: new entries and known structures reinforced", body = Learned))
)]
pub async fn learn(
    State(state): State<AppState>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<LearnRequest>,
) -> Reply<Learned> {
    crate::text::check_required("code", &request.code, MAX_EXTRACT_CHARS)
        .map_err(ApiError::invalid)?;
    crate::text::check_required("task", &request.task, crate::text::MAX_TEXT_CHARS)
        .map_err(ApiError::invalid)?;
    if request.metrics.len() >= crate::memory::input::MAX_METRICS {
        return Err(ApiError::invalid(format!(
            "at most {} metrics (learning adds the cyclomatic complexity)",
            crate::memory::input::MAX_METRICS - 1
        )));
    }
    let language = source_language(request.language.as_deref(), request.file_name.as_deref())?
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "name the winner's language (`language`: {}) or give a `file_name`",
                SourceLanguage::supported()
            ))
        })?;
    let winner = Candidate {
        code: request.code,
        language: Some(language),
        file_name: request.file_name,
    };
    let task = TaskContext {
        description: request.task,
        language: None,
        tags: request.tags,
    };
    let consensus = ConsensusResult {
        metrics: request.metrics,
    };
    blocking(&state, move |e| {
        Ok(learn::extract_from_consensus_with_key(
            e.memory(),
            &consensus,
            &winner,
            &task,
            key.as_deref(),
        )?)
    })
    .await
}

/// The five patterns most relevant to a task.
#[utoipa::path(
    post,
    path = "/v1/patterns/suggest",
    tag = "extraction",
    operation_id = "suggestPatterns",
    request_body(content = SuggestRequest, example = json!({"task": "retry a flaky HTTP call", "language": "python"})),
    responses((status = 200, description = "Up to five patterns, best first", body = [Recalled<CodePattern>]))
)]
pub async fn suggest(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SuggestRequest>,
) -> Reply<Vec<Recalled<CodePattern>>> {
    let language = optional_language(request.language.as_deref())?;
    blocking(&state, move |e| {
        Ok(learn::suggest_patterns(
            e.memory(),
            &request.task,
            language,
        )?)
    })
    .await
}
