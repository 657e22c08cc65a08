//! T5 multi-head attention: encoder self-attention over padded passages, the decoder's
//! cached causal self-attention, and cross-attention over the fused FiD encoder output.

use candle_core::{Tensor, D};

use crate::config::T5Config;
use crate::error::Result;
use crate::layers::{softmax_last_dim, Linear};
use crate::weights::WeightStore;

pub struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    num_heads: usize,
    d_kv: usize,
}

/// Keys and values of one attention layer, laid out (batch, heads, positions, d_kv).
#[derive(Clone)]
pub struct KeyValue {
    pub keys: Tensor,
    pub values: Tensor,
}

/// Cross-attention memory of one decoder layer for one request: keys stored transposed,
/// (1, heads, d_kv, fused_len), so each step's score product reads them without repacking.
pub struct CrossMemory {
    keys_t: Tensor,
    values: Tensor,
}

impl Attention {
    pub fn load(store: &mut WeightStore, prefix: &str, config: &T5Config) -> Result<Self> {
        let (d, inner) = (config.d_model, config.inner_dim());
        Ok(Attention {
            q: Linear::load(store, &format!("{prefix}.q"), inner, d)?,
            k: Linear::load(store, &format!("{prefix}.k"), inner, d)?,
            v: Linear::load(store, &format!("{prefix}.v"), inner, d)?,
            o: Linear::load(store, &format!("{prefix}.o"), d, inner)?,
            num_heads: config.num_heads,
            d_kv: config.d_kv,
        })
    }

    fn split_heads(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        split_heads(x, self.num_heads, self.d_kv)
    }

    /// Projects the fused encoder output into this layer's cross-attention memory.
    pub fn project_memory(&self, x: &Tensor) -> candle_core::Result<CrossMemory> {
        let kv = self.project_key_value(x)?;
        Ok(CrossMemory {
            keys_t: kv.keys.t()?.contiguous()?,
            values: kv.values,
        })
    }

    pub fn project_key_value(&self, x: &Tensor) -> candle_core::Result<KeyValue> {
        Ok(KeyValue {
            keys: self.split_heads(&self.k.forward(x)?)?,
            values: self.split_heads(&self.v.forward(x)?)?,
        })
    }

    /// Full self-attention (encoder). `bias` is position bias plus padding mask,
    /// broadcastable to (batch, heads, len, len). T5 does not scale the scores.
    pub fn forward_full(&self, x: &Tensor, bias: &Tensor) -> candle_core::Result<Tensor> {
        let q = self.split_heads(&self.q.forward(x)?)?;
        let kv = self.project_key_value(x)?;
        let scores = q.matmul(&kv.keys.t()?)?.broadcast_add(bias)?;
        let weights = softmax_last_dim(&scores)?;
        self.o.forward(&merge_heads(&weights.matmul(&kv.values)?)?)
    }

    /// One decoding step of causal self-attention. `x` is (batch, 1, d_model); the step's key
    /// and value are appended to `cache`; `bias` is (1, heads, 1, positions).
    pub fn forward_step(
        &self,
        x: &Tensor,
        cache: &mut Option<KeyValue>,
        bias: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let rows = x.dim(0)?;
        self.forward_steps(x, &mut [StepGroup { rows, cache, bias }])
    }

    /// [`Self::forward_step`] for the hypotheses of several requests, stacked in `x` in the
    /// order of `groups`: the projections run once over all rows (one pass over the
    /// weights), the attention per request over its own cache with its own position bias.
    pub fn forward_steps(&self, x: &Tensor, groups: &mut [StepGroup<'_>]) -> candle_core::Result<Tensor> {
        let q = self.split_heads(&self.q.forward(x)?)?;
        let kv = self.project_key_value(x)?;
        let mut attended = Vec::with_capacity(groups.len());
        let mut start = 0;
        for group in groups.iter_mut() {
            let step = KeyValue {
                keys: kv.keys.narrow(0, start, group.rows)?,
                values: kv.values.narrow(0, start, group.rows)?,
            };
            let kv = append(group.cache, step)?;
            let scores = q.narrow(0, start, group.rows)?.matmul(&kv.keys.t()?)?.broadcast_add(group.bias)?;
            attended.push(softmax_last_dim(&scores)?.matmul(&kv.values)?);
            start += group.rows;
        }
        self.o.forward(&merge_heads(&Tensor::cat(&attended, 0)?)?)
    }

    /// Cross-attention of every hypothesis over one shared encoder output.
    ///
    /// `memory` holds keys/values of shape (1, heads, fused_len, d_kv), computed once per
    /// request. The hypotheses are folded into the query axis, so all of them attend with a
    /// single matmul and the memory is never copied per beam. `mask` is (1, 1, 1, fused_len).
    pub fn forward_cross(
        &self,
        x: &Tensor,
        memory: &CrossMemory,
        mask: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let rows = x.dim(0)?;
        self.forward_cross_many(x, &[CrossGroup { rows, memory, mask }])
    }

    /// [`Self::forward_cross`] for the hypotheses of several requests stacked in `x`, each
    /// over its own encoder output; the projections run once over all rows.
    pub fn forward_cross_many(&self, x: &Tensor, groups: &[CrossGroup<'_>]) -> candle_core::Result<Tensor> {
        let q = self.q.forward(x)?;
        let mut attended = Vec::with_capacity(groups.len());
        let mut start = 0;
        for group in groups {
            let queries = q.narrow(0, start, group.rows)?;
            attended.push(attend_memory(&queries, &group.memory.keys_t, &group.memory.values, group.mask, self.num_heads)?);
            start += group.rows;
        }
        self.o.forward(&Tensor::cat(&attended, 0)?)
    }
}

/// One request's rows in a batched self-attention step: how many hypotheses, their cache,
/// their (1, heads, 1, positions) position bias.
pub struct StepGroup<'a> {
    pub rows: usize,
    pub cache: &'a mut Option<KeyValue>,
    pub bias: &'a Tensor,
}

/// One request's rows in a batched cross-attention step: how many hypotheses, the
/// request's encoder memory and its (1, 1, 1, fused_len) mask.
pub struct CrossGroup<'a> {
    pub rows: usize,
    pub memory: &'a CrossMemory,
    pub mask: &'a Tensor,
}

/// (batch, len, heads*head_dim) → (batch, heads, len, head_dim)
pub(crate) fn split_heads(x: &Tensor, heads: usize, head_dim: usize) -> candle_core::Result<Tensor> {
    let (b, l, _) = x.dims3()?;
    x.reshape((b, l, heads, head_dim))?.transpose(1, 2)?.contiguous()
}

/// (batch, heads, len, head_dim) → (batch, len, heads*head_dim)
pub(crate) fn merge_heads(x: &Tensor) -> candle_core::Result<Tensor> {
    let (b, h, l, k) = x.dims4()?;
    x.transpose(1, 2)?.contiguous()?.reshape((b, l, h * k))
}

/// Appends one decoding step's keys and values to a self-attention cache; returns the
/// whole cache (the tensors are shared, not copied).
pub(crate) fn append(cache: &mut Option<KeyValue>, step: KeyValue) -> candle_core::Result<KeyValue> {
    let kv = match cache.take() {
        None => step,
        Some(past) => KeyValue {
            keys: Tensor::cat(&[&past.keys, &step.keys], 2)?,
            values: Tensor::cat(&[&past.values, &step.values], 2)?,
        },
    };
    *cache = Some(kv.clone());
    Ok(kv)
}

/// Cross-attention of every hypothesis over one shared memory: the queries
/// (batch, 1, heads*head_dim) are folded into the query axis, so all hypotheses attend
/// with a single matmul against keys (1, heads, head_dim, positions) and values
/// (1, heads, positions, head_dim) that are never copied per beam. `mask` is
/// (1, 1, 1, positions). Returns the attended values, (batch, 1, heads*head_dim), before
/// the output projection.
pub(crate) fn attend_memory(
    queries: &Tensor,
    keys_t: &Tensor,
    values: &Tensor,
    mask: &Tensor,
    heads: usize,
) -> candle_core::Result<Tensor> {
    let (batch, _, inner) = queries.dims3()?;
    let head_dim = inner / heads;
    // (batch, 1, inner) → (1, heads, batch, head_dim)
    let q = queries
        .reshape((batch, heads, head_dim))?
        .transpose(0, 1)?
        .unsqueeze(0)?
        .contiguous()?;
    let attended = match crate::kernels::attend_rows(&q, keys_t, values, mask)? {
        Some(attended) => attended,
        None => softmax_last_dim(&q.matmul(keys_t)?.broadcast_add(mask)?)?.matmul(values)?,
    }; // (1, heads, batch, head_dim)
    attended
        .squeeze(0)?
        .transpose(0, 1)?
        .contiguous()?
        .reshape((batch, 1, inner))
}

/// Picks rows of a cache after beam reordering.
pub fn reorder(cache: &mut Option<KeyValue>, rows: &Tensor) -> candle_core::Result<()> {
    if let Some(kv) = cache.as_mut() {
        kv.keys = kv.keys.index_select(rows, 0)?;
        kv.values = kv.values.index_select(rows, 0)?;
    }
    Ok(())
}

/// Last-axis length of a key/value cache.
pub fn cached_len(cache: &Option<KeyValue>) -> candle_core::Result<usize> {
    match cache {
        None => Ok(0),
        Some(kv) => kv.keys.dim(D::Minus2),
    }
}
