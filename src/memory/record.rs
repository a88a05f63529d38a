//! What each collection stores, as typed records; a record is a point's payload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::language::Language;

/// Free-form numeric measurements that came with an entry (`success_rate`, `tests_passed`,
/// `latency_ms`, …). `success_rate`, if present, is the outcome of this use, in `[0, 1]`.
pub type Metrics = BTreeMap<String, f64>;

/// How often an entry was stored and how well it worked: the evidence recall ranks by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Track {
    /// Times this exact entry was stored.
    pub seen_count: u64,
    /// Sum of the outcomes of those times (1 success, 0 failure, or a success rate).
    pub success_count: f64,
    /// `success_count / seen_count`.
    pub success_rate: f64,
    /// Unix seconds of the first store.
    pub created_at: i64,
    /// Unix seconds of the latest store.
    pub updated_at: i64,
}

impl Track {
    /// The evidence after a first use with `outcome` in `[0, 1]`.
    pub fn first(outcome: f64, now: i64) -> Self {
        Self {
            seen_count: 1,
            success_count: outcome,
            success_rate: outcome,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Records that carry a [`Track`].
pub trait Tracked {
    /// The entry's evidence.
    fn track(&self) -> &Track;
    /// Its tags.
    fn tags(&self) -> &[String];
    /// Its context.
    fn context(&self) -> &str;
}

/// A reusable code structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CodePattern {
    /// Short name: "JWT authentication middleware".
    pub name: String,
    /// The code.
    pub code: String,
    /// Its language.
    pub language: Language,
    /// Where and why it applies.
    pub context: String,
    /// What kind of structure: function, class, error_handling, snippet, …
    pub pattern_type: String,
    /// Labels for filtering.
    pub tags: Vec<String>,
    /// Who stored it: api, cli, seed, extractor, …
    pub source: String,
    /// Measurements from the latest use.
    #[schema(value_type = std::collections::BTreeMap<String, f64>)]
    pub metrics: Metrics,
    /// The structural fingerprint it was stored under, if it was extracted from code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Uses and outcomes.
    #[serde(flatten)]
    pub track: Track,
}

/// A complete solution to a problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Solution {
    /// The problem it solves.
    pub problem: String,
    /// The solution (code or prose).
    pub solution: String,
    /// Its language.
    pub language: Language,
    /// Constraints, environment, what was tried.
    pub context: String,
    /// Labels for filtering.
    pub tags: Vec<String>,
    /// Who stored it.
    pub source: String,
    /// Measurements from the latest use.
    #[schema(value_type = std::collections::BTreeMap<String, f64>)]
    pub metrics: Metrics,
    /// Uses and outcomes.
    #[serde(flatten)]
    pub track: Track,
}

/// How an error was resolved, and whether that worked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorResolution {
    /// The error message as it was first stored.
    pub error_message: String,
    /// Its normalised form (what is embedded, indexed and deduplicated on).
    pub normalized: String,
    /// What was going on when it happened.
    pub context: String,
    /// What resolved it (or was tried).
    pub resolution: String,
    /// The language, when known.
    pub language: Language,
    /// Labels for filtering.
    pub tags: Vec<String>,
    /// Who stored it.
    pub source: String,
    /// Uses and outcomes: each store with `success` true counts 1, false 0.
    #[serde(flatten)]
    pub track: Track,
}

impl Tracked for CodePattern {
    fn track(&self) -> &Track {
        &self.track
    }

    fn tags(&self) -> &[String] {
        &self.tags
    }

    fn context(&self) -> &str {
        &self.context
    }
}

impl Tracked for Solution {
    fn track(&self) -> &Track {
        &self.track
    }

    fn tags(&self) -> &[String] {
        &self.tags
    }

    fn context(&self) -> &str {
        &self.context
    }
}

impl Tracked for ErrorResolution {
    fn track(&self) -> &Track {
        &self.track
    }

    fn tags(&self) -> &[String] {
        &self.tags
    }

    fn context(&self) -> &str {
        &self.context
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_flatten_the_track_into_the_payload() {
        let record = ErrorResolution {
            error_message: "E".into(),
            normalized: "E".into(),
            context: String::new(),
            resolution: "R".into(),
            language: Language::Python,
            tags: vec![],
            source: "api".into(),
            track: Track::first(1.0, 5),
        };
        let json = serde_json::to_value(&record).expect("json");
        assert_eq!(json["seen_count"], 1);
        assert_eq!(json["language"], "python");
        let back: ErrorResolution = serde_json::from_value(json).expect("back");
        assert_eq!(back, record);
    }
}
