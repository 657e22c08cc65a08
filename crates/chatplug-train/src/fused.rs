//! Fused CPU kernels for the training graph, each with its own hand-written backward.
//!
//! `ops` composes RMS norm, softmax and GELU from candle's primitive ops so that every step
//! records a backward. On the CPU that graph was measured slow: in a profile of the demo
//! run (2 threads) the gated GELU's forward alone (scalar `tanhf`) and its backward
//! (`powf`, `tanhf` and a dozen full-size temporaries) took about a fifth of a step, and
//! each norm or softmax is 5–8 passes over memory each way. The ops here do one pass
//! forward and one backward, with the derivative written out, and compute in f32 in the
//! order of the composite graph's arithmetic (the PyTorch parity tests guard them).
//! The linear map is one node instead of four (`Linear`); attention is one node too
//! (`fused_attention`).
//!
//! Every op takes contiguous f32 CPU tensors; `ops` routes other devices and dtypes to the
//! composite graph.

use candle_core::backend::BackendStorage;
use candle_core::{bail, CpuStorage, CustomOp1, CustomOp2, Device, Layout, Result, Shape, Storage, Tensor};
use gemm::{gemm, Parallelism};
use chatplug_model::kernels::{fast_tanh, gelu_new as gelu, GELU_CUBIC as CUBIC, GELU_SQRT_2_OVER_PI as SQRT_2_OVER_PI};
use rayon::prelude::*;

/// Elements per parallel task: big enough that scheduling costs nothing, small enough
/// that two threads share the work of one layer.
const TASK_ELEMENTS: usize = 1 << 14;

/// Whole rows per parallel task for rows of `width` elements.
fn rows_per_task(width: usize) -> usize {
    (TASK_ELEMENTS / width.max(1)).max(1)
}

/// The f32 values behind a contiguous CPU layout.
pub(crate) fn values<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(all) = storage else {
        bail!("{op}: expected f32 values, got {:?}", storage.dtype());
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&all[start..end]),
        None => bail!("{op}: expected a contiguous tensor"),
    }
}

/// Runs `f` over the f32 values of tensors (made contiguous first, when they are not).
pub(crate) fn with_values<R>(tensors: &[&Tensor], op: &str, f: impl FnOnce(&[&[f32]]) -> Result<R>) -> Result<R> {
    let tensors: Vec<Tensor> = tensors.iter().map(|t| t.contiguous()).collect::<Result<_>>()?;
    let guards: Vec<_> = tensors.iter().map(|t| t.storage_and_layout()).collect();
    let mut slices = Vec::with_capacity(guards.len());
    for (storage, layout) in &guards {
        let Storage::Cpu(storage) = &**storage else {
            bail!("{op}: expected a CPU tensor");
        };
        slices.push(values(storage, layout, op)?);
    }
    f(&slices)
}

pub(crate) fn cpu_tensor(values: Vec<f32>, shape: &Shape) -> Result<Tensor> {
    Tensor::from_vec(values, shape, &Device::Cpu)
}

/// A row-major matrix view: (pointer, row stride, column stride), in values.
pub(crate) type View<P> = (P, usize, usize);

/// `dst = lhs · rhs` for lhs (m, k), rhs (k, n), dst (m, n), with the `gemm` crate (what
/// candle's matmul calls).
///
/// # Safety
/// Every view must lie inside its buffer, and nothing else may touch `dst`'s elements
/// meanwhile.
pub(crate) unsafe fn matmul(m: usize, n: usize, k: usize, dst: View<*mut f32>, lhs: View<*const f32>, rhs: View<*const f32>, threads: usize) {
    let parallelism = if threads > 1 { Parallelism::Rayon(threads) } else { Parallelism::None };
    // gemm takes (column stride, row stride); dst = 0·dst + 1·lhs·rhs.
    gemm(
        m,
        n,
        k,
        dst.0,
        dst.2 as isize,
        dst.1 as isize,
        false,
        lhs.0,
        lhs.2 as isize,
        lhs.1 as isize,
        rhs.0,
        rhs.2 as isize,
        rhs.1 as isize,
        0.0,
        1.0,
        false,
        false,
        false,
        parallelism,
    )
}

// ---------------------------------------------------------------------------------------
// Linear map

/// `x wᵀ` over the last dimension of `x` (any rank ≥ 2), `w` as stored: (out, in). One
/// graph node where the composite `reshape · matmul(w.t()) · reshape` is four, and candle's
/// backward adds each node's gradient into a fresh zero tensor: two passes over the
/// activations and their memset saved a linear map.
pub struct Linear;

impl Linear {
    fn sizes(x: &[usize], w: &[usize]) -> Result<(usize, usize, usize)> {
        let (&[out, inp], Some(&last)) = (w, x.last()) else {
            bail!("fused-linear: weight {w:?} and input {x:?}");
        };
        if last != inp || x.len() < 2 {
            bail!("fused-linear: input {x:?} for a weight of {w:?}");
        }
        Ok((x.iter().product::<usize>() / inp.max(1), out, inp))
    }
}

impl CustomOp2 for Linear {
    fn name(&self) -> &'static str {
        "fused-linear"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let (rows, out, inp) = Linear::sizes(l1.dims(), l2.dims())?;
        let x = values(s1, l1, self.name())?;
        let w = values(s2, l2, self.name())?;
        let mut y = vec![0f32; rows * out];
        // SAFETY: the views cover exactly x (rows, in), wᵀ (in, out) and y (rows, out).
        unsafe { matmul(rows, out, inp, (y.as_mut_ptr(), out, 1), (x.as_ptr(), inp, 1), (w.as_ptr(), 1, inp), threads()) };
        let mut dims = l1.dims().to_vec();
        *dims.last_mut().unwrap() = out;
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }

    /// `dx = g w`, `dw = gᵀ x`.
    fn bwd(&self, x: &Tensor, w: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (rows, out, inp) = Linear::sizes(x.dims(), w.dims())?;
        let (dx, dw) = with_values(&[x, w, grad], self.name(), |v| {
            let (x, w, g) = (v[0], v[1], v[2]);
            let mut dx = vec![0f32; rows * inp];
            let mut dw = vec![0f32; out * inp];
            // SAFETY: the views cover exactly g (rows, out), w (out, in), gᵀ (out, rows),
            // x (rows, in) and the two outputs.
            unsafe {
                matmul(rows, inp, out, (dx.as_mut_ptr(), inp, 1), (g.as_ptr(), out, 1), (w.as_ptr(), inp, 1), threads());
                matmul(out, inp, rows, (dw.as_mut_ptr(), inp, 1), (g.as_ptr(), 1, out), (x.as_ptr(), inp, 1), threads());
            }
            Ok((dx, dw))
        })?;
        Ok((Some(cpu_tensor(dx, x.shape())?), Some(cpu_tensor(dw, w.shape())?)))
    }
}

/// Threads for one matrix product: candle's setting, as its own matmul uses.
fn threads() -> usize {
    candle_core::utils::get_num_threads()
}

// ---------------------------------------------------------------------------------------
// RMS norm (HF `T5LayerNorm`)

/// `w ⊙ x / sqrt(mean(x²) + eps)` over the last dimension.
pub struct RmsNorm {
    pub eps: f32,
}

/// `1 / sqrt(mean(x²) + eps)` of one row, summed in order as candle's `mean_keepdim` does.
fn inverse_rms(row: &[f32], eps: f32) -> f32 {
    let sum: f32 = row.iter().map(|v| v * v).sum();
    1.0 / (sum / row.len() as f32 + eps).sqrt()
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "fused-rms-norm"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = values(s1, l1, self.name())?;
        let w = values(s2, l2, self.name())?;
        let d = w.len();
        if l1.dims().last() != Some(&d) {
            bail!("{}: weight of {d} values for rows of {:?}", self.name(), l1.dims());
        }
        let mut out = vec![0f32; x.len()];
        let chunk = rows_per_task(d) * d;
        out.par_chunks_mut(chunk).zip(x.par_chunks(chunk)).for_each(|(out, x)| {
            for (out, x) in out.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
                let r = inverse_rms(x, self.eps);
                for ((o, &x), &w) in out.iter_mut().zip(x).zip(w) {
                    *o = x * r * w;
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    /// With `n = x·r` and `gw = g ⊙ w`: `dw = Σ_rows g ⊙ n`,
    /// `dx = r · (gw − n · mean(gw ⊙ n))`.
    fn bwd(&self, x: &Tensor, w: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dx, dw) = with_values(&[x, w, grad], self.name(), |v| {
            let (x, w, g) = (v[0], v[1], v[2]);
            let d = w.len();
            let rows = rows_per_task(d);
            let mut dx = vec![0f32; x.len()];
            // Per-task partial sums of dw, added in task order: the result does not
            // depend on the thread count.
            let partial: Vec<Vec<f32>> = dx
                .par_chunks_mut(rows * d)
                .zip(x.par_chunks(rows * d))
                .zip(g.par_chunks(rows * d))
                .map(|((dx, x), g)| {
                    let mut dw = vec![0f32; d];
                    for ((dx, x), g) in dx.chunks_exact_mut(d).zip(x.chunks_exact(d)).zip(g.chunks_exact(d)) {
                        let r = inverse_rms(x, self.eps);
                        let mut dot = 0f32;
                        for i in 0..d {
                            let n = x[i] * r;
                            dw[i] += g[i] * n;
                            dot += g[i] * w[i] * n;
                        }
                        let mean = dot / d as f32;
                        for i in 0..d {
                            dx[i] = r * (g[i] * w[i] - x[i] * r * mean);
                        }
                    }
                    dw
                })
                .collect();
            let mut dw = vec![0f32; d];
            for part in partial {
                for (total, p) in dw.iter_mut().zip(part) {
                    *total += p;
                }
            }
            Ok((dx, dw))
        })?;
        Ok((Some(cpu_tensor(dx, x.shape())?), Some(cpu_tensor(dw, w.shape())?)))
    }
}

// ---------------------------------------------------------------------------------------
// Softmax over the last dimension

pub struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "fused-softmax"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = values(storage, layout, self.name())?;
        let d = *layout.dims().last().unwrap_or(&1);
        let mut out = vec![0f32; x.len()];
        let chunk = rows_per_task(d) * d;
        out.par_chunks_mut(chunk).zip(x.par_chunks(chunk)).for_each(|(out, x)| {
            for (out, x) in out.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
                let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0f32;
                for (o, &x) in out.iter_mut().zip(x) {
                    *o = (x - max).exp();
                    sum += *o;
                }
                for o in out.iter_mut() {
                    *o /= sum;
                }
            }
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    /// `dx = y ⊙ (g − Σ g ⊙ y)` per row.
    fn bwd(&self, _x: &Tensor, y: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let d = y.dims().last().copied().unwrap_or(1);
        let dx = with_values(&[y, grad], self.name(), |v| {
            let (y, g) = (v[0], v[1]);
            let mut dx = vec![0f32; y.len()];
            let chunk = rows_per_task(d) * d;
            dx.par_chunks_mut(chunk).zip(y.par_chunks(chunk)).zip(g.par_chunks(chunk)).for_each(|((dx, y), g)| {
                for ((dx, y), g) in dx.chunks_exact_mut(d).zip(y.chunks_exact(d)).zip(g.chunks_exact(d)) {
                    let dot: f32 = y.iter().zip(g).map(|(y, g)| y * g).sum();
                    for ((dx, &y), &g) in dx.iter_mut().zip(y).zip(g) {
                        *dx = y * (g - dot);
                    }
                }
            });
            Ok(dx)
        })?;
        Ok(Some(cpu_tensor(dx, y.shape())?))
    }
}

// ---------------------------------------------------------------------------------------
// GELU, tanh approximation (HF `gelu_new`), alone and gating a second projection

/// `gelu(x)` and `gelu'(x)`.
#[inline(always)]
fn gelu_and_slope(x: f32) -> (f32, f32) {
    let t = fast_tanh(SQRT_2_OVER_PI * (x + CUBIC * x * x * x));
    let gelu = 0.5 * x * (1.0 + t);
    let slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * CUBIC * x * x);
    (gelu, slope)
}

/// `gelu(x)`.
pub struct Gelu;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "fused-gelu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = values(storage, layout, self.name())?;
        let mut out = vec![0f32; x.len()];
        out.par_chunks_mut(TASK_ELEMENTS).zip(x.par_chunks(TASK_ELEMENTS)).for_each(|(out, x)| {
            for (o, &x) in out.iter_mut().zip(x) {
                *o = gelu(x);
            }
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let dx = with_values(&[x, grad], self.name(), |v| {
            let (x, g) = (v[0], v[1]);
            let mut dx = vec![0f32; x.len()];
            dx.par_chunks_mut(TASK_ELEMENTS)
                .zip(x.par_chunks(TASK_ELEMENTS))
                .zip(g.par_chunks(TASK_ELEMENTS))
                .for_each(|((dx, x), g)| {
                    for ((dx, &x), &g) in dx.iter_mut().zip(x).zip(g) {
                        *dx = g * gelu_and_slope(x).1;
                    }
                });
            Ok(dx)
        })?;
        Ok(Some(cpu_tensor(dx, x.shape())?))
    }
}

/// `gelu(a) ⊙ b`: T5's gated feed-forward, `gelu(x W₀) ⊙ (x W₁)`.
pub struct GatedGelu;

impl CustomOp2 for GatedGelu {
    fn name(&self) -> &'static str {
        "fused-gated-gelu"
    }

    fn cpu_fwd(&self, s1: &CpuStorage, l1: &Layout, s2: &CpuStorage, l2: &Layout) -> Result<(CpuStorage, Shape)> {
        let a = values(s1, l1, self.name())?;
        let b = values(s2, l2, self.name())?;
        if l1.dims() != l2.dims() {
            bail!("{}: shapes {:?} and {:?} differ", self.name(), l1.dims(), l2.dims());
        }
        let mut out = vec![0f32; a.len()];
        out.par_chunks_mut(TASK_ELEMENTS)
            .zip(a.par_chunks(TASK_ELEMENTS))
            .zip(b.par_chunks(TASK_ELEMENTS))
            .for_each(|((out, a), b)| {
                for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
                    *o = gelu(a) * b;
                }
            });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    /// `da = g ⊙ b ⊙ gelu'(a)`, `db = g ⊙ gelu(a)`.
    fn bwd(&self, a: &Tensor, b: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (da, db) = with_values(&[a, b, grad], self.name(), |v| {
            let (a, b, g) = (v[0], v[1], v[2]);
            let mut da = vec![0f32; a.len()];
            let mut db = vec![0f32; a.len()];
            da.par_chunks_mut(TASK_ELEMENTS)
                .zip(db.par_chunks_mut(TASK_ELEMENTS))
                .zip(a.par_chunks(TASK_ELEMENTS))
                .zip(b.par_chunks(TASK_ELEMENTS))
                .zip(g.par_chunks(TASK_ELEMENTS))
                .for_each(|((((da, db), a), b), g)| {
                    for i in 0..a.len() {
                        let (gelu, slope) = gelu_and_slope(a[i]);
                        da[i] = g[i] * b[i] * slope;
                        db[i] = g[i] * gelu;
                    }
                });
            Ok((da, db))
        })?;
        Ok((Some(cpu_tensor(da, a.shape())?), Some(cpu_tensor(db, b.shape())?)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Each fused op against the composite graph of candle primitives it replaces:
    //! values and gradients (through `backward`) of a random scalar function of its output.
    use super::*;
    use candle_core::{Var, D};

    pub(crate) fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
    }

    pub(crate) fn randn(shape: &[usize], std: f32) -> Var {
        Var::from_tensor(&Tensor::randn(0f32, std, shape, &Device::Cpu).unwrap()).unwrap()
    }

    /// Values of `fused` and `composite` (of the same inputs) and the gradients of
    /// `Σ y ⊙ probe` with respect to each input, all compared within `tol`.
    pub(crate) fn check(inputs: &[Var], fused: impl Fn(&[Tensor]) -> Tensor, composite: impl Fn(&[Tensor]) -> Tensor, tol: f32) {
        let ts: Vec<Tensor> = inputs.iter().map(|v| v.as_tensor().clone()).collect();
        let y_fused = fused(&ts);
        let y_ref = composite(&ts);
        assert!(max_diff(&y_fused, &y_ref) < tol, "values differ by {}", max_diff(&y_fused, &y_ref));
        let probe = Tensor::randn(0f32, 1.0, y_ref.shape(), &Device::Cpu).unwrap();
        let g_fused = (y_fused * &probe).unwrap().sum_all().unwrap().backward().unwrap();
        let g_ref = (y_ref * &probe).unwrap().sum_all().unwrap().backward().unwrap();
        for (i, v) in inputs.iter().enumerate() {
            let a = g_fused.get(v).unwrap_or_else(|| panic!("no gradient for input {i} through the fused op"));
            let b = g_ref.get(v).unwrap();
            let scale = b.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap().max(1.0);
            let diff = max_diff(a, b);
            assert!(diff < tol * scale, "gradient of input {i} differs by {diff} (scale {scale})");
        }
    }

    #[test]
    fn linear_equals_the_composite_graph() {
        // Rank 3 input, odd sizes.
        let x = randn(&[3, 37, 19], 1.0);
        let w = randn(&[23, 19], 1.0);
        check(
            &[x, w],
            |t| t[0].apply_op2(&t[1], Linear).unwrap(),
            |t| t[0].reshape((3 * 37, 19)).unwrap().matmul(&t[1].t().unwrap()).unwrap().reshape((3, 37, 23)).unwrap(),
            1e-5,
        );
        let err = Tensor::zeros((2, 5), candle_core::DType::F32, &Device::Cpu)
            .unwrap()
            .apply_op2(&Tensor::zeros((3, 4), candle_core::DType::F32, &Device::Cpu).unwrap(), Linear)
            .unwrap_err()
            .to_string();
        assert!(err.contains("input [2, 5] for a weight of [3, 4]"), "{err}");
    }

    #[test]
    fn rms_norm_equals_the_composite_graph() {
        // Rows of 40 split over several tasks (rows_per_task(40) = 409 rows).
        let x = randn(&[3, 700, 40], 2.0);
        let w = randn(&[40], 1.0);
        check(
            &[x, w],
            |t| t[0].apply_op2(&t[1], RmsNorm { eps: 1e-6 }).unwrap(),
            |t| {
                let scale = (t[0].sqr().unwrap().mean_keepdim(D::Minus1).unwrap() + 1e-6).unwrap().sqrt().unwrap().recip().unwrap();
                t[0].broadcast_mul(&scale).unwrap().broadcast_mul(&t[1]).unwrap()
            },
            1e-5,
        );
    }

    #[test]
    fn softmax_equals_the_composite_graph() {
        let x = randn(&[2, 3, 50, 77], 3.0);
        check(
            &[x],
            |t| t[0].apply_op1(Softmax).unwrap(),
            |t| {
                let max = t[0].max_keepdim(D::Minus1).unwrap().detach();
                let e = t[0].broadcast_sub(&max).unwrap().exp().unwrap();
                e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap()
            },
            1e-5,
        );
    }

    #[test]
    fn softmax_of_a_fully_masked_row_is_uniform() {
        // An all-padding passage's rows are all f32::MIN after the mask: HF gives a uniform
        // distribution there (max subtracted first), not NaN.
        let x = Tensor::full(f32::MIN, (2, 5), &Device::Cpu).unwrap();
        let y = x.apply_op1(Softmax).unwrap().to_vec2::<f32>().unwrap();
        assert!(y.iter().flatten().all(|&p| (p - 0.2).abs() < 1e-7), "{y:?}");
    }

    #[test]
    fn gelu_equals_the_composite_graph() {
        let x = randn(&[5, 3000], 3.0);
        check(&[x], |t| t[0].apply_op1(Gelu).unwrap(), |t| t[0].gelu().unwrap(), 2e-5);
    }

    #[test]
    fn gated_gelu_equals_the_composite_graph() {
        let a = randn(&[5, 3000], 3.0);
        let b = randn(&[5, 3000], 1.0);
        check(
            &[a, b],
            |t| t[0].apply_op2(&t[1], GatedGelu).unwrap(),
            |t| (t[0].gelu().unwrap() * &t[1]).unwrap(),
            2e-5,
        );
    }

    #[test]
    fn non_contiguous_inputs_are_read_in_logical_order() {
        let x = Tensor::randn(0f32, 1.0, (6, 4), &Device::Cpu).unwrap();
        let t = x.t().unwrap();
        let fused = t.contiguous().unwrap().apply_op1(Softmax).unwrap();
        let via_transpose = t.apply_op1(Softmax);
        // A strided layout is refused by the forward kernel (ops makes inputs contiguous).
        assert!(via_transpose.is_err());
        assert_eq!(fused.dims(), &[4, 6]);
    }
}
