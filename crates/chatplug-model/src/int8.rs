//! Int8 weights for the linear maps: symmetric quantization in blocks of 32 values along the
//! input dimension (one f32 scale per block of each output channel, the layout of GGML's
//! Q8_0, which is also what `chatplug quantize` saves), activations quantized the same way
//! on the fly, integer dot products per block (AVX2 where the CPU has it, detected at run
//! time, with a portable fallback that gives the same bits).
//!
//! In memory the output channels are taken eight at a time and each block of the eight is
//! stored side by side: the kernel reads the weights in one sequential stream and reduces
//! the eight channels' block sums into one vector, so the per-block scaling costs one
//! vector operation per eight channels (on the vocabulary projection of mT5-small, three
//! rows went from 16.3 to about 8 ms; one dot product per channel and row before).
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
/// Output channels the kernel computes together: their block sums are reduced into one
/// vector of eight lanes, so the block scaling and accumulation cost one vector operation
/// per eight channels rather than one per channel.
const GROUP: usize = 8;
/// Channel groups per parallel task.
const GROUPS_PER_TASK: usize = 8;
/// Input rows whose accumulators the kernel keeps while it streams one group's blocks.
const ROW_TILE: usize = 8;
/// Up to this many rows activations are quantized on the calling thread: for a decoding
/// step's few rows, handing the work to the pool costs more than it saves.
const SERIAL_QUANTIZE_ROWS: usize = 32;

/// A (out, in) weight matrix quantized in blocks of [`CHUNK`] along each output channel.
#[derive(Clone)]
pub struct Int8Matrix {
    out_dim: usize,
    in_dim: usize,
    /// `in_dim` rounded up to [`CHUNK`].
    stride: usize,
    /// (groups, blocks, GROUP, CHUNK): block `b` of a group's eight channels side by side,
    /// so that the kernel reads the weights in one sequential stream; zero-padded along
    /// both dimensions.
    values: Vec<i8>,
    /// (groups, blocks, GROUP): the block scales of a group's channels side by side, in the
    /// order the kernel reads them; padding channels have scale 0.
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
        Self::build(out_dim, in_dim, |o, b, dst| {
            let row = &weight[o * in_dim..(o + 1) * in_dim];
            quantize_block(&row[b * CHUNK..in_dim.min((b + 1) * CHUNK)], dst)
        })
    }

    /// Rebuilds a matrix from stored parts (a checkpoint saved quantized): values (out, in)
    /// and block scales (out, blocks), the layout [`Self::parts`] returns.
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
        Ok(Self::build(out_dim, in_dim, |o, b, dst| {
            let row = &values[o * in_dim..(o + 1) * in_dim];
            let src = &row[b * CHUNK..in_dim.min((b + 1) * CHUNK)];
            dst[..src.len()].copy_from_slice(src);
            scales[o * blocks + b]
        }))
    }

    /// Allocates the kernel's layout and fills it a group per task: `block(o, b, dst)`
    /// writes block `b` of channel `o` into `dst` (zeroed, CHUNK long) and returns its scale.
    fn build(out_dim: usize, in_dim: usize, block: impl Fn(usize, usize, &mut [i8]) -> f32 + Sync) -> Self {
        let stride = padded(in_dim);
        let blocks = stride / CHUNK;
        let groups = out_dim.div_ceil(GROUP);
        let mut values = vec![0i8; groups * GROUP * stride];
        let mut scales = vec![0f32; groups * blocks * GROUP];
        if blocks > 0 {
            values.par_chunks_mut(GROUP * stride).zip(scales.par_chunks_mut(blocks * GROUP)).enumerate().for_each(
                |(g, (values, scales))| {
                    for (i, (dst, scale)) in values.chunks_exact_mut(CHUNK).zip(scales.iter_mut()).enumerate() {
                        // Position i is block i / GROUP of the group's channel i % GROUP.
                        let o = g * GROUP + i % GROUP;
                        if o < out_dim {
                            *scale = block(o, i / GROUP, dst);
                        }
                    }
                },
            );
        }
        Int8Matrix { out_dim, in_dim, stride, values, scales }
    }

    /// Where block `b` of output channel `o` starts in `values` (its scale is at this
    /// index / CHUNK in `scales`).
    fn block_at(&self, o: usize, b: usize) -> usize {
        (((o / GROUP) * self.blocks() + b) * GROUP + o % GROUP) * CHUNK
    }

    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    pub fn in_dim(&self) -> usize {
        self.in_dim
    }

    fn blocks(&self) -> usize {
        self.stride / CHUNK
    }

    /// The scale of block `b` of output channel `o`.
    fn scale(&self, o: usize, b: usize) -> f32 {
        self.scales[self.block_at(o, b) / CHUNK]
    }

    /// The values of block `b` of output channel `o`.
    fn block(&self, o: usize, b: usize) -> &[i8] {
        &self.values[self.block_at(o, b)..][..CHUNK]
    }

    /// The quantized values, (out, in) without padding, and the block scales (out, blocks):
    /// the layout `chatplug quantize` saves.
    pub fn parts(&self) -> (Vec<i8>, Vec<f32>) {
        let blocks = self.blocks();
        let mut values = Vec::with_capacity(self.out_dim * self.in_dim);
        for o in 0..self.out_dim {
            let row_start = values.len();
            for b in 0..blocks {
                values.extend_from_slice(self.block(o, b));
            }
            values.truncate(row_start + self.in_dim);
        }
        let scales = (0..self.out_dim).flat_map(|o| (0..blocks).map(move |b| (o, b))).map(|(o, b)| self.scale(o, b)).collect();
        (values, scales)
    }

    /// The f32 matrix these int8 values stand for, (out, in), widened in parallel.
    pub fn dequantize(&self) -> Vec<f32> {
        let (n, d) = (self.out_dim, self.in_dim);
        let mut out = vec![0f32; n * d];
        if d == 0 {
            return out;
        }
        out.par_chunks_mut(d).enumerate().for_each(|(o, dst)| {
            for (b, dst) in dst.chunks_mut(CHUNK).enumerate() {
                let scale = self.scale(o, b);
                for (o, &v) in dst.iter_mut().zip(self.block(o, b)) {
                    *o = v as f32 * scale;
                }
            }
        });
        out
    }

    /// The f32 values output channels `channels` stand for, (channels.len(), in): an
    /// embedding lookup when the matrix is a token table. `None` when a channel is out of
    /// range.
    pub fn dequantize_rows(&self, channels: &[u32]) -> Option<Vec<f32>> {
        let d = self.in_dim;
        let mut out = vec![0f32; channels.len() * d];
        for (&o, dst) in channels.iter().zip(out.chunks_exact_mut(d.max(1))) {
            let o = o as usize;
            if o >= self.out_dim {
                return None;
            }
            for (b, dst) in dst.chunks_mut(CHUNK).enumerate() {
                let scale = self.scale(o, b);
                for (x, &v) in dst.iter_mut().zip(self.block(o, b)) {
                    *x = v as f32 * scale;
                }
            }
        }
        Some(out)
    }

    /// `x (rows, in) · Wᵀ → (rows, out)`, row-major, with `x` quantized in blocks.
    pub fn matmul(&self, x: &[f32], rows: usize) -> Vec<f32> {
        self.matmul_with(x, rows, group_kernel())
    }

    /// [`Self::matmul`] with the portable kernel, whatever the CPU (tests compare the two:
    /// they add in the same order, so they agree to the bit).
    pub fn matmul_portable(&self, x: &[f32], rows: usize) -> Vec<f32> {
        self.matmul_with(x, rows, group_portable)
    }

    fn matmul_with(&self, x: &[f32], rows: usize, kernel: GroupFn) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.in_dim, "input is not {rows}x{}", self.in_dim);
        let n = self.out_dim;
        let mut out = vec![0f32; rows * n];
        if rows == 0 || n == 0 || self.in_dim == 0 {
            // Nothing to multiply (an empty sum is 0); chunks of zero width would panic.
            return out;
        }
        let qx = quantize_rows(x, self.in_dim);
        let group_values = GROUP * self.stride;
        let group_scales = GROUP * self.blocks();
        let out_ptr = SharedOut(out.as_mut_ptr());
        self.values
            .par_chunks(GROUPS_PER_TASK * group_values)
            .zip(self.scales.par_chunks(GROUPS_PER_TASK * group_scales))
            .enumerate()
            .for_each(|(task, (values, scales))| {
                let mut sums = [0f32; ROW_TILE * GROUP];
                for (g, (w, sw)) in values.chunks_exact(group_values).zip(scales.chunks_exact(group_scales)).enumerate() {
                    let first = (task * GROUPS_PER_TASK + g) * GROUP;
                    let width = GROUP.min(n - first);
                    for tile in (0..rows).step_by(ROW_TILE) {
                        let tile_rows = ROW_TILE.min(rows - tile);
                        let xs = &qx.values[tile * self.stride..(tile + tile_rows) * self.stride];
                        let sx = &qx.scales[tile * self.blocks()..(tile + tile_rows) * self.blocks()];
                        // SAFETY: `group_kernel` returns the AVX2 kernel only where the CPU has
                        // AVX2; `w` is GROUP rows of `stride`, `sw` blocks × GROUP scales,
                        // `xs` and `sx` `tile_rows` rows of the same blocks.
                        unsafe { kernel(w, sw, xs, sx, tile_rows, &mut sums) };
                        for r in 0..tile_rows {
                            // SAFETY: this task alone writes columns first..first + width,
                            // and `out` outlives the parallel loop.
                            unsafe {
                                std::ptr::copy_nonoverlapping(
                                    sums[r * GROUP..].as_ptr(),
                                    out_ptr.at((tile + r) * n + first),
                                    width,
                                )
                            };
                        }
                    }
                }
            });
        out
    }
}

/// The output buffer, written by the parallel tasks at disjoint columns.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: tasks write disjoint elements (see `matmul_with`), never read them.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    fn at(self, index: usize) -> *mut f32 {
        // SAFETY (caller): `index` lies inside the buffer.
        unsafe { self.0.add(index) }
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
    let quantize_row = |((dst, src), row_scales): ((&mut [i8], &[f32]), &mut [f32])| {
        for ((dst, src), scale) in dst.chunks_mut(CHUNK).zip(src.chunks(CHUNK)).zip(row_scales) {
            *scale = quantize_block(src, dst);
        }
    };
    if rows <= SERIAL_QUANTIZE_ROWS {
        q.chunks_mut(stride).zip(values.chunks(width)).zip(scales.chunks_mut(blocks)).for_each(quantize_row);
    } else {
        q.par_chunks_mut(stride).zip(values.par_chunks(width)).zip(scales.par_chunks_mut(blocks)).for_each(quantize_row);
    }
    QuantizedRows { values: q, scales }
}

/// Symmetric quantization of one block (`src` at most CHUNK values, into `dst`, zeroed):
/// `scale = max|v| / 127`, `q = round(v / scale)`; returns the scale.
fn quantize_block(src: &[f32], dst: &mut [i8]) -> f32 {
    let max = src.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 || !max.is_finite() {
        // All zeros stay zero; a non-finite value has no meaningful scale, and NaN
        // propagates through the scale so the output shows it.
        return if max.is_finite() { 0.0 } else { f32::NAN };
    }
    let inverse = 127.0 / max;
    for (d, &v) in dst.iter_mut().zip(src) {
        *d = (v * inverse).round().clamp(-127.0, 127.0) as i8;
    }
    max / 127.0
}

/// One group of GROUP channels (values (blocks, GROUP, CHUNK), scales (blocks, GROUP))
/// against up to ROW_TILE rows:
/// `sums[r·GROUP + c] = Σ_b (Σ_{k∈b} w[c][k] · x[r][k]) · (sw[b][c] · sx[r][b])`, the blocks
/// added in order, each product rounded to f32 before it is added.
type GroupFn = unsafe fn(w: &[i8], sw: &[f32], x: &[i8], sx: &[f32], rows: usize, sums: &mut [f32; ROW_TILE * GROUP]);

/// The fastest group kernel this CPU runs.
fn group_kernel() -> GroupFn {
    #[cfg(target_arch = "x86_64")]
    if crate::kernels::has_avx2_fma() {
        return group_avx2;
    }
    group_portable
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
unsafe fn group_portable(w: &[i8], sw: &[f32], x: &[i8], sx: &[f32], rows: usize, sums: &mut [f32; ROW_TILE * GROUP]) {
    let stride = w.len() / GROUP;
    let blocks = stride / CHUNK;
    for r in 0..rows {
        let x_row = &x[r * stride..(r + 1) * stride];
        for c in 0..GROUP {
            let mut sum = 0f32;
            for b in 0..blocks {
                let block = block_dot(&w[(b * GROUP + c) * CHUNK..][..CHUNK], &x_row[b * CHUNK..(b + 1) * CHUNK]);
                sum += block as f32 * (sw[b * GROUP + c] * sx[r * blocks + b]);
            }
            sums[r * GROUP + c] = sum;
        }
    }
}

/// AVX2. Per block and row: `maddubs(|x|, sign(w, x))` multiplies unsigned by signed bytes
/// and adds pairs into i16 (at most 2·127·127 = 32 258, no saturation; −128 never occurs),
/// `madd` by ones widens to i32, for each of the eight channels; `hadd`s and one lane swap
/// reduce the eight vectors to one holding the eight channels' block sums, which is scaled
/// and added in f32 for all eight at once. A block's 256 weight bytes stay in L1 across rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn group_avx2(w: &[i8], sw: &[f32], x: &[i8], sx: &[f32], rows: usize, sums: &mut [f32; ROW_TILE * GROUP]) {
    use std::arch::x86_64::*;
    let stride = w.len() / GROUP;
    let blocks = stride / CHUNK;
    debug_assert!(rows <= ROW_TILE && x.len() >= rows * stride && sx.len() >= rows * blocks);
    debug_assert_eq!(sw.len(), blocks * GROUP);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); ROW_TILE];
    let wp = w.as_ptr();
    for b in 0..blocks {
        let scale_w = _mm256_loadu_ps(sw.as_ptr().add(b * GROUP));
        for (r, acc) in acc.iter_mut().enumerate().take(rows) {
            let xv = _mm256_loadu_si256(x.as_ptr().add(r * stride + b * CHUNK) as *const __m256i);
            let xa = _mm256_abs_epi8(xv);
            // A macro rather than a closure: closures do not inherit target features.
            macro_rules! channel {
                ($c:expr) => {{
                    let wv = _mm256_loadu_si256(wp.add((b * GROUP + $c) * CHUNK) as *const __m256i);
                    _mm256_madd_epi16(_mm256_maddubs_epi16(xa, _mm256_sign_epi8(wv, xv)), ones)
                }};
            }
            let h01 = _mm256_hadd_epi32(channel!(0), channel!(1));
            let h23 = _mm256_hadd_epi32(channel!(2), channel!(3));
            let h45 = _mm256_hadd_epi32(channel!(4), channel!(5));
            let h67 = _mm256_hadd_epi32(channel!(6), channel!(7));
            // Each 128-bit lane now holds channels 0-3 (and 4-7) summed over its half.
            let low = _mm256_hadd_epi32(h01, h23);
            let high = _mm256_hadd_epi32(h45, h67);
            let block = _mm256_add_epi32(
                _mm256_permute2x128_si256(low, high, 0x20),
                _mm256_permute2x128_si256(low, high, 0x31),
            );
            let scale = _mm256_mul_ps(scale_w, _mm256_set1_ps(*sx.get_unchecked(r * blocks + b)));
            // Multiply, then add (no FMA): the portable kernel's rounding, to the bit.
            *acc = _mm256_add_ps(*acc, _mm256_mul_ps(_mm256_cvtepi32_ps(block), scale));
        }
    }
    for (r, acc) in acc.iter().enumerate().take(rows) {
        _mm256_storeu_ps(sums.as_mut_ptr().add(r * GROUP), *acc);
    }
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
        for &(rows, out, inp) in &[(1, 1, 1), (3, 7, 31), (2, 65, 33), (9, 130, 64), (70, 5, 100), (4, 64, 1000), (17, 9, 40)] {
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
    fn simd_and_portable_kernels_agree_to_the_bit() {
        // Odd shapes: a last group of fewer than GROUP channels, row tiles of 8 plus a
        // remainder, blocks padded at the end; outliers so scales differ between blocks.
        for &(rows, out, inp) in &[(1, 250, 512), (3, 13, 70), (9, 67, 96), (17, 9, 33), (32, 64, 1024)] {
            let mut w = random(out * inp, 5 + inp as u64, 0.1);
            w[out * inp / 2] = 3.0;
            let mut x = random(rows * inp, 6 + rows as u64, 2.0);
            x[inp / 3] = -40.0;
            let m = Int8Matrix::quantize(&w, out, inp);
            let (fast, portable) = (m.matmul(&x, rows), m.matmul_portable(&x, rows));
            assert!(fast.iter().zip(&portable).all(|(a, b)| a.to_bits() == b.to_bits()), "{rows}x{out}x{inp}");
        }
    }

    #[test]
    fn extreme_values_do_not_saturate() {
        // 127·127 and 127·(−127) in every position: the i16 pair sums are at their largest.
        let (out, inp) = (GROUP + 1, CHUNK * 3);
        let mut w = vec![1f32; out * inp];
        w[inp..2 * inp].fill(-1.0);
        let m = Int8Matrix::quantize(&w, out, inp);
        for x in [vec![1f32; inp], vec![-1f32; inp]] {
            let sign = x[0];
            for y in [m.matmul(&x, 1), m.matmul_portable(&x, 1)] {
                assert_eq!(y[0], sign * inp as f32);
                assert_eq!(y[1], -sign * inp as f32);
            }
        }
        let a: Vec<i8> = (0..CHUNK).map(|i| ((i * 37 % 255) as i32 - 127) as i8).collect();
        let b: Vec<i8> = (0..CHUNK).map(|i| ((i * 91 % 255) as i32 - 127) as i8).collect();
        assert_eq!(block_dot(&a, &b), (0..CHUNK).map(|k| a[k] as i32 * b[k] as i32).sum::<i32>());
    }

    #[test]
    fn parts_are_row_major_whatever_the_kernel_layout() {
        // `chatplug quantize` saves parts(): values (out, in) and scales (out, blocks), the
        // row-by-row quantization of the weight; files written before the kernel's grouped
        // layout must load to the same matrix.
        let (out, inp) = (11, 70);
        let w = random(out * inp, 21, 0.4);
        let m = Int8Matrix::quantize(&w, out, inp);
        let rows = quantize_rows(&w, inp);
        let stride = padded(inp);
        let (values, scales) = m.parts();
        let want: Vec<i8> = rows.values.chunks(stride).flat_map(|r| r[..inp].to_vec()).collect();
        assert_eq!(values, want);
        assert_eq!(scales, rows.scales);
        let again = Int8Matrix::from_parts(values, scales, out, inp).unwrap();
        let x = random(3 * inp, 22, 1.0);
        assert_eq!(again.matmul(&x, 3), m.matmul(&x, 3));
    }

    #[test]
    fn dequantized_rows_are_rows_of_the_dequantized_matrix() {
        let (out, inp) = (19, 45);
        let m = Int8Matrix::quantize(&random(out * inp, 31, 0.5), out, inp);
        let all = m.dequantize();
        let rows = m.dequantize_rows(&[18, 0, 7, 7]).unwrap();
        for (i, &o) in [18usize, 0, 7, 7].iter().enumerate() {
            assert_eq!(rows[i * inp..(i + 1) * inp], all[o * inp..(o + 1) * inp], "row {o}");
        }
        assert!(m.dequantize_rows(&[19]).is_none());
    }

    #[test]
    fn rows_are_independent_of_the_batch() {
        // Batched decoding must equal solo decoding: a row's output depends on that row only.
        let (out, inp) = (40, 96);
        let m = Int8Matrix::quantize(&random(out * inp, 11, 0.3), out, inp);
        let x = random(11 * inp, 12, 1.5);
        let all = m.matmul(&x, 11);
        for r in 0..11 {
            assert_eq!(m.matmul(&x[r * inp..(r + 1) * inp], 1), all[r * out..(r + 1) * out], "row {r}");
        }
    }

    #[test]
    fn quantization_error_is_within_half_a_step_per_block() {
        let (out, inp) = (16, 80);
        let mut w = random(out * inp, 9, 0.05);
        w[5 * inp + 3] = 4.0; // an outlier only costs its own block precision
        let m = Int8Matrix::quantize(&w, out, inp);
        let back = m.dequantize();
        for o in 0..out {
            for k in 0..inp {
                let step = m.scale(o, k / CHUNK);
                let err = (back[o * inp + k] - w[o * inp + k]).abs();
                assert!(err <= step / 2.0 + 1e-7, "channel {o} value {k}: error {err} > half step {step}");
            }
        }
        assert!(m.scale(5, 0) > 4.0 / 127.0 - 1e-6, "the outlier's block scale");
        assert!(m.scale(5, 1) < 0.05 / 127.0 + 1e-6, "the next block kept its own scale");
    }

    #[test]
    fn zero_rows_and_parts_round_trip() {
        let w = vec![0f32; 3 * 4];
        let m = Int8Matrix::quantize(&w, 3, 4);
        assert_eq!(m.matmul(&[1.0, 2.0, 3.0, 4.0], 1), vec![0.0; 3]);
        let empty = Int8Matrix::quantize(&[], 3, 0);
        assert_eq!(empty.matmul(&[], 2), vec![0.0; 6]);
        assert_eq!(empty.matmul_portable(&[], 2), vec![0.0; 6]);
        let x = vec![0f32; 4];
        let w = random(12, 3, 1.0);
        let m = Int8Matrix::quantize(&w, 3, 4);
        assert_eq!(m.matmul(&x, 1), vec![0.0; 3]);
        let (values, scales) = m.parts();
        let again = Int8Matrix::from_parts(values, scales, 3, 4).unwrap();
        assert_eq!(again.dequantize(), m.dequantize());
        assert!(Int8Matrix::from_parts(vec![0; 11], vec![1.0; 3], 3, 4).unwrap_err().contains("11 int8 values"));
        assert!(Int8Matrix::from_parts(vec![0; 12], vec![1.0; 2], 3, 4).unwrap_err().contains("2 scales"));
        assert!(Int8Matrix::from_parts(vec![-128; 12], vec![1.0; 3], 3, 4).unwrap_err().contains("-128"));
        assert!(Int8Matrix::from_parts(vec![0; 12], vec![f32::NAN; 3], 3, 4).unwrap_err().contains("scale 0"));
    }
}
