//! The `Idempotency-Key` request header (IETF draft "The Idempotency-Key HTTP Header
//! Field"): a client that retries a write sends the same key, and the write happens once.
//! Every write route takes it; see [`crate::store::coord::idempotency`] for what a key does.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::store::coord::idempotency::check_key;

/// The header's name.
pub const HEADER: &str = "idempotency-key";

/// The request's idempotency key, if it sent one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl IdempotencyKey {
    /// The key, if any.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(Self(None));
        };
        let invalid = |message: String| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                message,
                "send one Idempotency-Key of 1 to 255 printable ASCII characters",
            )
        };
        if values.next().is_some() {
            return Err(invalid("more than one Idempotency-Key header".into()));
        }
        let text = value
            .to_str()
            .map_err(|_| invalid("the Idempotency-Key is not printable ASCII".into()))?;
        // Structured-field strings may be quoted ("abc"); the key is what is inside.
        let key = text
            .trim()
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(text.trim());
        check_key(key).map_err(|e| invalid(e.to_string()))?;
        Ok(Self(Some(key.to_owned())))
    }
}

impl utoipa::IntoParams for IdempotencyKey {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, Required, Type};
        vec![
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Makes a retried write happen once: a repeat with the same key (and the \
                     same request) gets the first answer and changes nothing. Remembered 24 \
                     hours. A repeat while the first is still running waits up to 10 s, then \
                     409 idempotency_in_progress; the same key with another request is 409 \
                     idempotency_key_reused.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(crate::store::coord::idempotency::MAX_KEY_BYTES))
                        .pattern(Some("^[!-~]+$")),
                ))
                .build(),
        ]
    }
}
