//! Errors of agent memory.

use crate::embed::EmbedError;
use crate::store::StoreError;

/// Result alias of agent memory.
pub type Result<T, E = AgentError> = std::result::Result<T, E>;

/// Errors of agent memory.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// No learning with this id is visible to the caller (absent, or another agent's
    /// private learning: the two are not told apart).
    #[error("no learning {0} is visible to this agent")]
    UnknownLearning(String),
    /// The learning was never promoted.
    #[error("learning {0} has no promotion in the ledger")]
    NotPromoted(String),
    /// Another cross-pollination or promotion holds the workspace for longer than a run
    /// waits.
    #[error("workspace {0:?} is busy with another promotion; try again")]
    Busy(String),
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

impl AgentError {
    /// Whether the caller can fix this by changing the request.
    pub fn is_caller_fault(&self) -> bool {
        match self {
            Self::UnknownLearning(_) | Self::NotPromoted(_) | Self::InvalidInput(_) => true,
            Self::Store(error) => error.is_caller_fault(),
            Self::Busy(_) | Self::Embed(_) | Self::Corrupt { .. } | Self::Task(_) => false,
        }
    }
}
