//! Errors of the storage layer.

use std::path::PathBuf;

use super::types::PointId;

/// Result alias of the storage layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Errors of the storage layer. [`StoreError::is_caller_fault`] tells a bad request from a
/// failure of engram or its backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the data directory (and still did after waiting for it).
    #[error(
        "data directory {} is in use by {holder}{}; stop that process, raise --lock-timeout, \
         or point --data-dir / ENGRAM_DATA_DIR elsewhere",
        dir.display(),
        if *waited_ms > 0 { format!(" (waited {waited_ms} ms)") } else { String::new() }
    )]
    Locked {
        /// The data directory.
        dir: PathBuf,
        /// Who holds it, as its lock file says.
        holder: String,
        /// How long the caller waited for it.
        waited_ms: u64,
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
    /// A conditional write lost a race: the record is not at the version the caller based
    /// its change on (or exists when it was to be created, or is gone). Nothing was written;
    /// read the current version and try again.
    #[error(
        "conflict on {id} in {collection}: expected {}, found {}",
        describe_version(*expected),
        describe_version(*current)
    )]
    Conflict {
        /// The collection.
        collection: String,
        /// The record.
        id: PointId,
        /// The version the write was based on (`None`: the record was to be created).
        expected: Option<u64>,
        /// The version stored now (`None`: no such record).
        current: Option<u64>,
    },
    /// A write guarded by a lease was refused: a holder with a newer fencing epoch has
    /// written, or the lease is no longer held by this holder.
    #[error("lease {lease}: fencing epoch {epoch} is stale ({reason})")]
    Fenced {
        /// The lease.
        lease: String,
        /// The epoch the write carried.
        epoch: u64,
        /// Why it is stale.
        reason: String,
    },
    /// The lease is held by others and did not become free within the wait.
    #[error(
        "lease {lease} is held ({holders} holder(s), {mode}); the earliest expiry is in \
         {expires_in_ms} ms"
    )]
    LeaseHeld {
        /// The lease.
        lease: String,
        /// Live holders.
        holders: usize,
        /// `exclusive` or `shared`.
        mode: &'static str,
        /// Milliseconds until the first live holder expires (unless renewed).
        expires_in_ms: u64,
    },
    /// The caller no longer holds the lease: it expired (and may have been taken over) or
    /// was released.
    #[error("lease {lease} (epoch {epoch}) is no longer held: {reason}")]
    LeaseLost {
        /// The lease.
        lease: String,
        /// The epoch the caller held.
        epoch: u64,
        /// What happened.
        reason: String,
    },
    /// An idempotency key came back with a different request than the one it first named.
    #[error(
        "idempotency key {key:?} was first used for a different request; use a new key for a \
         new request"
    )]
    IdempotencyMismatch {
        /// The key.
        key: String,
    },
    /// The first request with this idempotency key is still being processed.
    #[error("a request with idempotency key {key:?} is still in progress; retry later")]
    IdempotencyInProgress {
        /// The key.
        key: String,
    },
    /// A conditional write was applied or not, but reading it back could not tell which
    /// (the record changed more times than its write history keeps, meanwhile).
    #[error("the outcome of a conditional write on {id} in {collection} is unknown: {message}")]
    Unconfirmed {
        /// The collection.
        collection: String,
        /// The record.
        id: PointId,
        /// What was seen.
        message: String,
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
            Self::SchemaMismatch { .. }
            | Self::InvalidInput(_)
            | Self::Conflict { .. }
            | Self::Fenced { .. }
            | Self::LeaseHeld { .. }
            | Self::LeaseLost { .. }
            | Self::IdempotencyMismatch { .. }
            | Self::IdempotencyInProgress { .. } => true,
            Self::Remote { caller_fault, .. } => *caller_fault,
            // Another process holding the directory is a state of the machine, not a bad
            // request: the same command succeeds once it is free.
            Self::Locked { .. }
            | Self::Io { .. }
            | Self::Corrupt { .. }
            | Self::Edge(_)
            | Self::Unconfirmed { .. }
            | Self::CircuitOpen { .. } => false,
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

fn describe_version(version: Option<u64>) -> String {
    match version {
        Some(v) => format!("version {v}"),
        None => "no record".to_owned(),
    }
}
