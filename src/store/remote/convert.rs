//! engram's store types to and from qdrant-client's.

use qdrant_client::qdrant::{
    self, Condition as QCondition, Filter as QFilter, PointId as QPointId, r#match::MatchValue,
    point_id::PointIdOptions,
};

use crate::store::error::{Result, StoreError};
use crate::store::filter::{Condition, Filter};
use crate::store::types::{Payload, PointId};

pub(super) fn id_to_remote(id: PointId) -> QPointId {
    QPointId::from(id.as_uuid().to_string())
}

pub(super) fn id_from_remote(id: Option<QPointId>) -> Result<PointId> {
    match id.and_then(|id| id.point_id_options) {
        Some(PointIdOptions::Uuid(text)) => text.parse().map_err(|e| StoreError::Remote {
            message: format!("server returned an invalid UUID {text:?}: {e}"),
            caller_fault: false,
        }),
        Some(PointIdOptions::Num(n)) => Ok(PointId::from_u128(u128::from(n))),
        None => Err(StoreError::Remote {
            message: "server returned a point without id".into(),
            caller_fault: false,
        }),
    }
}

pub(super) fn payload_from_remote(
    payload: std::collections::HashMap<String, qdrant::Value>,
) -> Payload {
    qdrant_client::Payload::from(payload).into()
}

pub(super) fn payload_to_remote(payload: Payload) -> qdrant_client::Payload {
    qdrant_client::Payload::from(payload)
}

pub(super) fn filter_to_remote(filter: &Filter) -> Result<QFilter> {
    crate::store::validate::filter(filter)?;
    convert_filter(filter)
}

fn convert_filter(filter: &Filter) -> Result<QFilter> {
    let convert = |conditions: &[Condition]| -> Result<Vec<QCondition>> {
        conditions.iter().map(condition_to_remote).collect()
    };
    Ok(QFilter {
        must: convert(&filter.must)?,
        should: convert(&filter.should)?,
        must_not: convert(&filter.must_not)?,
        min_should: None,
    })
}

fn condition_to_remote(condition: &Condition) -> Result<QCondition> {
    Ok(match condition {
        // Built explicitly: qdrant-client turns a String with whitespace into a full-text match.
        Condition::Keyword { field, value } => {
            QCondition::matches(field.clone(), MatchValue::Keyword(value.clone()))
        }
        Condition::KeywordAny { field, values } => QCondition::matches(
            field.clone(),
            MatchValue::Keywords(qdrant::RepeatedStrings {
                strings: values.clone(),
            }),
        ),
        Condition::Integer { field, value } => {
            QCondition::matches(field.clone(), MatchValue::Integer(*value))
        }
        Condition::Bool { field, value } => {
            QCondition::matches(field.clone(), MatchValue::Boolean(*value))
        }
        Condition::Range { field, range } => {
            if !range.is_finite() {
                return Err(StoreError::InvalidInput(format!(
                    "range on {field:?} has a bound that is not a finite number"
                )));
            }
            QCondition::range(
                field.clone(),
                qdrant::Range {
                    lt: range.lt,
                    gt: range.gt,
                    gte: range.gte,
                    lte: range.lte,
                },
            )
        }
        Condition::IsEmpty { field } => QCondition::is_empty(field.clone()),
        Condition::HasId(ids) => QCondition::has_id(ids.iter().copied().map(id_to_remote)),
        Condition::Filter(inner) => QCondition::from(convert_filter(inner)?),
    })
}
