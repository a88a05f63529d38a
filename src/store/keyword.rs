//! The keyword half of search: BM25 sparse vectors from text, using Qdrant's own BM25 (the
//! same tokenizer, stop words and stemmer as the Qdrant server), computed in engram so that
//! both backends index exactly the same vectors.

use qdrant_edge::bm25_embed::{EdgeBm25, EdgeBm25Config};
use qdrant_edge::external::ordered_float::NotNan;
use serde::{Deserialize, Serialize};

use super::error::{Result, StoreError};
use super::schema::KeywordSettings;

/// A sparse vector: term ids and their weights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseVector {
    /// Term ids (hashes of the stemmed tokens), unique.
    pub indices: Vec<u32>,
    /// Weight of each term.
    pub values: Vec<f32>,
}

impl SparseVector {
    /// Whether the text had no indexable term (empty, or only stop words).
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// Turns text into BM25 document and query vectors. The collection applies IDF at search time.
#[derive(Debug)]
pub struct KeywordEncoder {
    bm25: EdgeBm25,
}

/// Languages Qdrant's tokenizer knows stop words and stemmers for.
pub const LANGUAGES: &[&str] = &[
    "arabic",
    "danish",
    "dutch",
    "english",
    "finnish",
    "french",
    "german",
    "greek",
    "hungarian",
    "italian",
    "norwegian",
    "portuguese",
    "romanian",
    "russian",
    "spanish",
    "swedish",
    "tamil",
    "turkish",
];

impl KeywordEncoder {
    /// An encoder with `settings`; an unknown language is an error listing the known ones.
    pub fn new(settings: &KeywordSettings) -> Result<Self> {
        let avg_len = NotNan::new(settings.avg_len)
            .map_err(|_| StoreError::InvalidInput("keyword avg_len is NaN".into()))?;
        let bm25 = EdgeBm25::new(EdgeBm25Config {
            avg_len,
            language: Some(settings.language.clone()),
            ..EdgeBm25Config::default()
        })
        .map_err(|error| {
            StoreError::InvalidInput(format!(
                "keyword settings: {error} (known languages: {})",
                LANGUAGES.join(", ")
            ))
        })?;
        Ok(Self { bm25 })
    }

    /// The document vector of `text`: BM25 term-frequency weights.
    pub fn document(&self, text: &str) -> SparseVector {
        let v = self.bm25.embed_document(text);
        SparseVector {
            indices: v.indices,
            values: v.values,
        }
    }

    /// The query vector of `text`: one per distinct term.
    pub fn query(&self, text: &str) -> SparseVector {
        let v = self.bm25.embed_query(text);
        SparseVector {
            indices: v.indices,
            values: v.values,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_and_drops_stop_words() {
        let encoder = KeywordEncoder::new(&KeywordSettings::default()).expect("encoder");
        let a = encoder.query("connecting to the databases");
        let b = encoder.query("connect database");
        assert_eq!(a.indices.len(), 2, "{a:?}");
        let mut ai = a.indices.clone();
        let mut bi = b.indices.clone();
        ai.sort_unstable();
        bi.sort_unstable();
        assert_eq!(ai, bi, "stemmed terms match");
        assert!(encoder.query("the of and").is_empty());
        assert!(encoder.document("").is_empty());
    }

    #[test]
    fn unknown_language_lists_the_known_ones() {
        let error = KeywordEncoder::new(&KeywordSettings {
            language: "klingon".into(),
            ..KeywordSettings::default()
        })
        .expect_err("unknown");
        let text = error.to_string();
        assert!(
            text.contains("klingon") && text.contains("english"),
            "{text}"
        );
    }
}
