//! Where a tool call's work is done: engram's HTTP API, reached in this process (the router
//! itself, no socket) or at an `engram serve` over HTTP. Every tool is one API call, so a
//! tool checks its input, stores and answers exactly as the route does, and its errors carry
//! the route's stable code and hint.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::Value;
use tower::ServiceExt as _;

const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The code of a call whose server could not be reached (or did not answer).
pub const UNAVAILABLE: &str = "unavailable";

/// One request to the API: a method, a path under the server's root, and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    /// GET, POST, PUT or DELETE.
    pub method: Method,
    /// The path and query, e.g. `/v1/errors/recall`.
    pub path: String,
    /// The JSON body (POST and PUT only).
    pub body: Option<Value>,
    /// Sent as `Idempotency-Key`, so that the call made again (after a lost answer, or at
    /// another server) happens once.
    pub idempotency_key: Option<String>,
    /// Who makes it, when a key bound to an agent called the tool over HTTP: the routes
    /// called in process then see that caller (its agent's rights and quotas), as they would
    /// over HTTP. A remote server knows the caller by the key this process sends.
    pub caller: Option<crate::server::Caller>,
}

impl ApiCall {
    /// A POST of `body` to `path`.
    pub fn post(path: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            body: Some(body),
            idempotency_key: None,
            caller: None,
        }
    }

    /// The same call, made once however often it is sent.
    pub fn once(mut self) -> Self {
        self.idempotency_key = Some(uuid::Uuid::new_v4().to_string());
        self
    }

    /// A PUT of `body` to `path`.
    pub fn put(path: impl Into<String>, body: Value) -> Self {
        Self {
            method: Method::PUT,
            ..Self::post(path, body)
        }
    }

    /// A DELETE of `path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self {
            method: Method::DELETE,
            path: path.into(),
            body: None,
            idempotency_key: None,
            caller: None,
        }
    }

    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            body: None,
            idempotency_key: None,
            caller: None,
        }
    }
}

/// A refused or failed call: the API's error body (`{"error": {code, message, hint}}`) with
/// its HTTP status, or a transport failure told the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// The HTTP status (503 when the server could not be reached).
    pub status: u16,
    /// The stable error code, e.g. `invalid_input`.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl ApiFailure {
    /// The failure an error body describes; a body that is not one is told as it is.
    fn from_body(status: u16, text: &str) -> Self {
        let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let field = |name: &str| body["error"][name].as_str().map(str::to_owned);
        match (field("code"), field("message")) {
            (Some(code), Some(message)) => Self {
                status,
                code,
                message,
                hint: field("hint").unwrap_or_default(),
            },
            _ => Self {
                status,
                code: "unexpected_answer".into(),
                message: format!(
                    "HTTP {status}: {}",
                    text.chars().take(500).collect::<String>()
                ),
                hint: "see the engram server's log".into(),
            },
        }
    }

    fn unreachable(base: &str, error: impl std::fmt::Display) -> Self {
        Self {
            status: 503,
            code: UNAVAILABLE.into(),
            message: format!("engram serve at {base} did not answer: {error}"),
            hint: "start `engram serve` again (or end it, and engram mcp opens the data directory \
                   itself when restarted)"
                .into(),
        }
    }
}

/// The API a tool call goes to.
#[derive(Clone)]
pub enum Api {
    /// engram's router in this process: the same handlers, validation and errors as over
    /// HTTP, without a socket.
    InProcess(axum::Router),
    /// An `engram serve` (e.g. the one holding the data directory).
    Remote(RemoteApi),
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InProcess(_) => f.write_str("Api::InProcess"),
            Self::Remote(remote) => write!(f, "Api::Remote({})", remote.base),
        }
    }
}

/// An engram server's address and the API key to send it.
#[derive(Clone)]
pub struct RemoteApi {
    base: String,
    key: Option<String>,
    agent: ureq::Agent,
}

impl RemoteApi {
    /// The server at `base` (e.g. `http://127.0.0.1:7437`), sent `key` as a bearer token.
    pub fn new(base: impl Into<String>, key: Option<String>) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            key,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(120)))
                .build()
                .into(),
        }
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Makes `call`, blocking the thread until the answer: its JSON, or why not.
    pub fn call(&self, call: &ApiCall) -> Result<Value, ApiFailure> {
        let url = format!("{}{}", self.base, call.path);
        let auth = self.key.as_ref().map(|k| format!("Bearer {k}"));
        let response = if call.method == Method::GET || call.method == Method::DELETE {
            let mut request = if call.method == Method::DELETE {
                self.agent.delete(&url)
            } else {
                self.agent.get(&url)
            };
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            request.call()
        } else {
            let request = match call.method {
                Method::POST => self.agent.post(&url),
                Method::PUT => self.agent.put(&url),
                _ => {
                    return Err(internal(format!(
                        "{} is not a method engram's API takes",
                        call.method
                    )));
                }
            };
            let mut request = request.content_type("application/json");
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            if let Some(key) = &call.idempotency_key {
                request = request.header(IDEMPOTENCY_KEY, key);
            }
            request.send(call.body.clone().unwrap_or(Value::Null).to_string())
        };
        let mut response = response.map_err(|e| ApiFailure::unreachable(&self.base, e))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| ApiFailure::unreachable(&self.base, e))?;
        answer(status, &text)
    }
}

/// The JSON of a 200 answer, or the failure another status describes.
fn answer(status: u16, text: &str) -> Result<Value, ApiFailure> {
    if status != 200 {
        return Err(ApiFailure::from_body(status, text));
    }
    serde_json::from_str(text).map_err(|e| ApiFailure {
        status: 500,
        code: "unexpected_answer".into(),
        message: format!("the answer is not JSON: {e}"),
        hint: "see the engram server's log".into(),
    })
}

impl Api {
    /// Whether `self` and `other` are the same API (the same router, or the same server).
    pub fn same_as(&self, other: &Api) -> bool {
        match (self, other) {
            (Self::Remote(a), Self::Remote(b)) => a.base == b.base,
            (Self::InProcess(_), Self::InProcess(_)) => true,
            _ => false,
        }
    }

    /// Makes `call`; the answer's JSON, or why not.
    pub async fn call(&self, call: ApiCall) -> Result<Value, ApiFailure> {
        match self {
            Self::InProcess(router) => {
                let mut request = Request::builder()
                    .method(call.method.clone())
                    .uri(&call.path);
                if let Some(key) = &call.idempotency_key {
                    request = request.header(IDEMPOTENCY_KEY, key);
                }
                if let Some(caller) = &call.caller {
                    request = request.extension(caller.clone());
                }
                let body = match &call.body {
                    Some(body) => {
                        request = request.header(header::CONTENT_TYPE, "application/json");
                        Body::from(body.to_string())
                    }
                    None => Body::empty(),
                };
                let request = request.body(body).map_err(|e| internal(e.to_string()))?;
                let response = router
                    .clone()
                    .oneshot(request)
                    .await
                    .map_err(|e| internal(e.to_string()))?;
                let status = response.status().as_u16();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .map_err(|e| internal(e.to_string()))?;
                answer(status, &String::from_utf8_lossy(&bytes))
            }
            Self::Remote(remote) => {
                let remote = remote.clone();
                tokio::task::spawn_blocking(move || remote.call(&call))
                    .await
                    .map_err(|e| internal(e.to_string()))?
            }
        }
    }
}

fn internal(message: String) -> ApiFailure {
    ApiFailure {
        status: 500,
        code: "internal".into(),
        message,
        hint: "see engram's log".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_keep_their_code_and_hint_and_other_bodies_are_told_as_they_are() {
        let failure = ApiFailure::from_body(
            422,
            r#"{"error":{"code":"invalid_input","message":"query is blank","hint":"send text"}}"#,
        );
        assert_eq!(
            failure,
            ApiFailure {
                status: 422,
                code: "invalid_input".into(),
                message: "query is blank".into(),
                hint: "send text".into(),
            }
        );
        let failure = ApiFailure::from_body(502, "<html>bad gateway</html>");
        assert_eq!(failure.code, "unexpected_answer");
        assert!(failure.message.contains("bad gateway"), "{failure:?}");
        assert_eq!(answer(200, "[1]"), Ok(serde_json::json!([1])));
        assert_eq!(
            answer(200, "nope").map_err(|f| f.code),
            Err("unexpected_answer".into())
        );
    }
}
