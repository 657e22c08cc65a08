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
        self.matmul_with(x, rows, block_kernel())
    }

    /// [`Self::matmul`] with the portable kernel, whatever the CPU (tests, comparisons).
    pub fn matmul_portable(&self, x: &[f32], rows: usize) -> Vec<f32> {
        self.matmul_with(x, rows, block_portable)
    }

    fn matmul_with(&self, x: &[f32], rows: usize, kernel: BlockFn) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.in_dim, "input is not {rows}x{}", self.in_dim);
        let (n, stride) = (self.out_dim, self.stride);
        let blocks = stride / CHUNK;
        if rows == 0 || n == 0 {
            return vec![0.0; rows * n];
        }
        let qx = quantize_rows(x, self.in_dim);
        let mut out_t = vec![0f32; n * rows];
        out_t
            .par_chunks_mut(CHANNELS_PER_TASK * rows)
            .zip(self.values.par_chunks(CHANNELS_PER_TASK * stride))
            .zip(self.scales.par_chunks(CHANNELS_PER_TASK * blocks))
            // SAFETY: the kernel was chosen for this CPU; the blocks are whole channels of
            // `stride` values and `blocks` scales, and `qx` holds `rows` rows of the same.
            .for_each(|((out_block, w_block), w_scales)| unsafe { kernel(w_block, w_scales, &qx, stride, out_block) });
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

/// Which kernel [`Int8Matrix::matmul`] uses here, for reports.
pub fn kernel_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return "avx2";
    }
    "portable"
}

/// Products of a block of channels (`w`: whole rows of `stride` values, `w_scales`: their
/// block scales) with every quantized input row, written channel-major:
/// `out[c · rows + r]`.
type BlockFn = unsafe fn(&[i8], &[f32], &QuantizedRows, usize, &mut [f32]);

fn block_kernel() -> BlockFn {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        return block_avx2;
    }
    block_portable
}

/// One dot product at a time, input rows in tiles of [`ROW_TILE`] so they stay in cache.
unsafe fn block_portable(w: &[i8], w_scales: &[f32], qx: &QuantizedRows, stride: usize, out: &mut [f32]) {
    let blocks = stride / CHUNK;
    let rows = qx.values.len() / stride;
    for tile_start in (0..rows).step_by(ROW_TILE) {
        let tile_end = (tile_start + ROW_TILE).min(rows);
        for (c, (w_row, sw)) in w.chunks_exact(stride).zip(w_scales.chunks_exact(blocks)).enumerate() {
            let out_row = &mut out[c * rows..(c + 1) * rows];
            for r in tile_start..tile_end {
                let x_row = &qx.values[r * stride..(r + 1) * stride];
                let sx = &qx.scales[r * blocks..(r + 1) * blocks];
                out_row[r] = dot_portable(w_row, sw, x_row, sx);
            }
        }
    }
}

/// AVX2 in tiles of two channels by up to three input rows: each weight block is loaded
/// (and its absolute value taken) once for all rows of the tile, and the six products
/// accumulate in registers. One call per (channel, row) pair, as before, cost as much
/// again as the arithmetic with three rows (beam search).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_avx2(w: &[i8], w_scales: &[f32], qx: &QuantizedRows, stride: usize, out: &mut [f32]) {
    let blocks = stride / CHUNK;
    let rows = qx.values.len() / stride;
    let channels = w.len() / stride;
    for tile_start in (0..rows).step_by(ROW_TILE) {
        let tile_end = (tile_start + ROW_TILE).min(rows);
        let mut c = 0;
        while c < channels {
            let pair = if channels - c >= 2 { 2 } else { 1 };
            let tile = Tile {
                w: w.as_ptr().add(c * stride),
                sw: w_scales.as_ptr().add(c * blocks),
                stride,
                blocks,
            };
            let mut r = tile_start;
            while r < tile_end {
                let x = qx.values.as_ptr().add(r * stride);
                let sx = qx.scales.as_ptr().add(r * blocks);
                let o = out.as_mut_ptr().add(c * rows + r);
                r += match (pair, tile_end - r) {
                    (2, 1) => tile_avx2::<2, 1>(tile, x, sx, o, rows),
                    (2, 2) => tile_avx2::<2, 2>(tile, x, sx, o, rows),
                    (2, _) => tile_avx2::<2, 3>(tile, x, sx, o, rows),
                    (_, 1) => tile_avx2::<1, 1>(tile, x, sx, o, rows),
                    (_, 2) => tile_avx2::<1, 2>(tile, x, sx, o, rows),
                    (_, _) => tile_avx2::<1, 3>(tile, x, sx, o, rows),
                };
            }
            c += pair;
        }
    }
}

/// Where a tile's channels start: values and scales, and their row lengths.
#[derive(Clone, Copy)]
struct Tile {
    w: *const i8,
    sw: *const f32,
    stride: usize,
    blocks: usize,
}

/// `C` channels × `R` input rows of [`block_avx2`]; per block, `maddubs(|w|, sign(x, w))`
/// and `madd` by ones give eight i32 sums, scaled in f32 by FMA. Returns `R`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile_avx2<const C: usize, const R: usize>(t: Tile, x: *const i8, sx: *const f32, out: *mut f32, rows: usize) -> usize {
    use std::arch::x86_64::*;
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_ps(); R]; C];
    for b in 0..t.blocks {
        let mut wv = [_mm256_setzero_si256(); C];
        let mut wa = [_mm256_setzero_si256(); C];
        for c in 0..C {
            wv[c] = _mm256_loadu_si256(t.w.add(c * t.stride + b * CHUNK) as *const __m256i);
            wa[c] = _mm256_sign_epi8(wv[c], wv[c]);
        }
        for r in 0..R {
            let xv = _mm256_loadu_si256(x.add(r * t.stride + b * CHUNK) as *const __m256i);
            let sxr = *sx.add(r * t.blocks + b);
            for c in 0..C {
                let products = _mm256_maddubs_epi16(wa[c], _mm256_sign_epi8(xv, wv[c]));
                let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(products, ones));
                let scale = _mm256_set1_ps(*t.sw.add(c * t.blocks + b) * sxr);
                acc[c][r] = _mm256_fmadd_ps(sums, scale, acc[c][r]);
            }
        }
    }
    for (c, row) in acc.iter().enumerate() {
        for (r, &a) in row.iter().enumerate() {
            let sum128 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
            let sum64 = _mm_add_ps(sum128, _mm_movehl_ps(sum128, sum128));
            *out.add(c * rows + r) = _mm_cvtss_f32(_mm_add_ss(sum64, _mm_shuffle_ps(sum64, sum64, 0b01)));
        }
    }
    R
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

/// `Σ_b sa[b] · sb[b] · Σ_{k∈b} a[k] · b[k]` over blocks of [`CHUNK`], in plain Rust; the
/// compiler vectorises the block products where it can.
fn dot_portable(a: &[i8], sa: &[f32], b: &[i8], sb: &[f32]) -> f32 {
    let mut sum = 0f32;
    for ((ca, cb), (s, t)) in a.chunks_exact(CHUNK).zip(b.chunks_exact(CHUNK)).zip(sa.iter().zip(sb)) {
        sum += block_dot(ca, cb) as f32 * (s * t);
    }
    sum
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
        let got = dot_portable(&a, &sa, &b, &sb) as f64;
        assert!((got - expected).abs() < 1e-4 * expected.abs().max(1.0), "{got} vs {expected}");
        assert_eq!(block_dot(&a[..CHUNK], &b[..CHUNK]), (0..CHUNK).map(|k| a[k] as i32 * b[k] as i32).sum::<i32>());
        // Extremes: 127·127 and 127·-127 in every lane, no saturation, in every tile shape
        // (1–3 channels by 1–4 rows) of the kernel this CPU runs. Inputs of ±1 quantize
        // to ±127 with scale 1/127 against weights of 127 with scale 1: ±127 a product.
        for channels in 1..=3 {
            for rows in 1..=4 {
                let w = Int8Matrix::from_parts(vec![127; channels * n], vec![1.0; channels * 5], channels, n).unwrap();
                for sign in [1f32, -1.0] {
                    let x = vec![sign; rows * n];
                    let want = sign * 127.0 * n as f32;
                    for got in [w.matmul(&x, rows), w.matmul_portable(&x, rows)] {
                        for g in got {
                            assert!((g - want).abs() <= 1e-3 * want.abs(), "{channels}x{rows}: {g} vs {want}");
                        }
                    }
                }
            }
        }
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
