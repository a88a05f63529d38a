//! The keyword half of search: BM25 sparse vectors from text, using Qdrant's own BM25 (the
//! same tokenizer, stop words and stemmer as the Qdrant server), computed in engram so that
//! both backends index exactly the same vectors.
//!
//! Text in scripts written without spaces between words (Chinese, Japanese, Korean, Thai,
//! Lao, Khmer, Myanmar) goes to Qdrant's multilingual tokenizer, which segments words
//! (charabia; vaporetto for Japanese); the word tokenizer would keep each run between
//! punctuation as one token, so a query sharing most of a sentence would share no term with
//! it. Everything else goes to the word tokenizer with the collection's language.

use qdrant_edge::TokenizerType;
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
    /// For the runs of unspaced scripts ([`is_unspaced`]).
    multilingual: EdgeBm25,
}

/// Whether `c` belongs to a script written without spaces between words: Han, Hiragana,
/// Katakana (with the half-width forms), Hangul, Thai, Lao, Myanmar, Khmer.
pub fn is_unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF // Thai, Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1100..=0x11FF // Hangul Jamo
        | 0x1780..=0x17FF // Khmer
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3130..=0x318F // Hangul compatibility Jamo
        | 0x31F0..=0x31FF // Katakana phonetic extensions
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFF66..=0xFF9F // half-width Katakana
        | 0x20000..=0x3134F // CJK extensions B-H
    )
}

/// `text` split into what the word tokenizer reads (unspaced runs replaced by a space) and
/// the unspaced runs (one per line), or `None` when there are none.
fn split_scripts(text: &str) -> (std::borrow::Cow<'_, str>, Option<String>) {
    if !text.chars().any(is_unspaced) {
        return (std::borrow::Cow::Borrowed(text), None);
    }
    let mut spaced = String::with_capacity(text.len());
    let mut unspaced = String::new();
    let mut in_run = false;
    for c in text.chars() {
        if is_unspaced(c) {
            if !in_run && !unspaced.is_empty() {
                unspaced.push('\n');
            }
            unspaced.push(c);
            if !in_run {
                spaced.push(' ');
            }
            in_run = true;
        } else {
            spaced.push(c);
            in_run = false;
        }
    }
    (std::borrow::Cow::Owned(spaced), Some(unspaced))
}

/// The union of two sparse vectors (weights of a shared term added), sorted by term.
fn merge(a: qdrant_edge::SparseVector, b: qdrant_edge::SparseVector) -> SparseVector {
    let mut terms: std::collections::BTreeMap<u32, f32> = std::collections::BTreeMap::new();
    for (index, value) in a
        .indices
        .into_iter()
        .zip(a.values)
        .chain(b.indices.into_iter().zip(b.values))
    {
        *terms.entry(index).or_insert(0.0) += value;
    }
    SparseVector {
        indices: terms.keys().copied().collect(),
        values: terms.values().copied().collect(),
    }
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
        let multilingual = EdgeBm25::new(EdgeBm25Config {
            avg_len,
            tokenizer: TokenizerType::Multilingual,
            ..EdgeBm25Config::default()
        })
        .map_err(|error| StoreError::InvalidInput(format!("keyword settings: {error}")))?;
        Ok(Self { bm25, multilingual })
    }

    /// The document vector of `text`: BM25 term-frequency weights.
    pub fn document(&self, text: &str) -> SparseVector {
        let (spaced, unspaced) = split_scripts(text);
        let words = self.bm25.embed_document(&spaced);
        match unspaced {
            None => SparseVector {
                indices: words.indices,
                values: words.values,
            },
            Some(runs) => merge(words, self.multilingual.embed_document(&runs)),
        }
    }

    /// The query vector of `text`: one per distinct term.
    pub fn query(&self, text: &str) -> SparseVector {
        let (spaced, unspaced) = split_scripts(text);
        let words = self.bm25.embed_query(&spaced);
        match unspaced {
            None => SparseVector {
                indices: words.indices,
                values: words.values,
            },
            Some(runs) => {
                let mut merged = merge(words, self.multilingual.embed_query(&runs));
                merged.values.iter_mut().for_each(|v| *v = 1.0);
                merged
            }
        }
    }
}

/// The most a term's BM25 document weight can reach: `k₁ + 1` (Qdrant's default `k₁` = 1.2),
/// approached as the term repeats.
pub const TERM_WEIGHT_CEILING: f32 = 2.2;

/// How much of the query a document contains, in `[0, 1]`: the mean over the query's
/// distinct terms of the document's BM25 term weight divided by its ceiling
/// ([`TERM_WEIGHT_CEILING`]); a term the document lacks counts 0. It depends on the query and
/// the document alone (no IDF, so nothing else stored moves it). 0 for a query without terms.
pub fn keyword_coverage(query: &SparseVector, document: &SparseVector) -> f32 {
    if query.indices.is_empty() {
        return 0.0;
    }
    let weights: std::collections::HashMap<u32, f32> = document
        .indices
        .iter()
        .copied()
        .zip(document.values.iter().copied())
        .collect();
    let matched: f32 = query
        .indices
        .iter()
        .filter_map(|term| weights.get(term))
        .map(|w| (w / TERM_WEIGHT_CEILING).min(1.0))
        .sum();
    matched / query.indices.len() as f32
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
    fn unspaced_scripts_are_segmented_into_words() {
        let encoder = KeywordEncoder::new(&KeywordSettings::default()).expect("encoder");
        // Two problems that share no clause: the word tokenizer made each clause one term.
        let doc = encoder.document("数据库连接超时，请检查网络配置");
        let query = encoder.query("数据库连接失败");
        assert!(doc.indices.len() > 2, "segmented into words: {doc:?}");
        let shared = query
            .indices
            .iter()
            .filter(|t| doc.indices.contains(t))
            .count();
        assert!(
            shared >= 1,
            "数据库 / 连接 are shared words: {query:?} {doc:?}"
        );
        // Latin text around it is tokenized (and stemmed) as before.
        let mixed = encoder.query("KeyError 数据库");
        let latin = encoder.query("KeyError");
        assert!(latin.indices.iter().all(|t| mixed.indices.contains(t)));
        assert!(mixed.values.iter().all(|v| *v == 1.0));
    }

    #[test]
    fn coverage_is_the_share_of_query_terms_matched() {
        let encoder = KeywordEncoder::new(&KeywordSettings::default()).expect("encoder");
        let query = encoder.query("tenant slug");
        let full = keyword_coverage(
            &query,
            &encoder.document("tenant slug tenant slug tenant slug"),
        );
        let half = keyword_coverage(&query, &encoder.document("tenant"));
        assert!(full > half && half > 0.0, "{full} {half}");
        assert!(full <= 1.0);
        assert_eq!(
            keyword_coverage(&query, &encoder.document("unrelated words")),
            0.0
        );
        assert_eq!(
            keyword_coverage(&encoder.query("the"), &encoder.document("the")),
            0.0
        );
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
