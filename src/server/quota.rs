//! The per-agent quota gate ([`crate::quota`]): every request that stores something, made
//! with a key bound to an agent, is refused once that agent has used up a quota — 429
//! `quota_exceeded` for the number of records, 507 `quota_exceeded` for their bytes, with
//! `quota`, `used` and `limit` in the error. Admin keys (and servers without keys) are not
//! limited. The same gate runs for MCP tools, which call these routes in process.
//!
//! Which routes store is decided here, once: [`STORING`] lists them, and the tests list the
//! other writes (recalls and searches sent as POST, ends, releases, deletes) and keep every
//! write route of the document in exactly one of the two lists.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::guard::Caller;
use crate::Engram;
use crate::quota::{QuotaError, QuotaKind};

/// The routes that store something (method, path template).
pub const STORING: &[(&str, &str)] = &[
    ("POST", "/v1/patterns"),
    ("POST", "/v1/solutions"),
    ("POST", "/v1/errors"),
    ("POST", "/v1/episodes"),
    ("POST", "/v1/episodes/{id}/events"),
    ("POST", "/v1/learn"),
    ("POST", "/v1/knowledge"),
    ("POST", "/v1/knowledge/seed"),
    ("PUT", "/v1/leases/{name}/value"),
    ("POST", "/v1/specialists"),
    ("POST", "/v1/specialists/{name}/sessions"),
    ("POST", "/v1/deliberations/{deliberation}/outcome"),
    ("POST", "/v1/agents/{agent}/learnings"),
    ("POST", "/v1/agents/{agent}/learnings/{id}/promote"),
    ("POST", "/v1/agents/{agent}/interactions"),
    ("POST", "/v1/workspaces/{workspace}/cross-pollination"),
    ("POST", "/v1/memories"),
    ("POST", "/v1/memories/batch"),
    ("PATCH", "/v1/memories/{id}"),
    ("POST", "/v1/memories/{id}/reinforce"),
    ("POST", "/v1/memories/{id}/relationships"),
    ("POST", "/v1/sessions"),
    ("POST", "/v1/groups"),
    ("POST", "/v1/groups/{id}/members"),
    ("PUT", "/v1/swarm/entry"),
    ("POST", "/v1/events"),
    ("POST", "/v1/swarm/agents/{agent}/memory"),
    ("POST", "/v1/swarm/agents/{agent}/decisions"),
    ("POST", "/v1/swarm/agents/{agent}/progress/{task_id}"),
    ("POST", "/v1/swarm/knowledge"),
    ("POST", "/v1/swarm/outcomes"),
];

/// Whether `method path` stores something.
pub fn stores(method: &str, path: &str) -> bool {
    STORING.iter().any(|(m, p)| *m == method && *p == path)
}

/// Refuses a storing request of an agent over its quota.
pub async fn admit(State(engram): State<Engram>, request: Request, next: Next) -> Response {
    if !engram.quotas().settings().any() || request.method() == Method::GET {
        return next.run(request).await;
    }
    let agent = request
        .extensions()
        .get::<Caller>()
        .and_then(|caller| caller.agent.clone());
    let storing = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| stores(request.method().as_str(), path.as_str()));
    let (Some(agent), true) = (agent, storing) else {
        return next.run(request).await;
    };
    let checked = tokio::task::spawn_blocking(move || engram.admit(&agent)).await;
    match checked {
        Ok(Ok(())) => next.run(request).await,
        Ok(Err(error)) => ApiError::from(error).into_response(),
        Err(error) => {
            ApiError::internal(format!("the quota check failed: {error}")).into_response()
        }
    }
}

impl From<QuotaError> for ApiError {
    fn from(error: QuotaError) -> Self {
        let message = error.to_string();
        match error {
            QuotaError::Exceeded {
                kind, used, limit, ..
            } => {
                let status = match kind {
                    QuotaKind::Entries => StatusCode::TOO_MANY_REQUESTS,
                    QuotaKind::Bytes => StatusCode::INSUFFICIENT_STORAGE,
                };
                Self::new(
                    status,
                    "quota_exceeded",
                    message,
                    "delete some of this agent's records (memories, swarm entries, learnings) \
                     or ask an operator to raise [quotas]; retrying will not help",
                )
                .with_detail(
                    "quota",
                    match kind {
                        QuotaKind::Entries => "entries",
                        QuotaKind::Bytes => "bytes",
                    },
                )
                .with_detail("used", used)
                .with_detail("limit", limit)
            }
            QuotaError::Store(error) => error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The writes that store nothing an agent owns: reads sent as POST, ends, releases,
    /// deletes, locks and maintenance. An agent over its quota may still do these (deleting is
    /// how it gets back under).
    const NOT_STORING: &[(&str, &str)] = &[
        ("POST", "/v1/patterns/recall"),
        ("POST", "/v1/patterns/suggest"),
        ("POST", "/v1/solutions/recall"),
        ("POST", "/v1/errors/recall"),
        ("POST", "/v1/episodes/recall"),
        ("POST", "/v1/episodes/{id}/end"),
        ("POST", "/v1/episodes/{id}/abandon"),
        ("POST", "/v1/extract"),
        ("POST", "/v1/leases/{name}/acquire"),
        ("POST", "/v1/leases/{name}/renew"),
        ("POST", "/v1/leases/{name}/release"),
        ("POST", "/v1/agents/{agent}/recall"),
        ("POST", "/v1/agents/best"),
        ("POST", "/v1/memories/batch-get"),
        ("DELETE", "/v1/memories/{id}"),
        ("POST", "/v1/memories/search"),
        ("POST", "/v1/memories/semantic-search"),
        ("POST", "/v1/sessions/{id}/end"),
        ("POST", "/v1/circuit-breaker/reset"),
        ("DELETE", "/v1/swarm/entry"),
        ("POST", "/v1/swarm/locks"),
        ("POST", "/v1/swarm/locks/renew"),
        ("POST", "/v1/swarm/locks/release"),
        ("POST", "/v1/swarm/strategy"),
        ("POST", "/v1/swarm/optimize"),
    ];

    #[test]
    fn every_write_route_is_either_storing_or_not() {
        for (method, path) in super::super::routes() {
            if method == "GET" {
                continue;
            }
            let storing = stores(&method, &path);
            let other = NOT_STORING.iter().any(|(m, p)| *m == method && *p == path);
            assert!(
                storing != other,
                "{method} {path} must be in exactly one of STORING and NOT_STORING"
            );
        }
        for (method, path) in STORING.iter().chain(NOT_STORING) {
            assert!(
                super::super::routes()
                    .iter()
                    .any(|(m, p)| m == method && p == path),
                "{method} {path} is not a route"
            );
        }
    }
}
