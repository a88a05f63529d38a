//! Errors of the extractor.

use std::time::Duration;

use super::language::UnsupportedLanguage;

/// Why code could not be extracted. Syntax errors are not among them: broken code yields
/// what parses and an error count.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// No grammar for the language.
    #[error(transparent)]
    Unsupported(#[from] UnsupportedLanguage),
    /// The source is larger than the extractor accepts.
    #[error("the source is {bytes} bytes; the extractor accepts at most {limit} bytes")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Parsing ran past its time budget (pathological input).
    #[error("parsing {bytes} bytes took longer than {budget:?}; the input is pathological")]
    Timeout {
        /// The source's size.
        bytes: usize,
        /// The budget it exceeded.
        budget: Duration,
    },
    /// A grammar or query failed to load: a bug in engram.
    #[error("internal error: {0}")]
    Grammar(String),
}

impl ExtractError {
    /// Whether the caller can fix this by changing the input.
    pub fn is_caller_fault(&self) -> bool {
        !matches!(self, Self::Grammar(_))
    }
}
