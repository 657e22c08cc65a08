//! The FiD-T5 forward pass for training: HF `T5ForConditionalGeneration` with FiD's fusion,
//! over a whole micro-batch with teacher forcing, every op recording its backward.
//!
//! Same numerics as the engine's inference model (`chatplug_model::FidT5`), which is
//! optimised for decoding one token at a time and has no backward.

use std::sync::Arc;

use candle_core::{Device, Tensor};
use chatplug_model::config::Activation;
use chatplug_model::T5Config;
use rand::Rng;

use crate::batch::{FidBatch, MASKED};
use crate::error::Result;
use crate::fused_attention::Attention;
use crate::ops::{self, Dropout};
use crate::params::Parameters;

/// Dropout during training; `None` (evaluation) disables it.
pub type MaybeDropout<'a, R> = Option<Dropout<'a, R>>;

fn drop<R: Rng>(dropout: &mut MaybeDropout<'_, R>, x: Tensor) -> candle_core::Result<Tensor> {
    match dropout {
        Some(d) => d.apply(&x),
        None => Ok(x),
    }
}

pub struct FidT5Train<'p> {
    pub config: &'p T5Config,
    pub params: &'p Parameters,
    device: Device,
}

/// What a forward pass over a micro-batch gives.
pub struct ForwardOutput {
    /// Scalar mean cross-entropy over the batch's label tokens.
    pub loss: Tensor,
    /// (batch·target_len, vocab) logits.
    pub logits: Tensor,
}

impl<'p> FidT5Train<'p> {
    pub fn new(config: &'p T5Config, params: &'p Parameters, device: &Device) -> Self {
        FidT5Train { config, params, device: device.clone() }
    }

    fn p(&self, name: &str) -> &Tensor {
        self.params.get(name)
    }

    pub fn forward<R: Rng>(&self, batch: &FidBatch, mut dropout: MaybeDropout<'_, R>) -> Result<ForwardOutput> {
        let c = self.config;
        let d = c.d_model;
        let shared = self.p("shared.weight");

        // Without dropout on the attention weights, each attention is one fused node
        // (`fused_attention`); with it, the composite graph applies the dropout in between.
        let fused = dropout.as_ref().is_none_or(|d| d.p <= 0.0) && ops::fusable(&[shared]);

        // Encoder over every passage of every example at once.
        let len = batch.passage_len;
        let enc_terms = ScoreTerms {
            position: Some(self.position_bias("encoder.block.0.layer.0.SelfAttention", len, len, true)?.contiguous()?),
            key_mask: Some(batch.encoder_mask.clone()),
            causal: None,
        }
        .prepared(fused)?;
        let mut hidden = embed(shared, &batch.encoder_ids)?;
        hidden = drop(&mut dropout, hidden)?;
        for i in 0..c.num_layers {
            let p = format!("encoder.block.{i}.layer");
            let normed = ops::rms_norm(&hidden, self.p(&format!("{p}.0.layer_norm.weight")), c.layer_norm_epsilon)?;
            let attn = self.attention(&format!("{p}.0.SelfAttention"), &normed, &normed, &enc_terms, &mut dropout)?;
            hidden = (hidden + drop(&mut dropout, attn)?)?;
            let normed = ops::rms_norm(&hidden, self.p(&format!("{p}.1.layer_norm.weight")), c.layer_norm_epsilon)?;
            let ff = self.feed_forward(&format!("{p}.1.DenseReluDense"), &normed, &mut dropout)?;
            hidden = (hidden + drop(&mut dropout, ff)?)?;
        }
        let hidden = ops::rms_norm(&hidden, self.p("encoder.final_layer_norm.weight"), c.layer_norm_epsilon)?;
        let hidden = drop(&mut dropout, hidden)?;
        // Fusion: each example's passages side by side, (batch, passages·len, d).
        let memory = hidden.reshape((batch.batch, batch.passages * len, d))?;

        // Decoder, teacher-forced over the whole target.
        let t = batch.target_len;
        let causal: Vec<f32> = (0..t)
            .flat_map(|q| (0..t).map(move |k| if k > q { MASKED } else { 0.0 }))
            .collect();
        let causal = Tensor::from_vec(causal, (1, 1, t, t), &self.device)?;
        let self_terms = ScoreTerms {
            position: Some(self.position_bias("decoder.block.0.layer.0.SelfAttention", t, t, false)?.contiguous()?),
            key_mask: None,
            causal: Some(causal),
        }
        .prepared(fused)?;
        let cross_terms = ScoreTerms { position: None, key_mask: Some(batch.cross_mask.clone()), causal: None }.prepared(fused)?;
        let mut hidden = embed(shared, &batch.decoder_ids)?;
        hidden = drop(&mut dropout, hidden)?;
        for i in 0..c.num_decoder_layers {
            let p = format!("decoder.block.{i}.layer");
            let eps = c.layer_norm_epsilon;
            let normed = ops::rms_norm(&hidden, self.p(&format!("{p}.0.layer_norm.weight")), eps)?;
            let attn = self.attention(&format!("{p}.0.SelfAttention"), &normed, &normed, &self_terms, &mut dropout)?;
            hidden = (hidden + drop(&mut dropout, attn)?)?;
            let normed = ops::rms_norm(&hidden, self.p(&format!("{p}.1.layer_norm.weight")), eps)?;
            let cross = self.attention(&format!("{p}.1.EncDecAttention"), &normed, &memory, &cross_terms, &mut dropout)?;
            hidden = (hidden + drop(&mut dropout, cross)?)?;
            let normed = ops::rms_norm(&hidden, self.p(&format!("{p}.2.layer_norm.weight")), eps)?;
            let ff = self.feed_forward(&format!("{p}.2.DenseReluDense"), &normed, &mut dropout)?;
            hidden = (hidden + drop(&mut dropout, ff)?)?;
        }
        let hidden = ops::rms_norm(&hidden, self.p("decoder.final_layer_norm.weight"), c.layer_norm_epsilon)?;
        let hidden = drop(&mut dropout, hidden)?.reshape((batch.batch * t, d))?;
        let logits = if c.tie_word_embeddings {
            // T5 rescales before the tied output projection.
            ops::linear(&(hidden * (d as f64).powf(-0.5))?, shared)?
        } else {
            ops::linear(&hidden, self.p("lm_head.weight"))?
        };
        let loss = ops::masked_cross_entropy(&logits, &batch.labels, &batch.label_mask, batch.label_tokens)?;
        Ok(ForwardOutput { loss, logits })
    }

    /// (1, heads, q_len, k_len) relative position bias from a stack's block-0 table.
    fn position_bias(&self, prefix: &str, q_len: usize, k_len: usize, bidirectional: bool) -> Result<Tensor> {
        let c = self.config;
        let buckets = c.position_buckets(q_len, k_len, 0, bidirectional);
        let buckets = Tensor::from_vec(buckets, q_len * k_len, &self.device)?;
        let table = self.p(&format!("{prefix}.relative_attention_bias.weight"));
        Ok(table
            .index_select(&buckets, 0)? // (q·k, heads)
            .reshape((q_len, k_len, c.num_heads))?
            .permute((2, 0, 1))?
            .unsqueeze(0)?)
    }

    /// T5 attention without score scaling: `softmax(q kᵀ + terms) v`, then `o`.
    fn attention<R: Rng>(
        &self,
        prefix: &str,
        x: &Tensor,
        memory: &Tensor,
        terms: &PreparedTerms,
        dropout: &mut MaybeDropout<'_, R>,
    ) -> Result<Tensor> {
        let c = self.config;
        let (b, q_len, _) = x.dims3()?;
        let k_len = memory.dim(1)?;
        let q = ops::linear(x, self.p(&format!("{prefix}.q.weight")))?;
        let out = match terms {
            PreparedTerms::Fused { position, key_mask, causal } => {
                // Keys and values in one product: (b, k_len, 2·inner).
                let wkv = Tensor::cat(&[self.p(&format!("{prefix}.k.weight")), self.p(&format!("{prefix}.v.weight"))], 0)?;
                let kv = ops::linear(memory, &wkv)?;
                let op = Attention::new(c.num_heads, c.d_kv, key_mask.clone(), *causal);
                match position {
                    Some(position) => q.apply_op3(&kv, position, op)?,
                    None => q.apply_op2(&kv, op)?,
                }
            }
            PreparedTerms::Summed(bias) => {
                let heads = |t: Tensor, len: usize| -> candle_core::Result<Tensor> {
                    t.reshape((b, len, c.num_heads, c.d_kv))?.transpose(1, 2)?.contiguous()
                };
                let q = heads(q, q_len)?;
                let k = heads(ops::linear(memory, self.p(&format!("{prefix}.k.weight")))?, k_len)?;
                let v = heads(ops::linear(memory, self.p(&format!("{prefix}.v.weight")))?, k_len)?;
                let scores = q.matmul(&k.t()?.contiguous()?)?.broadcast_add(bias)?;
                let weights = drop(dropout, ops::softmax(&scores)?)?;
                weights
                    .matmul(&v)? // (b, heads, q_len, d_kv)
                    .transpose(1, 2)?
                    .contiguous()?
                    .reshape((b, q_len, c.inner_dim()))?
            }
        };
        Ok(ops::linear(&out, self.p(&format!("{prefix}.o.weight")))?)
    }

    fn feed_forward<R: Rng>(&self, prefix: &str, x: &Tensor, dropout: &mut MaybeDropout<'_, R>) -> Result<Tensor> {
        let c = self.config;
        let hidden = if c.is_gated {
            let gate = ops::linear(x, self.p(&format!("{prefix}.wi_0.weight")))?;
            let up = ops::linear(x, self.p(&format!("{prefix}.wi_1.weight")))?;
            match c.activation {
                Activation::GeluTanh => ops::gated_gelu_tanh(&gate, &up)?,
                activation => (activate(&gate, activation)? * up)?,
            }
        } else {
            activate(&ops::linear(x, self.p(&format!("{prefix}.wi.weight")))?, c.activation)?
        };
        let hidden = drop(dropout, hidden)?;
        Ok(ops::linear(&hidden, self.p(&format!("{prefix}.wo.weight")))?)
    }
}

fn embed(table: &Tensor, ids: &Tensor) -> candle_core::Result<Tensor> {
    let mut dims = ids.dims().to_vec();
    let flat = table.index_select(&ids.flatten_all()?, 0)?;
    dims.push(table.dim(1)?);
    flat.reshape(dims)
}

fn activate(x: &Tensor, activation: Activation) -> candle_core::Result<Tensor> {
    match activation {
        Activation::Relu => x.relu(),
        Activation::GeluErf => x.gelu_erf(),
        Activation::GeluTanh => ops::gelu_tanh(x),
        Activation::Silu => x.silu(),
    }
}

/// What one kind of attention adds to its scores, before either path is chosen.
struct ScoreTerms {
    /// (1, heads, q_len, k_len) relative position bias, contiguous.
    position: Option<Tensor>,
    /// (rows, 1, 1, k_len) padding over the keys, 0 or `MASKED`.
    key_mask: Option<Tensor>,
    /// (1, 1, t, t) causal mask of the decoder's self-attention.
    causal: Option<Tensor>,
}

/// The terms as the chosen path takes them.
enum PreparedTerms {
    /// Separate, for `fused_attention::Attention`.
    Fused { position: Option<Tensor>, key_mask: Option<Arc<Vec<f32>>>, causal: bool },
    /// Summed into one tensor that broadcasts over the scores (bias first, then the mask,
    /// as HF adds them).
    Summed(Tensor),
}

impl ScoreTerms {
    fn prepared(self, fused: bool) -> candle_core::Result<PreparedTerms> {
        if fused {
            return Ok(PreparedTerms::Fused {
                position: self.position,
                key_mask: match self.key_mask {
                    Some(mask) => Some(Arc::new(mask.flatten_all()?.to_vec1::<f32>()?)),
                    None => None,
                },
                causal: self.causal.is_some(),
            });
        }
        let mask = match (self.key_mask, self.causal) {
            (Some(mask), None) => Some(mask),
            (None, Some(causal)) => Some(causal),
            (None, None) => None,
            (Some(_), Some(_)) => candle_core::bail!("an attention has either a key mask or a causal mask"),
        };
        Ok(PreparedTerms::Summed(match (self.position, mask) {
            (Some(position), Some(mask)) => position.broadcast_add(&mask)?,
            (Some(position), None) => position,
            (None, Some(mask)) => mask,
            (None, None) => candle_core::bail!("an attention without position bias or mask"),
        }))
    }
}
