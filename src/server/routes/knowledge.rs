//! `/v1/knowledge`: custom knowledge and seeding the knowledge base.

use axum::extract::State;
use serde::Deserialize;

use super::super::error::ApiError;
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
}

pub async fn add(
    State(state): State<AppState>,
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
        Ok(knowledge::add_custom_knowledge(e.memory(), input)?)
    })
    .await
}

pub async fn seed(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SeedRequest>,
) -> Reply<SeedReport> {
    let dir = state.seeds_dir.clone().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no_seeds",
            "this server has no seed folder",
            "set server.seeds_dir in engram.toml",
        )
    })?;
    let options = SeedOptions {
        dry_run: request.dry_run,
        prune: request.prune,
    };
    blocking(&state, move |e| {
        Ok(knowledge::seed(e.memory(), &dir, options, &mut |_, _| {})?)
    })
    .await
}
