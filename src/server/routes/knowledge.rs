//! `/v1/knowledge`: custom knowledge and seeding the knowledge base.

use axum::extract::State;
use serde::Deserialize;

use super::super::error::ApiError;
use super::super::idempotency::IdempotencyKey;
use super::super::json::ApiJson;
use super::super::{AppState, Reply, blocking};
use crate::knowledge::{self, Category, KnowledgeInput, SeedOptions, SeedReport};
use crate::memory::Stored;

/// `POST /v1/knowledge`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeRequest {
    title: String,
    content: String,
    /// design_pattern (pattern), best_practice (practice) or common_error (error).
    knowledge_type: String,
    #[serde(default)]
    metadata: serde_json::Map<String, serde_json::Value>,
}

/// `POST /v1/knowledge/seed`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRequest {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    prune: bool,
    /// Seed files sent by the caller (`engram seed` on a directory this server holds);
    /// without them the server seeds its own seed folder.
    #[serde(default)]
    files: Option<Vec<SeedFile>>,
}

/// A seed file: its path under the seed folder and its text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    path: String,
    content: String,
}

pub async fn add(
    State(state): State<AppState>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<KnowledgeRequest>,
) -> Reply<Stored> {
    let category = request
        .knowledge_type
        .parse::<Category>()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let input = KnowledgeInput {
        title: request.title,
        content: request.content,
        category,
        metadata: request.metadata,
    };
    blocking(&state, move |e| {
        Ok(knowledge::add_custom_knowledge_with_key(
            e.memory(),
            input,
            key.as_deref(),
        )?)
    })
    .await
}

/// Seeding is idempotent by itself (entries are keyed by file and content hash), so an
/// `Idempotency-Key` is accepted and checked, and a repeat changes nothing either way.
pub async fn seed(
    State(state): State<AppState>,
    _key: IdempotencyKey,
    ApiJson(request): ApiJson<SeedRequest>,
) -> Reply<SeedReport> {
    let options = SeedOptions {
        dry_run: request.dry_run,
        prune: request.prune,
    };
    if let Some(files) = request.files {
        let files: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|f| (f.path, f.content.into_bytes()))
            .collect();
        return blocking(&state, move |e| {
            let entries = knowledge::parse_files(&files)?;
            Ok(knowledge::seed_entries(
                e.memory(),
                std::path::Path::new("(files sent with the request)"),
                &entries,
                options,
                &mut |_, _| {},
            )?)
        })
        .await;
    }
    let dir = state.seeds_dir.clone().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no_seeds",
            "this server has no seed folder",
            "set server.seeds_dir in engram.toml",
        )
    })?;
    blocking(&state, move |e| {
        Ok(knowledge::seed(e.memory(), &dir, options, &mut |_, _| {})?)
    })
    .await
}
