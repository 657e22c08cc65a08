//! Int8 weights for the linear maps: symmetric quantization in blocks of 32 values along the
//! input dimension (one f32 scale per block of each output channel, the layout of GGML's
//! Q8_0), activations quantized the same way on the fly, integer dot products per block
//! (AVX2 where the CPU has it, detected at run time, with a portable fallback).
//!
//! Why this layout: a decoding step multiplies a few rows (one per beam) by every weight
//! matrix, so its time is the time to read the weights; int8 reads 1.125 bytes a weight
//! against f32's 4. Scales per block rather than per channel or per row keep one outlier
//! from costing a whole row its precision: on the golden requests per-channel weights with
//! per-row activations agreed with f32 on 61 % of greedy tokens, blocks of 32 on more (see
//! tests/precision.rs).
//!
//! `y[r][o] = Σ_b sx[r][b] · sw[o][b] · Σ_{k∈b} qx[r][k] · qw[o][k]`, with `q = round(v / s)`
//! in −127..=127 (−128 is never produced, so the AVX2 sign trick below is exact).

use rayon::prelude::*;

/// Values per block (one scale each) and per SIMD chunk; rows are padded with zeros to a
/// multiple of it.
const CHUNK: usize = 32;
/// Output channels per parallel task.
const CHANNELS_PER_TASK: usize = 64;
/// Input rows whose quantized values are kept hot while a task streams its channels.
const ROW_TILE: usize = 64;

/// A (out, in) weight matrix quantized in blocks of [`CHUNK`] along each output channel.
#[derive(Clone)]
pub struct Int8Matrix {
    out_dim: usize,
    in_dim: usize,
    /// `in_dim` rounded up to [`CHUNK`].
    stride: usize,
    /// (out, stride), zero-padded.
    values: Vec<i8>,
    /// (out, stride / CHUNK): one scale per block.
    scales: Vec<f32>,
}

/// Quantized rows: values (rows, stride) and scales (rows, stride / CHUNK).
struct QuantizedRows {
    values: Vec<i8>,
    scales: Vec<f32>,
}

impl Int8Matrix {
    /// Quantizes a row-major (out, in) f32 matrix.
    pub fn quantize(weight: &[f32], out_dim: usize, in_dim: usize) -> Self {
        assert_eq!(weight.len(), out_dim * in_dim, "weight is not {out_dim}x{in_dim}");
        let QuantizedRows { values, scales } = quantize_rows(weight, in_dim);
        Int8Matrix { out_dim, in_dim, stride: padded(in_dim), values, scales }
    }

    /// Rebuilds a matrix from stored parts (a checkpoint saved quantized).
    pub fn from_parts(values: Vec<i8>, scales: Vec<f32>, out_dim: usize, in_dim: usize) -> Result<Self, String> {
        if values.len() != out_dim * in_dim {
            return Err(format!("{} int8 values for a {out_dim}x{in_dim} matrix", values.len()));
        }
        let blocks = padded(in_dim) / CHUNK;
        if scales.len() != out_dim * blocks {
            return Err(format!("{} scales for {out_dim} output channels of {blocks} blocks", scales.len()));
        }
        if let Some(bad) = scales.iter().position(|s| !s.is_finite() || *s < 0.0) {
            return Err(format!("scale {bad} is {} (must be finite and ≥ 0)", scales[bad]));
        }
        if values.contains(&i8::MIN) {
            return Err("a value is -128; int8 weights must lie in -127..=127".to_string());
        }
        let stride = padded(in_dim);
        let mut padded_values = vec![0i8; out_dim * stride];
        for (dst, src) in padded_values.chunks_exact_mut(stride).zip(values.chunks_exact(in_dim.max(1))) {
            dst[..in_dim].copy_from_slice(src);
        }
        Ok(Int8Matrix { out_dim, in_dim, stride, values: padded_values, scales })
    }

    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    pub fn in_dim(&self) -> usize {
        self.in_dim
    }

    /// The quantized values, (out, in) without padding, and the block scales (out, blocks).
    pub fn parts(&self) -> (Vec<i8>, &[f32]) {
        let mut values = Vec::with_capacity(self.out_dim * self.in_dim);
        for row in self.values.chunks_exact(self.stride) {
            values.extend_from_slice(&row[..self.in_dim]);
        }
        (values, &self.scales)
    }

    /// The f32 matrix these int8 values stand for, (out, in), widened in parallel.
    pub fn dequantize(&self) -> Vec<f32> {
        let (n, d) = (self.out_dim, self.in_dim);
        let mut out = vec![0f32; n * d];
        if d == 0 {
            return out;
        }
        let blocks = self.stride / CHUNK;
        out.par_chunks_mut(d)
            .zip(self.values.par_chunks(self.stride))
            .zip(self.scales.par_chunks(blocks))
            .for_each(|((dst, row), scales)| {
                for ((dst, q), &scale) in dst.chunks_mut(CHUNK).zip(row.chunks(CHUNK)).zip(scales) {
                    for (o, &v) in dst.iter_mut().zip(q) {
                        *o = v as f32 * scale;
                    }
                }
            });
        out
    }

    /// `x (rows, in) · Wᵀ → (rows, out)`, row-major, with `x` quantized in blocks.
    pub fn matmul(&self, x: &[f32], rows: usize) -> Vec<f32> {
        self.matmul_with(x, rows, dot_kernel())
    }

    /// [`Self::matmul`] with the portable kernel, whatever the CPU (tests compare the two).
    pub fn matmul_portable(&self, x: &[f32], rows: usize) -> Vec<f32> {
        self.matmul_with(x, rows, dot_portable)
    }

    fn matmul_with(&self, x: &[f32], rows: usize, dot: DotFn) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.in_dim, "input is not {rows}x{}", self.in_dim);
        let (n, stride) = (self.out_dim, self.stride);
        let blocks = stride / CHUNK;
        if rows == 0 || n == 0 {
            return vec![0.0; rows * n];
        }
        let qx = quantize_rows(x, self.in_dim);
        // Channel-major (out, rows) so that each task owns one contiguous block; each task
        // streams its channels' weights once per tile of input rows.
        let mut out_t = vec![0f32; n * rows];
        out_t
            .par_chunks_mut(CHANNELS_PER_TASK * rows)
            .zip(self.values.par_chunks(CHANNELS_PER_TASK * stride))
            .zip(self.scales.par_chunks(CHANNELS_PER_TASK * blocks))
            .for_each(|((out_block, w_block), w_scales)| {
                for tile_start in (0..rows).step_by(ROW_TILE) {
                    let tile_end = (tile_start + ROW_TILE).min(rows);
                    for (c, (w_row, sw)) in w_block.chunks_exact(stride).zip(w_scales.chunks_exact(blocks)).enumerate() {
                        let out_row = &mut out_block[c * rows..(c + 1) * rows];
                        for r in tile_start..tile_end {
                            let x_row = &qx.values[r * stride..(r + 1) * stride];
                            let sx = &qx.scales[r * blocks..(r + 1) * blocks];
                            // SAFETY: `dot_kernel` only returns the AVX2 kernel when the CPU has
                            // AVX2; rows are `blocks` chunks of CHUNK values, one scale each.
                            out_row[r] = unsafe { dot(w_row, sw, x_row, sx) };
                        }
                    }
                }
            });
        let mut out = vec![0f32; rows * n];
        for (o, column) in out_t.chunks_exact(rows).enumerate() {
            for (r, &value) in column.iter().enumerate() {
                out[r * n + o] = value;
            }
        }
        out
    }
}

impl std::fmt::Debug for Int8Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Int8Matrix({}x{})", self.out_dim, self.in_dim)
    }
}

fn padded(n: usize) -> usize {
    n.div_ceil(CHUNK) * CHUNK
}

/// Symmetric quantization of each block of each row: `scale = max|v| / 127`,
/// `q = round(v / scale)`.
fn quantize_rows(values: &[f32], width: usize) -> QuantizedRows {
    let stride = padded(width);
    let blocks = stride / CHUNK;
    let rows = if width == 0 { 0 } else { values.len() / width };
    let mut q = vec![0i8; rows * stride];
    let mut scales = vec![0f32; rows * blocks];
    if width == 0 {
        return QuantizedRows { values: q, scales };
    }
    q.par_chunks_mut(stride)
        .zip(values.par_chunks(width))
        .zip(scales.par_chunks_mut(blocks))
        .for_each(|((dst, src), row_scales)| {
            for ((dst, src), scale) in dst.chunks_mut(CHUNK).zip(src.chunks(CHUNK)).zip(row_scales) {
                let max = src.iter().fold(0f32, |m, v| m.max(v.abs()));
                if max == 0.0 || !max.is_finite() {
                    // All zeros stay zero; a non-finite value has no meaningful scale, and
                    // NaN propagates through the scale so the output shows it.
                    *scale = if max.is_finite() { 0.0 } else { f32::NAN };
                    continue;
                }
                *scale = max / 127.0;
                let inverse = 127.0 / max;
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = (v * inverse).round().clamp(-127.0, 127.0) as i8;
                }
            }
        });
    QuantizedRows { values: q, scales }
}

/// `Σ_b sa[b] · sb[b] · Σ_{k∈b} a[k] · b[k]` over blocks of [`CHUNK`].
type DotFn = unsafe fn(&[i8], &[f32], &[i8], &[f32]) -> f32;

/// The fastest dot product this CPU runs.
fn dot_kernel() -> DotFn {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::has_avx2_fma() {
        return dot_avx2;
    }
    dot_portable
}

/// Which kernel [`Int8Matrix::matmul`] uses here, for reports.
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::has_avx2_fma() {
        return "avx2";
    }
    "portable"
}

/// The integer dot product of one block.
fn block_dot(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += ca[i] as i32 * cb[i] as i32;
        }
    }
    acc.iter().sum()
}

/// Plain Rust; the compiler vectorises the block products where it can.
unsafe fn dot_portable(a: &[i8], sa: &[f32], b: &[i8], sb: &[f32]) -> f32 {
    let mut sum = 0f32;
    for ((ca, cb), (s, t)) in a.chunks_exact(CHUNK).zip(b.chunks_exact(CHUNK)).zip(sa.iter().zip(sb)) {
        sum += block_dot(ca, cb) as f32 * (s * t);
    }
    sum
}

/// AVX2: `maddubs(|a|, sign(b, a))` multiplies unsigned by signed bytes and adds pairs into
/// i16 (at most 2·127·127 = 32 258, no saturation), `madd` by ones widens to i32; each
/// block's eight i32 sums are scaled in f32 and accumulated with FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[i8], sa: &[f32], b: &[i8], sb: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    debug_assert_eq!(a.len(), b.len());
    debug_assert_eq!(a.len(), sa.len() * CHUNK);
    debug_assert_eq!(sa.len(), sb.len());
    let ones = _mm256_set1_epi16(1);
    // A macro rather than a closure: closures do not inherit the function's target features.
    macro_rules! block {
        ($i:expr) => {{
            let i = $i;
            let va = _mm256_loadu_si256(a.as_ptr().add(i * CHUNK) as *const __m256i);
            let vb = _mm256_loadu_si256(b.as_ptr().add(i * CHUNK) as *const __m256i);
            let p = _mm256_maddubs_epi16(_mm256_sign_epi8(va, va), _mm256_sign_epi8(vb, va));
            let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
            (sums, _mm256_set1_ps(*sa.get_unchecked(i) * *sb.get_unchecked(i)))
        }};
    }
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    let chunks = sa.len();
    let mut i = 0;
    // Two independent accumulators hide the latency of the FMA chain.
    while i + 1 < chunks {
        let (s0, k0) = block!(i);
        acc0 = _mm256_fmadd_ps(s0, k0, acc0);
        let (s1, k1) = block!(i + 1);
        acc1 = _mm256_fmadd_ps(s1, k1, acc1);
        i += 2;
    }
    if i < chunks {
        let (s0, k0) = block!(i);
        acc0 = _mm256_fmadd_ps(s0, k0, acc0);
    }
    crate::kernels::hsum_avx2(_mm256_add_ps(acc0, acc1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
        // A small LCG: deterministic without a dev-dependency.
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    /// f64 product of the dequantized weights and the dequantized inputs: what the integer
    /// kernel must reproduce up to f32 rounding of its scaling and summation.
    fn reference(m: &Int8Matrix, x: &[f32], rows: usize) -> Vec<f32> {
        let w = m.dequantize();
        let qx = quantize_rows(x, m.in_dim);
        let blocks = m.stride / CHUNK;
        let mut out = vec![0f32; rows * m.out_dim];
        for r in 0..rows {
            for o in 0..m.out_dim {
                let mut acc = 0f64;
                for k in 0..m.in_dim {
                    let xv = qx.values[r * m.stride + k] as f64 * qx.scales[r * blocks + k / CHUNK] as f64;
                    acc += xv * w[o * m.in_dim + k] as f64;
                }
                out[r * m.out_dim + o] = acc as f32;
            }
        }
        out
    }

    #[test]
    fn quantized_matmul_equals_the_dequantized_product_on_odd_shapes() {
        for &(rows, out, inp) in &[(1, 1, 1), (3, 7, 31), (2, 65, 33), (9, 130, 64), (70, 5, 100), (4, 64, 1000)] {
            let w = random(out * inp, 1 + out as u64, 0.2);
            let x = random(rows * inp, 2 + rows as u64, 3.0);
            let m = Int8Matrix::quantize(&w, out, inp);
            let want = reference(&m, &x, rows);
            for got in [m.matmul(&x, rows), m.matmul_portable(&x, rows)] {
                for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                    assert!((g - e).abs() <= 2e-5 * e.abs().max(1.0), "{rows}x{out}x{inp} [{i}]: {g} vs {e}");
                }
            }
        }
    }

    #[test]
    fn simd_and_portable_kernels_agree() {
        let n = CHUNK * 5;
        let a: Vec<i8> = (0..n).map(|i| ((i * 37 % 255) as i32 - 127) as i8).collect();
        let b: Vec<i8> = (0..n).map(|i| ((i * 91 % 255) as i32 - 127) as i8).collect();
        let sa: Vec<f32> = (0..5).map(|i| 0.01 * (i + 1) as f32).collect();
        let sb: Vec<f32> = (0..5).map(|i| 0.5 / (i + 1) as f32).collect();
        let expected: f64 = (0..n).map(|k| a[k] as f64 * b[k] as f64 * sa[k / CHUNK] as f64 * sb[k / CHUNK] as f64).sum();
        // SAFETY: dot_kernel picks AVX2 only where present; 5 blocks and 5 scales each.
        unsafe {
            for dot in [dot_portable as DotFn, dot_kernel()] {
                let got = dot(&a, &sa, &b, &sb) as f64;
                assert!((got - expected).abs() < 1e-4 * expected.abs().max(1.0), "{got} vs {expected}");
            }
            // Extremes: 127·127 and 127·-127 in every lane, no saturation.
            let max = vec![127i8; CHUNK * 3];
            let min = vec![-127i8; CHUNK * 3];
            let ones = vec![1f32; 3];
            assert_eq!(dot_kernel()(&max, &ones, &max, &ones), (127 * 127 * CHUNK * 3) as f32);
            assert_eq!(dot_kernel()(&max, &ones, &min, &ones), -((127 * 127 * CHUNK * 3) as f32));
        }
        assert_eq!(block_dot(&a[..CHUNK], &b[..CHUNK]), (0..CHUNK).map(|k| a[k] as i32 * b[k] as i32).sum::<i32>());
    }

    #[test]
    fn quantization_error_is_within_half_a_step_per_block() {
        let (out, inp) = (16, 80);
        let blocks = padded(inp) / CHUNK;
        let mut w = random(out * inp, 9, 0.05);
        w[5 * inp + 3] = 4.0; // an outlier only costs its own block precision
        let m = Int8Matrix::quantize(&w, out, inp);
        let back = m.dequantize();
        for o in 0..out {
            for k in 0..inp {
                let step = m.scales[o * blocks + k / CHUNK];
                let err = (back[o * inp + k] - w[o * inp + k]).abs();
                assert!(err <= step / 2.0 + 1e-7, "channel {o} value {k}: error {err} > half step {step}");
            }
        }
        assert!(m.scales[5 * blocks] > 4.0 / 127.0 - 1e-6, "the outlier's block scale");
        assert!(m.scales[5 * blocks + 1] < 0.05 / 127.0 + 1e-6, "the next block kept its own scale");
    }

    #[test]
    fn zero_rows_and_parts_round_trip() {
        let w = vec![0f32; 3 * 4];
        let m = Int8Matrix::quantize(&w, 3, 4);
        assert_eq!(m.matmul(&[1.0, 2.0, 3.0, 4.0], 1), vec![0.0; 3]);
        let x = vec![0f32; 4];
        let w = random(12, 3, 1.0);
        let m = Int8Matrix::quantize(&w, 3, 4);
        assert_eq!(m.matmul(&x, 1), vec![0.0; 3]);
        let (values, scales) = m.parts();
        let again = Int8Matrix::from_parts(values, scales.to_vec(), 3, 4).unwrap();
        assert_eq!(again.dequantize(), m.dequantize());
        assert!(Int8Matrix::from_parts(vec![0; 11], vec![1.0; 3], 3, 4).unwrap_err().contains("11 int8 values"));
        assert!(Int8Matrix::from_parts(vec![0; 12], vec![1.0; 2], 3, 4).unwrap_err().contains("2 scales"));
        assert!(Int8Matrix::from_parts(vec![-128; 12], vec![1.0; 3], 3, 4).unwrap_err().contains("-128"));
        assert!(Int8Matrix::from_parts(vec![0; 12], vec![f32::NAN; 3], 3, 4).unwrap_err().contains("scale 0"));
    }
}
