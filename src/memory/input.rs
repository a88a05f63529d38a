//! What callers hand to the store functions, with the limits every field must respect.
//!
//! Limits (characters): names and titles 1,024; code, solutions and resolutions 262,144;
//! error messages, problems, contexts and queries 65,536; at most 32 tags of 64; at most 64
//! metrics, each a finite number, `success_rate` within `[0, 1]`. What counts as empty
//! (whitespace and invisible characters) is [`crate::text`]'s rule.

use super::error::{MemoryError, Result};
use super::language::Language;
use super::record::Metrics;

pub use crate::text::{MAX_CONTENT_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS};
/// Most tags on one entry.
pub const MAX_TAGS: usize = 32;
/// Most metrics on one entry.
pub const MAX_METRICS: usize = 64;
/// Most results one recall returns.
pub const MAX_RECALL: usize = 100;

/// A code pattern to store.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternInput {
    /// Short name.
    pub name: String,
    /// The code.
    pub code: String,
    /// Its language.
    pub language: Language,
    /// Where and why it applies. Default: empty.
    pub context: String,
    /// function, class, error_handling, snippet, … Default: `snippet`.
    pub pattern_type: String,
    /// Labels. Default: none.
    pub tags: Vec<String>,
    /// Who stores it. Default: `api`.
    pub source: String,
    /// Measurements of this use; `success_rate` (default 1.0) is its outcome.
    pub metrics: Metrics,
    /// The structural fingerprint (see [`crate::extract`]). When given, the entry's id
    /// derives from it instead of from the code, so the same structure written with other
    /// names is one entry. Default: none.
    pub fingerprint: Option<String>,
    /// Makes a retried store count once: stores of the same entry with the same key are
    /// one sighting. Default: none (every store counts).
    pub idempotency_key: Option<String>,
}

impl PatternInput {
    /// A pattern with every optional field at its default.
    pub fn new(name: impl Into<String>, code: impl Into<String>, language: Language) -> Self {
        Self {
            name: name.into(),
            code: code.into(),
            language,
            context: String::new(),
            pattern_type: "snippet".to_owned(),
            tags: Vec::new(),
            source: "api".to_owned(),
            metrics: Metrics::new(),
            fingerprint: None,
            idempotency_key: None,
        }
    }

    /// The input once valid, its tags and source in their one form
    /// ([`crate::text::label`]).
    pub(crate) fn checked(mut self) -> Result<Self> {
        self.validate()?;
        for field in [&mut self.name, &mut self.code, &mut self.context] {
            crate::text::canonicalize(field);
        }
        self.tags = crate::text::labels(&self.tags);
        self.source = crate::text::label(&self.source).to_owned();
        Ok(self)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        title("name", &self.name)?;
        if let Some(fingerprint) = &self.fingerprint {
            label("fingerprint", fingerprint)?;
        }
        content("code", &self.code, MAX_CONTENT_CHARS)?;
        text("context", &self.context)?;
        label("pattern_type", &self.pattern_type)?;
        tags(&self.tags)?;
        label("source", &self.source)?;
        metrics(&self.metrics)
    }
}

/// A solution to store.
#[derive(Debug, Clone, PartialEq)]
pub struct SolutionInput {
    /// The problem.
    pub problem: String,
    /// The solution.
    pub solution: String,
    /// Its language. Default: `text`.
    pub language: Language,
    /// Constraints, environment. Default: empty.
    pub context: String,
    /// Labels. Default: none.
    pub tags: Vec<String>,
    /// Who stores it. Default: `api`.
    pub source: String,
    /// Measurements of this use; `success_rate` (default 1.0) is its outcome.
    pub metrics: Metrics,
    /// Makes a retried store count once (see [`PatternInput::idempotency_key`]).
    pub idempotency_key: Option<String>,
}

impl SolutionInput {
    /// A solution with every optional field at its default.
    pub fn new(problem: impl Into<String>, solution: impl Into<String>) -> Self {
        Self {
            problem: problem.into(),
            solution: solution.into(),
            language: Language::Text,
            context: String::new(),
            tags: Vec::new(),
            source: "api".to_owned(),
            metrics: Metrics::new(),
            idempotency_key: None,
        }
    }

    /// The input once valid, its tags and source in their one form
    /// ([`crate::text::label`]).
    pub(crate) fn checked(mut self) -> Result<Self> {
        self.validate()?;
        for field in [&mut self.problem, &mut self.solution, &mut self.context] {
            crate::text::canonicalize(field);
        }
        self.tags = crate::text::labels(&self.tags);
        self.source = crate::text::label(&self.source).to_owned();
        Ok(self)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        content("problem", &self.problem, MAX_TEXT_CHARS)?;
        content("solution", &self.solution, MAX_CONTENT_CHARS)?;
        text("context", &self.context)?;
        tags(&self.tags)?;
        label("source", &self.source)?;
        metrics(&self.metrics)
    }
}

/// An error resolution to store.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorInput {
    /// The error message, as printed.
    pub message: String,
    /// What resolved it, or was tried.
    pub resolution: String,
    /// Whether the resolution worked.
    pub success: bool,
    /// What was going on. Default: empty.
    pub context: String,
    /// The language. Default: `text`.
    pub language: Language,
    /// Labels. Default: none.
    pub tags: Vec<String>,
    /// Who stores it. Default: `api`.
    pub source: String,
    /// Makes a retried store count once (see [`PatternInput::idempotency_key`]).
    pub idempotency_key: Option<String>,
}

impl ErrorInput {
    /// An error resolution with every optional field at its default.
    pub fn new(message: impl Into<String>, resolution: impl Into<String>, success: bool) -> Self {
        Self {
            message: message.into(),
            resolution: resolution.into(),
            success,
            context: String::new(),
            language: Language::Text,
            tags: Vec::new(),
            source: "api".to_owned(),
            idempotency_key: None,
        }
    }

    /// The input once valid, its tags and source in their one form
    /// ([`crate::text::label`]).
    pub(crate) fn checked(mut self) -> Result<Self> {
        self.validate()?;
        for field in [&mut self.message, &mut self.resolution, &mut self.context] {
            crate::text::canonicalize(field);
        }
        self.tags = crate::text::labels(&self.tags);
        self.source = crate::text::label(&self.source).to_owned();
        Ok(self)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        content("error message", &self.message, MAX_TEXT_CHARS)?;
        content("resolution", &self.resolution, MAX_CONTENT_CHARS)?;
        text("context", &self.context)?;
        tags(&self.tags)?;
        label("source", &self.source)
    }
}

/// Which entries a recall may return, and how many.
#[derive(Debug, Clone, PartialEq)]
pub struct RecallOptions {
    /// At most this many (1 ..= 100). Default: 5.
    pub limit: usize,
    /// Only this language. Default: any.
    pub language: Option<Language>,
    /// Only entries carrying all of these tags. Default: none required.
    pub tags: Vec<String>,
    /// Only entries from this source. Default: any.
    pub source: Option<String>,
    /// Only entries whose success rate is at least this, in `[0, 1]`. Default: none.
    pub min_success_rate: Option<f64>,
    /// Only entries whose similarity ([`super::Recalled::similarity`]) is at least this,
    /// in `[0, 1]`. Default: none.
    pub min_score: Option<f32>,
}

impl Default for RecallOptions {
    fn default() -> Self {
        Self {
            limit: 5,
            language: None,
            tags: Vec::new(),
            source: None,
            min_success_rate: None,
            min_score: None,
        }
    }
}

impl RecallOptions {
    /// The `limit` best matches, unfiltered.
    pub fn top(limit: usize) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_RECALL {
            return Err(MemoryError::InvalidInput(format!(
                "limit {} is out of range 1..={MAX_RECALL}",
                self.limit
            )));
        }
        tags(&self.tags)?;
        if let Some(source) = &self.source {
            label("source", source)?;
        }
        if let Some(rate) = self.min_success_rate
            && !(rate.is_finite() && (0.0..=1.0).contains(&rate))
        {
            return Err(MemoryError::InvalidInput(format!(
                "min_success_rate {rate} must be a number within [0, 1]"
            )));
        }
        if let Some(score) = self.min_score
            && !(score.is_finite() && (0.0..=1.0).contains(&score))
        {
            return Err(MemoryError::InvalidInput(format!(
                "min_score {score} must be a number within [0, 1]"
            )));
        }
        Ok(())
    }
}

/// Checks a query.
pub(crate) fn query(query: &str) -> Result<()> {
    content("query", query, MAX_TEXT_CHARS)
}

fn title(field: &str, value: &str) -> Result<()> {
    content(field, value, MAX_TITLE_CHARS)
}

/// Required text: not blank, within `max` characters.
fn content(field: &str, value: &str, max: usize) -> Result<()> {
    crate::text::check_required(field, value, max).map_err(MemoryError::InvalidInput)
}

/// Optional text within the text limit.
fn text(field: &str, value: &str) -> Result<()> {
    crate::text::check_optional(field, value, MAX_TEXT_CHARS).map_err(MemoryError::InvalidInput)
}

fn label(field: &str, value: &str) -> Result<()> {
    crate::text::check_label(field, value).map_err(MemoryError::InvalidInput)
}

fn tags(tags: &[String]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(MemoryError::InvalidInput(format!(
            "{} tags; at most {MAX_TAGS}",
            tags.len()
        )));
    }
    tags.iter().try_for_each(|tag| label("tag", tag))
}

fn metrics(metrics: &Metrics) -> Result<()> {
    if metrics.len() > MAX_METRICS {
        return Err(MemoryError::InvalidInput(format!(
            "{} metrics; at most {MAX_METRICS}",
            metrics.len()
        )));
    }
    for (name, value) in metrics {
        label("metric name", name)?;
        if !value.is_finite() {
            return Err(MemoryError::InvalidInput(format!(
                "metric {name} is {value}; metrics must be finite numbers"
            )));
        }
    }
    if let Some(rate) = metrics.get("success_rate")
        && !(0.0..=1.0).contains(rate)
    {
        return Err(MemoryError::InvalidInput(format!(
            "success_rate {rate} must be within [0, 1]"
        )));
    }
    Ok(())
}

/// The outcome a store counts: the `success_rate` metric, or 1 (a pattern or solution is
/// stored because it worked).
pub(crate) fn outcome(metrics: &Metrics) -> f64 {
    metrics.get("success_rate").copied().unwrap_or(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_inputs_name_the_field() {
        let mut pattern = PatternInput::new("n", "fn x() {}", Language::Rust);
        assert!(pattern.validate().is_ok());
        pattern.code = "  \n".into();
        assert!(
            pattern
                .validate()
                .expect_err("empty")
                .to_string()
                .contains("code is empty")
        );
        pattern.code = "x".repeat(MAX_CONTENT_CHARS + 1);
        assert!(
            pattern
                .validate()
                .expect_err("long")
                .to_string()
                .contains("262144 characters")
        );
        pattern.code = "x".into();
        pattern.metrics.insert("success_rate".into(), f64::NAN);
        assert!(
            pattern
                .validate()
                .expect_err("nan")
                .to_string()
                .contains("finite")
        );
        pattern.metrics.insert("success_rate".into(), 1.5);
        assert!(
            pattern
                .validate()
                .expect_err("range")
                .to_string()
                .contains("[0, 1]")
        );
        let options = RecallOptions {
            min_success_rate: Some(f64::NAN),
            ..RecallOptions::default()
        };
        assert!(options.validate().is_err());
        assert!(RecallOptions::top(0).validate().is_err());
        assert!(RecallOptions::top(101).validate().is_err());
        assert!(query("").is_err());
    }
}
