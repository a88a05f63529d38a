//! Embeddings: text in, vectors out, by a local model that matches sentence-transformers.
//!
//! [`Embedder`] is the small trait the rest of engram depends on; [`SentenceEmbedder`] runs
//! sentence-transformers BERT models (all-MiniLM-L6-v2 by default) on engram's own kernels
//! (bf16 AVX-512 or f32, chosen at run time: [`Precision`]), and [`Provisioner`] finds,
//! verifies and installs the model files it runs.

mod batching;
mod bert;
mod error;
mod kernels;
mod precision;
mod provision;
mod sentence;
mod spec;
mod tensors;

pub use batching::{BatchLimits, BatchStats, BatchingEmbedder};
pub use bert::BertConfig;
pub use error::{EmbedError, Result, SourceAttempt};
pub use precision::{Kernel, PRECISION_ENV, Precision};
pub use provision::{
    Installation, ModelFiles, ModelSource, ModelSources, Provisioner, SourceStatus,
};
pub use sentence::{Pooling, SentenceEmbedder};
pub use spec::{ALL_MINILM_L6_V2, ModelFile, ModelSpec};

/// Turns texts into fixed-size vectors whose cosine similarity tracks similarity of meaning.
///
/// Batch first: a model amortises its fixed per-call costs over a batch, so callers with
/// several texts hand them over together, and one text is a batch of one.
pub trait Embedder: Send + Sync {
    /// One vector of [`dimension`](Self::dimension) floats per text, in input order.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;

    /// The length of every vector this embedder returns.
    fn dimension(&self) -> usize;

    /// The vector of one text: exactly [`embed_batch`](Self::embed_batch) with one text.
    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        self.embed_batch(&[text])?
            .pop()
            .ok_or_else(|| EmbedError::InvalidOption("the embedder returned no vector".into()))
    }
}

/// How a [`SentenceEmbedder`] runs. Defaults suit a 2-core machine embedding short texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderOptions {
    batch_size: usize,
    threads: Option<usize>,
    max_seq_length: Option<usize>,
    precision: Precision,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        Self {
            batch_size: 32,
            threads: None,
            max_seq_length: None,
            precision: Precision::Auto,
        }
    }
}

impl EmbedderOptions {
    /// Options with every default.
    pub fn new() -> Self {
        Self::default()
    }

    /// Texts run through the model together, after sorting by length. Default: 32.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Threads used by one embedding call. Default: `None`, the global pool, which has one
    /// thread per core unless `RAYON_NUM_THREADS` says otherwise.
    pub fn with_threads(mut self, threads: Option<usize>) -> Self {
        self.threads = threads;
        self
    }

    /// Truncate texts to this many tokens instead of the model's own `max_seq_length`
    /// (256 for all-MiniLM-L6-v2). Default: `None`, the model's. Never above the model's
    /// position table.
    pub fn with_max_seq_length(mut self, max_seq_length: Option<usize>) -> Self {
        self.max_seq_length = max_seq_length;
        self
    }

    /// The arithmetic of the encoder's products. Default: `Auto`, bf16 on CPUs with AVX-512
    /// BF16, int8 (every linear layer; each text's [CLS] and [SEP] tokens rounded twice;
    /// attention f32) on CPUs with AVX2 and FMA, f32 elsewhere, unless
    /// `ENGRAM_EMBED_PRECISION` says `f32`, `bf16` or `int8`.
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(EmbedError::InvalidOption(
                "batch size must be at least 1".into(),
            ));
        }
        if self.threads == Some(0) {
            return Err(EmbedError::InvalidOption(
                "threads must be at least 1".into(),
            ));
        }
        if self.max_seq_length.is_some_and(|n| n < 2) {
            return Err(EmbedError::InvalidOption(
                "max_seq_length must leave room for [CLS] and [SEP]".into(),
            ));
        }
        Ok(())
    }
}

/// Cosine similarity of two vectors of the same length; 0 when either is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_parallel_orthogonal_and_zero_vectors() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-7);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 3.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }

    #[test]
    fn options_reject_zero_sizes() {
        assert!(EmbedderOptions::new().validate().is_ok());
        assert!(
            EmbedderOptions::new()
                .with_batch_size(0)
                .validate()
                .is_err()
        );
        assert!(
            EmbedderOptions::new()
                .with_threads(Some(0))
                .validate()
                .is_err()
        );
        assert!(
            EmbedderOptions::new()
                .with_max_seq_length(Some(1))
                .validate()
                .is_err()
        );
    }
}
