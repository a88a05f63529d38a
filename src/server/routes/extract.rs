//! `/v1/extract`, `/v1/learn`, `/v1/patterns/suggest`: the pattern extractor and learning
//! from consensus winners.

use axum::extract::State;
use serde::Deserialize;

use super::super::error::ApiError;
use super::super::idempotency::IdempotencyKey;
use super::super::json::ApiJson;
use super::super::{AppState, Reply, blocking};
use super::optional_language;
use crate::extract::learn::{self, Learned};
use crate::extract::{Candidate, ConsensusResult, Extraction, SourceLanguage, TaskContext};
use crate::memory::{CodePattern, MAX_CONTENT_BYTES, Metrics, Recalled};

/// `POST /v1/extract`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    code: String,
    /// python, rust, javascript, typescript, tsx, go (or an alias).
    #[serde(default)]
    language: Option<String>,
    /// A file name whose extension tells the language when `language` is absent.
    #[serde(default)]
    file_name: Option<String>,
}

/// `POST /v1/learn`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LearnRequest {
    /// The winning candidate's code.
    code: String,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
    /// The task the round solved.
    task: String,
    #[serde(default)]
    tags: Vec<String>,
    /// The round's success metrics (`success_rate` is credited to each pattern).
    #[serde(default)]
    metrics: Metrics,
}

/// `POST /v1/patterns/suggest`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestRequest {
    task: String,
    #[serde(default)]
    language: Option<String>,
}

fn source_language(
    name: Option<&str>,
    file_name: Option<&str>,
) -> Result<Option<SourceLanguage>, ApiError> {
    match (name, file_name) {
        (Some(name), _) => Ok(Some(name.parse::<SourceLanguage>()?)),
        (None, Some(file)) => Ok(Some(SourceLanguage::from_path(std::path::Path::new(file))?)),
        (None, None) => Ok(None),
    }
}

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
    if request.code.len() > MAX_CONTENT_BYTES * 4 {
        return Err(ApiError::invalid(format!(
            "code is {} bytes; the extractor endpoint takes at most {}",
            request.code.len(),
            MAX_CONTENT_BYTES * 4
        )));
    }
    blocking(&state, move |_| {
        Ok(crate::extract::extract(&request.code, language)?)
    })
    .await
}

pub async fn learn(
    State(state): State<AppState>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<LearnRequest>,
) -> Reply<Learned> {
    let winner = Candidate {
        code: request.code,
        language: source_language(request.language.as_deref(), None)?,
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
