//! Errors of episodic memory.

use crate::embed::EmbedError;
use crate::store::{PointId, StoreError};

/// Result alias of episodic memory.
pub type Result<T, E = EpisodeError> = std::result::Result<T, E>;

/// Errors of episodic memory.
#[derive(Debug, thiserror::Error)]
pub enum EpisodeError {
    /// No episode has this id.
    #[error("no episode {0}; `engram episodes recall` lists similar ones")]
    Unknown(PointId),
    /// The episode has ended: nothing more can be recorded into it or end it again.
    #[error("episode {id} has already ended ({status}); start a new episode to record more")]
    Ended {
        /// The episode.
        id: PointId,
        /// How it ended.
        status: String,
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
    /// A stored episode or event could not be read back.
    #[error("episode data {id} is unreadable: {message}")]
    Corrupt {
        /// The point.
        id: PointId,
        /// What is wrong.
        message: String,
    },
    /// A blocking task was cancelled or panicked (async API only).
    #[error("background task failed: {0}")]
    Task(String),
}

impl EpisodeError {
    /// Whether the caller can fix this by changing the request.
    pub fn is_caller_fault(&self) -> bool {
        match self {
            Self::Unknown(_) | Self::Ended { .. } | Self::InvalidInput(_) => true,
            Self::Store(error) => error.is_caller_fault(),
            Self::Embed(_) | Self::Corrupt { .. } | Self::Task(_) => false,
        }
    }
}
