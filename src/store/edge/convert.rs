//! engram's store types to and from qdrant-edge's.

use std::collections::HashMap;

use qdrant_edge::external::ordered_float::OrderedFloat;
use qdrant_edge::{
    AnyVariants, Condition as EdgeCondition, FieldCondition, Filter as EdgeFilter, HasIdCondition,
    JsonPath, Match, Payload as EdgePayload, PayloadFieldSchema, PayloadSchemaType,
    PointId as EdgeId, Range as EdgeRange, SparseVector as EdgeSparse, ValueVariants,
    VectorInternal, VectorPersisted, VectorStructInternal, VectorStructPersisted,
};

use crate::store::error::{Result, StoreError};
use crate::store::filter::{Condition, Filter};
use crate::store::keyword::SparseVector;
use crate::store::schema::{DENSE_VECTOR, FieldKind, KEYWORD_VECTOR};
use crate::store::types::{Payload, PointId};

pub(super) fn id_to_edge(id: PointId) -> EdgeId {
    EdgeId::Uuid(id.as_uuid())
}

pub(super) fn id_from_edge(id: EdgeId) -> PointId {
    match id {
        EdgeId::Uuid(uuid) => PointId::from(uuid),
        EdgeId::NumId(n) => PointId::from_u128(u128::from(n)),
    }
}

pub(super) fn field_path(field: &str) -> Result<JsonPath> {
    JsonPath::try_from(field)
        .map_err(|()| StoreError::InvalidInput(format!("{field:?} is not a valid payload key")))
}

pub(super) fn field_schema(kind: FieldKind) -> PayloadFieldSchema {
    PayloadFieldSchema::FieldType(match kind {
        FieldKind::Keyword => PayloadSchemaType::Keyword,
        FieldKind::Integer => PayloadSchemaType::Integer,
        FieldKind::Float => PayloadSchemaType::Float,
        FieldKind::Bool => PayloadSchemaType::Bool,
    })
}

pub(super) fn sparse_to_edge(sparse: &SparseVector) -> Result<EdgeSparse> {
    EdgeSparse::new(sparse.indices.clone(), sparse.values.clone())
        .map_err(|e| StoreError::Edge(format!("invalid sparse vector: {e}")))
}

/// The named vectors of a stored point: `dense` (unless it is a record without one), and
/// `bm25` when the text had terms.
pub(super) fn vectors_to_edge(
    vector: &[f32],
    sparse: &SparseVector,
) -> Result<VectorStructPersisted> {
    let mut named = HashMap::new();
    if !vector.is_empty() {
        named.insert(
            DENSE_VECTOR.to_owned(),
            VectorPersisted::Dense(vector.to_vec()),
        );
    }
    if !sparse.is_empty() {
        named.insert(
            KEYWORD_VECTOR.to_owned(),
            VectorPersisted::Sparse(sparse_to_edge(sparse)?),
        );
    }
    Ok(VectorStructPersisted::Named(named))
}

pub(super) fn payload_to_edge(payload: Payload) -> EdgePayload {
    EdgePayload(payload)
}

pub(super) fn payload_from_edge(payload: Option<EdgePayload>) -> Payload {
    payload.map(|p| p.0).unwrap_or_default()
}

/// The dense vector of a record read back with vectors.
pub(super) fn dense_from_edge(vectors: Option<VectorStructInternal>) -> Option<Vec<f32>> {
    match vectors? {
        VectorStructInternal::Single(v) => Some(v),
        VectorStructInternal::Named(mut named) => match named.remove(DENSE_VECTOR)? {
            VectorInternal::Dense(v) => Some(v),
            VectorInternal::Sparse(_) | VectorInternal::MultiDense(_) => None,
        },
        VectorStructInternal::MultiDense(_) => None,
    }
}

/// Both vectors of a record read back with them: the dense one (empty if none) and the
/// keyword one (empty if its text had no terms).
pub(super) fn stored_vectors(vectors: Option<VectorStructInternal>) -> (Vec<f32>, SparseVector) {
    let mut dense = Vec::new();
    let mut keyword = SparseVector::default();
    match vectors {
        Some(VectorStructInternal::Single(v)) => dense = v,
        Some(VectorStructInternal::Named(named)) => {
            for (name, vector) in named {
                match vector {
                    VectorInternal::Dense(v) if name == DENSE_VECTOR => dense = v,
                    VectorInternal::Sparse(v) if name == KEYWORD_VECTOR => {
                        keyword = SparseVector {
                            indices: v.indices,
                            values: v.values,
                        };
                    }
                    _ => {}
                }
            }
        }
        Some(VectorStructInternal::MultiDense(_)) | None => {}
    }
    (dense, keyword)
}

pub(super) fn filter_to_edge(filter: &Filter) -> Result<EdgeFilter> {
    crate::store::validate::filter(filter)?;
    convert_filter(filter)
}

fn convert_filter(filter: &Filter) -> Result<EdgeFilter> {
    let convert = |conditions: &[Condition]| -> Result<Option<Vec<EdgeCondition>>> {
        if conditions.is_empty() {
            return Ok(None);
        }
        conditions
            .iter()
            .map(condition_to_edge)
            .collect::<Result<_>>()
            .map(Some)
    };
    Ok(EdgeFilter {
        must: convert(&filter.must)?,
        should: convert(&filter.should)?,
        must_not: convert(&filter.must_not)?,
        min_should: None,
    })
}

fn condition_to_edge(condition: &Condition) -> Result<EdgeCondition> {
    let field_match = |field: &str, value: ValueVariants| -> Result<EdgeCondition> {
        Ok(EdgeCondition::Field(FieldCondition::new_match(
            field_path(field)?,
            Match::new_value(value),
        )))
    };
    match condition {
        Condition::Keyword { field, value } => {
            field_match(field, ValueVariants::String(value.clone()))
        }
        Condition::Integer { field, value } => field_match(field, ValueVariants::Integer(*value)),
        Condition::Bool { field, value } => field_match(field, ValueVariants::Bool(*value)),
        Condition::KeywordAny { field, values } => {
            Ok(EdgeCondition::Field(FieldCondition::new_match(
                field_path(field)?,
                Match::Any(qdrant_edge::MatchAny {
                    any: AnyVariants::Strings(values.iter().cloned().collect()),
                }),
            )))
        }
        Condition::Range { field, range } => {
            if !range.is_finite() {
                return Err(StoreError::InvalidInput(format!(
                    "range on {field:?} has a bound that is not a finite number"
                )));
            }
            Ok(EdgeCondition::Field(FieldCondition::new_range(
                field_path(field)?,
                EdgeRange {
                    lt: range.lt.map(OrderedFloat),
                    gt: range.gt.map(OrderedFloat),
                    gte: range.gte.map(OrderedFloat),
                    lte: range.lte.map(OrderedFloat),
                },
            )))
        }
        Condition::IsEmpty { field } => Ok(EdgeCondition::Field(FieldCondition::new_is_empty(
            field_path(field)?,
            true,
        ))),
        Condition::HasId(ids) => Ok(EdgeCondition::HasId(HasIdCondition::from_iter(
            ids.iter().copied().map(id_to_edge),
        ))),
        Condition::Filter(inner) => Ok(EdgeCondition::Filter(convert_filter(inner)?)),
    }
}
