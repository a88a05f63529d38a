//! `/v1/swarm/health` and `/v1/swarm/optimize`: the memory health report of design note 004
//! and the repairs it calls for ([`crate::health`]). Admin keys only: the report counts
//! every agent's entries and names their expired keys and leases, and an optimisation
//! deletes across agents.

use axum::Extension;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::super::error::ApiErrorBody;
use super::super::guard::Caller;
use super::super::json::ApiJson;
use super::super::{AppState, Reply, blocking};
use crate::health::{self, HealthReport, Optimization};

/// What to optimise.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizeRequest {
    /// Carry the plan out; without it (default `false`) nothing changes and the plan is
    /// answered.
    #[serde(default)]
    apply: bool,
}

/// The memory health report (admin keys only): entries per category and agent, expired
/// keys and memories not yet swept, lease holders that lapsed without releasing, orphans,
/// duplicates, each collection's points, segments and disk. Reads every record: seconds on
/// large stores.
#[utoipa::path(
    get,
    path = "/v1/swarm/health",
    tag = "swarm",
    operation_id = "getMemoryHealthReport",
    responses(
        (status = 200, description = "The report", body = HealthReport),
        (status = 403, description = "A key bound to an agent (forbidden)", body = ApiErrorBody),
    )
)]
pub async fn health(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
) -> Reply<HealthReport> {
    Caller::require_admin(&caller, "the health report")?;
    blocking(&state, move |e| Ok(health::report(e)?)).await
}

/// The plan of repairs the health report calls for (admin keys only); with `apply`, carried
/// out, each step changing only what is still as the report found it.
#[utoipa::path(
    post,
    path = "/v1/swarm/optimize",
    tag = "swarm",
    operation_id = "optimizeMemory",
    request_body(content = OptimizeRequest, example = json!({"apply": false})),
    responses(
        (status = 200, description = "The plan, and what was done", body = Optimization),
        (status = 403, description = "A key bound to an agent (forbidden)", body = ApiErrorBody),
    )
)]
pub async fn optimize(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiJson(request): ApiJson<OptimizeRequest>,
) -> Reply<Optimization> {
    Caller::require_admin(&caller, "optimising memory")?;
    blocking(&state, move |e| {
        Ok(health::optimize::optimize(e, request.apply)?)
    })
    .await
}
