//! The BERT encoder that sentence-transformers models are built on: embeddings, then
//! self-attention and feed-forward blocks with post-layer-norm, on engram's own kernels.
//!
//! Three choices make it fast without changing results: the sequences of a batch are packed
//! end to end (no padding: every linear layer is one product over the batch's real tokens,
//! and attention runs per sequence), the query, key and value projections are one fused
//! product, and the products run on the kernel the CPU does best (`kernels`), with the
//! residual stream, layer norms, softmax and GELU in f32. On the int8 path every linear
//! layer is rounded, each sequence's first and last token twice (the row, then what that
//! rounding left: `Linear::forward_with_residual_rows`). Buffers are kept between calls.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;
use std::sync::Mutex;

use rayon::prelude::*;
use safetensors::SafeTensors;
use serde::Deserialize;

use super::kernels::{self, F32_COLS, F32_ROWS, Linear, Scratch, SendPtr, math};
use super::precision::Kernel;
use super::provision::FileBytes;
use super::sentence::Pooling;
use super::tensors::Tensors;

/// The fields of a Hugging Face `config.json` that a BERT encoder needs.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct BertConfig {
    /// Number of rows of the word-embedding table.
    pub vocab_size: usize,
    /// Width of every token's hidden state.
    pub hidden_size: usize,
    /// Number of transformer blocks.
    pub num_hidden_layers: usize,
    /// Attention heads per block; `hidden_size` must be a multiple of it.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Activation of the feed-forward layer: `gelu` (erf), `gelu_new` / `gelu_pytorch_tanh`
    /// (tanh approximation) or `relu`.
    pub hidden_act: String,
    /// Length of the learned position table: the hard limit on sequence length.
    pub max_position_embeddings: usize,
    /// Number of token types (segments).
    pub type_vocab_size: usize,
    /// Epsilon of every layer norm.
    pub layer_norm_eps: f64,
    /// Only `absolute` is supported.
    #[serde(default = "absolute")]
    pub position_embedding_type: String,
}

fn absolute() -> String {
    "absolute".to_owned()
}

#[derive(Debug, Clone, Copy)]
enum Activation {
    GeluErf,
    GeluTanh,
    Relu,
}

impl Activation {
    fn apply(self, values: &mut [f32]) {
        match self {
            Self::GeluErf => math::gelu_erf(values),
            Self::GeluTanh => math::gelu_tanh(values),
            Self::Relu => math::relu(values),
        }
    }
}

impl BertConfig {
    /// Checks that engram can run this configuration; the message says what is unsupported.
    pub fn validate(&self) -> Result<(), String> {
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        let head_dim = self.hidden_size / self.num_attention_heads;
        if !head_dim.is_multiple_of(F32_COLS) {
            return Err(format!(
                "attention heads {head_dim} wide are not supported (a multiple of {F32_COLS})"
            ));
        }
        if self.position_embedding_type != "absolute" {
            return Err(format!(
                "position_embedding_type {:?} is not supported (only \"absolute\")",
                self.position_embedding_type
            ));
        }
        self.activation().map(|_| ())
    }

    fn activation(&self) -> Result<Activation, String> {
        match self.hidden_act.as_str() {
            "gelu" => Ok(Activation::GeluErf),
            "gelu_new" | "gelu_pytorch_tanh" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            other => Err(format!("hidden_act {other:?} is not supported")),
        }
    }
}

/// A layer norm's parameters.
#[derive(Debug)]
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn load(vb: &Tensors, size: usize, eps: f64) -> candle_core::Result<Self> {
        Ok(Self {
            gamma: vector(vb, size, "weight")?,
            beta: vector(vb, size, "bias")?,
            eps: eps as f32,
        })
    }

    /// SmoothQuant's per-channel factors (Xiao et al. 2023, arXiv:2211.10438, α = ½) for a
    /// product whose input is this norm's output and whose weight is `weight` (`n × k`,
    /// k = this norm's width): `s_j = √(max|x_j|) / √(max_n |w_nj|)`. Instead of measuring
    /// `max|x_j|` on calibration texts it is estimated from the norm itself as
    /// `3·|γ_j| + |β_j|` (a normalised value beyond three standard deviations is rare), so
    /// the factors need nothing but the weights. With them, all-MiniLM-L6-v2's
    /// feed-forward products in int8 keep cosine ≥ 0.999 with sentence-transformers on the
    /// reference texts (`benches/int8_cosine.py`).
    fn smoothing(&self, weight: &[f32], k: usize) -> Vec<f32> {
        let mut largest = vec![0f32; k];
        for row in weight.chunks_exact(k) {
            for (m, w) in largest.iter_mut().zip(row) {
                *m = m.max(w.abs());
            }
        }
        self.gamma
            .iter()
            .zip(&self.beta)
            .zip(largest)
            .map(|((g, b), w)| ((3.0 * g.abs() + b.abs()).max(1e-5) / w.max(1e-5)).sqrt())
            .collect()
    }

    /// Normalises every `width`-long row of `rows`.
    fn apply(&self, rows: &mut [f32]) {
        let width = self.gamma.len();
        rows.par_chunks_mut(width)
            .with_min_len(16)
            .for_each(|row| math::layer_norm(row, &self.gamma, &self.beta, self.eps));
    }

    /// Adds `addend` to `rows` (a residual connection) and normalises every row, in one
    /// parallel pass.
    fn add_and_apply(&self, rows: &mut [f32], addend: &[f32]) {
        let width = self.gamma.len();
        rows.par_chunks_mut(width)
            .zip(addend.par_chunks(width))
            .with_min_len(16)
            .for_each(|(row, addend)| {
                math::add_layer_norm(row, addend, &self.gamma, &self.beta, self.eps)
            });
    }
}

fn vector(vb: &Tensors, size: usize, name: &str) -> candle_core::Result<Vec<f32>> {
    Ok(vb.get(&[size], name)?.into_owned())
}

fn matrix<'a>(
    vb: &Tensors<'_, 'a>,
    rows: usize,
    cols: usize,
    name: &str,
) -> candle_core::Result<Cow<'a, [f32]>> {
    vb.get(&[rows, cols], name)
}

/// A linear layer's weight (`out × in`, read in place when the file allows) and bias.
fn dense<'a>(
    vb: &Tensors<'_, 'a>,
    in_dim: usize,
    out_dim: usize,
) -> candle_core::Result<(Cow<'a, [f32]>, Vec<f32>)> {
    Ok((
        matrix(vb, out_dim, in_dim, "weight")?,
        vector(vb, out_dim, "bias")?,
    ))
}

#[derive(Debug)]
struct Layer {
    /// The query, key and value projections as one product: their outputs lie side by side
    /// in each token's row of `3 × hidden`.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

/// The buffers of one forward pass, kept for the next.
#[derive(Debug, Default)]
struct Workspace {
    hidden: Vec<f32>,
    qkv: Vec<f32>,
    context: Vec<f32>,
    projected: Vec<f32>,
    inner: Vec<f32>,
    /// Each sequence's first and last row: the tokens int8 products round twice.
    special_rows: Vec<usize>,
    scratch: Scratch,
}

thread_local! {
    /// Per-thread attention buffers (rayon's workers live as long as the pool).
    static ATTENTION: RefCell<AttentionBuffers> = RefCell::new(AttentionBuffers::default());
}

/// The word-embedding table (`vocab × hidden`, row-major).
#[derive(Debug)]
enum WordEmbeddings {
    /// Read in place: `bytes` of the model file, aligned little-endian f32.
    InFile {
        file: FileBytes,
        bytes: Range<usize>,
    },
    /// Converted from another dtype.
    Owned(Vec<f32>),
}

impl WordEmbeddings {
    fn values(&self) -> &[f32] {
        match self {
            // The range held aligned f32 when it was borrowed at load (`Tensors::get`).
            Self::InFile { file, bytes } => bytemuck::cast_slice(&file[bytes.clone()]),
            Self::Owned(values) => values,
        }
    }
}

/// A BERT encoder with its weights loaded and packed for one kernel.
#[derive(Debug)]
pub struct Bert {
    kernel: Kernel,
    hidden: usize,
    heads: usize,
    head_dim: usize,
    max_positions: usize,
    vocab: usize,
    word_embeddings: WordEmbeddings,
    position_embeddings: Vec<f32>,
    token_type_embedding: Vec<f32>,
    embeddings_norm: Norm,
    layers: Vec<Layer>,
    activation: Activation,
    /// Spare workspaces: a call takes one (or makes one) and gives it back.
    workspaces: Mutex<Vec<Workspace>>,
}

impl Bert {
    /// Loads the weights named as in Hugging Face's `BertModel` (with or without a `bert.`
    /// prefix) from `weights` (a safetensors file's bytes) and packs them for `kernel`. The
    /// word-embedding table stays in `weights` when it is stored as f32 (a lookup reads a
    /// few rows of it, so it is never copied), which is why the encoder keeps them.
    pub fn load(
        weights: FileBytes,
        config: &BertConfig,
        kernel: Kernel,
    ) -> candle_core::Result<Self> {
        let file = SafeTensors::deserialize(&weights)?;
        let root = Tensors::new(&file);
        let vb = if root.contains("embeddings.word_embeddings.weight") {
            root
        } else {
            root.pp("bert")
        };
        let hidden = config.hidden_size;
        let inner = config.intermediate_size;
        let eps = config.layer_norm_eps;
        let emb = vb.pp("embeddings");
        // Where the table lies in `weights` (Err) or its converted values (Ok): `file`
        // still borrows `weights` here, so the encoder takes them only at the end.
        let word_embeddings =
            match matrix(&emb, config.vocab_size, hidden, "word_embeddings.weight")? {
                Cow::Borrowed(values) => {
                    let start = values.as_ptr() as usize - weights.as_ptr() as usize;
                    Err(start..start + size_of_val(values))
                }
                Cow::Owned(values) => Ok(values),
            };
        let position_embeddings = matrix(
            &emb,
            config.max_position_embeddings,
            hidden,
            "position_embeddings.weight",
        )?
        .into_owned();
        let token_type_embedding = matrix(
            &emb,
            config.type_vocab_size,
            hidden,
            "token_type_embeddings.weight",
        )?[..hidden]
            .to_vec();
        let embeddings_norm = Norm::load(&emb.pp("LayerNorm"), hidden, eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let vb = vb.pp(format!("encoder.layer.{i}"));
            let attention = vb.pp("attention");
            let this = attention.pp("self");
            // Query, key and value stacked: one product gives all three side by side.
            let mut weight = Vec::with_capacity(3 * hidden * hidden);
            let mut bias = Vec::with_capacity(3 * hidden);
            for part in ["query", "key", "value"] {
                let (w, b) = dense(&this.pp(part), hidden, hidden)?;
                weight.extend_from_slice(&w);
                bias.extend(b);
            }
            // The norm whose output the query, key and value projections read.
            let before = layers
                .last()
                .map_or(&embeddings_norm, |layer: &Layer| &layer.output_norm);
            let smoothing = before.smoothing(&weight, hidden);
            let qkv = Linear::quantized(kernel, &weight, &bias, 3 * hidden, hidden, &smoothing);
            let attention_norm = Norm::load(&attention.pp("output.LayerNorm"), hidden, eps)?;
            let (up, up_bias) = dense(&vb.pp("intermediate.dense"), hidden, inner)?;
            let smoothing = attention_norm.smoothing(&up, hidden);
            // Attention's output projection and the feed-forward down-projection are
            // rounded unsmoothed: their inputs (the heads' context, the activation) follow
            // no norm.
            let unsmoothed = |(w, b): (Cow<[f32]>, Vec<f32>), n: usize, k: usize| {
                Linear::quantized(kernel, &w, &b, n, k, &vec![1.0; k])
            };
            layers.push(Layer {
                qkv,
                attention_out: unsmoothed(
                    dense(&attention.pp("output.dense"), hidden, hidden)?,
                    hidden,
                    hidden,
                ),
                attention_norm,
                intermediate: Linear::quantized(kernel, &up, &up_bias, inner, hidden, &smoothing),
                output: unsmoothed(dense(&vb.pp("output.dense"), inner, hidden)?, hidden, inner),
                output_norm: Norm::load(&vb.pp("output.LayerNorm"), hidden, eps)?,
            });
        }
        let activation = config.activation().map_err(candle_core::Error::Msg)?;
        Ok(Self {
            kernel,
            hidden,
            heads: config.num_attention_heads,
            head_dim: hidden / config.num_attention_heads,
            max_positions: config.max_position_embeddings,
            vocab: config.vocab_size,
            word_embeddings: match word_embeddings {
                Ok(values) => WordEmbeddings::Owned(values),
                Err(bytes) => WordEmbeddings::InFile {
                    file: weights,
                    bytes,
                },
            },
            position_embeddings,
            token_type_embedding,
            embeddings_norm,
            layers,
            activation,
            workspaces: Mutex::new(Vec::new()),
        })
    }

    /// The kernel the products run on.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// One pooled vector per sequence of token ids (every token of type 0). Sequences must
    /// be non-empty, no longer than the position table, with ids inside the vocabulary.
    pub fn encode(&self, sequences: &[&[u32]], pooling: Pooling) -> Vec<Vec<f32>> {
        let mut offsets = Vec::with_capacity(sequences.len() + 1);
        offsets.push(0);
        for sequence in sequences {
            assert!(
                !sequence.is_empty() && sequence.len() <= self.max_positions,
                "sequence length {} outside 1..={}",
                sequence.len(),
                self.max_positions
            );
            offsets.push(offsets.last().copied().unwrap_or(0) + sequence.len());
        }
        let tokens = offsets.last().copied().unwrap_or(0);
        let mut work = self
            .workspaces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop()
            .unwrap_or_default();
        self.forward(sequences, &offsets, tokens, &mut work);
        let h = self.hidden;
        let pooled = (0..sequences.len())
            .map(|s| {
                let rows = &work.hidden[offsets[s] * h..offsets[s + 1] * h];
                match pooling {
                    Pooling::Cls => rows[..h].to_vec(),
                    Pooling::Mean => {
                        let mut mean = vec![0f32; h];
                        for row in rows.chunks_exact(h) {
                            for (m, x) in mean.iter_mut().zip(row) {
                                *m += x;
                            }
                        }
                        let count = (rows.len() / h) as f32;
                        mean.iter_mut().for_each(|m| *m /= count);
                        mean
                    }
                }
            })
            .collect();
        self.workspaces
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(work);
        pooled
    }

    fn forward(
        &self,
        sequences: &[&[u32]],
        offsets: &[usize],
        tokens: usize,
        work: &mut Workspace,
    ) {
        let h = self.hidden;
        // Every element of these is written before it is read: no need to zero them.
        let resize = |buffer: &mut Vec<f32>, len: usize| buffer.resize(len, 0.0);
        resize(&mut work.hidden, tokens * h);
        let words = self.word_embeddings.values();
        for (s, sequence) in sequences.iter().enumerate() {
            for (position, &id) in sequence.iter().enumerate() {
                let id = (id as usize).min(self.vocab - 1);
                let row = &mut work.hidden[(offsets[s] + position) * h..][..h];
                let word = &words[id * h..][..h];
                let place = &self.position_embeddings[position * h..][..h];
                for (((x, w), p), t) in row
                    .iter_mut()
                    .zip(word)
                    .zip(place)
                    .zip(&self.token_type_embedding)
                {
                    *x = w + p + t;
                }
            }
        }
        self.embeddings_norm.apply(&mut work.hidden);
        work.special_rows.clear();
        for pair in offsets.windows(2) {
            work.special_rows.push(pair[0]);
            if pair[1] - pair[0] > 1 {
                work.special_rows.push(pair[1] - 1);
            }
        }
        let special_rows = work.special_rows.as_slice();
        for layer in &self.layers {
            resize(&mut work.qkv, tokens * 3 * h);
            layer.qkv.forward_with_residual_rows(
                &work.hidden,
                tokens,
                &mut work.qkv,
                3 * h,
                &mut work.scratch,
                special_rows,
            );
            resize(&mut work.context, tokens * h);
            self.attention(&work.qkv, offsets, &mut work.context);
            resize(&mut work.projected, tokens * h);
            layer.attention_out.forward_with_residual_rows(
                &work.context,
                tokens,
                &mut work.projected,
                h,
                &mut work.scratch,
                special_rows,
            );
            layer
                .attention_norm
                .add_and_apply(&mut work.hidden, &work.projected);

            let inner = layer.intermediate.outputs();
            resize(&mut work.inner, tokens * inner);
            layer.intermediate.forward_with_residual_rows(
                &work.hidden,
                tokens,
                &mut work.inner,
                inner,
                &mut work.scratch,
                special_rows,
            );
            let activation = self.activation;
            work.inner
                .par_chunks_mut(inner * 4)
                .for_each(|chunk| activation.apply(chunk));
            layer.output.forward_with_residual_rows(
                &work.inner,
                tokens,
                &mut work.projected,
                h,
                &mut work.scratch,
                special_rows,
            );
            layer
                .output_norm
                .add_and_apply(&mut work.hidden, &work.projected);
        }
    }

    /// Scaled dot-product attention of every head of every sequence, in f32: `qkv` holds
    /// each token's queries, keys and values side by side; `context` receives each token's
    /// heads side by side. Both products (`Q·Kᵀ` and `P·V`) run on register tiles: the
    /// keys and values are packed into 16-wide panels once per head.
    fn attention(&self, qkv: &[f32], offsets: &[usize], context: &mut [f32]) {
        let (h, d) = (self.hidden, self.head_dim);
        let scale = 1.0 / (d as f32).sqrt();
        let out = SendPtr::new(context.as_mut_ptr());
        let sequences = offsets.len() - 1;
        (0..sequences * self.heads)
            .into_par_iter()
            .for_each(|task| {
                let (s, head) = (task / self.heads, task % self.heads);
                let (start, len) = (offsets[s], offsets[s + 1] - offsets[s]);
                let rows = len.div_ceil(F32_ROWS) * F32_ROWS;
                let width = len.div_ceil(F32_COLS) * F32_COLS;
                let token =
                    |j: usize, part: usize| &qkv[(start + j) * 3 * h + part * h + head * d..][..d];
                ATTENTION.with_borrow_mut(|buffers| {
                    let AttentionBuffers {
                        queries,
                        keys,
                        values,
                        scores,
                    } = buffers;
                    // Queries, scaled, one row per token (rows past the end stay zero).
                    refill(queries, rows * d);
                    for j in 0..len {
                        for (q, x) in queries[j * d..][..d].iter_mut().zip(token(j, 0)) {
                            *q = x * scale;
                        }
                    }
                    // Keys as panels of 16 tokens: [panel][dimension][token].
                    refill(keys, width * d);
                    for j in 0..len {
                        let (panel, lane) = (j / F32_COLS, j % F32_COLS);
                        for (i, k) in token(j, 1).iter().enumerate() {
                            keys[(panel * d + i) * F32_COLS + lane] = *k;
                        }
                    }
                    // Values as panels of 16 dimensions: [panel][token][dimension].
                    refill(values, len * d);
                    for j in 0..len {
                        for (i, v) in token(j, 2).iter().enumerate() {
                            let (panel, lane) = (i / F32_COLS, i % F32_COLS);
                            values[(panel * len + j) * F32_COLS + lane] = *v;
                        }
                    }
                    // Scores, then probabilities, row by row.
                    refill(scores, rows * width);
                    let mut tile = [[0f32; F32_COLS]; F32_ROWS];
                    for r0 in (0..rows).step_by(F32_ROWS) {
                        for panel in 0..width / F32_COLS {
                            kernels::f32_tile(
                                &queries[r0 * d..],
                                d,
                                d,
                                &keys[panel * d * F32_COLS..],
                                &mut tile,
                            );
                            for (r, values) in tile.iter().enumerate() {
                                scores[(r0 + r) * width + panel * F32_COLS..][..F32_COLS]
                                    .copy_from_slice(values);
                            }
                        }
                    }
                    for row in scores.chunks_exact_mut(width).take(len) {
                        math::softmax(&mut row[..len]);
                    }
                    for r0 in (0..rows).step_by(F32_ROWS) {
                        for panel in 0..d / F32_COLS {
                            kernels::f32_tile(
                                &scores[r0 * width..],
                                width,
                                len,
                                &values[panel * len * F32_COLS..],
                                &mut tile,
                            );
                            for (r, values) in tile.iter().enumerate().take(len.saturating_sub(r0))
                            {
                                // SAFETY: task (s, head) alone writes columns head·d..(head+1)·d
                                // of the rows of sequence s, which lie inside `context`.
                                let dst = unsafe {
                                    std::slice::from_raw_parts_mut(
                                        out.get().add(
                                            (start + r0 + r) * h + head * d + panel * F32_COLS,
                                        ),
                                        F32_COLS,
                                    )
                                };
                                dst.copy_from_slice(values);
                            }
                        }
                    }
                });
            });
    }
}

/// Per-thread attention buffers, kept between calls.
#[derive(Default)]
struct AttentionBuffers {
    queries: Vec<f32>,
    keys: Vec<f32>,
    values: Vec<f32>,
    scores: Vec<f32>,
}

/// Empties `buffer` and fills it with `len` zeros, keeping its allocation.
fn refill(buffer: &mut Vec<f32>, len: usize) {
    buffer.clear();
    buffer.resize(len, 0.0);
}
