//! The BERT encoder that sentence-transformers models are built on, written on candle's
//! tensors: embeddings, then self-attention and feed-forward blocks with post-layer-norm.
//!
//! It differs from a textbook port in two ways that matter for speed and none for results:
//! the query, key and value projections are one fused matrix, and every linear layer runs as
//! one 2-D matrix product over all tokens of the batch instead of one product per sequence.

use candle_core::{Device, Module, Tensor};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use serde::Deserialize;

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
    fn apply(self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::GeluErf => x.gelu_erf(),
            Self::GeluTanh => x.gelu(),
            Self::Relu => x.relu(),
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

/// A linear layer applied to the last dimension of a tensor of any rank as one 2-D product.
#[derive(Debug)]
struct Dense {
    /// `(in, out)`, contiguous, so the product is a plain row-major GEMM.
    weight_t: Tensor,
    bias: Tensor,
}

impl Dense {
    fn load(vb: &VarBuilder, in_dim: usize, out_dim: usize) -> candle_core::Result<Self> {
        let weight = vb.get((out_dim, in_dim), "weight")?;
        let bias = vb.get(out_dim, "bias")?;
        Ok(Self {
            weight_t: weight.t()?.contiguous()?,
            bias,
        })
    }

    /// Stacks several layers with the same input into one whose output is their outputs side
    /// by side.
    fn fused(parts: &[Self]) -> candle_core::Result<Self> {
        let weights: Vec<&Tensor> = parts.iter().map(|p| &p.weight_t).collect();
        let biases: Vec<&Tensor> = parts.iter().map(|p| &p.bias).collect();
        Ok(Self {
            weight_t: Tensor::cat(&weights, 1)?.contiguous()?,
            bias: Tensor::cat(&biases, 0)?,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut dims = x.dims().to_vec();
        let in_dim = dims.pop().unwrap_or(0);
        let rows = dims.iter().product::<usize>();
        let out = x
            .reshape((rows, in_dim))?
            .matmul(&self.weight_t)?
            .broadcast_add(&self.bias)?;
        dims.push(self.bias.dim(0)?);
        out.reshape(dims)
    }
}

#[derive(Debug)]
struct Layer {
    qkv: Dense,
    attention_out: Dense,
    attention_norm: LayerNorm,
    intermediate: Dense,
    output: Dense,
    output_norm: LayerNorm,
}

/// A BERT encoder with its weights loaded.
#[derive(Debug)]
pub struct Bert {
    word_embeddings: Embedding,
    position_embeddings: Tensor,
    token_type_embedding: Tensor,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    activation: Activation,
}

fn layer_norm(vb: VarBuilder, size: usize, eps: f64) -> candle_core::Result<LayerNorm> {
    candle_nn::layer_norm(size, eps, vb)
}

impl Bert {
    /// Loads the weights named as in Hugging Face's `BertModel` (with or without a `bert.`
    /// prefix) from `vb`.
    pub fn load(vb: VarBuilder, config: &BertConfig) -> candle_core::Result<Self> {
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else {
            vb.pp("bert")
        };
        let hidden = config.hidden_size;
        let eps = config.layer_norm_eps;
        let emb = vb.pp("embeddings");
        let word_embeddings =
            candle_nn::embedding(config.vocab_size, hidden, emb.pp("word_embeddings"))?;
        let position_embeddings = emb.get(
            (config.max_position_embeddings, hidden),
            "position_embeddings.weight",
        )?;
        let token_type_embedding = emb
            .get(
                (config.type_vocab_size, hidden),
                "token_type_embeddings.weight",
            )?
            .get(0)?;
        let embeddings_norm = layer_norm(emb.pp("LayerNorm"), hidden, eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let vb = vb.pp(format!("encoder.layer.{i}"));
            let attention = vb.pp("attention");
            let this = attention.pp("self");
            let qkv = Dense::fused(&[
                Dense::load(&this.pp("query"), hidden, hidden)?,
                Dense::load(&this.pp("key"), hidden, hidden)?,
                Dense::load(&this.pp("value"), hidden, hidden)?,
            ])?;
            layers.push(Layer {
                qkv,
                attention_out: Dense::load(&attention.pp("output.dense"), hidden, hidden)?,
                attention_norm: layer_norm(attention.pp("output.LayerNorm"), hidden, eps)?,
                intermediate: Dense::load(
                    &vb.pp("intermediate.dense"),
                    hidden,
                    config.intermediate_size,
                )?,
                output: Dense::load(&vb.pp("output.dense"), config.intermediate_size, hidden)?,
                output_norm: layer_norm(vb.pp("output.LayerNorm"), hidden, eps)?,
            });
        }
        let activation = config.activation().map_err(candle_core::Error::Msg)?;
        Ok(Self {
            word_embeddings,
            position_embeddings,
            token_type_embedding,
            embeddings_norm,
            layers,
            heads: config.num_attention_heads,
            head_dim: hidden / config.num_attention_heads,
            activation,
        })
    }

    /// Hidden states `(batch, len, hidden)` of `ids` `(batch, len)`, where `mask_bias`
    /// `(batch, len)` is 0 for real tokens and a large negative number for padding. Every
    /// token has token type 0.
    pub fn forward(&self, ids: &Tensor, mask_bias: &Tensor) -> candle_core::Result<Tensor> {
        let (batch, len) = ids.dims2()?;
        let positions = self.position_embeddings.narrow(0, 0, len)?;
        let mut x = self
            .word_embeddings
            .forward(ids)?
            .broadcast_add(&positions)?
            .broadcast_add(&self.token_type_embedding)?;
        x = self.embeddings_norm.forward(&x)?;
        let bias = mask_bias.reshape((batch, 1, 1, len))?;
        for layer in &self.layers {
            x = self.layer_forward(layer, &x, &bias)?;
        }
        Ok(x)
    }

    fn layer_forward(
        &self,
        layer: &Layer,
        x: &Tensor,
        bias: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let (batch, len, hidden) = x.dims3()?;
        let qkv = layer
            .qkv
            .forward(x)?
            .reshape((batch, len, 3, self.heads, self.head_dim))?
            .permute((2, 0, 3, 1, 4))?;
        let q = qkv.get(0)?.contiguous()?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let scores = q.matmul(&k.t()?)?.affine(scale, 0.0)?.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores)?;
        let context = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .reshape((batch, len, hidden))?;
        let attended = layer
            .attention_norm
            .forward(&(layer.attention_out.forward(&context)? + x)?)?;
        let inner = self
            .activation
            .apply(&layer.intermediate.forward(&attended)?)?;
        layer
            .output_norm
            .forward(&(layer.output.forward(&inner)? + attended)?)
    }
}

/// Builds the inputs of [`Bert::forward`] for token id sequences, padding each to the
/// longest.
pub fn batch_inputs(
    sequences: &[&[u32]],
    device: &Device,
) -> candle_core::Result<(Tensor, Tensor, Vec<f32>)> {
    let batch = sequences.len();
    let len = sequences.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut ids = vec![0u32; batch * len];
    let mut bias = vec![f32::MIN; batch * len];
    let mut mask = vec![0f32; batch * len];
    for (row, sequence) in sequences.iter().enumerate() {
        let start = row * len;
        ids[start..start + sequence.len()].copy_from_slice(sequence);
        bias[start..start + sequence.len()].fill(0.0);
        mask[start..start + sequence.len()].fill(1.0);
    }
    Ok((
        Tensor::from_vec(ids, (batch, len), device)?,
        Tensor::from_vec(bias, (batch, len), device)?,
        mask,
    ))
}

/// Mean of the hidden states of real tokens, per sequence: `(batch, len, hidden)` and a
/// `(batch, len)` 0/1 mask give `(batch, hidden)`.
pub fn mean_pool(hidden: &Tensor, mask: &[f32]) -> candle_core::Result<Tensor> {
    let (batch, len, _) = hidden.dims3()?;
    let mask = Tensor::from_slice(mask, (batch, len, 1), hidden.device())?;
    let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
    hidden.broadcast_mul(&mask)?.sum(1)?.broadcast_div(&counts)
}

/// The hidden state of each sequence's first token (`[CLS]`): `(batch, hidden)`.
pub fn cls_pool(hidden: &Tensor) -> candle_core::Result<Tensor> {
    hidden.narrow(1, 0, 1)?.squeeze(1)
}
