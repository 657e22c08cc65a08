//! Int8 weights for the linear maps: symmetric quantization in blocks of 32 values along the
//! input dimension (one f32 scale per block of each output channel, the layout of GGML's
//! Q8_0, which is also what `chatplug quantize` saves), activations quantized the same way
//! on the fly (`quantize.rs`), integer dot products per block: AMX, AVX-512 VNNI or AVX2
//! where the CPU has them (detected at run time; `kernels.rs`), with portable fallbacks; all
//! give the same bits (`tests.rs` checks each against the others).
//!
//! In memory the output channels are grouped for the kernel ([`Packing`]): eight at a time
//! with each channel's block contiguous for AVX2, which reduces the eight channels' block
//! sums into one vector (on the vocabulary projection of mT5-small, three rows went from
//! 16.3 to about 8 ms; one dot product per channel and row before); sixteen at a time in
//! runs of four inputs for VNNI, whose `dpbusd` adds each run straight into a channel's
//! lane, so no reduction is needed and the kernel is fast enough for the encoder's
//! thousands of rows too. Either way the kernel reads a group's weights in one stream.
//!
//! Why this layout: a decoding step multiplies a few rows (one per beam) by every weight
//! matrix, so its time is the time to read the weights; int8 reads 1.125 bytes a weight
//! against f32's 4. Scales per block rather than per channel or per row keep one outlier
//! from costing a whole row its precision: on the golden requests per-channel weights with
//! per-row activations agreed with f32 on 61 % of greedy tokens, blocks of 32 on more (see
//! tests/precision.rs).
//!
//! `y[r][o] = Σ_b sx[r][b] · sw[o][b] · Σ_{k∈b} qx[r][k] · qw[o][k]`, with `q = round(v / s)`
//! in −127..=127 (−128 is never produced, so the AVX2 sign trick of `kernels.rs` is exact, and the
//! VNNI kernel's offset bytes fit 1..=255).

use rayon::prelude::*;

use crate::amx::TILE_ROWS;

mod kernels;
mod quantize;
#[cfg(test)]
mod tests;

use kernels::{best_kernel, group_fn, has_vnni, GroupFn, Products, Rows};
#[cfg(target_arch = "x86_64")]
use kernels::amx_group;
pub use kernels::kernel_name;
use quantize::{quantize_row_fast, quantize_rows};

/// Values per block (one scale each) and per SIMD chunk; rows are padded with zeros to a
/// multiple of it.
const CHUNK: usize = 32;
/// Inputs one VNNI instruction adds into each channel's lane.
const QUAD: usize = 4;
/// The widest group of any packing (the kernels' output buffer holds this many channels).
const MAX_GROUP: usize = 16;
/// Channel groups per parallel task.
const GROUPS_PER_TASK: usize = 8;
/// From this many input rows the AMX kernel replaces VNNI's (where the CPU has both):
/// a tile product takes sixteen rows, so fewer rows waste most of it.
const AMX_MIN_ROWS: usize = 32;
/// Input rows whose accumulators the kernel keeps while it streams one group's blocks.
const ROW_TILE: usize = 8;

/// How a matrix's values are laid out for the kernel that reads them; chosen when it is
/// built ([`Packing::native`]), never saved (files hold the row-major [`Int8Matrix::parts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packing {
    /// Groups of eight channels; a block's 32 values of each channel contiguous, the eight
    /// side by side: (groups, blocks, 8, 32). Read by the AVX2 kernel (`maddubs` per
    /// channel, then `hadd`s) and the portable one.
    Channels,
    /// Groups of sixteen channels; inside a block, each run of four inputs of the sixteen
    /// channels side by side: (groups, blocks, 8, 16, 4), one 64-byte vector per run. Every
    /// value is stored offset by 128 (the byte `v ^ 0x80`, 1..=255 read unsigned): VNNI's
    /// `dpbusd` multiplies unsigned by signed bytes and adds each run of four into a
    /// channel's lane, so the weights are its unsigned side, one row's four inputs are
    /// broadcast as the signed side, and `128 · Σ x` of the block takes the offset back
    /// out. The sixteen channels' block sums come out in one vector: no horizontal adds.
    Quads,
}

impl Packing {
    /// The packing of the fastest kernel this CPU runs.
    pub fn native() -> Packing {
        if has_vnni() {
            Packing::Quads
        } else {
            Packing::Channels
        }
    }

    /// Channels per group.
    fn group(self) -> usize {
        match self {
            Packing::Channels => 8,
            Packing::Quads => 16,
        }
    }

    /// Where value `k` (0..stride) of a group's channel `c` sits inside the group's values.
    fn offset(self, c: usize, k: usize) -> usize {
        let (b, i) = (k / CHUNK, k % CHUNK);
        let block = b * self.group() * CHUNK;
        match self {
            Packing::Channels => block + c * CHUNK + i,
            Packing::Quads => block + (i / QUAD) * self.group() * QUAD + c * QUAD + i % QUAD,
        }
    }

    /// The stored byte of a value, and back.
    fn store(self, v: i8) -> i8 {
        match self {
            Packing::Channels => v,
            Packing::Quads => ((v as u8) ^ 0x80) as i8,
        }
    }

    fn load(self, stored: i8) -> i8 {
        self.store(stored) // the offset is its own inverse
    }
}

/// The integer kernels, for benchmarks and tests ([`Int8Matrix::matmul_using`]);
/// [`Int8Matrix::matmul`] picks the fastest this CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust, either packing.
    Portable,
    /// [`Packing::Channels`] with AVX2.
    Avx2,
    /// [`Packing::Quads`] with AVX-512 VNNI.
    Vnni,
    /// [`Packing::Quads`] with AMX tiles (and AVX-512 for the scaling), sixteen rows at a time.
    Amx,
}

impl Kernel {
    pub const ALL: [Kernel; 4] = [Kernel::Portable, Kernel::Avx2, Kernel::Vnni, Kernel::Amx];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::Vnni => "avx512-vnni",
            Kernel::Amx => "amx",
        }
    }

    /// Whether this CPU runs the kernel on a matrix of this packing.
    pub fn runs(self, packing: Packing) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => packing == Packing::Channels && crate::kernels::has_avx2_fma(),
            Kernel::Vnni => packing == Packing::Quads && has_vnni(),
            Kernel::Amx => packing == Packing::Quads && has_vnni() && crate::amx::available(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// A (out, in) weight matrix quantized in blocks of [`CHUNK`] along each output channel.
#[derive(Clone)]
pub struct Int8Matrix {
    out_dim: usize,
    in_dim: usize,
    /// `in_dim` rounded up to [`CHUNK`].
    stride: usize,
    packing: Packing,
    /// (groups, group · stride) in the packing's order, zero-padded along both dimensions
    /// (the zero value's stored byte).
    values: Vec<i8>,
    /// (groups, blocks, group): the block scales of a group's channels side by side, in the
    /// order the kernels read them; padding channels have scale 0.
    scales: Vec<f32>,
}


impl Int8Matrix {
    /// Quantizes a row-major (out, in) f32 matrix, packed for this CPU's kernel.
    pub fn quantize(weight: &[f32], out_dim: usize, in_dim: usize) -> Self {
        Self::quantize_packed(weight, out_dim, in_dim, Packing::native())
    }

    /// [`Self::quantize`] in a chosen packing (benchmarks and tests compare the kernels;
    /// a packing whose SIMD kernel this CPU lacks runs the portable one).
    pub fn quantize_packed(weight: &[f32], out_dim: usize, in_dim: usize, packing: Packing) -> Self {
        assert_eq!(weight.len(), out_dim * in_dim, "weight is not {out_dim}x{in_dim}");
        Self::build(out_dim, in_dim, packing, |o, dst, scales, sums| {
            quantize_row_fast(&weight[o * in_dim..(o + 1) * in_dim], dst, scales, sums)
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
        Ok(Self::build(out_dim, in_dim, Packing::native(), |o, dst, row_scales, _| {
            dst[..in_dim].copy_from_slice(&values[o * in_dim..(o + 1) * in_dim]);
            row_scales.copy_from_slice(&scales[o * blocks..(o + 1) * blocks]);
        }))
    }

    /// Allocates the packing's layout and fills it a group per task: `channel(o, dst,
    /// scales, sums)` writes channel `o`'s values into `dst` (zeroed, `stride` long) and its
    /// block scales into `scales`; `sums` (one per block) is scratch space for the row
    /// quantizer.
    fn build(
        out_dim: usize,
        in_dim: usize,
        packing: Packing,
        channel: impl Fn(usize, &mut [i8], &mut [f32], &mut [i32]) + Sync,
    ) -> Self {
        let stride = padded(in_dim);
        let blocks = stride / CHUNK;
        let group = packing.group();
        let groups = out_dim.div_ceil(group);
        let mut values = vec![packing.store(0); groups * group * stride];
        let mut scales = vec![0f32; groups * blocks * group];
        if blocks > 0 {
            values.par_chunks_mut(group * stride).zip(scales.par_chunks_mut(blocks * group)).enumerate().for_each(
                |(g, (values, scales))| {
                    let (mut row, mut row_scales, mut row_sums) = (vec![0i8; stride], vec![0f32; blocks], vec![0i32; blocks]);
                    for c in 0..group.min(out_dim - g * group) {
                        row.fill(0);
                        channel(g * group + c, &mut row, &mut row_scales, &mut row_sums);
                        for (k, &v) in row.iter().enumerate() {
                            values[packing.offset(c, k)] = packing.store(v);
                        }
                        for (b, &scale) in row_scales.iter().enumerate() {
                            scales[b * group + c] = scale;
                        }
                    }
                },
            );
        }
        Int8Matrix { out_dim, in_dim, stride, packing, values, scales }
    }

    pub fn out_dim(&self) -> usize {
        self.out_dim
    }

    pub fn in_dim(&self) -> usize {
        self.in_dim
    }

    pub fn packing(&self) -> Packing {
        self.packing
    }

    fn blocks(&self) -> usize {
        self.stride / CHUNK
    }

    /// The scale of block `b` of output channel `o`.
    fn scale(&self, o: usize, b: usize) -> f32 {
        let group = self.packing.group();
        self.scales[((o / group) * self.blocks() + b) * group + o % group]
    }

    /// The int8 value of channel `o` at input `k`.
    fn value(&self, o: usize, k: usize) -> i8 {
        let group = self.packing.group();
        self.packing.load(self.values[(o / group) * group * self.stride + self.packing.offset(o % group, k)])
    }

    /// The quantized values, (out, in) without padding, and the block scales (out, blocks):
    /// the layout `chatplug quantize` saves.
    pub fn parts(&self) -> (Vec<i8>, Vec<f32>) {
        let values = (0..self.out_dim).flat_map(|o| (0..self.in_dim).map(move |k| self.value(o, k))).collect();
        let blocks = self.blocks();
        let scales = (0..self.out_dim).flat_map(|o| (0..blocks).map(move |b| self.scale(o, b))).collect();
        (values, scales)
    }

    /// Channel `o` widened to f32 into `dst` (in_dim long): a block at a time, its values
    /// read in the packing's order (the AVX2 encoder path widens every matrix per call).
    fn widen_channel(&self, o: usize, dst: &mut [f32]) {
        let group = self.packing.group();
        let (base, c) = ((o / group) * group * self.stride, o % group);
        for (b, dst) in dst.chunks_mut(CHUNK).enumerate() {
            let scale = self.scale(o, b);
            let start = base + self.packing.offset(c, b * CHUNK);
            match self.packing {
                Packing::Channels => {
                    for (x, &v) in dst.iter_mut().zip(&self.values[start..start + CHUNK]) {
                        *x = v as f32 * scale;
                    }
                }
                Packing::Quads => {
                    for (i, x) in dst.iter_mut().enumerate() {
                        let v = self.values[start + (i / QUAD) * group * QUAD + i % QUAD];
                        *x = Packing::Quads.load(v) as f32 * scale;
                    }
                }
            }
        }
    }

    /// The f32 matrix these int8 values stand for, (out, in), widened in parallel.
    pub fn dequantize(&self) -> Vec<f32> {
        let (n, d) = (self.out_dim, self.in_dim);
        let mut out = vec![0f32; n * d];
        if d == 0 {
            return out;
        }
        out.par_chunks_mut(d).enumerate().for_each(|(o, dst)| self.widen_channel(o, dst));
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
            self.widen_channel(o, &mut dst[..d]);
        }
        Some(out)
    }

    /// `x (rows, in) · Wᵀ → (rows, out)`, row-major, with `x` quantized in blocks; the
    /// fastest kernel this CPU runs for this many rows.
    pub fn matmul(&self, x: &[f32], rows: usize) -> Vec<f32> {
        if rows >= AMX_MIN_ROWS && Kernel::Amx.runs(self.packing) {
            return self.matmul_amx(x, rows);
        }
        self.matmul_with(x, rows, group_fn(best_kernel(self.packing), self.packing))
    }

    /// [`Self::matmul`] with the portable kernel, whatever the CPU (tests compare the two:
    /// they add in the same order, so they agree to the bit).
    pub fn matmul_portable(&self, x: &[f32], rows: usize) -> Vec<f32> {
        self.matmul_with(x, rows, group_fn(Kernel::Portable, self.packing))
    }

    /// [`Self::matmul`] with a chosen kernel; `None` where this CPU does not run it on
    /// this matrix's packing. Every kernel gives the same bits.
    pub fn matmul_using(&self, x: &[f32], rows: usize, kernel: Kernel) -> Option<Vec<f32>> {
        if !kernel.runs(self.packing) {
            return None;
        }
        Some(match kernel {
            Kernel::Portable => self.matmul_portable(x, rows),
            Kernel::Amx => self.matmul_amx(x, rows),
            Kernel::Avx2 | Kernel::Vnni => self.matmul_with(x, rows, group_fn(kernel, self.packing)),
        })
    }

    /// The AMX kernel ([`Packing::Quads`] only, where [`crate::amx::available`]): tasks of
    /// sixteen rows by [`GROUPS_PER_TASK`] groups, the rows padded to a multiple of
    /// sixteen with zeros.
    fn matmul_amx(&self, x: &[f32], rows: usize) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.in_dim, "input is not {rows}x{}", self.in_dim);
        let n = self.out_dim;
        let mut out = vec![0f32; rows * n];
        if rows == 0 || n == 0 || self.in_dim == 0 {
            return out;
        }
        let qx = quantize_rows(x, self.in_dim, TILE_ROWS);
        let tiles = rows.div_ceil(TILE_ROWS);
        let blocks = self.blocks();
        let group = Packing::Quads.group();
        let groups = n.div_ceil(group);
        let chunks = groups.div_ceil(GROUPS_PER_TASK);
        let out_ptr = SharedOut(out.as_mut_ptr());
        (0..tiles * chunks).into_par_iter().for_each(|task| {
            let (tile, chunk) = (task / chunks, task % chunks);
            let first_row = tile * TILE_ROWS;
            let tile_rows = TILE_ROWS.min(rows - first_row);
            let xs = Rows {
                values: &qx.values[first_row * self.stride..(first_row + TILE_ROWS) * self.stride],
                scales: &qx.scales[first_row * blocks..(first_row + TILE_ROWS) * blocks],
                sums: &qx.sums[first_row * blocks..(first_row + TILE_ROWS) * blocks],
            };
            // SAFETY: `Kernel::Amx.runs` checked AMX (and AVX-512) before any call.
            let tiles = unsafe { crate::amx::Tiles::configure() };
            let mut sums = [0f32; TILE_ROWS * MAX_GROUP];
            let mut products = Products([[[0; TILE_ROWS * MAX_GROUP]; 2]; 2]);
            for g in chunk * GROUPS_PER_TASK..groups.min((chunk + 1) * GROUPS_PER_TASK) {
                let w = &self.values[g * group * self.stride..(g + 1) * group * self.stride];
                let sw = &self.scales[g * group * blocks..(g + 1) * group * blocks];
                // SAFETY: as above; `w` is one group of `stride` values per channel, `sw`
                // its blocks × 16 scales, `xs` sixteen rows of the same blocks.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    amx_group(&tiles, w, sw, &xs, &mut products, &mut sums)
                };
                let first = g * group;
                let width = group.min(n - first);
                for r in 0..tile_rows {
                    // SAFETY: this task alone writes these rows' columns first..first +
                    // width, and `out` outlives the parallel loop.
                    unsafe {
                        std::ptr::copy_nonoverlapping(sums[r * group..].as_ptr(), out_ptr.at((first_row + r) * n + first), width)
                    };
                }
            }
            drop(tiles);
        });
        out
    }

    /// Whether this matrix's kernel multiplies faster than candle's f32 GEMM however many
    /// rows it gets (the encoder's thousands), so that widening the weights never pays:
    /// VNNI's `dpbusd` does four times the multiplies of an f32 FMA. The AVX2 kernel has no
    /// more multiply throughput than f32 FMA and wins only on a few rows.
    pub fn fast_at_any_size(&self) -> bool {
        Kernel::Vnni.runs(self.packing)
    }

    fn matmul_with(&self, x: &[f32], rows: usize, kernel: GroupFn) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.in_dim, "input is not {rows}x{}", self.in_dim);
        let n = self.out_dim;
        let mut out = vec![0f32; rows * n];
        if rows == 0 || n == 0 || self.in_dim == 0 {
            // Nothing to multiply (an empty sum is 0); chunks of zero width would panic.
            return out;
        }
        let qx = quantize_rows(x, self.in_dim, 1);
        let group = self.packing.group();
        let blocks = self.blocks();
        let group_values = group * self.stride;
        let group_scales = group * blocks;
        let out_ptr = SharedOut(out.as_mut_ptr());
        self.values
            .par_chunks(GROUPS_PER_TASK * group_values)
            .zip(self.scales.par_chunks(GROUPS_PER_TASK * group_scales))
            .enumerate()
            .for_each(|(task, (values, scales))| {
                let mut sums = [0f32; ROW_TILE * MAX_GROUP];
                for (g, (w, sw)) in values.chunks_exact(group_values).zip(scales.chunks_exact(group_scales)).enumerate() {
                    let first = (task * GROUPS_PER_TASK + g) * group;
                    let width = group.min(n - first);
                    for tile in (0..rows).step_by(ROW_TILE) {
                        let tile_rows = ROW_TILE.min(rows - tile);
                        let xs = Rows {
                            values: &qx.values[tile * self.stride..(tile + tile_rows) * self.stride],
                            scales: &qx.scales[tile * blocks..(tile + tile_rows) * blocks],
                            sums: &qx.sums[tile * blocks..(tile + tile_rows) * blocks],
                        };
                        // SAFETY: `group_fn` is given a SIMD kernel only where the CPU has
                        // its instructions, and only for its packing; `w` is one group of
                        // `stride` values per channel, `sw` blocks × group scales, `xs`
                        // `tile_rows` rows of the same blocks.
                        unsafe { kernel(w, sw, &xs, tile_rows, &mut sums) };
                        for r in 0..tile_rows {
                            // SAFETY: this task alone writes columns first..first + width,
                            // and `out` outlives the parallel loop.
                            unsafe {
                                std::ptr::copy_nonoverlapping(
                                    sums[r * group..].as_ptr(),
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
        write!(f, "Int8Matrix({}x{}, {:?})", self.out_dim, self.in_dim, self.packing)
    }
}

pub(super) fn padded(n: usize) -> usize {
    n.div_ceil(CHUNK) * CHUNK
}

