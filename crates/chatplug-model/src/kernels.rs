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
    let (Storage::Cpu(CpuStorage::F32(xs)), Storage::Cpu(CpuStorage::F32(ws))) = (&*x_storage, &*w_storage)
    else {
        return Ok(None);
    };
    let xs = &xs[x_layout.start_offset()..x_layout.start_offset() + m * d];
    let ws = &ws[w_layout.start_offset()..w_layout.start_offset() + v * d];

    // Computed vocabulary-major (v, m), then transposed: each task owns a contiguous block.
    let mut out_vm = vec![0f32; v * m];
    out_vm
        .par_chunks_mut(ROWS_PER_TASK * m)
        .zip(ws.par_chunks(ROWS_PER_TASK * d))
        .for_each(|(out_block, w_block)| {
            for (w_row, out_row) in w_block.chunks_exact(d).zip(out_block.chunks_exact_mut(m)) {
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
    Ok(Some(Tensor::from_vec(out, (m, v), &Device::Cpu)?))
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
}
