//! `/v1/episodes`: the episode lifecycle, recall of similar episodes, failure analysis.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::super::error::ApiError;
use super::super::idempotency::IdempotencyKey;
use super::super::json::{ApiJson, ApiQuery};
use super::super::{AppState, Reply, blocking};
use crate::episodes::{Episode, EpisodeLog, FailureReport};
use crate::memory::{Metrics, Recalled};
use crate::store::{Payload, PointId};

/// `POST /v1/episodes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    task: String,
    #[serde(default)]
    context: Payload,
}

/// The id of a started episode.
#[derive(Debug, Serialize)]
pub struct Started {
    id: PointId,
}

/// `POST /v1/episodes/{id}/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    event_type: String,
    agent_role: String,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

/// A recorded event's place in its episode.
#[derive(Debug, Serialize)]
pub struct Recorded {
    sequence: u64,
}

/// `POST /v1/episodes/{id}/end`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndRequest {
    success: bool,
    #[serde(default)]
    metrics: Metrics,
}

/// `POST /v1/episodes/{id}/abandon`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbandonRequest {
    reason: String,
}

/// `POST /v1/episodes/recall`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecallRequest {
    task: String,
    #[serde(default = "five")]
    limit: usize,
    #[serde(default)]
    success_only: bool,
}

fn five() -> usize {
    5
}

/// `GET /v1/episodes/failures?limit=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailuresQuery {
    #[serde(default = "ten")]
    limit: usize,
}

fn ten() -> usize {
    10
}

/// A running episode.
#[derive(Debug, Serialize)]
pub struct Running {
    id: PointId,
    episode: Episode,
}

fn episode_id(text: &str) -> Result<PointId, ApiError> {
    text.parse::<PointId>().map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("{text:?} is not an episode id (a UUID)"),
            "use the id POST /v1/episodes returned",
        )
    })
}

pub async fn start(
    State(state): State<AppState>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<StartRequest>,
) -> Reply<Started> {
    blocking(&state, move |e| {
        let id =
            e.episodes()
                .start_episode_with_key(&request.task, request.context, key.as_deref())?;
        Ok(Started { id })
    })
    .await
}

pub async fn record(
    State(state): State<AppState>,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<EventRequest>,
) -> Reply<Recorded> {
    let id = episode_id(&id)?;
    blocking(&state, move |e| {
        let data = request
            .data
            .unwrap_or_else(|| serde_json::Value::Object(Payload::new()));
        let sequence = e.episodes().record_event_with_key(
            id,
            &request.event_type,
            &request.agent_role,
            data,
            key.as_deref(),
        )?;
        Ok(Recorded { sequence })
    })
    .await
}

pub async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<EndRequest>,
) -> Reply<Episode> {
    let id = episode_id(&id)?;
    blocking(&state, move |e| {
        Ok(e.episodes().end_episode_with_key(
            id,
            request.success,
            request.metrics,
            key.as_deref(),
        )?)
    })
    .await
}

pub async fn abandon(
    State(state): State<AppState>,
    Path(id): Path<String>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<AbandonRequest>,
) -> Reply<Episode> {
    let id = episode_id(&id)?;
    blocking(&state, move |e| {
        Ok(e.episodes()
            .abandon_episode_with_key(id, &request.reason, key.as_deref())?)
    })
    .await
}

pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Reply<EpisodeLog> {
    let id = episode_id(&id)?;
    blocking(&state, move |e| Ok(e.episodes().get_episode(id)?)).await
}

pub async fn running(State(state): State<AppState>) -> Reply<Vec<Running>> {
    blocking(&state, |e| {
        Ok(e.episodes()
            .running_episodes()?
            .into_iter()
            .map(|(id, episode)| Running { id, episode })
            .collect())
    })
    .await
}

pub async fn recall(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RecallRequest>,
) -> Reply<Vec<Recalled<Episode>>> {
    blocking(&state, move |e| {
        Ok(e.episodes().recall_similar_episodes(
            &request.task,
            request.limit,
            request.success_only,
        )?)
    })
    .await
}

pub async fn failures(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<FailuresQuery>,
) -> Reply<FailureReport> {
    blocking(&state, move |e| {
        Ok(e.episodes().analyze_failures(query.limit)?)
    })
    .await
}
