//! `/v1/leases/{name}`: leases (named locks with a time to live and a fencing epoch) shared
//! by every engram server on one store, and the value each guards.

use std::time::Duration;

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::error::{ApiError, ApiErrorBody};
use super::super::idempotency::IdempotencyKey;
use super::super::json::{ApiJson, integer};
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use crate::store::coord::{Acquire, GuardedValue, Lease, LeaseMode, LeaseState};

/// A lease to acquire.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcquireRequest {
    /// Shared (readers) or exclusive (one holder).
    #[serde(default = "exclusive")]
    #[schema(default = "exclusive")]
    mode: LeaseMode,
    /// How long the grant lasts unless renewed, in milliseconds.
    #[serde(deserialize_with = "integer")]
    #[schema(schema_with = schema::ttl_ms)]
    ttl_ms: u64,
    /// How long to wait for the lease to become free, in milliseconds (0: try once). The
    /// server's request timeout (30 s by default) bounds it too.
    #[serde(default, deserialize_with = "integer")]
    #[schema(schema_with = schema::wait_ms)]
    wait_ms: u64,
    /// Who asks (shown to others; default `api`).
    #[serde(default)]
    #[schema(schema_with = schema::optional_lease_name)]
    owner: Option<String>,
}

fn exclusive() -> LeaseMode {
    LeaseMode::Exclusive
}

/// A held lease to renew.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
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

/// A held lease to release.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The holder's token.
    token: String,
    /// The holder's epoch.
    #[serde(deserialize_with = "integer")]
    #[schema(schema_with = schema::epoch)]
    epoch: u64,
}

/// Whether a release let go of a live lease.
#[derive(Debug, Serialize, ToSchema)]
pub struct Released {
    /// False when it had already lapsed or been released.
    released: bool,
}

/// The value to write under a held lease.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueRequest {
    /// The holder's token.
    token: String,
    /// The holder's epoch (the fence).
    #[serde(deserialize_with = "integer")]
    #[schema(schema_with = schema::epoch)]
    epoch: u64,
    /// Any JSON value (its numbers kept exactly).
    #[schema(schema_with = schema::lease_value)]
    value: serde_json::Value,
}

/// A written value's version and the epoch it was written under.
#[derive(Debug, Serialize, ToSchema)]
pub struct Written {
    /// The value's version (one per write).
    version: u64,
    /// The epoch it was written under.
    epoch: u64,
}

/// The `{name}` of a lease route.
#[derive(Debug, Deserialize)]
pub struct LeasePath {
    name: String,
}

impl IntoParams for LeasePath {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        vec![
            ParameterBuilder::new()
                .name("name")
                .parameter_in(ParameterIn::Path)
                .required(utoipa::openapi::Required::True)
                .description(Some(
                    "The lease's name: 1 to 255 characters without control characters \
                     (percent-encoded in the path).",
                ))
                .schema(Some(schema::lease_name()))
                .build(),
        ]
    }
}

/// The lease a request names by token and epoch (only these are checked).
fn held(name: String, token: String, epoch: u64) -> Lease {
    Lease {
        name,
        mode: LeaseMode::Exclusive,
        token,
        epoch,
        acquired_at: 0,
        expires_at: 0,
    }
}

/// Acquire a lease: shared or exclusive, with a time to live; every grant raises the
/// lease's fencing epoch.
#[utoipa::path(
    post,
    path = "/v1/leases/{name}/acquire",
    tag = "leases",
    operation_id = "acquireLease",
    params(LeasePath, IdempotencyKey),
    request_body(content = AcquireRequest, example = json!({"mode": "exclusive", "ttl_ms": 30000, "wait_ms": 1000, "owner": "planner-1"})),
    responses(
        (status = 200, description = "Granted", body = Lease),
        (status = 409, description = "Still held by others after wait_ms (lease_held, with expires_in_ms and Retry-After), or the same Idempotency-Key is still running (idempotency_in_progress) or was first used for another request (idempotency_key_reused)", body = ApiErrorBody),
    )
)]
pub async fn acquire(
    State(state): State<AppState>,
    Path(LeasePath { name }): Path<LeasePath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<AcquireRequest>,
) -> Reply<Lease> {
    let acquire = Acquire {
        name,
        mode: request.mode,
        ttl: Duration::from_millis(request.ttl_ms),
        wait: Duration::from_millis(request.wait_ms),
        owner: request.owner.unwrap_or_else(|| "api".to_owned()),
    };
    blocking(&state, move |e| {
        Ok(e.leases().acquire_with_key(&acquire, key.as_deref())?)
    })
    .await
}

/// Renew a held lease.
#[utoipa::path(
    post,
    path = "/v1/leases/{name}/renew",
    tag = "leases",
    operation_id = "renewLease",
    params(LeasePath, IdempotencyKey),
    request_body(content = RenewRequest, example = json!({"token": "5b1d0c6f6a3f4f44a8f0c7c1d2e3f405", "epoch": 1, "ttl_ms": 30000})),
    responses(
        (status = 200, description = "Renewed", body = Lease),
        (status = 409, description = "The lease lapsed, was released or was taken over (lease_lost), or the same Idempotency-Key is still running (idempotency_in_progress) or was first used for another request (idempotency_key_reused)", body = ApiErrorBody),
    )
)]
pub async fn renew(
    State(state): State<AppState>,
    Path(LeasePath { name }): Path<LeasePath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<RenewRequest>,
) -> Reply<Lease> {
    let lease = held(name, request.token, request.epoch);
    let ttl = Duration::from_millis(request.ttl_ms);
    blocking(&state, move |e| {
        Ok(e.leases().renew_with_key(&lease, ttl, key.as_deref())?)
    })
    .await
}

/// Release a held lease.
#[utoipa::path(
    post,
    path = "/v1/leases/{name}/release",
    tag = "leases",
    operation_id = "releaseLease",
    params(LeasePath, IdempotencyKey),
    request_body(content = ReleaseRequest, example = json!({"token": "5b1d0c6f6a3f4f44a8f0c7c1d2e3f405", "epoch": 1})),
    responses(
        (status = 200, description = "Whether a live lease was let go", body = Released),
        (status = 409, description = "The same Idempotency-Key is still running (idempotency_in_progress) or was first used for another request (idempotency_key_reused)", body = ApiErrorBody),
    )
)]
pub async fn release(
    State(state): State<AppState>,
    Path(LeasePath { name }): Path<LeasePath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<ReleaseRequest>,
) -> Reply<Released> {
    let lease = held(name, request.token, request.epoch);
    blocking(&state, move |e| {
        Ok(Released {
            released: e.leases().release_with_key(&lease, key.as_deref())?,
        })
    })
    .await
}

/// Who holds a lease now (tokens are never shown).
#[utoipa::path(
    get,
    path = "/v1/leases/{name}",
    tag = "leases",
    operation_id = "leaseState",
    params(LeasePath),
    responses((status = 200, description = "The lease's epoch and live holders", body = LeaseState))
)]
pub async fn state(
    State(state): State<AppState>,
    Path(LeasePath { name }): Path<LeasePath>,
) -> Reply<LeaseState> {
    blocking(&state, move |e| {
        e.leases()
            .state(&name)?
            .ok_or_else(|| ApiError::not_found(format!("no lease {name:?} was ever acquired")))
    })
    .await
}

/// Write the JSON value a lease guards: only a current holder may, and never once a newer
/// epoch wrote (a holder paused past its TTL cannot overwrite its successor's work).
#[utoipa::path(
    put,
    path = "/v1/leases/{name}/value",
    tag = "leases",
    operation_id = "writeLeaseValue",
    params(LeasePath, IdempotencyKey),
    request_body(content = ValueRequest, example = json!({"token": "5b1d0c6f6a3f4f44a8f0c7c1d2e3f405", "epoch": 1, "value": {"task": "refactor the parser", "assignee": "coder-2"}})),
    responses(
        (status = 200, description = "Written", body = Written),
        (status = 409, description = "Not held (lease_lost), a newer epoch wrote (fenced), or the same Idempotency-Key is still running (idempotency_in_progress) or was first used for another request (idempotency_key_reused)", body = ApiErrorBody),
    )
)]
pub async fn write_value(
    State(state): State<AppState>,
    Path(LeasePath { name }): Path<LeasePath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<ValueRequest>,
) -> Reply<Written> {
    let lease = held(name, request.token, request.epoch);
    blocking(&state, move |e| {
        let version = e
            .leases()
            .write_value_with_key(&lease, request.value, key.as_deref())?;
        Ok(Written {
            version,
            epoch: lease.epoch,
        })
    })
    .await
}

/// The value a lease guards.
#[utoipa::path(
    get,
    path = "/v1/leases/{name}/value",
    tag = "leases",
    operation_id = "readLeaseValue",
    params(LeasePath),
    responses((status = 200, description = "The value, its version and the epoch it was written under", body = GuardedValue))
)]
pub async fn read_value(
    State(state): State<AppState>,
    Path(LeasePath { name }): Path<LeasePath>,
) -> Reply<GuardedValue> {
    blocking(&state, move |e| {
        e.leases()
            .read_value(&name)?
            .ok_or_else(|| ApiError::not_found(format!("lease {name:?} guards no value yet")))
    })
    .await
}
