//! Errors of the benchmark runner.

use std::path::PathBuf;

use crate::embed::EmbedError;
use crate::store::StoreError;

/// Errors of the benchmark runner.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A data set file is missing or not what it should be.
    #[error("data set {}: {message} (point --data at the folder that holds cosqa/ and locomo/)", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Embedding failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing an output file failed.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}
