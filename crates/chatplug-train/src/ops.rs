//! Building blocks written with candle ops that record a backward graph.
//!
//! candle-nn's fused `softmax_last_dim`, `rms_norm` and `layer_norm` (what inference uses)
//! record no backward: gradients upstream of them would silently vanish. Everything here is
//! composed of differentiable primitives, in the order of HF's arithmetic, or on the CPU
//! one of `fused`'s kernels with a hand-written backward of the same arithmetic.

use candle_core::{DType, Device, Tensor, D};
use rand::Rng;

use crate::fused;

/// Whether the fused CPU kernels apply: f32 tensors on the CPU.
pub fn fusable(tensors: &[&Tensor]) -> bool {
    tensors.iter().all(|t| matches!(t.device(), Device::Cpu) && t.dtype() == DType::F32)
}

/// `x @ w^T` over the last dimension of `x` (any rank ≥ 2), `w` as stored: (out, in).
pub fn linear(x: &Tensor, w: &Tensor) -> candle_core::Result<Tensor> {
    if fusable(&[x, w]) {
        return x.contiguous()?.apply_op2(&w.contiguous()?, fused::Linear);
    }
    let dims = x.dims().to_vec();
    let in_dim = dims[dims.len() - 1];
    let rows = x.elem_count() / in_dim;
    let y = x.reshape((rows, in_dim))?.matmul(&w.t()?)?;
    let mut out = dims;
    *out.last_mut().unwrap() = w.dim(0)?;
    y.reshape(out)
}

/// HF `T5LayerNorm`: `weight * x / sqrt(mean(x²) + eps)`, no mean subtraction, no bias.
pub fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64) -> candle_core::Result<Tensor> {
    if fusable(&[x, weight]) {
        return x.contiguous()?.apply_op2(&weight.contiguous()?, fused::RmsNorm { eps: eps as f32 });
    }
    let variance = x.sqr()?.mean_keepdim(D::Minus1)?;
    let scale = (variance + eps)?.sqrt()?.recip()?;
    x.broadcast_mul(&scale)?.broadcast_mul(weight)
}

/// Softmax over the last dimension. The row maximum is subtracted for range only; it is
/// detached because softmax does not depend on it (its gradient through it is zero).
pub fn softmax(x: &Tensor) -> candle_core::Result<Tensor> {
    if fusable(&[x]) {
        return x.contiguous()?.apply_op1(fused::Softmax);
    }
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    let sum = e.sum_keepdim(D::Minus1)?;
    e.broadcast_div(&sum)
}

/// HF `gelu_new` (the tanh approximation; candle's `gelu`).
pub fn gelu_tanh(x: &Tensor) -> candle_core::Result<Tensor> {
    if fusable(&[x]) {
        return x.contiguous()?.apply_op1(fused::Gelu);
    }
    x.gelu()
}

/// `gelu_new(a) ⊙ b`, T5's gated feed-forward.
pub fn gated_gelu_tanh(a: &Tensor, b: &Tensor) -> candle_core::Result<Tensor> {
    if fusable(&[a, b]) && a.dims() == b.dims() {
        return a.contiguous()?.apply_op2(&b.contiguous()?, fused::GatedGelu);
    }
    a.gelu()? * b
}

/// Mean cross-entropy of `logits` (rows, vocab) against `labels` (rows, 1) over the rows
/// where `mask` (rows,) is 1: HF's `CrossEntropyLoss(ignore_index=-100)`.
/// Returns the scalar loss.
pub fn masked_cross_entropy(
    logits: &Tensor,
    labels: &Tensor,
    mask: &Tensor,
    count: usize,
) -> candle_core::Result<Tensor> {
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&max)?;
    let log_sum = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    let picked = shifted.gather(labels, D::Minus1)?; // (rows, 1)
    let nll = (log_sum - picked)?.squeeze(D::Minus1)?; // (rows,)
    (nll * mask)?.sum_all()? / count.max(1) as f64
}

/// Inverted dropout with our own seeded generator (reproducible, resumable): keeps each
/// element with probability `1 - p` and scales it by `1 / (1 - p)`.
pub struct Dropout<'a, R: Rng> {
    pub p: f64,
    pub rng: &'a mut R,
}

impl<R: Rng> Dropout<'_, R> {
    pub fn apply(&mut self, x: &Tensor) -> candle_core::Result<Tensor> {
        if self.p <= 0.0 {
            return Ok(x.clone());
        }
        let scale = (1.0 / (1.0 - self.p)) as f32;
        // Dropped when a uniform 32-bit draw falls below p·2³².
        let threshold = (self.p * 4_294_967_296.0) as u64;
        let mask: Vec<f32> = (0..x.elem_count())
            .map(|_| if (self.rng.next_u32() as u64) < threshold { 0.0 } else { scale })
            .collect();
        let mask = Tensor::from_vec(mask, x.dims(), &Device::Cpu)?
            .to_device(x.device())?
            .to_dtype(x.dtype())?;
        x.mul(&mask)
    }
}

/// A scalar's value (for logging).
pub fn scalar(t: &Tensor) -> candle_core::Result<f64> {
    t.to_dtype(DType::F64)?.to_scalar::<f64>()
}
