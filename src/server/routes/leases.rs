//! `/v1/leases/{name}`: leases (named locks with a time to live and a fencing epoch) shared
//! by every engram server on one store, and the value each guards.

use std::time::Duration;

use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::super::error::ApiError;
use super::super::idempotency::IdempotencyKey;
use super::super::json::ApiJson;
use super::super::{AppState, Reply, blocking};
use crate::store::coord::{Acquire, GuardedValue, Lease, LeaseMode, LeaseState};

/// `POST /v1/leases/{name}/acquire`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcquireRequest {
    #[serde(default = "exclusive")]
    mode: LeaseMode,
    ttl_ms: u64,
    #[serde(default)]
    wait_ms: u64,
    #[serde(default)]
    owner: Option<String>,
}

fn exclusive() -> LeaseMode {
    LeaseMode::Exclusive
}

/// `POST /v1/leases/{name}/renew`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    token: String,
    epoch: u64,
    ttl_ms: u64,
}

/// `POST /v1/leases/{name}/release`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    token: String,
    epoch: u64,
}

/// Whether a release let go of a live lease.
#[derive(Debug, Serialize)]
pub struct Released {
    released: bool,
}

/// `PUT /v1/leases/{name}/value`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueRequest {
    token: String,
    epoch: u64,
    value: serde_json::Value,
}

/// A written value's version and the epoch it was written under.
#[derive(Debug, Serialize)]
pub struct Written {
    version: u64,
    epoch: u64,
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

pub async fn acquire(
    State(state): State<AppState>,
    Path(name): Path<String>,
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

pub async fn renew(
    State(state): State<AppState>,
    Path(name): Path<String>,
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

pub async fn release(
    State(state): State<AppState>,
    Path(name): Path<String>,
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

pub async fn state(State(state): State<AppState>, Path(name): Path<String>) -> Reply<LeaseState> {
    blocking(&state, move |e| {
        e.leases()
            .state(&name)?
            .ok_or_else(|| ApiError::not_found(format!("no lease {name:?} was ever acquired")))
    })
    .await
}

pub async fn write_value(
    State(state): State<AppState>,
    Path(name): Path<String>,
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

pub async fn read_value(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Reply<GuardedValue> {
    blocking(&state, move |e| {
        e.leases()
            .read_value(&name)?
            .ok_or_else(|| ApiError::not_found(format!("lease {name:?} guards no value yet")))
    })
    .await
}
