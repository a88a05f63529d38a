//! Errors of the memory layer.

use crate::embed::EmbedError;
use crate::store::StoreError;

/// Result alias of the memory layer.
pub type Result<T, E = MemoryError> = std::result::Result<T, E>;

/// Errors of the memory layer.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// The caller's input is invalid; the message says which field and why.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Embedding failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record could not be read back (written by another version, or damaged).
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

impl MemoryError {
    /// Whether the caller can fix this by changing the request or the setup.
    pub fn is_caller_fault(&self) -> bool {
        match self {
            Self::InvalidInput(_) => true,
            Self::Store(error) => error.is_caller_fault(),
            Self::Embed(_) | Self::Corrupt { .. } | Self::Task(_) => false,
        }
    }
}
