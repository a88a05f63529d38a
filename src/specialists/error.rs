//! Errors of specialist memory.

use super::record::Verdict;
use crate::embed::EmbedError;
use crate::store::StoreError;

/// Result alias of specialist memory.
pub type Result<T, E = SpecialistError> = std::result::Result<T, E>;

/// Errors of specialist memory.
#[derive(Debug, thiserror::Error)]
pub enum SpecialistError {
    /// No specialist has this name.
    #[error("no specialist {0:?}; create it with init_specialists (`engram specialists init`)")]
    UnknownSpecialist(String),
    /// No session was recorded for this deliberation.
    #[error("no session of deliberation {0:?} was recorded")]
    UnknownDeliberation(String),
    /// The specialist already has a session in this deliberation, about another question.
    #[error(
        "specialist {specialist:?} already recorded deliberation {deliberation:?} with another \
         question; a deliberation is one question"
    )]
    SessionConflict {
        /// The specialist.
        specialist: String,
        /// The deliberation.
        deliberation: String,
    },
    /// Concerns of the deliberation already carry the other verdict.
    #[error(
        "deliberation {deliberation:?} already has the verdict {}; an outcome is recorded once",
        current.name()
    )]
    VerdictConflict {
        /// The deliberation.
        deliberation: String,
        /// The verdict it has.
        current: Verdict,
    },
    /// The caller's input is invalid; the message says which field and why.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Embedding failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record could not be read back.
    #[error("record {id} in {collection} is unreadable: {message}")]
    Corrupt {
        /// The collection.
        collection: String,
        /// The point id.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// A blocking task was cancelled or panicked (async API only).
    #[error("background task failed: {0}")]
    Task(String),
}

impl SpecialistError {
    /// Whether the caller can fix this by changing the request.
    pub fn is_caller_fault(&self) -> bool {
        match self {
            Self::UnknownSpecialist(_)
            | Self::UnknownDeliberation(_)
            | Self::SessionConflict { .. }
            | Self::VerdictConflict { .. }
            | Self::InvalidInput(_) => true,
            Self::Store(error) => error.is_caller_fault(),
            Self::Embed(_) | Self::Corrupt { .. } | Self::Task(_) => false,
        }
    }
}
