//! Errors of general memory.

use crate::embed::EmbedError;
use crate::store::StoreError;

/// Result alias of general memory.
pub type Result<T, E = MemoriesError> = std::result::Result<T, E>;

/// Errors of general memory.
#[derive(Debug, thiserror::Error)]
pub enum MemoriesError {
    /// No such memory visible to the caller (absent, expired, or another agent's: the
    /// three are not told apart).
    #[error("no memory {0} is visible to this caller")]
    UnknownMemory(String),
    /// The caller may read the memory but not change it: a key bound to an agent changes
    /// and deletes only that agent's memories (the agentless ones are an admin's to change).
    #[error("memory {0} is not this agent's: only its agent or an admin may change or delete it")]
    NotOwner(String),
    /// The caller may read the session but not end it: a key bound to an agent ends only
    /// the sessions that agent opened.
    #[error("session {0} was not opened by this agent: only its agent or an admin may end it")]
    NotSessionOwner(String),
    /// No such session.
    #[error("no session {0}")]
    UnknownSession(String),
    /// No such context group.
    #[error("no context group {0}")]
    UnknownGroup(String),
    /// The caller's input is invalid; the message says which field and why.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Embedding failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The store failed or refused (a stale `expected_version` is its `Conflict`).
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

impl MemoriesError {
    /// Whether the caller can fix this by changing the request.
    pub fn is_caller_fault(&self) -> bool {
        match self {
            Self::UnknownMemory(_)
            | Self::UnknownSession(_)
            | Self::UnknownGroup(_)
            | Self::NotOwner(_)
            | Self::NotSessionOwner(_)
            | Self::InvalidInput(_) => true,
            Self::Store(error) => error.is_caller_fault(),
            Self::Embed(_) | Self::Corrupt { .. } | Self::Task(_) => false,
        }
    }
}
