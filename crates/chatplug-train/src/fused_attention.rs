//! T5 attention for training as one graph node: `softmax(q kᵀ + bias) v` for every head,
//! with a hand-written backward.
//!
//! Composed of candle ops, one attention is about fifteen graph nodes (head reshapes,
//! transposes, copies, two batched matmuls, the bias add, softmax), several of them the size
//! of the score matrix. candle's backward adds every node's gradient into a fresh zero tensor
//! (a memset and an add over it), and its batched matmul hands each head's small gemm to
//! the whole thread pool in turn. In a profile of the demo run (2 threads) those
//! accumulation passes took about 14 % of a step and the pool's spinning about 9 %. Here an
//! attention is one node, and each (example, head) pair is one task whose gemms run
//! single-threaded while the tasks spread over the threads.
//!
//! Inputs are the projections as the linear maps give them, heads side by side in a row:
//! `q` (batch, q_len, heads·d_kv) and `kv` (batch, k_len, 2·heads·d_kv), keys then values
//! (the two maps applied as one). The additive terms are, as in HF's T5: the relative
//! position bias (1, heads, q_len, k_len), which is learnt (an input, with a gradient),
//! plus either a key mask (padding, `MASKED`) or the causal mask, which are constants held
//! by the op. Softmax arithmetic is `fused::Softmax`'s; the probabilities are kept for the
//! backward, as the composite graph keeps its softmax output.

use std::sync::{Arc, Mutex};

use candle_core::{bail, CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::batch::MASKED;
use crate::fused::{self, View};

/// Attention over heads; `apply_op3(q, kv, position_bias)` or, without a learnt bias,
/// `apply_op2(q, kv)`.
pub struct Attention {
    heads: usize,
    d_kv: usize,
    /// (batch, k_len) additive mask over the keys, 0 or `MASKED`.
    key_mask: Option<Arc<Vec<f32>>>,
    /// Whether query `i` sees only keys `j ≤ i` (the decoder's self-attention).
    causal: bool,
    /// Softmax probabilities of the forward pass, (batch, heads, q_len, k_len).
    probs: Mutex<Option<Arc<Vec<f32>>>>,
}

impl Attention {
    pub fn new(heads: usize, d_kv: usize, key_mask: Option<Arc<Vec<f32>>>, causal: bool) -> Self {
        Attention { heads, d_kv, key_mask, causal, probs: Mutex::new(None) }
    }
}

/// Sizes of one call, checked against the inputs.
#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    heads: usize,
    d_kv: usize,
    q_len: usize,
    k_len: usize,
}

impl Dims {
    fn inner(&self) -> usize {
        self.heads * self.d_kv
    }
    fn scores(&self) -> usize {
        self.q_len * self.k_len
    }
}

/// A pointer that parallel tasks write through, each into its own (example, head) block.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    /// The pointer `offset` values on. (A method, so that closures capture the whole
    /// `Shared`, which is `Sync`, rather than its raw-pointer field.)
    ///
    /// # Safety
    /// `offset` must lie inside the buffer.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        self.0.add(offset)
    }
}

/// `dst = lhs · rhs` on one thread: the callers are parallel tasks.
///
/// # Safety
/// As `fused::matmul`.
unsafe fn matmul(m: usize, n: usize, k: usize, dst: View<*mut f32>, lhs: View<*const f32>, rhs: View<*const f32>) {
    fused::matmul(m, n, k, dst, lhs, rhs, 1)
}

impl Attention {
    fn dims(&self, q: &Layout, kv: &Layout, bias: Option<&Layout>) -> Result<Dims> {
        let (&[batch, q_len, q_width], &[kv_batch, k_len, kv_width]) = (q.dims(), kv.dims()) else {
            bail!("fused-attention: q {:?} and kv {:?} must have three dimensions", q.dims(), kv.dims());
        };
        let d = Dims { batch, heads: self.heads, d_kv: self.d_kv, q_len, k_len };
        if q_width != d.inner() || kv_width != 2 * d.inner() || kv_batch != batch {
            bail!(
                "fused-attention: q {:?} and kv {:?} do not fit {} heads of {}",
                q.dims(),
                kv.dims(),
                self.heads,
                self.d_kv
            );
        }
        if let Some(bias) = bias {
            if bias.dims() != [1, self.heads, q_len, k_len] {
                bail!("fused-attention: bias {:?}, expected {:?}", bias.dims(), [1, self.heads, q_len, k_len]);
            }
        }
        if let Some(mask) = &self.key_mask {
            if mask.len() != batch * k_len {
                bail!("fused-attention: key mask of {} values for {batch} rows of {k_len} keys", mask.len());
            }
        }
        if self.causal && q_len != k_len {
            bail!("fused-attention: causal attention over {q_len} queries and {k_len} keys");
        }
        Ok(d)
    }

    /// Output (batch, q_len, inner) and probabilities (batch, heads, q_len, k_len).
    fn forward(&self, d: Dims, q: &[f32], kv: &[f32], bias: Option<&[f32]>) -> (Vec<f32>, Vec<f32>) {
        let inner = d.inner();
        let mut out = vec![0f32; d.batch * d.q_len * inner];
        let mut probs = vec![0f32; d.batch * d.heads * d.scores()];
        let out_ptr = Shared(out.as_mut_ptr());
        probs.par_chunks_mut(d.scores()).enumerate().for_each(|(task, p)| {
            let (b, h) = (task / d.heads, task % d.heads);
            let q_bh = q[b * d.q_len * inner + h * d.d_kv..].as_ptr();
            let k_bh = kv[b * d.k_len * 2 * inner + h * d.d_kv..].as_ptr();
            let v_bh = kv[b * d.k_len * 2 * inner + inner + h * d.d_kv..].as_ptr();
            // SAFETY: views inside q, kv and this task's own block of `probs`.
            unsafe { matmul(d.q_len, d.k_len, d.d_kv, (p.as_mut_ptr(), d.k_len, 1), (q_bh, inner, 1), (k_bh, 1, 2 * inner)) };
            let bias_h = bias.map(|bias| &bias[h * d.scores()..(h + 1) * d.scores()]);
            let mask_b = self.key_mask.as_ref().map(|m| &m[b * d.k_len..(b + 1) * d.k_len]);
            for (i, row) in p.chunks_exact_mut(d.k_len).enumerate() {
                for (j, s) in row.iter_mut().enumerate() {
                    let position = bias_h.map_or(0.0, |bias| bias[i * d.k_len + j]);
                    let mask = if self.causal && j > i { MASKED } else { mask_b.map_or(0.0, |m| m[j]) };
                    // The composite graph adds the position bias and the mask first (a
                    // missing term is 0.0, which leaves the other as it is).
                    *s += position + mask;
                }
                softmax_in_place(row);
            }
            // SAFETY: out's block for (b, h): rows of example b, columns of head h.
            let o_bh = unsafe { out_ptr.at(b * d.q_len * inner + h * d.d_kv) };
            unsafe { matmul(d.q_len, d.d_kv, d.k_len, (o_bh, inner, 1), (p.as_ptr(), d.k_len, 1), (v_bh, 2 * inner, 1)) };
        });
        (out, probs)
    }

    /// Gradients of q, kv and the bias (summed over the examples) given the output's.
    fn backward(&self, d: Dims, q: &[f32], kv: &[f32], probs: &[f32], grad: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let inner = d.inner();
        let mut dq = vec![0f32; q.len()];
        let mut dkv = vec![0f32; kv.len()];
        let mut dbias = vec![0f32; d.heads * d.scores()];
        let (dq_ptr, dkv_ptr) = (Shared(dq.as_mut_ptr()), Shared(dkv.as_mut_ptr()));
        // One task a head: it owns its slice of the bias gradient and sums the examples into
        // it in order (the result does not depend on the thread count).
        dbias.par_chunks_mut(d.scores()).enumerate().for_each(|(h, dbias_h)| {
            let mut ds = vec![0f32; d.scores()];
            for b in 0..d.batch {
                let p = &probs[(b * d.heads + h) * d.scores()..][..d.scores()];
                let q_off = b * d.q_len * inner + h * d.d_kv;
                let k_off = b * d.k_len * 2 * inner + h * d.d_kv;
                let v_off = k_off + inner;
                let g_bh = grad[q_off..].as_ptr();
                // SAFETY: every view lies inside its buffer; the writes go to the blocks of
                // (b, h), which no other task touches.
                unsafe {
                    // dV = Pᵀ dO
                    matmul(d.k_len, d.d_kv, d.q_len, (dkv_ptr.at(v_off), 2 * inner, 1), (p.as_ptr(), 1, d.k_len), (g_bh, inner, 1));
                    // dP = dO Vᵀ
                    matmul(d.q_len, d.k_len, d.d_kv, (ds.as_mut_ptr(), d.k_len, 1), (g_bh, inner, 1), (kv[v_off..].as_ptr(), 1, 2 * inner));
                }
                // dS = P ⊙ (dP − Σ dP ⊙ P) per row, as fused::Softmax's backward.
                for (ds, p) in ds.chunks_exact_mut(d.k_len).zip(p.chunks_exact(d.k_len)) {
                    let dot: f32 = p.iter().zip(ds.iter()).map(|(p, g)| p * g).sum();
                    for (g, &p) in ds.iter_mut().zip(p) {
                        *g = p * (*g - dot);
                    }
                }
                for (total, s) in dbias_h.iter_mut().zip(&ds) {
                    *total += s;
                }
                unsafe {
                    // dQ = dS K, dK = dSᵀ Q
                    matmul(d.q_len, d.d_kv, d.k_len, (dq_ptr.at(q_off), inner, 1), (ds.as_ptr(), d.k_len, 1), (kv[k_off..].as_ptr(), 2 * inner, 1));
                    matmul(d.k_len, d.d_kv, d.q_len, (dkv_ptr.at(k_off), 2 * inner, 1), (ds.as_ptr(), 1, d.k_len), (q[q_off..].as_ptr(), inner, 1));
                }
            }
        });
        (dq, dkv, dbias)
    }

    fn run(&self, q: (&CpuStorage, &Layout), kv: (&CpuStorage, &Layout), bias: Option<(&CpuStorage, &Layout)>) -> Result<(CpuStorage, Shape)> {
        let d = self.dims(q.1, kv.1, bias.map(|b| b.1))?;
        let qv = fused::values(q.0, q.1, "fused-attention q")?;
        let kvv = fused::values(kv.0, kv.1, "fused-attention kv")?;
        let bv = bias.map(|(s, l)| fused::values(s, l, "fused-attention bias")).transpose()?;
        let (out, probs) = self.forward(d, qv, kvv, bv);
        *self.probs.lock().unwrap() = Some(Arc::new(probs));
        Ok((CpuStorage::F32(out), Shape::from((d.batch, d.q_len, d.inner()))))
    }

    /// The backward over tensors; the bias gradient only when there is a bias.
    fn grads(&self, q: &Tensor, kv: &Tensor, bias: Option<&Tensor>, grad: &Tensor) -> Result<(Tensor, Tensor, Option<Tensor>)> {
        let d = self.dims(q.layout(), kv.layout(), bias.map(|b| b.layout()))?;
        let mut tensors = vec![q, kv, grad];
        tensors.extend(bias);
        let (dq, dkv, dbias) = fused::with_values(&tensors, "fused-attention", |v| {
            let (q, kv, grad, bias) = (v[0], v[1], v[2], v.get(3).copied());
            let stashed = self.probs.lock().unwrap().clone();
            let probs = stashed.unwrap_or_else(|| Arc::new(self.forward(d, q, kv, bias).1));
            Ok(self.backward(d, q, kv, &probs, grad))
        })?;
        let dbias = bias.map(|b| fused::cpu_tensor(dbias, b.shape())).transpose()?;
        Ok((fused::cpu_tensor(dq, q.shape())?, fused::cpu_tensor(dkv, kv.shape())?, dbias))
    }
}

/// Softmax of one row in place, in `fused::Softmax`'s order.
fn softmax_in_place(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for x in row.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in row.iter_mut() {
        *x /= sum;
    }
}

impl CustomOp2 for Attention {
    fn name(&self) -> &'static str {
        "fused-attention"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        self.run((s1, l1), (s2, l2), None)
    }

    fn bwd(&self, q: &Tensor, kv: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dq, dkv, _) = self.grads(q, kv, None, grad)?;
        Ok((Some(dq), Some(dkv)))
    }
}

impl CustomOp3 for Attention {
    fn name(&self) -> &'static str {
        "fused-attention"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout, s3: &CpuStorage, l3: &Layout) -> Result<(CpuStorage, Shape)> {
        self.run((s1, l1), (s2, l2), Some((s3, l3)))
    }

    fn bwd(&self, q: &Tensor, kv: &Tensor, bias: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (dq, dkv, dbias) = self.grads(q, kv, Some(bias), grad)?;
        Ok((Some(dq), Some(dkv), dbias))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fused::tests::{check, randn};
    use candle_core::{Device, D};

    const HEADS: usize = 3;
    const D_KV: usize = 5;

    /// The composite graph `model.rs` uses with dropout: heads split out, `q kᵀ + bias`,
    /// softmax, `· v`, heads joined.
    fn composite(q: &Tensor, kv: &Tensor, bias: &Tensor) -> Tensor {
        let (b, q_len, inner) = q.dims3().unwrap();
        let k_len = kv.dim(1).unwrap();
        let heads = |t: Tensor, len: usize| t.reshape((b, len, HEADS, D_KV)).unwrap().transpose(1, 2).unwrap().contiguous().unwrap();
        let k = heads(kv.narrow(2, 0, inner).unwrap(), k_len);
        let v = heads(kv.narrow(2, inner, inner).unwrap(), k_len);
        let scores = heads(q.clone(), q_len).matmul(&k.t().unwrap().contiguous().unwrap()).unwrap().broadcast_add(bias).unwrap();
        let max = scores.max_keepdim(D::Minus1).unwrap().detach();
        let e = scores.broadcast_sub(&max).unwrap().exp().unwrap();
        let p = e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap();
        p.matmul(&v).unwrap().transpose(1, 2).unwrap().contiguous().unwrap().reshape((b, q_len, inner)).unwrap()
    }

    /// 0 or `MASKED` per key of each row: the last `pad[row]` keys are padding.
    fn key_mask(k_len: usize, pad: &[usize]) -> Vec<f32> {
        pad.iter().flat_map(|&p| (0..k_len).map(move |j| if j + p >= k_len { MASKED } else { 0.0 })).collect()
    }

    #[test]
    fn encoder_attention_equals_the_composite_graph() {
        // Row 2 is all padding (an empty passage slot): uniform weights, as in HF.
        let (rows, len) = (4, 7);
        let q = randn(&[rows, len, HEADS * D_KV], 1.0);
        let kv = randn(&[rows, len, 2 * HEADS * D_KV], 1.0);
        let bias = randn(&[1, HEADS, len, len], 1.0);
        let mask = key_mask(len, &[0, 2, len, 5]);
        let mask_t = Tensor::from_vec(mask.clone(), (rows, 1, 1, len), &Device::Cpu).unwrap();
        let mask = Arc::new(mask);
        check(
            &[q, kv, bias],
            |t| t[0].apply_op3(&t[1], &t[2], Attention::new(HEADS, D_KV, Some(mask.clone()), false)).unwrap(),
            |t| composite(&t[0], &t[1], &t[2].broadcast_add(&mask_t).unwrap()),
            1e-5,
        );
    }

    #[test]
    fn decoder_self_attention_equals_the_composite_graph() {
        let (b, t_len) = (3, 6);
        let q = randn(&[b, t_len, HEADS * D_KV], 1.0);
        let kv = randn(&[b, t_len, 2 * HEADS * D_KV], 1.0);
        let bias = randn(&[1, HEADS, t_len, t_len], 1.0);
        let causal: Vec<f32> = (0..t_len).flat_map(|i| (0..t_len).map(move |j| if j > i { MASKED } else { 0.0 })).collect();
        let causal = Tensor::from_vec(causal, (1, 1, t_len, t_len), &Device::Cpu).unwrap();
        check(
            &[q, kv, bias],
            |t| t[0].apply_op3(&t[1], &t[2], Attention::new(HEADS, D_KV, None, true)).unwrap(),
            |t| composite(&t[0], &t[1], &t[2].broadcast_add(&causal).unwrap()),
            1e-5,
        );
    }

    #[test]
    fn cross_attention_equals_the_composite_graph() {
        // Queries and keys of different lengths, a mask and no learnt bias.
        let (b, t_len, memory) = (2, 4, 9);
        let q = randn(&[b, t_len, HEADS * D_KV], 1.0);
        let kv = randn(&[b, memory, 2 * HEADS * D_KV], 1.0);
        let mask = key_mask(memory, &[3, 0]);
        let mask_t = Tensor::from_vec(mask.clone(), (b, 1, 1, memory), &Device::Cpu).unwrap();
        let mask = Arc::new(mask);
        check(
            &[q, kv],
            |t| t[0].apply_op2(&t[1], Attention::new(HEADS, D_KV, Some(mask.clone()), false)).unwrap(),
            |t| composite(&t[0], &t[1], &mask_t),
            1e-5,
        );
    }

    #[test]
    fn shapes_that_do_not_fit_are_refused() {
        let q = Tensor::zeros((2, 4, HEADS * D_KV), candle_core::DType::F32, &Device::Cpu).unwrap();
        let kv = Tensor::zeros((2, 4, HEADS * D_KV), candle_core::DType::F32, &Device::Cpu).unwrap();
        let err = q.apply_op2(&kv, Attention::new(HEADS, D_KV, None, false)).unwrap_err().to_string();
        assert!(err.contains("do not fit 3 heads of 5"), "{err}");
        let kv = Tensor::zeros((2, 5, 2 * HEADS * D_KV), candle_core::DType::F32, &Device::Cpu).unwrap();
        let err = q.apply_op2(&kv, Attention::new(HEADS, D_KV, None, true)).unwrap_err().to_string();
        assert!(err.contains("causal attention over 4 queries and 5 keys"), "{err}");
        let err = q.apply_op2(&kv, Attention::new(HEADS, D_KV, Some(Arc::new(vec![0.0; 3])), false)).unwrap_err().to_string();
        assert!(err.contains("key mask of 3 values for 2 rows of 5 keys"), "{err}");
    }
}
