//! `/v1/episodes`: the episode lifecycle, recall of similar episodes, failure analysis.

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::error::{ApiError, ApiErrorBody};
use super::super::idempotency::IdempotencyKey;
use super::super::json::{ApiJson, ApiQuery, query_integer, usize_integer};
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use crate::episodes::{Episode, EpisodeLog, FailureReport};
use crate::memory::{Metrics, Recalled};
use crate::store::{Payload, PointId};

/// An episode to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The task.
    #[schema(schema_with = schema::message)]
    task: String,
    /// Free-form context (a JSON object of at most 64 KiB).
    #[serde(default)]
    #[schema(schema_with = schema::episode_context)]
    context: Payload,
}

/// The id of a started episode.
#[derive(Debug, Serialize, ToSchema)]
pub struct Started {
    /// Use it for events and the end.
    id: PointId,
}

/// An event to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// What happened: generate, vote, test, error, …
    #[schema(schema_with = schema::label)]
    event_type: String,
    /// Who did it: coder, tester, judge, …
    #[schema(schema_with = schema::label)]
    agent_role: String,
    /// Details: a JSON object of at most 64 KiB (null: none). An `error` field (a string, or
    /// an object with a `message`) marks where things went wrong.
    #[serde(default)]
    #[schema(schema_with = schema::event_data)]
    data: Option<serde_json::Value>,
}

/// A recorded event's place in its episode.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recorded {
    /// Its sequence number: 0, 1, 2, … in the episode's one order.
    sequence: u64,
}

/// How an episode ended.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndRequest {
    /// Whether the task succeeded.
    success: bool,
    /// Measurements of the whole episode.
    #[serde(default)]
    #[schema(schema_with = schema::metrics)]
    metrics: Metrics,
}

/// Why an episode is abandoned.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AbandonRequest {
    /// The reason.
    #[schema(schema_with = schema::message)]
    reason: String,
}

/// Episodes like a task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EpisodeRecallRequest)]
pub struct RecallRequest {
    /// The task to find similar episodes of.
    #[schema(schema_with = schema::message)]
    task: String,
    /// At most this many.
    #[serde(default = "five", deserialize_with = "usize_integer")]
    #[schema(schema_with = schema::limit)]
    limit: usize,
    /// Only successful episodes.
    #[serde(default)]
    success_only: bool,
    /// Only episodes whose similarity (which does not depend on what else is stored) is at
    /// least this.
    #[serde(default)]
    #[schema(schema_with = schema::optional_rate)]
    min_score: Option<f32>,
}

fn five() -> usize {
    5
}

/// How many failure groups.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FailuresQuery {
    /// At most this many groups (1 to 100).
    #[serde(default = "ten", deserialize_with = "query_integer")]
    #[param(minimum = 1, maximum = 100, default = 10)]
    limit: usize,
}

fn ten() -> usize {
    10
}

/// A running episode.
#[derive(Debug, Serialize, ToSchema)]
pub struct Running {
    /// Its id.
    id: PointId,
    /// The episode.
    episode: Episode,
}

/// The `{id}` of an episode route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EpisodePath {
    /// The episode's id, as `POST /v1/episodes` returned it.
    #[param(value_type = String, format = Uuid)]
    id: String,
}

fn episode_id(text: &str) -> Result<PointId, ApiError> {
    text.parse::<PointId>().map_err(|_| {
        ApiError::invalid_id(text, "an episode", "use the id POST /v1/episodes returned")
    })
}

/// Start an episode of a task; returns its id.
#[utoipa::path(
    post,
    path = "/v1/episodes",
    tag = "episodes",
    operation_id = "startEpisode",
    params(IdempotencyKey),
    request_body(content = StartRequest, example = json!({"task": "implement REST API for todo items", "context": {"repo": "todo-api"}})),
    responses((status = 200, description = "Started", body = Started))
)]
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

/// Record an event into a running episode (durable when answered).
#[utoipa::path(
    post,
    path = "/v1/episodes/{id}/events",
    tag = "episodes",
    operation_id = "recordEvent",
    params(EpisodePath, IdempotencyKey),
    request_body(content = EventRequest, example = json!({"event_type": "test", "agent_role": "tester", "data": {"error": "AssertionError: expected 201, got 500"}})),
    responses(
        (status = 200, description = "Recorded", body = Recorded),
        (status = 409, description = "The episode has ended (episode_ended), or the same Idempotency-Key is still running (idempotency_in_progress) or was first used for another request (idempotency_key_reused)", body = ApiErrorBody),
    )
)]
pub async fn record(
    State(state): State<AppState>,
    Path(EpisodePath { id }): Path<EpisodePath>,
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

/// End a running episode as a success or a failure.
#[utoipa::path(
    post,
    path = "/v1/episodes/{id}/end",
    tag = "episodes",
    operation_id = "endEpisode",
    params(EpisodePath, IdempotencyKey),
    request_body(content = EndRequest, example = json!({"success": false, "metrics": {"duration_s": 42.0}})),
    responses(
        (status = 200, description = "The ended episode", body = Episode),
        (status = 409, description = "It has already ended (episode_ended), or the same Idempotency-Key is still running (idempotency_in_progress) or was first used for another request (idempotency_key_reused)", body = ApiErrorBody),
    )
)]
pub async fn end(
    State(state): State<AppState>,
    Path(EpisodePath { id }): Path<EpisodePath>,
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

/// Abandon a running episode (typically one whose process died).
#[utoipa::path(
    post,
    path = "/v1/episodes/{id}/abandon",
    tag = "episodes",
    operation_id = "abandonEpisode",
    params(EpisodePath, IdempotencyKey),
    request_body(content = AbandonRequest, example = json!({"reason": "the worker was killed"})),
    responses(
        (status = 200, description = "The abandoned episode", body = Episode),
        (status = 409, description = "It has already ended (episode_ended), or the same Idempotency-Key is still running (idempotency_in_progress) or was first used for another request (idempotency_key_reused)", body = ApiErrorBody),
    )
)]
pub async fn abandon(
    State(state): State<AppState>,
    Path(EpisodePath { id }): Path<EpisodePath>,
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

/// An episode and its events, in order.
#[utoipa::path(
    get,
    path = "/v1/episodes/{id}",
    tag = "episodes",
    operation_id = "getEpisode",
    params(EpisodePath),
    responses((status = 200, description = "The episode and its events", body = EpisodeLog))
)]
pub async fn get(
    State(state): State<AppState>,
    Path(EpisodePath { id }): Path<EpisodePath>,
) -> Reply<EpisodeLog> {
    let id = episode_id(&id)?;
    blocking(&state, move |e| Ok(e.episodes().get_episode(id)?)).await
}

/// The running episodes, oldest first (in progress, or left by a process that died).
#[utoipa::path(
    get,
    path = "/v1/episodes",
    tag = "episodes",
    operation_id = "runningEpisodes",
    responses((status = 200, description = "Running episodes", body = [Running]))
)]
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

/// Ended episodes whose task resembles this one.
#[utoipa::path(
    post,
    path = "/v1/episodes/recall",
    tag = "episodes",
    operation_id = "recallEpisodes",
    request_body(content = RecallRequest, example = json!({"task": "build a REST API", "limit": 5})),
    responses((status = 200, description = "The best matches, best first", body = [Recalled<Episode>]))
)]
pub async fn recall(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RecallRequest>,
) -> Reply<Vec<Recalled<Episode>>> {
    blocking(&state, move |e| {
        Ok(e.episodes().recall_episodes_above(
            &request.task,
            request.limit,
            request.success_only,
            request.min_score,
        )?)
    })
    .await
}

/// What went wrong across failed episodes, grouped.
#[utoipa::path(
    get,
    path = "/v1/episodes/failures",
    tag = "episodes",
    operation_id = "analyzeFailures",
    params(FailuresQuery),
    responses((status = 200, description = "Failure groups, most frequent first", body = FailureReport))
)]
pub async fn failures(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<FailuresQuery>,
) -> Reply<FailureReport> {
    blocking(&state, move |e| {
        Ok(e.episodes().analyze_failures(query.limit)?)
    })
    .await
}
