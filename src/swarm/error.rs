//! Errors of swarm memory.

use crate::embed::EmbedError;
use crate::store::StoreError;

use super::Entry;

/// Result alias of swarm memory.
pub type Result<T, E = SwarmError> = std::result::Result<T, E>;

/// Errors of swarm memory.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    /// The key or prefix is malformed; the message says how.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Another input is invalid; the message says which and why.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A `reject` write met a key that is not at the version it expected (or exists, for a
    /// write that expected to create it). Nothing was written; `current` is what is stored.
    #[error(
        "conflict on {key}: expected {}, found {}",
        expected.map_or("no entry".to_owned(), |v| format!("version {v}")),
        current.as_ref().map_or("no entry".to_owned(), |c| format!("version {}", c.version))
    )]
    Conflict {
        /// The key.
        key: String,
        /// The version the write expected (`None`: that the key did not exist).
        expected: Option<u64>,
        /// The entry stored now (`None`: no live entry).
        current: Option<Box<Entry>>,
    },
    /// The key is locked by someone else: writes (and, under an exclusive lock, reads)
    /// need the holder's lock.
    #[error(
        "{key} is locked ({holders} holder(s), {mode}); the earliest expiry is in \
         {expires_in_ms} ms"
    )]
    Locked {
        /// The key.
        key: String,
        /// Live holders.
        holders: usize,
        /// `read`, `write` or `exclusive`.
        mode: &'static str,
        /// Milliseconds until the first live holder's lock lapses (unless renewed).
        expires_in_ms: u64,
    },
    /// A read lock was given for a write: readers share a key, only a write or exclusive
    /// lock lets its holder change it.
    #[error("the lock on {0} is a read lock; writing needs a write or exclusive lock")]
    ReadLockCannotWrite(String),
    /// `agent/{agent}/…` keys are written by that agent (or an admin) only.
    #[error("{key} belongs to agent {owner}; only that agent or an admin may change it")]
    NotOwner {
        /// The key.
        key: String,
        /// The agent the key belongs to.
        owner: String,
    },
    /// Writers kept racing on one key longer than the retry budget.
    #[error("{0} is contended: too many concurrent writers; retry")]
    Contended(String),
    /// Embedding an outcome's situation failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The store failed or refused (a held, lost or fenced lock is its lease error).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A blocking task was cancelled or panicked (async API only).
    #[error("background task failed: {0}")]
    Task(String),
}

impl SwarmError {
    /// Whether the caller can fix this by changing the request.
    pub fn is_caller_fault(&self) -> bool {
        match self {
            Self::InvalidKey(_)
            | Self::InvalidInput(_)
            | Self::Conflict { .. }
            | Self::Locked { .. }
            | Self::ReadLockCannotWrite(_)
            | Self::NotOwner { .. } => true,
            Self::Store(error) => error.is_caller_fault(),
            Self::Contended(_) | Self::Embed(_) | Self::Task(_) => false,
        }
    }
}
