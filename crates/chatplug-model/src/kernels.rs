//! Hand-written CPU kernels where measurement showed candle's general GEMM to be slow.

use candle_core::{CpuStorage, Device, Storage, Tensor};
use rayon::prelude::*;

/// Lanes of the independent accumulators; 16 f32 = one AVX-512 register.
const LANES: usize = 16;
/// Vocabulary rows per parallel task.
const ROWS_PER_TASK: usize = 512;

/// `x (m, d) · W (v, d)^T → (m, v)` for the vocabulary projection of a decoding step.
///
/// With few rows (one per beam) the step is bound by reading `W` (768 MB for mT5-base's
/// 250112×768 head). candle's GEMM re-reads or repacks `W` per row when it is stored
/// (v, d); this kernel streams `W` once for all rows, in parallel over vocabulary blocks.
/// Returns `None` (use the GEMM) unless both are contiguous f32 on the CPU.
pub fn project_rows(x: &Tensor, weight: &Tensor) -> candle_core::Result<Option<Tensor>> {
    project_rows_of::<f32>(x, weight)
}

/// [`project_rows`] over bfloat16 weights: each value is widened to f32 as it is read, so
/// the step reads half of f32's bytes. `None` unless `weight` is contiguous bf16 on the CPU.
pub fn project_rows_bf16(x: &Tensor, weight: &Tensor) -> candle_core::Result<Option<Tensor>> {
    project_rows_of::<half::bf16>(x, weight)
}

/// Both of the above: `x` contiguous f32 and `weight` contiguous `W` on the CPU, with a
/// width that is a multiple of [`LANES`]; else `None`.
fn project_rows_of<W: WeightValue>(x: &Tensor, weight: &Tensor) -> candle_core::Result<Option<Tensor>> {
    if !matches!(x.device(), Device::Cpu) || !x.is_contiguous() || !weight.is_contiguous() {
        return Ok(None);
    }
    let (m, d) = x.dims2()?;
    let (v, d_w) = weight.dims2()?;
    if d != d_w || d % LANES != 0 {
        return Ok(None);
    }
    let (x_storage, x_layout) = x.storage_and_layout();
    let (w_storage, w_layout) = weight.storage_and_layout();
    let (Storage::Cpu(CpuStorage::F32(xs)), Storage::Cpu(ws)) = (&*x_storage, &*w_storage) else {
        return Ok(None);
    };
    let Some(ws) = W::values(ws) else {
        return Ok(None);
    };
    let xs = &xs[x_layout.start_offset()..x_layout.start_offset() + m * d];
    let ws = &ws[w_layout.start_offset()..w_layout.start_offset() + v * d];
    Ok(Some(stream_rows(xs, m, d, ws, v)?))
}

/// A weight value the streaming kernel can read as f32.
trait WeightValue: Copy + Sync {
    const IS_F32: bool;
    /// The storage's values, when they are of this type.
    fn values(storage: &CpuStorage) -> Option<&[Self]>;
    /// The row as f32: itself, or widened into `buffer`.
    fn as_f32<'a>(row: &'a [Self], buffer: &'a mut [f32]) -> &'a [f32];
}

impl WeightValue for f32 {
    const IS_F32: bool = true;
    fn values(storage: &CpuStorage) -> Option<&[f32]> {
        match storage {
            CpuStorage::F32(values) => Some(values),
            _ => None,
        }
    }
    fn as_f32<'a>(row: &'a [f32], _: &'a mut [f32]) -> &'a [f32] {
        row
    }
}

impl WeightValue for half::bf16 {
    const IS_F32: bool = false;
    fn values(storage: &CpuStorage) -> Option<&[half::bf16]> {
        match storage {
            CpuStorage::BF16(values) => Some(values),
            _ => None,
        }
    }
    fn as_f32<'a>(row: &'a [half::bf16], buffer: &'a mut [f32]) -> &'a [f32] {
        // bf16 is the top half of an f32: widening is a shift, which vectorises.
        for (dst, w) in buffer.iter_mut().zip(row) {
            *dst = f32::from_bits((w.to_bits() as u32) << 16);
        }
        buffer
    }
}

/// `x (m, d) · W (v, d)^T`, streaming `W` once, in parallel over vocabulary blocks.
fn stream_rows<W: WeightValue>(xs: &[f32], m: usize, d: usize, ws: &[W], v: usize) -> candle_core::Result<Tensor> {
    // Computed vocabulary-major (v, m), then transposed: each task owns a contiguous block.
    let mut out_vm = vec![0f32; v * m];
    out_vm
        .par_chunks_mut(ROWS_PER_TASK * m)
        .zip(ws.par_chunks(ROWS_PER_TASK * d))
        .for_each(|(out_block, w_block)| {
            let mut wide = vec![0f32; if W::IS_F32 { 0 } else { d }];
            for (w_row, out_row) in w_block.chunks_exact(d).zip(out_block.chunks_exact_mut(m)) {
                let w_row = W::as_f32(w_row, &mut wide);
                for (r, out) in out_row.iter_mut().enumerate() {
                    *out = dot(w_row, &xs[r * d..(r + 1) * d]);
                }
            }
        });
    let mut out = vec![0f32; m * v];
    for (vi, row) in out_vm.chunks_exact(m).enumerate() {
        for (r, &value) in row.iter().enumerate() {
            out[r * v + vi] = value;
        }
    }
    Tensor::from_vec(out, (m, v), &Device::Cpu)
}

#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    for (ca, cb) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for i in 0..LANES {
            acc[i] += ca[i] * cb[i];
        }
    }
    acc.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_gemm() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1.0, (3, 64), &dev).unwrap();
        let w = Tensor::randn(0f32, 1.0, (1000, 64), &dev).unwrap();
        let ours = project_rows(&x, &w).unwrap().unwrap();
        let gemm = x.matmul(&w.t().unwrap()).unwrap();
        let diff = (ours - gemm).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-4, "max diff {diff}");
        // Not applicable: width not a multiple of the lanes.
        let odd = Tensor::randn(0f32, 1.0, (10, 30), &dev).unwrap();
        let x30 = Tensor::randn(0f32, 1.0, (2, 30), &dev).unwrap();
        assert!(project_rows(&x30, &odd).unwrap().is_none());
    }

    #[test]
    fn bf16_rows_equal_the_gemm_over_the_widened_weights() {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1.0, (3, 64), &dev).unwrap();
        let w = Tensor::randn(0f32, 1.0, (700, 64), &dev).unwrap().to_dtype(candle_core::DType::BF16).unwrap();
        let ours = project_rows_bf16(&x, &w).unwrap().unwrap();
        let gemm = x.matmul(&w.to_dtype(candle_core::DType::F32).unwrap().t().unwrap()).unwrap();
        let diff = (ours - gemm).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-4, "max diff {diff}");
        // An f32 weight is not this kernel's.
        let w32 = Tensor::randn(0f32, 1.0, (10, 64), &dev).unwrap();
        assert!(project_rows_bf16(&x, &w32).unwrap().is_none());
    }
}

/// `gelu_new` (the tanh approximation mT5 uses), elementwise and in parallel:
/// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
///
/// libm's scalar `tanhf` was about 15% of the encoder's time; a rational approximation
/// that the compiler vectorises replaces it (|error| < 2e-6 against `f32::tanh`).
/// Returns `None` (use candle's op) unless `x` is contiguous f32 on the CPU.
pub fn gelu_tanh(x: &Tensor) -> candle_core::Result<Option<Tensor>> {
    if !matches!(x.device(), Device::Cpu) || !x.is_contiguous() {
        return Ok(None);
    }
    let (storage, layout) = x.storage_and_layout();
    let Storage::Cpu(CpuStorage::F32(values)) = &*storage else {
        return Ok(None);
    };
    let values = &values[layout.start_offset()..layout.start_offset() + x.elem_count()];
    let mut out = vec![0f32; values.len()];
    out.par_chunks_mut(1 << 14)
        .zip(values.par_chunks(1 << 14))
        .for_each(|(out, values)| {
            for (o, &v) in out.iter_mut().zip(values) {
                *o = gelu_new(v);
            }
        });
    Ok(Some(Tensor::from_vec(out, x.shape(), &Device::Cpu)?))
}

/// √(2/π) and the cubic coefficient of `gelu_new`.
pub const GELU_SQRT_2_OVER_PI: f32 = 0.797_884_6;
pub const GELU_CUBIC: f32 = 0.044_715;

/// `gelu_new` of one value, with [`fast_tanh`] (the trainer's fused GELU uses it too).
#[inline(always)]
pub fn gelu_new(x: f32) -> f32 {
    0.5 * x * (1.0 + fast_tanh(GELU_SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)))
}

/// A [13/6] odd rational approximation of tanh on [-7.9053, 7.9053] (saturated outside),
/// the fit Eigen uses for float. Public for the trainer's fused GELU and its derivative.
#[inline(always)]
pub fn fast_tanh(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    let x = x.clamp(-CLAMP, CLAMP);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16f32;
    p = p * x2 + 2.000_187_9e-13;
    p = p * x2 - 8.604_671_5e-11;
    p = p * x2 + 5.122_297e-8;
    p = p * x2 + 1.485_722_4e-5;
    p = p * x2 + 6.372_619_3e-4;
    p = p * x2 + 4.893_524_6e-3;
    let mut q = 1.198_258_4e-6f32;
    q = q * x2 + 1.185_347e-4;
    q = q * x2 + 2.268_434_6e-3;
    q = q * x2 + 4.893_525e-3;
    x * p / q
}

#[cfg(test)]
mod gelu_tests {
    use super::*;

    #[test]
    fn fast_tanh_is_close_to_libm() {
        let mut worst = 0f32;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            worst = worst.max((fast_tanh(x) - x.tanh()).abs());
        }
        assert!(worst < 2e-6, "max |error| {worst}");
    }

    #[test]
    fn gelu_matches_candle() {
        let x = Tensor::randn(0f32, 3.0, (7, 33), &Device::Cpu).unwrap();
        let ours = gelu_tanh(&x).unwrap().unwrap();
        let reference = x.gelu().unwrap();
        let diff = (ours - reference).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(diff < 1e-5, "max diff {diff}");
    }
}
