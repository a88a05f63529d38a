//! The API's errors: JSON `{"error": {"code", "message", "hint"}}` with a stable code; the
//! caller's mistakes are 4xx, only engram's own faults are 5xx.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::agents::AgentError;
use crate::episodes::EpisodeError;
use crate::extract::learn::LearnError;
use crate::extract::{ExtractError, UnsupportedLanguage};
use crate::knowledge::KnowledgeError;
use crate::memories::MemoriesError;
use crate::memory::MemoryError;
use crate::specialists::SpecialistError;
use crate::store::StoreError;
use crate::swarm::SwarmError;

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code (`invalid_json`, `unauthorized`, …).
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: &'static str,
    /// Seconds to wait before retrying (overload).
    pub retry_after: Option<u64>,
    /// Fields of the error object beyond code, message and hint (a conflict's
    /// `current_version`).
    pub details: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

/// The body of every error response, as the OpenAPI document states it.
#[derive(utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ApiErrorBody {
    /// The error.
    #[expect(
        dead_code,
        reason = "a type for the document; responses are built from Body"
    )]
    error: ApiErrorDetail,
}

/// What went wrong.
#[derive(utoipa::ToSchema)]
#[expect(
    dead_code,
    reason = "a type for the document; responses are built from Inner"
)]
pub struct ApiErrorDetail {
    /// A stable, machine-readable code: invalid_json, invalid_body, invalid_id,
    /// invalid_idempotency_key (400); unauthorized (401); not_found, unknown_route (404);
    /// forbidden (403); method_not_allowed (405); episode_ended, no_seeds, conflict, fenced,
    /// lease_held, lease_lost, idempotency_in_progress, idempotency_key_reused,
    /// session_conflict, verdict_conflict (409); body_too_large
    /// (413); unsupported_media_type (415); invalid_request, unsupported_language,
    /// invalid_seeds (422); quota_exceeded (429, 507); internal (500); overloaded, timeout,
    /// store_unavailable (503).
    code: String,
    /// What went wrong, for people.
    message: String,
    /// What to do about it.
    hint: String,
    /// `conflict`: the version stored now (null: no record).
    #[schema(required = false)]
    current_version: Option<u64>,
    /// `lease_held`: milliseconds until the earliest holder's lease lapses.
    #[schema(required = false, nullable = false)]
    expires_in_ms: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    hint: &'a str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    /// An error with its status, code, message and hint.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        hint: &'static str,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            hint,
            retry_after: None,
            details: None,
        }
    }

    /// The same error with one more field in its body.
    pub fn with_detail(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details
            .get_or_insert_default()
            .insert(name.to_owned(), value.into());
        self
    }

    /// The request's content is invalid (a field's value, a limit).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            message,
            "fix the field the message names; /openapi.json documents every request",
        )
    }

    /// Nothing is at this id.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            message,
            "check the id; ids are returned by the call that created the entry",
        )
    }

    /// The caller's key may not act for this agent (403).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            message,
            "this key is bound to another agent; use that agent's key or an admin key",
        )
    }

    /// A path `{id}` that is not a UUID (400 `invalid_id`): `what` names the thing (an
    /// episode, a learning) and `hint` the call that returns its ids.
    pub fn invalid_id(text: &str, what: &str, hint: &'static str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("{text:?} is not {what} id (a UUID)"),
            hint,
        )
    }

    /// engram's own failure (500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            message,
            "this is engram's fault; the server log has the details",
        )
    }

    /// Too much work in flight.
    pub fn overloaded() -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "the server is working on as many requests as it is configured to",
                "retry after the number of seconds in Retry-After",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                hint: self.hint,
                details: self.details.as_deref(),
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let message = error.to_string();
        match error {
            StoreError::Conflict { current, .. } => {
                return Self::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    message,
                    "another writer changed it first: read the current version and retry",
                )
                .with_detail("current_version", current);
            }
            StoreError::Fenced { .. } => {
                return Self::new(
                    StatusCode::CONFLICT,
                    "fenced",
                    message,
                    "a newer holder of the lease has written; acquire the lease again",
                );
            }
            StoreError::LeaseHeld { expires_in_ms, .. } => {
                return Self {
                    retry_after: Some(expires_in_ms.div_ceil(1000).max(1)),
                    ..Self::new(
                        StatusCode::CONFLICT,
                        "lease_held",
                        message,
                        "wait for it (wait_ms) or retry after the holder's expiry",
                    )
                    .with_detail("expires_in_ms", expires_in_ms)
                };
            }
            StoreError::LeaseLost { .. } => {
                return Self::new(
                    StatusCode::CONFLICT,
                    "lease_lost",
                    message,
                    "the lease lapsed or was released: acquire it again before writing",
                );
            }
            // The IETF draft suggests 422; the request itself is valid and only conflicts
            // with what the key was first used for, so engram answers 409, as for every
            // other conflict with stored state.
            StoreError::IdempotencyMismatch { .. } => {
                return Self::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_reused",
                    message,
                    "send a new Idempotency-Key for a new request",
                );
            }
            StoreError::IdempotencyInProgress { .. } => {
                return Self {
                    retry_after: Some(1),
                    ..Self::new(
                        StatusCode::CONFLICT,
                        "idempotency_in_progress",
                        message,
                        "the first request with this key is still running; retry later",
                    )
                };
            }
            _ => {}
        }
        if error.is_caller_fault() {
            Self::invalid(message)
        } else {
            tracing::error!("store: {error}");
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                error.to_string(),
                "the store failed or is unreachable; retry, and check the server log",
            )
        }
    }
}

impl From<MemoryError> for ApiError {
    fn from(error: MemoryError) -> Self {
        match error {
            MemoryError::InvalidInput(message) => Self::invalid(message),
            MemoryError::Store(error) => error.into(),
            other => {
                tracing::error!("memory: {other}");
                Self::internal(other.to_string())
            }
        }
    }
}

impl From<EpisodeError> for ApiError {
    fn from(error: EpisodeError) -> Self {
        match error {
            EpisodeError::Unknown(_) => Self::not_found(error.to_string()),
            EpisodeError::Ended { .. } => Self::new(
                StatusCode::CONFLICT,
                "episode_ended",
                error.to_string(),
                "start a new episode to record more",
            ),
            EpisodeError::InvalidInput(message) => Self::invalid(message),
            EpisodeError::Store(error) => error.into(),
            other => {
                tracing::error!("episodes: {other}");
                Self::internal(other.to_string())
            }
        }
    }
}

impl From<SwarmError> for ApiError {
    fn from(error: SwarmError) -> Self {
        let message = error.to_string();
        match error {
            SwarmError::InvalidKey(_) | SwarmError::InvalidInput(_) => Self::invalid(message),
            SwarmError::Conflict { current, .. } => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                message,
                "read the current entry (in `current`) and write again based on its version",
            )
            .with_detail("current_version", current.as_ref().map(|c| c.version))
            .with_detail(
                "current",
                serde_json::to_value(current).unwrap_or(serde_json::Value::Null),
            ),
            SwarmError::Locked { expires_in_ms, .. } => Self {
                retry_after: Some(expires_in_ms.div_ceil(1000).max(1)),
                ..Self::new(
                    StatusCode::LOCKED,
                    "locked",
                    message,
                    "wait until the holder releases the lock or it lapses, or take the lock \
                     yourself (POST /v1/swarm/locks with wait_ms)",
                )
                .with_detail("expires_in_ms", expires_in_ms)
            },
            SwarmError::ReadLockCannotWrite(_) => Self::new(
                StatusCode::CONFLICT,
                "read_lock_cannot_write",
                message,
                "release the read lock and take a write or exclusive lock to write",
            ),
            SwarmError::NotOwner { .. } => Self::forbidden(message),
            SwarmError::Contended(_) => Self {
                retry_after: Some(1),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    message,
                    "retry after a second; many writers are racing on this key",
                )
            },
            SwarmError::Store(error) => error.into(),
            SwarmError::Embed(_) | SwarmError::Task(_) => {
                tracing::error!("swarm: {message}");
                Self::internal(message)
            }
        }
    }
}

impl From<AgentError> for ApiError {
    fn from(error: AgentError) -> Self {
        match error {
            AgentError::UnknownLearning(_) | AgentError::NotPromoted(_) => {
                Self::not_found(error.to_string())
            }
            AgentError::Busy(_) => {
                let mut busy = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    error.to_string(),
                    "retry after a second; promotions of one workspace run one at a time",
                );
                busy.retry_after = Some(1);
                busy
            }
            AgentError::InvalidInput(message) => Self::invalid(message),
            AgentError::Store(error) => error.into(),
            other => {
                tracing::error!("agents: {other}");
                Self::internal(other.to_string())
            }
        }
    }
}

impl From<crate::health::HealthError> for ApiError {
    fn from(error: crate::health::HealthError) -> Self {
        use crate::health::HealthError;
        match error {
            HealthError::Store(error) => error.into(),
            HealthError::Swarm(error) => error.into(),
            HealthError::Memories(error) => error.into(),
        }
    }
}

impl From<MemoriesError> for ApiError {
    fn from(error: MemoriesError) -> Self {
        match error {
            MemoriesError::UnknownMemory(_)
            | MemoriesError::UnknownSession(_)
            | MemoriesError::UnknownGroup(_) => Self::not_found(error.to_string()),
            MemoriesError::InvalidInput(message) => Self::invalid(message),
            MemoriesError::NotOwner(_) | MemoriesError::NotSessionOwner(_) => {
                Self::forbidden(error.to_string())
            }
            MemoriesError::Store(error) => error.into(),
            other => {
                tracing::error!("memories: {other}");
                Self::internal(other.to_string())
            }
        }
    }
}

impl From<SpecialistError> for ApiError {
    fn from(error: SpecialistError) -> Self {
        match error {
            SpecialistError::UnknownSpecialist(_) | SpecialistError::UnknownDeliberation(_) => {
                Self::not_found(error.to_string())
            }
            SpecialistError::SessionConflict { .. } => Self::new(
                StatusCode::CONFLICT,
                "session_conflict",
                error.to_string(),
                "use a new deliberation id for a new question",
            ),
            SpecialistError::VerdictConflict { .. } => Self::new(
                StatusCode::CONFLICT,
                "verdict_conflict",
                error.to_string(),
                "a deliberation's verdict is final; read the specialist's state to see it",
            ),
            SpecialistError::InvalidInput(message) => Self::invalid(message),
            SpecialistError::Store(error) => error.into(),
            other => {
                tracing::error!("specialists: {other}");
                Self::internal(other.to_string())
            }
        }
    }
}

impl From<ExtractError> for ApiError {
    fn from(error: ExtractError) -> Self {
        match &error {
            ExtractError::Unsupported(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unsupported_language",
                error.to_string(),
                "name one of the supported languages",
            ),
            _ if error.is_caller_fault() => Self::invalid(error.to_string()),
            _ => Self::internal(error.to_string()),
        }
    }
}

impl From<UnsupportedLanguage> for ApiError {
    fn from(error: UnsupportedLanguage) -> Self {
        ExtractError::from(error).into()
    }
}

impl From<LearnError> for ApiError {
    fn from(error: LearnError) -> Self {
        match error {
            LearnError::Extract(error) => error.into(),
            LearnError::Memory(error) => error.into(),
        }
    }
}

impl From<KnowledgeError> for ApiError {
    fn from(error: KnowledgeError) -> Self {
        match error {
            KnowledgeError::Memory(error) => error.into(),
            KnowledgeError::Invalid(_) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_seeds",
                error.to_string(),
                "fix the seed files at the lines listed; nothing was stored",
            ),
            KnowledgeError::Folder { .. } => Self::internal(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PointId;

    fn body(error: ApiError) -> (StatusCode, serde_json::Value, Option<String>) {
        let response = error.into_response();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = futures_bytes(response);
        (status, serde_json::from_slice(&bytes).expect("json"), retry)
    }

    fn futures_bytes(response: Response) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .expect("body")
            .to_vec()
    }

    #[test]
    fn coordination_errors_are_409_with_what_the_caller_needs() {
        let (status, json, _) = body(
            StoreError::Conflict {
                collection: "c".into(),
                id: PointId::from_u128(1),
                expected: Some(3),
                current: Some(5),
            }
            .into(),
        );
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(json["error"]["code"], "conflict");
        assert_eq!(json["error"]["current_version"], 5);
        let (_, gone, _) = body(
            StoreError::Conflict {
                collection: "c".into(),
                id: PointId::from_u128(1),
                expected: Some(3),
                current: None,
            }
            .into(),
        );
        assert!(gone["error"]["current_version"].is_null());
        let (status, json, retry) = body(
            StoreError::LeaseHeld {
                lease: "l".into(),
                holders: 1,
                mode: "exclusive",
                expires_in_ms: 2500,
            }
            .into(),
        );
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(json["error"]["code"], "lease_held");
        assert_eq!(json["error"]["expires_in_ms"], 2500);
        assert_eq!(retry.as_deref(), Some("3"));
        let (status, json, _) = body(StoreError::IdempotencyMismatch { key: "k".into() }.into());
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(json["error"]["code"], "idempotency_key_reused");
        let (status, json, _) = body(
            StoreError::Unconfirmed {
                collection: "c".into(),
                id: PointId::from_u128(1),
                message: "m".into(),
            }
            .into(),
        );
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(json["error"]["code"], "store_unavailable");
        // Errors without details keep the three fields only.
        let (_, plain, _) = body(ApiError::invalid("x"));
        assert_eq!(plain["error"].as_object().map(|o| o.len()), Some(3));
    }
}
