//! Hand-written CPU kernels where measurement showed candle's general GEMM to be slow.

use candle_core::{CpuStorage, Device, Layout, Storage, Tensor};
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
    let (Some(xs), Some(ws)) = (cpu_values::<f32>(&x_storage, x_layout, m * d), cpu_values::<W>(&w_storage, w_layout, v * d))
    else {
        return Ok(None);
    };
    Ok(Some(stream_rows(xs, m, d, ws, v)?))
}

/// The `len` values of a contiguous CPU tensor's storage, borrowed in place, when they are
/// of type `T`.
pub(crate) fn cpu_values<'a, T: WeightValue>(storage: &'a Storage, layout: &Layout, len: usize) -> Option<&'a [T]> {
    let Storage::Cpu(cpu) = storage else {
        return None;
    };
    T::values(cpu).map(|all| &all[layout.start_offset()..layout.start_offset() + len])
}

/// A weight value the streaming kernel can read as f32.
pub(crate) trait WeightValue: Copy + Sync {
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
    let dots = block_dots_kernel::<W>();
    // Computed vocabulary-major (v, m), then transposed: each task owns a contiguous block.
    let mut out_vm = vec![0f32; v * m];
    out_vm
        .par_chunks_mut(ROWS_PER_TASK * m)
        .zip(ws.par_chunks(ROWS_PER_TASK * d))
        .for_each(|(out_block, w_block)| {
            let mut wide = vec![0f32; if W::IS_F32 { 0 } else { d }];
            // SAFETY: the kernel was chosen for this CPU's features; `xs` holds `m` rows of
            // `d` values, `d` is a multiple of LANES (checked by the caller), and the
            // blocks are whole rows of `W` and of the output.
            unsafe { dots(w_block, d, xs, out_block, &mut wide) };
        });
    let mut out = vec![0f32; m * v];
    for (vi, row) in out_vm.chunks_exact(m).enumerate() {
        for (r, &value) in row.iter().enumerate() {
            out[r * v + vi] = value;
        }
    }
    Tensor::from_vec(out, (m, v), &Device::Cpu)
}

/// Whether this CPU runs the kernels built with `#[target_feature(enable = "avx2,fma")]`
/// (these and `int8`'s): both features must be there, not only AVX2.
#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2_fma() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// The sum of a vector's eight lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
pub(crate) unsafe fn hsum_avx2(a: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let sum128 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    let sum64 = _mm_add_ps(sum128, _mm_movehl_ps(sum128, sum128));
    _mm_cvtss_f32(_mm_add_ss(sum64, _mm_shuffle_ps(sum64, sum64, 0b01)))
}

/// `out[c·m + r] = W[c] · xs[r]` for the `n` rows of `W` in `w` (`n·d` values) and the
/// `m = out.len() / n` input rows of `xs`; `wide` is scratch of `d` for kernels that
/// widen a weight row first.
type BlockDots<W> = unsafe fn(&[W], usize, &[f32], &mut [f32], &mut [f32]);

/// The fastest kernel this CPU runs: AVX2 + FMA where detected, else portable Rust.
fn block_dots_kernel<W: WeightValue>() -> BlockDots<W> {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        return block_dots_avx2::<W>;
    }
    block_dots_portable::<W>
}

/// Which kernel the streaming projection uses here, for reports.
pub fn stream_kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        return "avx2";
    }
    "portable"
}

/// Plain Rust, one weight row at a time (the project builds for baseline x86-64, so this
/// is SSE2 there).
unsafe fn block_dots_portable<W: WeightValue>(w: &[W], d: usize, xs: &[f32], out: &mut [f32], wide: &mut [f32]) {
    let n = w.len() / d;
    let m = out.len() / n.max(1);
    for (w_row, out_row) in w.chunks_exact(d).zip(out.chunks_exact_mut(m)) {
        let w_row = W::as_f32(w_row, wide);
        for (r, value) in out_row.iter_mut().enumerate() {
            *value = dot(w_row, &xs[r * d..(r + 1) * d]);
        }
    }
}

/// AVX2 + FMA, one weight row at a time: each 16 weights are loaded (for bf16, widened)
/// once and multiplied into the accumulators of up to four input rows. With several input
/// rows (beam search) the portable kernel was bound by SSE2 arithmetic rather than by
/// reading `W` (a beam-3 step cost 1.7× a greedy one). Tiles of four weight rows × three
/// input rows, tried next, measured slower here (250112×512, 2 threads, alternating runs:
/// 1 row 37–45 ms against 27–36, 3 rows 50–57 against 41–45 for f32): more concurrent
/// streams, no fewer bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_dots_avx2<W: WeightValue>(w: &[W], d: usize, xs: &[f32], out: &mut [f32], _wide: &mut [f32]) {
    let n = w.len() / d;
    let m = out.len() / n.max(1);
    debug_assert!(d % LANES == 0 && xs.len() >= m * d && out.len() == n * m);
    // Two weight rows at a time for many input rows (a batched step, each input row read
    // from cache serving both) measured no faster on 250112×512 (24 rows 135–185 ms
    // against 149–154, 48 rows 184–254 against 203–209): the streaming kernel stays
    // compute-bound there, where candle's GEMM is ~1.4× faster from 24 rows.
    for c in 0..n {
        let wp = w.as_ptr().add(c * d);
        let mut r = 0;
        while r < m {
            let xp = xs.as_ptr().add(r * d);
            let op = out.as_mut_ptr().add(c * m + r);
            r += match m - r {
                1 => rows_avx2::<W, 1>(wp, xp, d, op),
                2 => rows_avx2::<W, 2>(wp, xp, d, op),
                3 => rows_avx2::<W, 3>(wp, xp, d, op),
                _ => rows_avx2::<W, 4>(wp, xp, d, op),
            };
        }
    }
}

/// One weight row at `w` with `R` input rows at `x` (`d` apart), results at `out[0..R]`:
/// two accumulators a row (16 lanes) hide the FMA latency; 2·R ≤ 8 accumulators and the
/// weights stay in the 16 registers. Returns `R`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn rows_avx2<W: WeightValue, const R: usize>(w: *const W, x: *const f32, d: usize, out: *mut f32) -> usize {
    use std::arch::x86_64::*;
    let mut acc0 = [_mm256_setzero_ps(); R];
    let mut acc1 = [_mm256_setzero_ps(); R];
    let mut k = 0;
    while k < d {
        let w0 = load8_avx2(w.add(k));
        let w1 = load8_avx2(w.add(k + 8));
        for i in 0..R {
            let xi = x.add(i * d + k);
            acc0[i] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xi), acc0[i]);
            acc1[i] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xi.add(8)), acc1[i]);
        }
        k += LANES;
    }
    for i in 0..R {
        *out.add(i) = hsum_avx2(_mm256_add_ps(acc0[i], acc1[i]));
    }
    R
}

/// Eight weights as f32: loaded, or (bf16, the top half of an f32) zero-extended and
/// shifted into place.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn load8_avx2<W: WeightValue>(p: *const W) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    if W::IS_F32 {
        _mm256_loadu_ps(p as *const f32)
    } else {
        let halves = _mm_loadu_si128(p as *const __m128i);
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(halves), 16))
    }
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

    /// Input row counts 1–14 (groups of 4, 3, 2, 1 rows) and blocks of one and of several
    /// weight rows, in both kernels this CPU has and for both weight kinds, against a sum
    /// in f64; and each row's result is the same bits as that row's alone (what makes
    /// batched decoding equal solo decoding).
    #[test]
    fn block_kernels_equal_a_plain_sum_for_every_row_count() {
        let dev = Device::Cpu;
        let d = 48;
        let n = 11;
        let w = Tensor::randn(0f32, 1.0, (n, d), &dev).unwrap();
        let w_f32 = w.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let w_bf16: Vec<half::bf16> = w_f32.iter().map(|&v| half::bf16::from_f32(v)).collect();
        let w_bf16_wide: Vec<f32> = w_bf16.iter().map(|v| v.to_f32()).collect();
        let mut kernels: Vec<(&str, BlockDots<f32>, BlockDots<half::bf16>)> =
            vec![("portable", block_dots_portable::<f32>, block_dots_portable::<half::bf16>)];
        #[cfg(target_arch = "x86_64")]
        if stream_kernel_name() == "avx2" {
            kernels.push(("avx2", block_dots_avx2::<f32>, block_dots_avx2::<half::bf16>));
        }
        let run = |kernel: BlockDots<f32>, kernel_bf16: BlockDots<half::bf16>, bf16: bool, rows: usize, xs: &[f32], m: usize| {
            let mut out = vec![f32::NAN; rows * m];
            let mut wide = vec![0f32; d];
            unsafe {
                if bf16 {
                    kernel_bf16(&w_bf16[..rows * d], d, xs, &mut out, &mut wide)
                } else {
                    kernel(&w_f32[..rows * d], d, xs, &mut out, &mut wide)
                }
            }
            out
        };
        for m in 1..=14 {
            let xs = Tensor::randn(0f32, 1.0, (m, d), &dev).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for (name, f32_kernel, bf16_kernel) in &kernels {
                for (bf16, weights) in [(false, &w_f32), (true, &w_bf16_wide)] {
                    // Blocks of 11 weight rows and of 1.
                    for rows in [n, 1] {
                        let out = run(*f32_kernel, *bf16_kernel, bf16, rows, &xs, m);
                        for r in 0..m {
                            let alone = run(*f32_kernel, *bf16_kernel, bf16, rows, &xs[r * d..(r + 1) * d], 1);
                            for c in 0..rows {
                                assert_eq!(out[c * m + r].to_bits(), alone[c].to_bits(), "{name} bf16={bf16} m={m}: row {r} alone");
                            }
                        }
                        for c in 0..rows {
                            for r in 0..m {
                                let want: f64 = (0..d).map(|k| weights[c * d + k] as f64 * xs[r * d + k] as f64).sum();
                                let got = out[c * m + r] as f64;
                                assert!(
                                    (got - want).abs() < 1e-4,
                                    "{name} bf16={bf16} m={m} block of {rows}: weight row {c} input row {r}: {got} vs {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Query rows per call up to which [`attend_rows`] replaces the GEMMs (decoding steps).
pub const MAX_ATTEND_ROWS: usize = 8;

/// Cross-attention of a few query rows (one per hypothesis) over one memory, per head:
/// `softmax(q · K + mask) · V`. `q` is (1, heads, rows, d), `keys_t` (1, heads, d, positions),
/// `values` (1, heads, positions, d), `mask` (1, 1, 1, positions) additive; returns
/// (1, heads, rows, d).
///
/// candle's GEMM packs the 2,280 × 64 keys of a head for every call, which with three beams
/// cost about a tenth of a decoding step; here each key row is read once for all rows.
/// Returns `None` (use the GEMMs) unless every tensor is contiguous f32 on the CPU and
/// there are at most [`MAX_ATTEND_ROWS`] rows.
pub fn attend_rows(q: &Tensor, keys_t: &Tensor, values: &Tensor, mask: &Tensor) -> candle_core::Result<Option<Tensor>> {
    let (one, heads, rows, d) = q.dims4()?;
    let positions = keys_t.dim(3)?;
    if one != 1 || rows > MAX_ATTEND_ROWS || keys_t.dims4()? != (1, heads, d, positions) {
        return Ok(None);
    }
    if values.dims4()? != (1, heads, positions, d) || mask.elem_count() != positions {
        return Ok(None);
    }
    if [q, keys_t, values, mask].iter().any(|t| !is_cpu_f32_contiguous(t)) {
        return Ok(None);
    }
    // Borrowed in place: the memory is megabytes a layer, read once a step.
    let tensors = [q, keys_t, values, mask];
    let guards = tensors.map(|t| t.storage_and_layout());
    let slices: Vec<&[f32]> = guards
        .iter()
        .zip(tensors)
        .filter_map(|((storage, layout), t)| cpu_values::<f32>(storage, layout, t.elem_count()))
        .collect();
    let &[q_values, k, v, m] = slices.as_slice() else {
        return Ok(None);
    };
    let shape = AttendShape { rows, d, positions };
    let mut out = vec![0f32; heads * rows * d];
    let kernel = attend_head_kernel();
    out.par_chunks_mut(rows * d).enumerate().for_each(|(h, out)| {
        let q = &q_values[h * rows * d..(h + 1) * rows * d];
        let k = &k[h * d * positions..(h + 1) * d * positions];
        let v = &v[h * positions * d..(h + 1) * positions * d];
        // SAFETY: the kernel was chosen for this CPU's features.
        unsafe { kernel(shape, q, k, v, m, out) };
    });
    Ok(Some(Tensor::from_vec(out, (1, heads, rows, d), &Device::Cpu)?))
}

fn is_cpu_f32_contiguous(t: &Tensor) -> bool {
    matches!(t.device(), Device::Cpu) && t.is_contiguous() && t.dtype() == candle_core::DType::F32
}

/// The values of a contiguous f32 CPU tensor (tests).
#[cfg(test)]
fn cpu_f32(t: &Tensor) -> Option<Vec<f32>> {
    is_cpu_f32_contiguous(t).then(|| t.flatten_all().ok()?.to_vec1::<f32>().ok()).flatten()
}

#[derive(Clone, Copy)]
struct AttendShape {
    rows: usize,
    d: usize,
    positions: usize,
}

type AttendHead = unsafe fn(AttendShape, &[f32], &[f32], &[f32], &[f32], &mut [f32]);

fn attend_head_kernel() -> AttendHead {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        return attend_head_avx2;
    }
    attend_head_portable
}

/// [`attend_head`] compiled for AVX2 + FMA (the same code, vectorised 8 wide).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn attend_head_avx2(shape: AttendShape, q: &[f32], k: &[f32], v: &[f32], mask: &[f32], out: &mut [f32]) {
    attend_head(shape, q, k, v, mask, out)
}

unsafe fn attend_head_portable(shape: AttendShape, q: &[f32], k: &[f32], v: &[f32], mask: &[f32], out: &mut [f32]) {
    attend_head(shape, q, k, v, mask, out)
}

/// One head of [`attend_rows`]: scores as axpys over the key rows (each read once for all
/// query rows), a max-shifted softmax with [`fast_exp_nonpositive`], then the weighted sum
/// of value rows.
#[inline(always)]
fn attend_head(shape: AttendShape, q: &[f32], k: &[f32], v: &[f32], mask: &[f32], out: &mut [f32]) {
    let AttendShape { rows, d, positions } = shape;
    let mut scores = vec![0f32; rows * positions];
    for row in scores.chunks_exact_mut(positions) {
        row.copy_from_slice(mask);
    }
    for (j, key_row) in k.chunks_exact(positions).enumerate() {
        for (r, row) in scores.chunks_exact_mut(positions).enumerate() {
            let qj = q[r * d + j];
            for (s, &kv) in row.iter_mut().zip(key_row) {
                *s += qj * kv;
            }
        }
    }
    for row in scores.chunks_exact_mut(positions) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for s in row.iter_mut() {
            *s = fast_exp_nonpositive(*s - max);
            sum += *s;
        }
        let inverse = 1.0 / sum;
        row.iter_mut().for_each(|s| *s *= inverse);
    }
    out.fill(0.0);
    for (p, value_row) in v.chunks_exact(d).enumerate() {
        for (r, out_row) in out.chunks_exact_mut(d).enumerate() {
            let w = scores[r * positions + p];
            for (o, &x) in out_row.iter_mut().zip(value_row) {
                *o += w * x;
            }
        }
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
    let Some(values) = cpu_values::<f32>(&storage, layout, x.elem_count()) else {
        return Ok(None);
    };
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

/// `e^x` for `x ≤ 0` (Cephes' `expf`: `x = n·ln 2 + r`, a degree-6 polynomial in `r`, the
/// exponent set by bits; within 2 ulp of `f32::exp`, 0 below -87.3 where `expf` gives
/// subnormals). Branch-free, so loops over it vectorise: libm's scalar `expf` over a
/// 250k vocabulary was about a tenth of a beam-3 decoding step.
#[inline(always)]
pub fn fast_exp_nonpositive(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let underflow = x < -87.3;
    let x = x.max(-87.3);
    // Round to nearest by adding and removing 1.5·2^23 (|x·log2 e| < 2^22): `round()` is a
    // libm call on baseline x86-64, which has no rounding instruction before SSE4.1.
    const ROUNDER: f32 = 12_582_912.0;
    let n = (x * LOG2_E + ROUNDER) - ROUNDER;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_2e-4f32;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let scaled = f32::from_bits(((n as i32 + 127) as u32) << 23) * e;
    if underflow {
        0.0
    } else {
        scaled
    }
}

/// `Σ e^(s - max)` over `scores` (all ≤ `max`), in [`LANES`] independent partial sums:
/// the same additions whatever the vector width, so AVX2 and the baseline give the same
/// bits (the vocabulary's log-softmax in beam search: 250,112 values a beam a step).
pub fn sum_exp_below(scores: &[f32], max: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA.
        return unsafe { sum_exp_below_avx2(scores, max) };
    }
    sum_exp_below_lanes(scores, max)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn sum_exp_below_avx2(scores: &[f32], max: f32) -> f32 {
    sum_exp_below_lanes(scores, max)
}

#[inline(always)]
fn sum_exp_below_lanes(scores: &[f32], max: f32) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = scores.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().map(|&s| fast_exp_nonpositive(s - max)).sum();
    for chunk in chunks {
        for i in 0..LANES {
            acc[i] += fast_exp_nonpositive(chunk[i] - max);
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod exp_gelu_attention_tests {
    use super::*;

    #[test]
    fn fast_exp_is_within_two_ulp_of_libm() {
        for i in 0..=8_730_000 {
            let x = -(i as f32) * 1e-5;
            let (ours, libm) = (fast_exp_nonpositive(x), x.exp());
            let ulp = f32::from_bits(libm.to_bits() + 1) - libm;
            assert!((ours - libm).abs() <= 2.0 * ulp, "e^{x}: {ours} vs {libm}");
        }
        assert_eq!(fast_exp_nonpositive(-100.0), 0.0);
        assert_eq!(fast_exp_nonpositive(f32::NEG_INFINITY), 0.0);
        assert_eq!(fast_exp_nonpositive(0.0), 1.0);
    }

    /// Every row count a decoding step attends with, in both kernels this CPU has, against
    /// candle's GEMMs and softmax; masked positions get no weight.
    #[test]
    fn attend_rows_equals_the_gemms() {
        let dev = Device::Cpu;
        let (heads, d, positions) = (3, 16, 45);
        let keys_t = Tensor::randn(0f32, 1.0, (1, heads, d, positions), &dev).unwrap();
        let values = Tensor::randn(0f32, 1.0, (1, heads, positions, d), &dev).unwrap();
        let mask: Vec<f32> = (0..positions).map(|p| if p % 7 == 3 { f32::NEG_INFINITY } else { 0.0 }).collect();
        let mask = Tensor::from_vec(mask, (1, 1, 1, positions), &dev).unwrap();
        for rows in 1..=MAX_ATTEND_ROWS {
            let q = Tensor::randn(0f32, 1.0, (1, heads, rows, d), &dev).unwrap();
            let scores = q.matmul(&keys_t).unwrap().broadcast_add(&mask).unwrap();
            let want = candle_nn::ops::softmax_last_dim(&scores).unwrap().matmul(&values).unwrap();
            let ours = attend_rows(&q, &keys_t, &values, &mask).unwrap().unwrap();
            let diff = (ours - &want).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
            assert!(diff < 1e-5, "rows {rows}: max diff {diff}");
            // The portable kernel too, head by head.
            let (qv, kv, vv, mv) = (
                cpu_f32(&q).unwrap(),
                cpu_f32(&keys_t).unwrap(),
                cpu_f32(&values).unwrap(),
                cpu_f32(&mask).unwrap(),
            );
            let want = want.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for h in 0..heads {
                let mut out = vec![f32::NAN; rows * d];
                let shape = AttendShape { rows, d, positions };
                unsafe {
                    attend_head_portable(
                        shape,
                        &qv[h * rows * d..(h + 1) * rows * d],
                        &kv[h * d * positions..(h + 1) * d * positions],
                        &vv[h * positions * d..(h + 1) * positions * d],
                        &mv,
                        &mut out,
                    )
                };
                for (i, (a, b)) in out.iter().zip(&want[h * rows * d..(h + 1) * rows * d]).enumerate() {
                    assert!((a - b).abs() < 1e-5, "portable, rows {rows}, head {h}, value {i}: {a} vs {b}");
                }
            }
        }
        // Too many rows for this kernel: the GEMMs run.
        let q = Tensor::randn(0f32, 1.0, (1, heads, MAX_ATTEND_ROWS + 1, d), &dev).unwrap();
        assert!(attend_rows(&q, &keys_t, &values, &mask).unwrap().is_none());
    }

    #[test]
    fn sum_exp_matches_a_sum_in_f64() {
        let scores: Vec<f32> = (0..1003).map(|i| ((i * 7919) % 1000) as f32 * -0.02).collect();
        let want: f64 = scores.iter().map(|&s| (s as f64).exp()).sum();
        let got = sum_exp_below(&scores, 0.0) as f64;
        assert!((got - want).abs() / want < 1e-6, "{got} vs {want}");
        assert_eq!(sum_exp_below(&scores, 0.0).to_bits(), sum_exp_below_lanes(&scores, 0.0).to_bits());
    }

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
