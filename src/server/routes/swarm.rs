//! `/v1/swarm/…` and `/v1/events…`: swarm memory (design note 004) — keyed state with
//! expiry and a conflict policy per write, locks with fencing, and the coordination event
//! feed (pages by cursor, and a server-sent-event stream that resumes from
//! `Last-Event-ID`).
//!
//! Keys contain `/`, so they travel in the query string (`?key=swarm/prod/plan`) or the
//! body, never in the path. A lock's holder proves it with the lock's `token` and `epoch`:
//! in the body of a write, in the `Lock-Token` and `Lock-Epoch` headers of a read or a
//! delete (tokens are secrets: they never go in a URL). Keys bound to an agent write as that
//! agent and may not write another agent's `agent/{agent}/…` keys (403).

use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::super::error::{ApiError, ApiErrorBody};
use super::super::guard::Caller;
use super::super::idempotency::IdempotencyKey;
use super::super::json::{ApiJson, ApiQuery, integer, query_integer};
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use crate::swarm::{
    ConflictPolicy, Entry, Event, EventKind, EventPage, LockKind, Page, Put, SwarmLock, Written,
};

/// How often the event stream looks for new events when it has none to send.
const STREAM_POLL: Duration = Duration::from_millis(200);

/// A lock's proof of holding, in a body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockProof {
    /// The holder's token.
    token: String,
    /// The holder's fencing epoch.
    #[serde(deserialize_with = "integer")]
    #[schema(schema_with = schema::epoch)]
    epoch: u64,
}

/// A write (the note's `store`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutRequest {
    /// `{category}/{subcategory}/{identifier}`; categories swarm, agent, session, global,
    /// neural; at most 255 characters.
    #[schema(schema_with = schema::swarm_key)]
    key: String,
    /// Any JSON value up to 256 KiB serialised (under `merge`, the merge patch).
    #[schema(schema_with = schema::lease_value)]
    value: Value,
    /// How the write meets what is stored (default `reject`).
    #[serde(default)]
    policy: ConflictPolicy,
    /// For `reject`: the version this write is based on (null: the key must not exist).
    #[serde(default, deserialize_with = "optional_integer")]
    #[schema(schema_with = schema::optional_version)]
    expected_version: Option<u64>,
    /// Milliseconds until the entry expires (the category's retention applies when
    /// shorter).
    #[serde(default, deserialize_with = "optional_integer")]
    #[schema(schema_with = schema::optional_swarm_ttl)]
    ttl_ms: Option<u64>,
    /// The caller's lock on the key, if it holds one.
    #[serde(default)]
    lock: Option<LockProof>,
}

fn optional_integer<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "integer")] u64);
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|w| w.0))
}

/// `?key=` of a read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The key.
    #[param(schema_with = schema::swarm_key)]
    key: String,
}

/// `?key=&expected_version=` of a delete.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// The key.
    #[param(schema_with = schema::swarm_key)]
    key: String,
    /// Delete only at this version (409 otherwise).
    #[serde(default, deserialize_with = "optional_query_integer")]
    #[param(minimum = 0, maximum = 9_007_199_254_740_991_u64)]
    expected_version: Option<u64>,
}

fn optional_query_integer<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "query_integer")] usize);
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|w| w.0 as u64))
}

/// Whether a delete removed a live entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    /// False when there was none (or it had expired).
    deleted: bool,
}

/// `?prefix=&limit=&after=` of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Whole leading segments: `swarm/prod` lists `swarm/prod/…`.
    #[param(schema_with = schema::swarm_prefix)]
    prefix: String,
    /// Entries per page, 1 to 1000 (default 100).
    #[serde(default = "hundred", deserialize_with = "query_integer")]
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: usize,
    /// The `next` of the previous page.
    #[serde(default)]
    #[param(format = Uuid)]
    after: Option<String>,
}

fn hundred() -> usize {
    100
}

/// A lock to take.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockRequest {
    /// The key.
    #[schema(schema_with = schema::swarm_key)]
    key: String,
    /// Read (shared), write or exclusive (default write).
    #[serde(default = "write_lock")]
    #[schema(default = "write")]
    kind: LockKind,
    /// How long the lock lasts unless renewed, in milliseconds.
    #[serde(deserialize_with = "integer")]
    #[schema(schema_with = schema::ttl_ms)]
    ttl_ms: u64,
    /// How long to wait for it, in milliseconds (0: try once).
    #[serde(default, deserialize_with = "integer")]
    #[schema(schema_with = schema::wait_ms)]
    wait_ms: u64,
    /// Who asks (shown to others; default: the key's agent, else `api`).
    #[serde(default)]
    #[schema(schema_with = schema::optional_lease_name)]
    owner: Option<String>,
}

fn write_lock() -> LockKind {
    LockKind::Write
}

/// A held lock to release: the lock as granted (its key, kind, token and epoch).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeldLockRequest {
    /// The key.
    #[schema(schema_with = schema::swarm_key)]
    key: String,
    /// The lock's kind.
    kind: LockKind,
    /// The holder's token.
    token: String,
    /// The holder's epoch.
    #[serde(deserialize_with = "integer")]
    #[schema(schema_with = schema::epoch)]
    epoch: u64,
}

impl HeldLockRequest {
    fn lock(&self) -> SwarmLock {
        SwarmLock {
            key: self.key.clone(),
            kind: self.kind,
            token: self.token.clone(),
            epoch: self.epoch,
            acquired_at: 0,
            expires_at: 0,
        }
    }
}

/// A held lock to renew, and for how long.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewLockRequest {
    /// The key.
    #[schema(schema_with = schema::swarm_key)]
    key: String,
    /// The lock's kind.
    kind: LockKind,
    /// The holder's token.
    token: String,
    /// The holder's epoch.
    #[serde(deserialize_with = "integer")]
    #[schema(schema_with = schema::epoch)]
    epoch: u64,
    /// The new time to live from now, in milliseconds.
    #[serde(deserialize_with = "integer")]
    #[schema(schema_with = schema::ttl_ms)]
    ttl_ms: u64,
}

/// Whether an unlock let go of a live lock.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unlocked {
    /// False when it had lapsed or was released before.
    released: bool,
}

/// `?after=&prefix=&limit=` of the event feed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The cursor: events after this sequence number (default 0, the beginning).
    #[serde(default, deserialize_with = "query_integer")]
    #[param(minimum = 0, maximum = 9_007_199_254_740_991_u64, default = 0)]
    after: usize,
    /// Only events about keys under these whole leading segments.
    #[serde(default)]
    #[param(schema_with = schema::swarm_prefix)]
    prefix: Option<String>,
    /// Events examined, 1 to 1000 (default 100).
    #[serde(default = "hundred", deserialize_with = "query_integer")]
    #[param(minimum = 1, maximum = 1000, default = 100)]
    limit: usize,
}

/// `?after=&prefix=` of the event stream.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Events after this sequence number (default 0; a `Last-Event-ID` header wins).
    #[serde(default, deserialize_with = "query_integer")]
    #[param(minimum = 0, maximum = 9_007_199_254_740_991_u64, default = 0)]
    after: usize,
    /// Only events about keys under these whole leading segments.
    #[serde(default)]
    #[param(schema_with = schema::swarm_prefix)]
    prefix: Option<String>,
}

/// An event to publish.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// `knowledge_shared` or `sync_complete` (engram appends the others itself).
    #[schema(schema_with = schema::publishable_event_kind)]
    kind: EventKind,
    /// The key it concerns, if any.
    #[serde(default)]
    #[schema(schema_with = schema::optional_swarm_key)]
    key: Option<String>,
    /// Details: a JSON object of at most 64 KiB, or null.
    #[serde(default)]
    #[schema(schema_with = schema::event_data)]
    data: Option<serde_json::Map<String, Value>>,
}

/// The `Lock-Token` and `Lock-Epoch` headers of a read or delete by a lock's holder.
#[derive(Debug, Clone, Default)]
pub struct LockHeaders(Option<(String, u64)>);

impl LockHeaders {
    fn lock(&self, key: &str, kind: LockKind) -> Option<SwarmLock> {
        self.0.as_ref().map(|(token, epoch)| SwarmLock {
            key: key.to_owned(),
            kind,
            token: token.clone(),
            epoch: *epoch,
            acquired_at: 0,
            expires_at: 0,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for LockHeaders {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .map(|v| {
                    v.to_str()
                        .map(str::trim)
                        .map(str::to_owned)
                        .map_err(|_| ApiError::invalid(format!("{name} is not printable ASCII")))
                })
                .transpose()
        };
        match (header("lock-token")?, header("lock-epoch")?) {
            (None, None) => Ok(Self(None)),
            (Some(token), Some(epoch)) => {
                let digits = !epoch.is_empty()
                    && epoch.len() <= 15
                    && epoch.bytes().all(|b| b.is_ascii_digit());
                if token.is_empty() || !token.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
                    return Err(ApiError::invalid(
                        "Lock-Token is the token of a lock: printable ASCII without spaces",
                    ));
                }
                match epoch.parse::<u64>() {
                    Ok(epoch) if digits => Ok(Self(Some((token, epoch)))),
                    _ => Err(ApiError::invalid(format!(
                        "Lock-Epoch {epoch:?} is not a whole number of 1 to 15 digits"
                    ))),
                }
            }
            _ => Err(ApiError::invalid(
                "send Lock-Token and Lock-Epoch together (the lock's token and epoch)",
            )),
        }
    }
}

impl IntoParams for LockHeaders {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, Required, Type};
        vec![
            ParameterBuilder::new()
                .name("Lock-Token")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The token of the caller's lock on the key (with Lock-Epoch): reading a \
                     key under an exclusive lock, or deleting a locked key, needs it.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .pattern(Some("^[!-~]+$")),
                ))
                .build(),
            ParameterBuilder::new()
                .name("Lock-Epoch")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("The epoch of the caller's lock (with Lock-Token)."))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some("^[0-9]{1,15}$")),
                ))
                .build(),
        ]
    }
}

/// The agent a key is bound to (`None`: an admin key, or no keys): who writes.
pub(super) fn agent(caller: &Option<Extension<Caller>>) -> Option<String> {
    Caller::agent_of(caller).map(str::to_owned)
}

/// Write a key: `reject` (default) needs the version it is based on, `last_write_wins`
/// lands unless a later write (by the hybrid clock) is stored, `merge` applies a JSON merge
/// patch. A locked key takes writes only with its write or exclusive lock.
#[utoipa::path(
    put,
    path = "/v1/swarm/entry",
    tag = "swarm",
    operation_id = "putSwarmEntry",
    params(IdempotencyKey),
    request_body(content = PutRequest, example = json!({"key": "swarm/prod/coordination", "value": {"leader": "planner-1"}, "policy": "reject", "expected_version": null, "ttl_ms": 3600000})),
    responses(
        (status = 200, description = "Written (applied: false when a later last_write_wins write is stored)", body = Written),
        (status = 403, description = "Another agent's agent/{agent}/… key (forbidden)", body = ApiErrorBody),
        (status = 409, description = "reject: not at expected_version (conflict, with current_version and current); a read lock given for a write (read_lock_cannot_write); the lock lapsed (lease_lost) or a newer lock was granted (fenced)", body = ApiErrorBody),
        (status = 423, description = "The key is locked by someone else (locked, with expires_in_ms and Retry-After)", body = ApiErrorBody),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<PutRequest>,
) -> Reply<Written> {
    let agent = agent(&caller);
    let lock = request.lock.map(|proof| SwarmLock {
        key: request.key.clone(),
        kind: LockKind::Write,
        token: proof.token,
        epoch: proof.epoch,
        acquired_at: 0,
        expires_at: 0,
    });
    let write = Put {
        key: request.key,
        value: request.value,
        policy: request.policy,
        expected_version: request.expected_version,
        ttl_ms: request.ttl_ms,
        lock,
    };
    blocking(&state, move |e| {
        Ok(e.swarm()?.put(agent.as_deref(), &write, key.as_deref())?)
    })
    .await
}

/// Read a key: its live entry, 404 when it was never written, was deleted or expired.
#[utoipa::path(
    get,
    path = "/v1/swarm/entry",
    tag = "swarm",
    operation_id = "getSwarmEntry",
    params(KeyQuery, LockHeaders),
    responses(
        (status = 200, description = "The entry", body = Entry),
        (status = 404, description = "No live entry (not_found)", body = ApiErrorBody),
        (status = 423, description = "Under someone else's exclusive lock (locked)", body = ApiErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<KeyQuery>,
    lock: LockHeaders,
) -> Reply<Entry> {
    let lock = lock.lock(&query.key, LockKind::Exclusive);
    blocking(&state, move |e| {
        e.swarm()?
            .get(&query.key, lock.as_ref())?
            .ok_or_else(|| ApiError::not_found(format!("no live entry under {}", query.key)))
    })
    .await
}

/// Delete a key (a locked one only with its lock; with `expected_version`, only at it).
#[utoipa::path(
    delete,
    path = "/v1/swarm/entry",
    tag = "swarm",
    operation_id = "deleteSwarmEntry",
    params(DeleteQuery, LockHeaders),
    responses(
        (status = 200, description = "Whether a live entry was removed", body = Deleted),
        (status = 403, description = "Another agent's agent/{agent}/… key (forbidden)", body = ApiErrorBody),
        (status = 409, description = "Not at expected_version (conflict), or the lock lapsed (lease_lost) or is a read lock (read_lock_cannot_write)", body = ApiErrorBody),
        (status = 423, description = "Locked by someone else (locked)", body = ApiErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiQuery(query): ApiQuery<DeleteQuery>,
    lock: LockHeaders,
) -> Reply<Deleted> {
    let agent = agent(&caller);
    let lock = lock.lock(&query.key, LockKind::Write);
    blocking(&state, move |e| {
        Ok(Deleted {
            deleted: e.swarm()?.delete(
                agent.as_deref(),
                &query.key,
                query.expected_version,
                lock.as_ref(),
            )?,
        })
    })
    .await
}

/// List live entries under a prefix, a page at a time (stable order, not alphabetical).
#[utoipa::path(
    get,
    path = "/v1/swarm/entries",
    tag = "swarm",
    operation_id = "listSwarmEntries",
    params(ListQuery),
    responses((status = 200, description = "A page and the cursor of the next", body = Page))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Reply<Page> {
    blocking(&state, move |e| {
        Ok(e.swarm()?
            .list(&query.prefix, query.limit, query.after.as_deref())?)
    })
    .await
}

/// Lock a key: read (shared), write or exclusive; every grant raises the key's fencing
/// epoch.
#[utoipa::path(
    post,
    path = "/v1/swarm/locks",
    tag = "swarm",
    operation_id = "lockSwarmKey",
    request_body(content = LockRequest, example = json!({"key": "swarm/prod/queue", "kind": "write", "ttl_ms": 30000, "wait_ms": 1000, "owner": "worker-1"})),
    responses(
        (status = 200, description = "Granted", body = SwarmLock),
        (status = 409, description = "Still held by others after wait_ms (lease_held, with expires_in_ms and Retry-After)", body = ApiErrorBody),
    )
)]
pub async fn lock(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiJson(request): ApiJson<LockRequest>,
) -> Reply<SwarmLock> {
    let owner = request
        .owner
        .or_else(|| agent(&caller))
        .unwrap_or_else(|| "api".to_owned());
    blocking(&state, move |e| {
        Ok(e.swarm()?.lock(
            &request.key,
            request.kind,
            Duration::from_millis(request.ttl_ms),
            Duration::from_millis(request.wait_ms),
            &owner,
        )?)
    })
    .await
}

/// Renew a held lock for `ttl_ms` from now.
#[utoipa::path(
    post,
    path = "/v1/swarm/locks/renew",
    tag = "swarm",
    operation_id = "renewSwarmLock",
    request_body(content = RenewLockRequest, example = json!({"key": "swarm/prod/queue", "kind": "write", "token": "5b1d0c6f6a3f4f44a8f0c7c1d2e3f405", "epoch": 3, "ttl_ms": 30000})),
    responses(
        (status = 200, description = "Renewed", body = SwarmLock),
        (status = 409, description = "The lock lapsed or was released (lease_lost)", body = ApiErrorBody),
    )
)]
pub async fn renew(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RenewLockRequest>,
) -> Reply<SwarmLock> {
    let lock = SwarmLock {
        key: request.key,
        kind: request.kind,
        token: request.token,
        epoch: request.epoch,
        acquired_at: 0,
        expires_at: 0,
    };
    let ttl = Duration::from_millis(request.ttl_ms);
    blocking(&state, move |e| Ok(e.swarm()?.renew(&lock, ttl)?)).await
}

/// Release a held lock.
#[utoipa::path(
    post,
    path = "/v1/swarm/locks/release",
    tag = "swarm",
    operation_id = "releaseSwarmLock",
    request_body(content = HeldLockRequest, example = json!({"key": "swarm/prod/queue", "kind": "write", "token": "5b1d0c6f6a3f4f44a8f0c7c1d2e3f405", "epoch": 3})),
    responses((status = 200, description = "Whether a live lock was let go", body = Unlocked))
)]
pub async fn unlock(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<HeldLockRequest>,
) -> Reply<Unlocked> {
    let lock = request.lock();
    blocking(&state, move |e| {
        Ok(Unlocked {
            released: e.swarm()?.unlock(&lock)?,
        })
    })
    .await
}

/// Coordination events after a cursor, in order, each once.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "swarm",
    operation_id = "readEvents",
    params(EventsQuery),
    responses((status = 200, description = "The events examined that match, and the cursor to continue from", body = EventPage))
)]
pub async fn events(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Reply<EventPage> {
    blocking(&state, move |e| {
        Ok(e.swarm()?
            .events()
            .read(query.after as u64, query.prefix.as_deref(), query.limit)?)
    })
    .await
}

/// Publish a `knowledge_shared` or `sync_complete` event.
#[utoipa::path(
    post,
    path = "/v1/events",
    tag = "swarm",
    operation_id = "publishEvent",
    request_body(content = PublishRequest, example = json!({"kind": "knowledge_shared", "key": "global/knowledge/caching", "data": {"insight": "cache embeddings per file"}})),
    responses((status = 200, description = "The event as appended", body = Event))
)]
pub async fn publish(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiJson(request): ApiJson<PublishRequest>,
) -> Reply<Event> {
    let agent = agent(&caller);
    blocking(&state, move |e| {
        Ok(e.swarm()?.publish(
            agent.as_deref(),
            request.kind,
            request.key.as_deref(),
            Value::Object(request.data.unwrap_or_default()),
        )?)
    })
    .await
}

/// The event feed as server-sent events (`text/event-stream`): each event's `id` is its
/// sequence number, its `event` its kind, its `data` the event as JSON. A client that
/// reconnects with `Last-Event-ID` (what browsers' EventSource sends) resumes right after
/// it: nothing missed, nothing twice.
#[utoipa::path(
    get,
    path = "/v1/events/stream",
    tag = "swarm",
    operation_id = "streamEvents",
    params(StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "The id of the last event received: the stream resumes after it")),
    responses((status = 200, description = "A stream of events", content_type = "text/event-stream", body = String))
)]
pub async fn stream(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    ApiQuery(query): ApiQuery<StreamQuery>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let after = match headers.get("last-event-id") {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| ApiError::invalid("Last-Event-ID is not an event's sequence number"))?,
        None => query.after as u64,
    };
    let prefix = query.prefix;
    // Check the prefix (and open swarm memory) before the stream starts, so a bad request
    // gets its error as a status, not as a broken stream.
    {
        let prefix = prefix.clone();
        let _checked = blocking(&state, move |e| {
            Ok(e.swarm()?
                .events()
                .read(after, prefix.as_deref(), 1)
                .map(|_| ())?)
        })
        .await?;
    }
    let engram = state.engram.clone();
    let shutdown = state.streams.clone();
    let events = futures_util::stream::unfold(
        (after, Vec::<Event>::new()),
        move |(mut cursor, mut pending)| {
            let engram = engram.clone();
            let prefix = prefix.clone();
            let shutdown = shutdown.clone();
            async move {
                loop {
                    // The server is stopping: end the stream (the client resumes elsewhere
                    // or later with its Last-Event-ID).
                    if shutdown.is_cancelled() {
                        return None;
                    }
                    if !pending.is_empty() {
                        let event = pending.remove(0);
                        let sse = SseEvent::default()
                            .id(event.seq.to_string())
                            .event(event.kind.name())
                            .json_data(&event)
                            .unwrap_or_else(|_| SseEvent::default().comment("unserialisable"));
                        return Some((Ok(sse), (cursor, pending)));
                    }
                    let read = {
                        let prefix = prefix.clone();
                        let engram = engram.clone();
                        tokio::task::spawn_blocking(move || {
                            engram
                                .swarm()
                                .map_err(|e| e.to_string())?
                                .events()
                                .read(cursor, prefix.as_deref(), 100)
                                .map_err(|e| e.to_string())
                        })
                        .await
                    };
                    match read {
                        Ok(Ok(page)) => {
                            let moved = page.cursor != cursor;
                            cursor = page.cursor;
                            pending = page.events;
                            if !moved {
                                tokio::select! {
                                    () = tokio::time::sleep(STREAM_POLL) => {}
                                    () = shutdown.cancelled() => return None,
                                }
                            }
                        }
                        // A failing store ends the stream; the client reconnects with its
                        // Last-Event-ID and misses nothing.
                        Ok(Err(error)) => {
                            tracing::warn!(%error, "event stream ended");
                            return None;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "event stream ended");
                            return None;
                        }
                    }
                }
            }
        },
    );
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}
