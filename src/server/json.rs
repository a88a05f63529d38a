//! Request extractors whose rejections are the API's JSON errors: malformed JSON is 400, a
//! body of the wrong shape (missing or unknown fields, wrong types) 422, a body over the
//! limit 413, a missing JSON content type 415, and a number the store cannot keep exactly
//! 422 ([`crate::json_number`]).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let bytes =
            match axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
                .await
            {
                Ok(bytes) => bytes,
                Err(rejection) => return Err(body_rejection(&rejection)),
            };
        let request = Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
        let value = match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(json_rejection(&rejection)),
        };
        // serde reads a struct from an array too (`[null, null]` as a struct of optional
        // fields): every request body is an object.
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(ApiError::invalid(
                "the body must be a JSON object".to_owned(),
            ));
        }
        // Valid JSON is UTF-8.
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Err(inexact) = crate::json_number::check_exact(text)
        {
            return Err(ApiError::invalid(inexact.to_string()));
        }
        Ok(Self(value))
    }
}

/// The body of an action that takes none, read to its end and dropped. A handler that
/// answered without reading it would leave the connection unusable: hyper drains only the
/// part of an unread body that has already arrived and otherwise closes the connection after
/// the answer, so a keep-alive client that sent `{}` (and whose body came a moment after its
/// headers) would find its next request on that connection cut off.
#[derive(Debug, Clone, Copy, Default)]
pub struct IgnoredBody;

impl<S: Send + Sync> FromRequest<S> for IgnoredBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| body_rejection(&rejection))?;
        Ok(Self)
    }
}

fn body_rejection(rejection: &axum::extract::rejection::BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            rejection.body_text(),
            "send less; the limit is server.body_limit_bytes",
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            rejection.body_text(),
            "the body could not be read",
        )
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    let message = rejection.body_text();
    match rejection {
        JsonRejection::JsonDataError(_) => ApiError::invalid(message),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            message,
            "send one JSON object, UTF-8 encoded",
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
            "send the body with Content-Type: application/json",
        ),
        _ if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            message,
            "send less; the limit is server.body_limit_bytes",
        ),
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            message,
            "the body could not be read",
        ),
    }
}

/// Query-string parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    ApiError::invalid(rejection.body_text())
}

/// The largest integer a JSON number carries exactly in every client (2^53 − 1).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A non-negative integer field as JSON Schema counts integers: `5`, and also `5.0` or
/// `5e0` (JSON Schema's `integer` is a mathematical integer, whatever its spelling), at most
/// [`MAX_SAFE_INTEGER`]. Strings are not numbers.
pub fn integer<'de, D>(deserializer: D) -> Result<u64, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize as _;
    let number = serde_json::Number::deserialize(deserializer)?;
    whole(&number).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "{number} is not a whole number from 0 to {MAX_SAFE_INTEGER}"
        ))
    })
}

fn whole(number: &serde_json::Number) -> Option<u64> {
    if let Some(n) = number.as_u64() {
        return (n <= MAX_SAFE_INTEGER).then_some(n);
    }
    let x = number.as_f64()?;
    (x.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER as f64).contains(&x)).then_some(x as u64)
}

/// [`integer`] for a field that is sometimes absent (its default applies then).
pub fn usize_integer<'de, D>(deserializer: D) -> Result<usize, D::Error>
where
    D: serde::Deserializer<'de>,
{
    integer(deserializer).and_then(|n| usize::try_from(n).map_err(serde::de::Error::custom))
}

/// A nested struct that must be a JSON object (serde would read one from an array too).
pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: DeserializeOwned,
{
    use serde::Deserialize as _;
    let map = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
    serde_json::from_value(serde_json::Value::Object(map)).map_err(serde::de::Error::custom)
}

/// An optional signed integer as JSON Schema reads one (`-5`, `-5.0`), within i64.
pub fn optional_i64<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize as _;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        Some(x) if x.fract() == 0.0 && x >= i64::MIN as f64 && x < i64::MAX as f64 => {
            Ok(Some(x as i64))
        }
        _ => Err(serde::de::Error::custom(format!(
            "{number} is not a whole number within -2^63..2^63"
        ))),
    }
}

/// A non-negative integer in a query string, as JSON Schema reads one (`10`, `10.0`).
pub fn query_integer<'de, D>(deserializer: D) -> Result<usize, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize as _;
    let text = String::deserialize(deserializer)?;
    let number: serde_json::Number = text
        .trim()
        .parse()
        .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a number")))?;
    whole(&number)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| serde::de::Error::custom(format!("{text:?} is not a whole number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Limit {
        #[serde(deserialize_with = "integer")]
        n: u64,
    }

    #[test]
    fn integers_are_mathematical_integers() {
        for (json, expected) in [
            ("5", Some(5)),
            ("5.0", Some(5)),
            ("5e0", Some(5)),
            ("1e2", Some(100)),
            ("5.5", None),
            ("-1", None),
            ("\"5\"", None),
            ("9007199254740991", Some(9_007_199_254_740_991)),
            ("9007199254740992", None),
            ("1e300", None),
        ] {
            let parsed = serde_json::from_str::<Limit>(&format!("{{\"n\": {json}}}")).ok();
            assert_eq!(parsed.map(|l| l.n), expected, "{json}");
        }
    }
}
