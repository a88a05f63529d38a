//! A sentence-transformers model: tokenizer, BERT encoder on engram's kernels, pooling and
//! normalisation, batched by length.

use serde::Deserialize;
use tokenizers::{
    PaddingParams, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

use super::bert::{Bert, BertConfig};
use super::error::{EmbedError, Result};
use super::precision::Kernel;
use super::provision::{ModelFiles, ModelSources, Provisioner};
use super::spec::{ALL_MINILM_L6_V2, ModelSpec};
use super::{Embedder, EmbedderOptions};

/// How token states become one sentence vector, from `1_Pooling/config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// Mean of the real (unpadded) tokens' states.
    Mean,
    /// The `[CLS]` token's state.
    Cls,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: Option<usize>,
}

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(rename = "type")]
    kind: String,
}

/// A sentence-transformers BERT model (all-MiniLM-L6-v2 by default) run on the CPU.
///
/// Texts are tokenized, truncated to the model's `max_seq_length` (256 for MiniLM), sorted by
/// length and run in batches padded to the batch's longest, so a batch of short queries does
/// not pay for one long document.
pub struct SentenceEmbedder {
    name: String,
    tokenizer: Tokenizer,
    encoder: Bert,
    pooling: Pooling,
    normalize: bool,
    dimension: usize,
    max_seq_length: usize,
    batch_size: usize,
    threads: Option<rayon::ThreadPool>,
}

impl std::fmt::Debug for SentenceEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEmbedder")
            .field("name", &self.name)
            .field("pooling", &self.pooling)
            .field("normalize", &self.normalize)
            .field("dimension", &self.dimension)
            .field("max_seq_length", &self.max_seq_length)
            .field("batch_size", &self.batch_size)
            .field("kernel", &self.encoder.kernel())
            .finish_non_exhaustive()
    }
}

impl SentenceEmbedder {
    /// The default model (all-MiniLM-L6-v2) from the sources the environment configures,
    /// installed first if no local source has it.
    pub fn from_env(options: &EmbedderOptions) -> Result<Self> {
        Self::from_sources(ModelSources::from_env(), options)
    }

    /// The default model (all-MiniLM-L6-v2) from `sources`, installed first if no local
    /// source has it.
    pub fn from_sources(sources: ModelSources, options: &EmbedderOptions) -> Result<Self> {
        let provisioner = Provisioner::new(ALL_MINILM_L6_V2, sources);
        Self::load(provisioner.spec().name, provisioner.load()?, options)
    }

    /// Builds the embedder from verified model files.
    pub fn load(name: &str, mut files: ModelFiles, options: &EmbedderOptions) -> Result<Self> {
        options.validate()?;
        let dir = files.dir().to_path_buf();
        let config_path = dir.join(ModelSpec::CONFIG);
        let config: BertConfig = parse_json(&files, ModelSpec::CONFIG, &dir)?.ok_or_else(|| {
            EmbedError::MissingFile {
                dir: dir.clone(),
                file: ModelSpec::CONFIG.to_owned(),
                fix: "a BERT model folder needs its config.json".to_owned(),
            }
        })?;
        config
            .validate()
            .map_err(|message| EmbedError::InvalidConfig {
                path: config_path.clone(),
                message,
            })?;

        let pooling = match parse_json::<PoolingConfig>(&files, "1_Pooling/config.json", &dir)? {
            None => Pooling::Mean,
            Some(p) if p.pooling_mode_max_tokens || p.pooling_mode_mean_sqrt_len_tokens => {
                return Err(EmbedError::InvalidConfig {
                    path: dir.join("1_Pooling/config.json"),
                    message: "only mean and CLS pooling are supported".to_owned(),
                });
            }
            Some(p) if p.pooling_mode_cls_token && !p.pooling_mode_mean_tokens => Pooling::Cls,
            Some(_) => Pooling::Mean,
        };
        let normalize = parse_json::<Vec<ModuleEntry>>(&files, "modules.json", &dir)?
            .is_none_or(|modules| modules.iter().any(|m| m.kind.ends_with(".Normalize")));
        let declared = parse_json::<SentenceBertConfig>(&files, "sentence_bert_config.json", &dir)?
            .and_then(|c| c.max_seq_length)
            .unwrap_or(config.max_position_embeddings);
        let max_seq_length = options
            .max_seq_length
            .unwrap_or(declared)
            .min(config.max_position_embeddings);

        let tokenizer_bytes =
            files
                .take(ModelSpec::TOKENIZER)
                .ok_or_else(|| EmbedError::MissingFile {
                    dir: dir.clone(),
                    file: ModelSpec::TOKENIZER.to_owned(),
                    fix: "a model folder needs its tokenizer.json".to_owned(),
                })?;
        let weights = files
            .take(ModelSpec::WEIGHTS)
            .ok_or_else(|| EmbedError::MissingFile {
                dir: dir.clone(),
                file: ModelSpec::WEIGHTS.to_owned(),
                fix: "a model folder needs its model.safetensors".to_owned(),
            })?;
        let kernel = options.precision.resolve()?;
        // The tokenizer's JSON parses (about a quarter of a CLI call's model load) while the
        // weights are packed.
        let (tokenizer, encoder) = std::thread::scope(|scope| {
            let tokenizer = scope.spawn(|| load_tokenizer(&tokenizer_bytes, max_seq_length));
            let encoder = Bert::load(weights, &config, kernel);
            let tokenizer = tokenizer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (tokenizer, encoder)
        });
        let tokenizer = tokenizer?;
        let encoder = encoder?;

        let threads = options
            .threads
            .map(|n| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("engram-embed-{i}"))
                    .build()
                    .map_err(|error| EmbedError::InvalidOption(format!("threads: {error}")))
            })
            .transpose()?;
        Ok(Self {
            name: name.to_owned(),
            tokenizer,
            encoder,
            pooling,
            normalize,
            dimension: config.hidden_size,
            max_seq_length,
            batch_size: options.batch_size,
            threads,
        })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matrix-product kernel in use (precision and instruction set), chosen at load.
    pub fn kernel(&self) -> Kernel {
        self.encoder.kernel()
    }

    /// Texts longer than this many tokens (special tokens included) are truncated.
    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    /// Token ids of each text as the model sees them: special tokens added, truncated.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        texts
            .iter()
            .map(|text| {
                self.tokenizer
                    .encode(*text, true)
                    .map(|encoding| encoding.get_ids().to_vec())
                    .map_err(tokenizer_error)
            })
            .collect()
    }

    fn run_batch(&self, sequences: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let mut vectors = self.encoder.encode(sequences, self.pooling);
        if self.normalize {
            vectors.iter_mut().for_each(|v| l2_normalize(v));
        }
        Ok(vectors)
    }

    fn embed_all(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let ids = self.tokenize(texts)?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(self.batch_size) {
            let sequences: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            for (&i, vector) in chunk.iter().zip(self.run_batch(&sequences)?) {
                out[i] = vector;
            }
        }
        Ok(out)
    }
}

impl Embedder for SentenceEmbedder {
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        match &self.threads {
            Some(pool) => pool.install(|| self.embed_all(texts)),
            None => self.embed_all(texts),
        }
    }

    fn dimension(&self) -> usize {
        self.dimension
    }
}

/// Scales `v` to unit length the way sentence-transformers does (`x / max(‖x‖, 1e-12)`).
pub(crate) fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

/// The tokenizer in `bytes` (a `tokenizer.json`), truncating to `max_seq_length` tokens
/// and never padding.
fn load_tokenizer(bytes: &[u8], max_seq_length: usize) -> Result<Tokenizer> {
    let mut tokenizer = Tokenizer::from_bytes(bytes).map_err(tokenizer_error)?;
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_seq_length,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
            direction: TruncationDirection::Right,
        }))
        .map_err(tokenizer_error)?;
    tokenizer.with_padding(None::<PaddingParams>);
    Ok(tokenizer)
}

fn tokenizer_error(error: tokenizers::Error) -> EmbedError {
    EmbedError::Tokenizer {
        message: error.to_string(),
    }
}

/// Parses one JSON file of the folder; `None` if the folder does not have it.
fn parse_json<T: serde::de::DeserializeOwned>(
    files: &ModelFiles,
    path: &str,
    dir: &std::path::Path,
) -> Result<Option<T>> {
    files
        .bytes(path)
        .map(|bytes| {
            serde_json::from_slice(bytes).map_err(|error| EmbedError::InvalidConfig {
                path: dir.join(path),
                message: error.to_string(),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_to_unit_length_and_leaves_zero_alone() {
        let mut v = vec![3.0, 4.0];
        l2_normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut zero = vec![0.0; 3];
        l2_normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 3]);
    }
}
