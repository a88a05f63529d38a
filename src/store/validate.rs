//! Checks every backend applies before touching data, so bad input gets the same clear
//! error whichever backend runs.

use super::error::{Result, StoreError};
use super::filter::Filter;
use super::keyword::SparseVector;
use super::schema::validate_field;
use super::types::{MAX_LIMIT, PointId, Query, SearchRequest};

/// A keyword vector given as it was stored (imports): as many weights as term ids, each id
/// once, every weight finite.
pub(crate) fn sparse(sparse: &SparseVector, id: &PointId) -> Result<()> {
    if sparse.indices.len() != sparse.values.len() {
        return Err(StoreError::InvalidInput(format!(
            "point {id} has a keyword vector with {} term ids and {} weights",
            sparse.indices.len(),
            sparse.values.len()
        )));
    }
    if sparse.values.iter().any(|x| !x.is_finite()) {
        return Err(StoreError::InvalidInput(format!(
            "point {id} has a keyword vector with a non-finite weight"
        )));
    }
    let unique: std::collections::HashSet<u32> = sparse.indices.iter().copied().collect();
    if unique.len() != sparse.indices.len() {
        return Err(StoreError::InvalidInput(format!(
            "point {id} has a keyword vector naming a term twice"
        )));
    }
    Ok(())
}

/// A stored vector: the collection's dimension and finite values (none at all in a
/// collection of records).
pub(crate) fn vector(vector: &[f32], dimension: usize, id: &PointId) -> Result<()> {
    if dimension == 0 && !vector.is_empty() {
        return Err(StoreError::InvalidInput(format!(
            "point {id} has a vector, but the collection holds records without vectors"
        )));
    }
    if vector.len() != dimension {
        return Err(StoreError::InvalidInput(format!(
            "point {id} has a {}-dimensional vector; the collection holds {dimension}-dimensional ones",
            vector.len()
        )));
    }
    if let Some(bad) = vector.iter().position(|x| !x.is_finite()) {
        return Err(StoreError::InvalidInput(format!(
            "point {id} has a non-finite vector component at index {bad}"
        )));
    }
    Ok(())
}

/// A payload both backends keep exactly: no integer above `i64::MAX` (serde_json holds one as
/// a `u64`; the embedded store would keep it while a Qdrant server turns it into a double),
/// so the two backends accept the same numbers ([`crate::json_number`]).
pub(crate) fn payload(payload: &super::types::Payload, id: Option<&PointId>) -> Result<()> {
    fn find(value: &serde_json::Value) -> Option<u64> {
        match value {
            serde_json::Value::Number(n) => n.as_u64().filter(|n| i64::try_from(*n).is_err()),
            serde_json::Value::Array(items) => items.iter().find_map(find),
            serde_json::Value::Object(map) => map.values().find_map(find),
            _ => None,
        }
    }
    match payload.values().find_map(find) {
        Some(n) => Err(StoreError::InvalidInput(format!(
            "{}the number {n} cannot be stored exactly: integers must lie within \
             -9223372036854775808..=9223372036854775807",
            id.map(|id| format!("point {id}: ")).unwrap_or_default()
        ))),
        None => Ok(()),
    }
}

/// A filter: every field an identifier, every range bound finite.
pub(crate) fn filter(filter: &Filter) -> Result<()> {
    for field in filter.fields() {
        validate_field(field)?;
    }
    Ok(())
}

/// A page or result size.
pub(crate) fn limit(limit: usize) -> Result<()> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(StoreError::InvalidInput(format!(
            "limit {limit} is out of range 1..={MAX_LIMIT}"
        )));
    }
    Ok(())
}

/// A whole search request.
pub(crate) fn search(request: &SearchRequest, dimension: usize) -> Result<()> {
    limit(request.limit)?;
    if let Some(threshold) = request.score_threshold
        && !threshold.is_finite()
    {
        return Err(StoreError::InvalidInput(
            "score threshold must be a finite number".into(),
        ));
    }
    let query_vector = match &request.query {
        Query::Dense(v) | Query::Hybrid { vector: v, .. } => Some(v),
        Query::Keyword(_) => None,
    };
    if let Some(v) = query_vector {
        if dimension == 0 {
            return Err(StoreError::InvalidInput(
                "this collection holds records without vectors: search it by keyword".into(),
            ));
        }
        if v.len() != dimension {
            return Err(StoreError::InvalidInput(format!(
                "query vector has {} dimensions; the collection holds {dimension}-dimensional ones",
                v.len()
            )));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(StoreError::InvalidInput(
                "query vector has a non-finite component".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_dimensions_non_finite_values_and_bad_limits() {
        let id = PointId::from_u128(1);
        assert!(vector(&[0.5, 0.5], 2, &id).is_ok());
        assert!(vector(&[0.5], 2, &id).is_err());
        assert!(vector(&[f32::NAN, 0.5], 2, &id).is_err());
        assert!(vector(&[f32::INFINITY, 0.5], 2, &id).is_err());
        assert!(limit(0).is_err());
        assert!(limit(MAX_LIMIT + 1).is_err());
        let mut request = SearchRequest::new(Query::Dense(vec![1.0, 0.0]), 10);
        assert!(search(&request, 2).is_ok());
        request.score_threshold = Some(f32::NAN);
        assert!(search(&request, 2).is_err());
        assert!(search(&SearchRequest::new(Query::Keyword("x".into()), 5), 2).is_ok());
    }
}
