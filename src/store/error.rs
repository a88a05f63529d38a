//! Errors of the storage layer.

use std::path::PathBuf;

/// Result alias of the storage layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Errors of the storage layer. [`StoreError::is_caller_fault`] tells a bad request from a
/// failure of engram or its backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the data directory.
    #[error(
        "data directory {} is in use by {holder}; stop that process or point --data-dir / \
         ENGRAM_DATA_DIR elsewhere",
        dir.display()
    )]
    Locked {
        /// The data directory.
        dir: PathBuf,
        /// Who holds it, as its lock file says.
        holder: String,
    },
    /// A collection exists with a schema other than the one asked for.
    #[error(
        "collection {collection} exists with {found}, but {expected} was asked for; \
         use another data directory (or namespace) or delete the collection"
    )]
    SchemaMismatch {
        /// The collection.
        collection: String,
        /// What the caller's spec says.
        expected: String,
        /// What the store holds.
        found: String,
    },
    /// The request itself is invalid (wrong dimension, non-finite vector, bad name, …).
    #[error("invalid request: {0}")]
    InvalidInput(String),
    /// A file or folder of the store could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What engram was doing.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Stored data failed a consistency check.
    #[error("{} is corrupt: {message}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The embedded Qdrant Edge engine failed.
    #[error("qdrant-edge: {0}")]
    Edge(String),
    /// The Qdrant server refused or failed a request.
    #[error("qdrant server: {message}")]
    Remote {
        /// The server's or the transport's message.
        message: String,
        /// Whether the server blamed the request (bad argument, not found, unauthenticated).
        caller_fault: bool,
    },
    /// Too many consecutive failures reaching the Qdrant server: requests fail fast for a while.
    #[error(
        "circuit open: {failures} consecutive failures reaching the Qdrant server (last: \
         {last_error}); retrying in {retry_in_ms} ms"
    )]
    CircuitOpen {
        /// Consecutive failures that opened the circuit.
        failures: u32,
        /// The last failure.
        last_error: String,
        /// Milliseconds until a request is let through again.
        retry_in_ms: u64,
    },
}

impl StoreError {
    /// Whether the caller can fix this by changing the request or the setup (4xx), as
    /// opposed to a failure of engram or its backend (5xx).
    pub fn is_caller_fault(&self) -> bool {
        match self {
            Self::Locked { .. } | Self::SchemaMismatch { .. } | Self::InvalidInput(_) => true,
            Self::Remote { caller_fault, .. } => *caller_fault,
            Self::Io { .. } | Self::Corrupt { .. } | Self::Edge(_) | Self::CircuitOpen { .. } => {
                false
            }
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
