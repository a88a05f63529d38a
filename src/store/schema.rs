//! What a collection is: its name, vector dimension, indexed payload fields and keyword
//! settings. Created on first use; an existing collection must match.

use serde::{Deserialize, Serialize};

use super::error::{Result, StoreError};
use super::fusion::Fusion;

/// The name of every collection's dense vector.
pub const DENSE_VECTOR: &str = "dense";
/// The name of every collection's sparse BM25 vector.
pub const KEYWORD_VECTOR: &str = "bm25";

/// The type of an indexed payload field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Exact-match strings (or arrays of them): kind, language, tags, source, agent.
    Keyword,
    /// Integers: counts, timestamps.
    Integer,
    /// Floats: rates, scores.
    Float,
    /// Booleans.
    Bool,
}

/// An indexed payload field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldIndex {
    /// The payload key.
    pub field: String,
    /// Its type.
    pub kind: FieldKind,
}

/// How the keyword half tokenizes and weighs text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeywordSettings {
    /// Language for stop words and stemming (Qdrant's names: `english`, `german`, …).
    pub language: String,
    /// The document length (in tokens) BM25 normalises against: about the collection's
    /// typical text length.
    pub avg_len: f64,
}

impl Default for KeywordSettings {
    fn default() -> Self {
        Self {
            language: "english".to_owned(),
            avg_len: 64.0,
        }
    }
}

/// A collection's schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionSpec {
    /// The name: lower-case letters, digits, `_` and `-`, at most 64 characters.
    pub name: String,
    /// Length of the dense vectors (the embedder's dimension); 0 for a collection of records
    /// without dense vectors (filtered and keyword-searched only, such as episode events).
    pub dimension: usize,
    /// Payload fields that get an index, so filters on them are fast.
    pub indexes: Vec<FieldIndex>,
    /// Keyword search settings.
    #[serde(default)]
    pub keyword: KeywordSettings,
    /// How hybrid search balances the halves; a search-time setting that may change
    /// between opens.
    #[serde(default)]
    pub fusion: Fusion,
}

impl CollectionSpec {
    /// A collection of `dimension`-long vectors with no indexed fields.
    pub fn new(name: impl Into<String>, dimension: usize) -> Self {
        Self {
            name: name.into(),
            dimension,
            indexes: Vec::new(),
            keyword: KeywordSettings::default(),
            fusion: Fusion::default(),
        }
    }

    /// A collection of records without dense vectors: stored, filtered, scrolled and
    /// keyword-searched, never searched by vector.
    pub fn records(name: impl Into<String>) -> Self {
        Self::new(name, 0)
    }

    /// Whether points carry dense vectors.
    pub fn has_vectors(&self) -> bool {
        self.dimension > 0
    }

    /// The names of the vectors its points may have: the keyword vector, and the dense one
    /// unless it holds records without (what an export reads).
    pub fn vector_names(&self) -> Vec<String> {
        let mut names = vec![KEYWORD_VECTOR.to_owned()];
        if self.has_vectors() {
            names.push(DENSE_VECTOR.to_owned());
        }
        names
    }

    /// Adds an indexed payload field.
    pub fn with_index(mut self, field: impl Into<String>, kind: FieldKind) -> Self {
        self.indexes.push(FieldIndex {
            field: field.into(),
            kind,
        });
        self
    }

    /// Sets the keyword settings.
    pub fn with_keyword(mut self, keyword: KeywordSettings) -> Self {
        self.keyword = keyword;
        self
    }

    /// Sets how hybrid search balances the halves.
    pub fn with_fusion(mut self, fusion: Fusion) -> Self {
        self.fusion = fusion;
        self
    }

    /// Checks the name, dimension and settings.
    pub fn validate(&self) -> Result<()> {
        validate_name(&self.name)?;
        if self.dimension > 65_536 {
            return Err(StoreError::InvalidInput(format!(
                "dimension {} is out of range 0..=65536",
                self.dimension
            )));
        }
        for index in &self.indexes {
            validate_field(&index.field)?;
        }
        if !(0.0..=1.0).contains(&self.fusion.keyword_lift) {
            return Err(StoreError::InvalidInput(format!(
                "fusion keyword_lift {} is outside [0, 1]",
                self.fusion.keyword_lift
            )));
        }
        if !(self.keyword.avg_len.is_finite() && self.keyword.avg_len > 0.0) {
            return Err(StoreError::InvalidInput(format!(
                "keyword avg_len {} must be a positive number",
                self.keyword.avg_len
            )));
        }
        Ok(())
    }

    /// Checks that a stored collection (`found`) can serve this spec: same dimension and
    /// keyword settings. Indexes may differ: missing ones are added.
    pub fn check_compatible(&self, found: &CollectionSpec) -> Result<()> {
        if self.dimension != found.dimension {
            return Err(StoreError::SchemaMismatch {
                collection: self.name.clone(),
                expected: describe_vectors(self.dimension),
                found: describe_vectors(found.dimension),
            });
        }
        if self.keyword != found.keyword {
            return Err(StoreError::SchemaMismatch {
                collection: self.name.clone(),
                expected: format!("keyword settings {:?}", self.keyword),
                found: format!("keyword settings {:?}", found.keyword),
            });
        }
        for wanted in &self.indexes {
            if let Some(existing) = found.indexes.iter().find(|i| i.field == wanted.field)
                && existing.kind != wanted.kind
            {
                return Err(StoreError::SchemaMismatch {
                    collection: self.name.clone(),
                    expected: format!("field {} indexed as {:?}", wanted.field, wanted.kind),
                    found: format!("field {} indexed as {:?}", existing.field, existing.kind),
                });
            }
        }
        Ok(())
    }
}

fn describe_vectors(dimension: usize) -> String {
    if dimension == 0 {
        "no dense vectors".to_owned()
    } else {
        format!("{dimension}-dimensional vectors")
    }
}

/// Checks a payload field name that filters or indexes use: an identifier (ASCII letters,
/// digits and `_`, not starting with a digit), so that it means the same top-level key to
/// every backend (Qdrant would read dots as nesting and needs quotes around other characters).
pub fn validate_field(name: &str) -> Result<()> {
    let ok = name.len() <= 128
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidInput(format!(
            "payload field {name:?} cannot be filtered or indexed: use letters, digits and '_'"
        )))
    }
}

/// Checks a collection or namespace name.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidInput(format!(
            "name {name:?} must be 1 to 64 lower-case letters, digits, '_' or '-'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name("code_patterns").is_ok());
        assert!(validate_name("locomo-conv-26").is_ok());
        for bad in ["", "Upper", "has space", "../x", "-x", &"a".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn field_names() {
        for good in ["kind", "success_rate", "_x", "a1"] {
            assert!(validate_field(good).is_ok(), "{good:?}");
        }
        for bad in ["", "1a", "a.b", "has space", "é", "a-b"] {
            assert!(validate_field(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dimension_mismatch_is_a_schema_error() {
        let spec = CollectionSpec::new("c", 384);
        let found = CollectionSpec::new("c", 768);
        let error = spec.check_compatible(&found).expect_err("mismatch");
        assert!(error.to_string().contains("768-dimensional"), "{error}");
        assert!(error.is_caller_fault());
    }

    #[test]
    fn differing_index_kinds_are_a_schema_error_and_new_indexes_are_fine() {
        let spec = CollectionSpec::new("c", 4).with_index("n", FieldKind::Integer);
        let found = CollectionSpec::new("c", 4).with_index("n", FieldKind::Keyword);
        assert!(spec.check_compatible(&found).is_err());
        let bare = CollectionSpec::new("c", 4);
        assert!(spec.check_compatible(&bare).is_ok());
    }
}
