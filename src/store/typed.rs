//! Typed records: a serde type to a payload and back, with the store's errors, so that the
//! rooms above the store (agents, specialists, memories, swarm) keep their records as Rust
//! types without each writing this conversion again.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{Result, StoreError};
use super::types::{Payload, PointId};

/// The payload of `value`, which must serialise to a JSON object
/// ([`StoreError::InvalidInput`] otherwise).
pub fn to_payload<T: Serialize>(value: &T) -> Result<Payload> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(StoreError::InvalidInput(format!(
            "a record must serialise to a JSON object, not {}",
            kind(&other)
        ))),
        Err(error) => Err(StoreError::InvalidInput(format!(
            "the record does not serialise: {error}"
        ))),
    }
}

/// The record that point `id` of `collection` holds; a payload that does not parse is
/// [`StoreError::Corrupt`] naming the collection and the point.
pub fn from_payload<T: DeserializeOwned>(
    collection: &str,
    id: PointId,
    payload: Payload,
) -> Result<T> {
    serde_json::from_value(Value::Object(payload)).map_err(|error| StoreError::Corrupt {
        path: format!("{collection}/{id}").into(),
        message: error.to_string(),
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Note {
        text: String,
        weight: u32,
    }

    #[test]
    fn a_record_goes_to_a_payload_and_back() {
        let note = Note {
            text: "hello".into(),
            weight: 3,
        };
        let payload = to_payload(&note).expect("payload");
        assert_eq!(payload["weight"], 3);
        let back: Note = from_payload("notes", PointId::from_u128(1), payload).expect("back");
        assert_eq!(back, note);
    }

    #[test]
    fn a_non_object_or_a_bad_payload_is_a_clear_error() {
        let error = to_payload(&[1, 2]).expect_err("an array is no record");
        assert!(error.to_string().contains("an array"), "{error}");
        let mut payload = Payload::new();
        payload.insert("text".into(), Value::from(7));
        let error = from_payload::<Note>("notes", PointId::from_u128(1), payload)
            .expect_err("a number is no text");
        assert!(matches!(error, StoreError::Corrupt { .. }));
        assert!(error.to_string().contains("notes/"), "{error}");
    }
}
