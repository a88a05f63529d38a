//! What stands before every handler: bearer API keys (compared in constant time), a bound on
//! the requests worked on at once (overload is 503 with `Retry-After`, not a queue), and a
//! per-request timeout.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::error::ApiError;

/// Who sent a request, as its key says: put in the request's extensions by [`authorize`].
/// `agent` is the agent its key is bound to; `None` for an admin key (or a server without
/// keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The agent the key is bound to.
    pub agent: Option<String>,
    /// The workspace of agent memory the key is bound to (only with an agent).
    pub workspace: Option<String>,
}

impl Caller {
    /// The agent of a request's caller, if its key is bound to one (`None` for an admin key
    /// or a server without keys).
    pub fn agent_of(caller: &Option<axum::Extension<Caller>>) -> Option<&str> {
        caller
            .as_ref()
            .and_then(|axum::Extension(c)| c.agent.as_deref())
    }

    /// The workspace a key bound to an agent is also bound to, if any.
    pub fn workspace_of(caller: &Option<axum::Extension<Caller>>) -> Option<&str> {
        caller
            .as_ref()
            .filter(|axum::Extension(c)| c.agent.is_some())
            .and_then(|axum::Extension(c)| c.workspace.as_deref())
    }

    /// Refuses (403) a key bound to an agent other than `name`, the `what` (agent,
    /// specialist) a route acts as; an admin key acts as any.
    pub fn require(
        caller: &Option<axum::Extension<Caller>>,
        what: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        match Self::agent_of(caller) {
            Some(own) if own != name => Err(ApiError::forbidden(format!(
                "this key acts as agent {own:?}, not {what} {name:?}"
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses (403) a key bound to an agent: `what` needs an admin key.
    pub fn require_admin(
        caller: &Option<axum::Extension<Caller>>,
        what: &str,
    ) -> Result<(), ApiError> {
        match Self::agent_of(caller) {
            Some(own) => Err(ApiError::forbidden(format!(
                "this key acts as agent {own:?}; {what} needs an admin key"
            ))),
            None => Ok(()),
        }
    }
}

/// The accepted API keys, kept as digests so that comparing them takes the same time
/// whatever the key sent; each with the agent it is bound to, if any.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    digests: Vec<([u8; 32], Caller)>,
}

impl Keys {
    /// The digests of admin `keys` and of `agent_keys` (agent → key), each agent with its
    /// workspace in `agent_workspaces` (agent → workspace), if any.
    pub fn new(
        keys: &[String],
        agent_keys: &BTreeMap<String, String>,
        agent_workspaces: &BTreeMap<String, String>,
    ) -> Self {
        let admin = keys
            .iter()
            .map(|k| (digest(k.as_bytes()), Caller::default()));
        let bound = agent_keys.iter().map(|(agent, k)| {
            (
                digest(k.as_bytes()),
                Caller {
                    agent: Some(agent.clone()),
                    workspace: agent_workspaces.get(agent).cloned(),
                },
            )
        });
        Self {
            digests: admin.chain(bound).collect(),
        }
    }

    /// Whether no key is configured (then every request is let through).
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// The caller `given` names, if it is one of the keys; every configured key is
    /// compared, each in constant time.
    pub fn accepts(&self, given: &str) -> Option<Caller> {
        let given = digest(given.as_bytes());
        self.digests.iter().fold(None, |found, (key, caller)| {
            let matches = constant_time_eq(key, &given);
            found.or(matches.then(|| caller.clone()))
        })
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

fn unauthorized(message: &str) -> Response {
    let mut response = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        message,
        "send the header Authorization: Bearer <one of the server's API keys>",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Routes anyone may call: liveness and the API's document.
pub const PUBLIC_PATHS: [&str; 2] = ["/healthz", "/openapi.json"];

/// Lets a request through when it carries an accepted bearer key (or no key is configured,
/// or the route is public), with who sent it ([`Caller`]) in its extensions.
pub async fn authorize(
    State(keys): State<Arc<Keys>>,
    mut request: Request,
    next: Next,
) -> Response {
    if keys.is_empty() || PUBLIC_PATHS.contains(&request.uri().path()) {
        request.extensions_mut().insert(Caller::default());
        return next.run(request).await;
    }
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return unauthorized("this server requires an API key");
    };
    let Some(token) = value.to_str().ok().and_then(bearer_token) else {
        return unauthorized("the Authorization header is not `Bearer <key>`");
    };
    match keys.accepts(token) {
        Some(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None => unauthorized("the API key is not accepted"),
    }
}

/// The token of `Bearer <token>` credentials (RFC 6750 §2.1). The scheme is
/// case-insensitive and separated from the token by one or more spaces (RFC 9110 §11.4:
/// `credentials = auth-scheme [ 1*SP token68 ]`); the token itself is compared exactly.
fn bearer_token(credentials: &str) -> Option<&str> {
    let (scheme, token) = credentials.trim().split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// How much work the server takes on at once, and for how long.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Permits for requests in flight.
    pub in_flight: Arc<Semaphore>,
    /// Longest a request may take.
    pub timeout: Duration,
}

/// Refuses a request when the server is at capacity, and ends one that runs too long.
pub async fn limit(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    let Ok(_permit) = Arc::clone(&limits.in_flight).try_acquire_owned() else {
        return ApiError::overloaded().into_response();
    };
    match tokio::time::timeout(limits.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!("the request took longer than {:?}", limits.timeout),
                "retry later, or with less work in one request",
            );
            error.retry_after = Some(1);
            error.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_matched_exactly_and_name_their_agent() {
        let keys = Keys::new(
            &[
                "k1-0123456789abcdef".to_owned(),
                "k2-0123456789abcdef".to_owned(),
            ],
            &BTreeMap::from([
                ("coder-1".to_owned(), "k3-0123456789abcdef".to_owned()),
                ("coder-2".to_owned(), "k4-0123456789abcdef".to_owned()),
            ]),
            &BTreeMap::from([("coder-2".to_owned(), "acme".to_owned())]),
        );
        let admin = Some(Caller::default());
        assert_eq!(keys.accepts("k1-0123456789abcdef"), admin);
        assert_eq!(keys.accepts("k2-0123456789abcdef"), admin);
        assert_eq!(
            keys.accepts("k3-0123456789abcdef"),
            Some(Caller {
                agent: Some("coder-1".to_owned()),
                workspace: None,
            })
        );
        assert_eq!(
            keys.accepts("k4-0123456789abcdef"),
            Some(Caller {
                agent: Some("coder-2".to_owned()),
                workspace: Some("acme".to_owned()),
            })
        );
        assert_eq!(keys.accepts("k1-0123456789abcde"), None);
        assert_eq!(keys.accepts(""), None);
        assert!(Keys::default().is_empty());
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_token_exact() {
        for credentials in [
            "Bearer k-1",
            "bearer k-1",
            "BEARER k-1",
            "BeArEr   k-1",
            " Bearer k-1 ",
        ] {
            assert_eq!(bearer_token(credentials), Some("k-1"), "{credentials:?}");
        }
        assert_eq!(bearer_token("Bearer K-1"), Some("K-1"));
        for credentials in [
            "Bearer",
            "Bearer ",
            "Basic k-1",
            "Bearerk-1",
            "Bearer\tk-1",
            "",
        ] {
            assert_eq!(bearer_token(credentials), None, "{credentials:?}");
        }
    }
}
