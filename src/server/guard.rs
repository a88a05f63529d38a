//! What stands before every handler: bearer API keys (compared in constant time), a bound on
//! the requests worked on at once (overload is 503 with `Retry-After`, not a queue), and a
//! per-request timeout.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::error::ApiError;

/// The accepted API keys, kept as digests so that comparing them takes the same time
/// whatever the key sent.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    digests: Vec<[u8; 32]>,
}

impl Keys {
    /// The digests of `keys`.
    pub fn new(keys: &[String]) -> Self {
        Self {
            digests: keys.iter().map(|k| digest(k.as_bytes())).collect(),
        }
    }

    /// Whether no key is configured (then every request is let through).
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `given` is one of the keys; every configured key is compared, each in
    /// constant time.
    pub fn accepts(&self, given: &str) -> bool {
        let given = digest(given.as_bytes());
        self.digests
            .iter()
            .fold(false, |found, key| found | constant_time_eq(key, &given))
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
/// or the route is public).
pub async fn authorize(State(keys): State<Arc<Keys>>, request: Request, next: Next) -> Response {
    if keys.is_empty() || PUBLIC_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return unauthorized("this server requires an API key");
    };
    match value.to_str().ok().and_then(bearer_token) {
        Some(token) if keys.accepts(token) => next.run(request).await,
        Some(_) => unauthorized("the API key is not accepted"),
        None => unauthorized("the Authorization header is not `Bearer <key>`"),
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
    fn keys_are_matched_exactly() {
        let keys = Keys::new(&[
            "k1-0123456789abcdef".to_owned(),
            "k2-0123456789abcdef".to_owned(),
        ]);
        assert!(keys.accepts("k1-0123456789abcdef"));
        assert!(keys.accepts("k2-0123456789abcdef"));
        assert!(!keys.accepts("k1-0123456789abcde"));
        assert!(!keys.accepts(""));
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
