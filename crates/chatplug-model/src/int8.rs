//! Int8 weights for the linear maps: symmetric quantization in blocks of 32 values along the
//! input dimension (one f32 scale per block of each output channel, the layout of GGML's
//! Q8_0, which is also what `chatplug quantize` saves), activations quantized the same way
//! on the fly, integer dot products per block: AVX-512 VNNI or AVX2 where the CPU has them
//! (detected at run time), with a portable fallback; all give the same bits.
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
//! in −127..=127 (−128 is never produced, so the AVX2 sign trick below is exact, and the
//! VNNI kernel's offset bytes fit 1..=255).

use rayon::prelude::*;

use crate::amx::TILE_ROWS;

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
/// Up to this many rows activations are quantized on the calling thread: for a decoding
/// step's few rows, handing the work to the pool costs more than it saves.
const SERIAL_QUANTIZE_ROWS: usize = 32;

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

/// Quantized rows: values (rows, stride), scales and integer sums (rows, stride / CHUNK).
struct QuantizedRows {
    values: Vec<i8>,
    scales: Vec<f32>,
    /// Σ of each block's quantized values (the VNNI kernel's offset correction).
    sums: Vec<i32>,
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
        self.matmul_with(x, rows, group_kernel(self.packing))
    }

    /// [`Self::matmul`] with the portable kernel, whatever the CPU (tests compare the two:
    /// they add in the same order, so they agree to the bit).
    pub fn matmul_portable(&self, x: &[f32], rows: usize) -> Vec<f32> {
        self.matmul_with(x, rows, portable_kernel(self.packing))
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
            Kernel::Avx2 | Kernel::Vnni => self.matmul_with(x, rows, group_kernel(self.packing)),
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
        let mut qx = quantize_rows(x, self.in_dim);
        let tiles = rows.div_ceil(TILE_ROWS);
        let blocks = self.blocks();
        qx.values.resize(tiles * TILE_ROWS * self.stride, 0);
        qx.scales.resize(tiles * TILE_ROWS * blocks, 0.0);
        qx.sums.resize(tiles * TILE_ROWS * blocks, 0);
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
        group_kernel_name(self.packing) == "avx512-vnni"
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
                        // SAFETY: `group_kernel` returns a SIMD kernel only where the CPU has
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
    let mut sums = vec![0i32; rows * blocks];
    if width == 0 {
        return QuantizedRows { values: q, scales, sums };
    }
    let quantize_row = |(((dst, src), row_scales), row_sums): (((&mut [i8], &[f32]), &mut [f32]), &mut [i32])| {
        quantize_row_fast(src, dst, row_scales, row_sums)
    };
    if rows <= SERIAL_QUANTIZE_ROWS {
        q.chunks_mut(stride)
            .zip(values.chunks(width))
            .zip(scales.chunks_mut(blocks))
            .zip(sums.chunks_mut(blocks))
            .for_each(quantize_row);
    } else {
        q.par_chunks_mut(stride)
            .zip(values.par_chunks(width))
            .zip(scales.par_chunks_mut(blocks))
            .zip(sums.par_chunks_mut(blocks))
            .for_each(quantize_row);
    }
    QuantizedRows { values: q, scales, sums }
}

/// One row's blocks (`src`, `in` values) into `dst` (`stride` long, zeroed): values,
/// scales and integer sums, with the fastest code this CPU runs; every version gives the
/// same bits as [`quantize_block`].
fn quantize_row_fast(src: &[f32], dst: &mut [i8], scales: &mut [f32], sums: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx512() {
            // SAFETY: the CPU has AVX-512 F and BW.
            return unsafe { quantize_row_avx512(src, dst, scales, sums) };
        }
        if crate::kernels::has_avx2_fma() {
            // SAFETY: the CPU has AVX2 and FMA.
            return unsafe { quantize_row_avx2(src, dst, scales, sums) };
        }
    }
    quantize_row(src, dst, scales, sums)
}

/// [`quantize_row_fast`] in plain Rust.
#[inline(always)]
fn quantize_row(src: &[f32], dst: &mut [i8], scales: &mut [f32], sums: &mut [i32]) {
    for (((dst, src), scale), sum) in dst.chunks_mut(CHUNK).zip(src.chunks(CHUNK)).zip(scales).zip(sums) {
        *scale = quantize_block(src, dst);
        *sum = dst.iter().map(|&v| v as i32).sum();
    }
}

/// [`quantize_row`] compiled for AVX2: the block maximum and the rounding become vector
/// instructions, where the baseline build calls `roundf` per value. The same arithmetic,
/// so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn quantize_row_avx2(src: &[f32], dst: &mut [i8], scales: &mut [f32], sums: &mut [i32]) {
    quantize_row(src, dst, scales, sums)
}

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw")
}

/// [`quantize_row`] written with AVX-512, a block (two vectors) at a time: the compiled
/// AVX2 version was about as costly as the AMX products it feeds (a profile of the int8
/// encoder). Rounds half away from zero as `f32::round` does: truncate, then step away
/// from zero where the dropped fraction is at least one half (exact: `t − trunc(t)` needs
/// no rounding). Blocks with a NaN, a non-finite or zero maximum, and a short last block
/// take [`quantize_block`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn quantize_row_avx512(src: &[f32], dst: &mut [i8], scales: &mut [f32], sums: &mut [i32]) {
    use std::arch::x86_64::*;
    let sign_bit = _mm512_set1_epi32(i32::MIN);
    let one = _mm512_set1_ps(1.0);
    let half = _mm512_set1_ps(0.5);
    let (low, high) = (_mm512_set1_ps(-127.0), _mm512_set1_ps(127.0));
    let round = |t: __m512| {
        let truncated = _mm512_roundscale_ps::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(t);
        let fraction = _mm512_abs_ps(_mm512_sub_ps(t, truncated));
        let away = _mm512_castsi512_ps(_mm512_or_si512(
            _mm512_and_si512(_mm512_castps_si512(t), sign_bit),
            _mm512_castps_si512(one),
        ));
        let up = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(fraction, half);
        let rounded = _mm512_mask_add_ps(truncated, up, truncated, away);
        _mm512_cvttps_epi32(_mm512_min_ps(_mm512_max_ps(rounded, low), high))
    };
    for (b, (scale, sum)) in scales.iter_mut().zip(sums.iter_mut()).enumerate() {
        let start = b * CHUNK;
        let end = src.len().min(start + CHUNK);
        let block = &src[start..end];
        if block.len() == CHUNK {
            let v0 = _mm512_loadu_ps(block.as_ptr());
            let v1 = _mm512_loadu_ps(block.as_ptr().add(16));
            let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v0, v0) | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v1, v1);
            let max = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
            if nan == 0 && max != 0.0 && max.is_finite() {
                let inverse = _mm512_set1_ps(127.0 / max);
                let q0 = round(_mm512_mul_ps(v0, inverse));
                let q1 = round(_mm512_mul_ps(v1, inverse));
                _mm_storeu_si128(dst.as_mut_ptr().add(start) as *mut __m128i, _mm512_cvtsepi32_epi8(q0));
                _mm_storeu_si128(dst.as_mut_ptr().add(start + 16) as *mut __m128i, _mm512_cvtsepi32_epi8(q1));
                *scale = max / 127.0;
                *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
                continue;
            }
        }
        let out = &mut dst[start..start + CHUNK];
        *scale = quantize_block(block, out);
        *sum = out.iter().map(|&v| v as i32).sum();
    }
}

/// Symmetric quantization of one block (`src` at most CHUNK values, into `dst`, zeroed):
/// `scale = max|v| / 127`, `q = round(v / scale)`; returns the scale.
#[inline(always)]
fn quantize_block(src: &[f32], dst: &mut [i8]) -> f32 {
    // Eight running maxima, so the reduction vectorises (one is a serial chain); `max`
    // skips NaN either way.
    let mut lanes = [0f32; 8];
    for chunk in src.chunks(8) {
        for (m, v) in lanes.iter_mut().zip(chunk) {
            *m = m.max(v.abs());
        }
    }
    let max = lanes.iter().fold(0f32, |m, &v| m.max(v));
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

/// Up to ROW_TILE quantized rows of the same blocks: values (rows, stride), scales and
/// sums (rows, blocks).
struct Rows<'a> {
    values: &'a [i8],
    scales: &'a [f32],
    sums: &'a [i32],
}

/// One group of channels (the packing's, values and scales as [`Int8Matrix`] holds them)
/// against up to ROW_TILE rows:
/// `sums[r·group + c] = Σ_b (Σ_{k∈b} w[c][k] · x[r][k]) · (sw[b][c] · sx[r][b])`, the blocks
/// added in order, each product rounded to f32 before it is added: every kernel rounds the
/// same way, so all agree to the bit.
type GroupFn = unsafe fn(w: &[i8], sw: &[f32], x: &Rows, rows: usize, sums: &mut [f32; ROW_TILE * MAX_GROUP]);

/// Whether this CPU runs the kernel built with AVX-512 VNNI.
fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The fastest group kernel this CPU runs for a packing.
fn group_kernel(packing: Packing) -> GroupFn {
    #[cfg(target_arch = "x86_64")]
    match packing {
        Packing::Quads if has_vnni() => return group_vnni,
        Packing::Channels if crate::kernels::has_avx2_fma() => return group_avx2,
        _ => {}
    }
    portable_kernel(packing)
}

fn portable_kernel(packing: Packing) -> GroupFn {
    match packing {
        Packing::Channels => group_portable,
        Packing::Quads => group_portable_quads,
    }
}

fn group_kernel_name(packing: Packing) -> &'static str {
    #[cfg(target_arch = "x86_64")]
    match packing {
        Packing::Quads if has_vnni() => return "avx512-vnni",
        Packing::Channels if crate::kernels::has_avx2_fma() => return "avx2",
        _ => {}
    }
    "portable"
}

/// Which kernel [`Int8Matrix::matmul`] uses here, for reports.
pub fn kernel_name() -> &'static str {
    if Kernel::Amx.runs(Packing::native()) {
        return "avx512-vnni, amx from 32 rows";
    }
    group_kernel_name(Packing::native())
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

/// Plain Rust over [`Packing::Channels`]; the compiler vectorises the block products where
/// it can.
unsafe fn group_portable(w: &[i8], sw: &[f32], x: &Rows, rows: usize, sums: &mut [f32; ROW_TILE * MAX_GROUP]) {
    const GROUP: usize = 8;
    let stride = w.len() / GROUP;
    let blocks = stride / CHUNK;
    for r in 0..rows {
        let x_row = &x.values[r * stride..(r + 1) * stride];
        for c in 0..GROUP {
            let mut sum = 0f32;
            for b in 0..blocks {
                let block = block_dot(&w[(b * GROUP + c) * CHUNK..][..CHUNK], &x_row[b * CHUNK..(b + 1) * CHUNK]);
                sum += block as f32 * (sw[b * GROUP + c] * x.scales[r * blocks + b]);
            }
            sums[r * GROUP + c] = sum;
        }
    }
}

/// Plain Rust over [`Packing::Quads`]: each channel's block gathered back from its runs.
unsafe fn group_portable_quads(w: &[i8], sw: &[f32], x: &Rows, rows: usize, sums: &mut [f32; ROW_TILE * MAX_GROUP]) {
    const GROUP: usize = 16;
    let stride = w.len() / GROUP;
    let blocks = stride / CHUNK;
    let mut block = [0i8; CHUNK];
    for r in 0..rows {
        let x_row = &x.values[r * stride..(r + 1) * stride];
        for c in 0..GROUP {
            let mut sum = 0f32;
            for b in 0..blocks {
                for (i, v) in block.iter_mut().enumerate() {
                    *v = Packing::Quads.load(w[Packing::Quads.offset(c, b * CHUNK + i)]);
                }
                let dot = block_dot(&block, &x_row[b * CHUNK..(b + 1) * CHUNK]);
                sum += dot as f32 * (sw[b * GROUP + c] * x.scales[r * blocks + b]);
            }
            sums[r * GROUP + c] = sum;
        }
    }
}

/// AVX2 over [`Packing::Channels`]. Per block and row: `maddubs(|x|, sign(w, x))`
/// multiplies unsigned by signed bytes and adds pairs into i16 (at most 2·127·127 = 32 258,
/// no saturation; −128 never occurs), `madd` by ones widens to i32, for each of the eight
/// channels; `hadd`s and one lane swap reduce the eight vectors to one holding the eight
/// channels' block sums, which is scaled and added in f32 for all eight at once. A block's
/// 256 weight bytes stay in L1 across rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn group_avx2(w: &[i8], sw: &[f32], x: &Rows, rows: usize, sums: &mut [f32; ROW_TILE * MAX_GROUP]) {
    use std::arch::x86_64::*;
    const GROUP: usize = 8;
    let stride = w.len() / GROUP;
    let blocks = stride / CHUNK;
    let (xq, sx) = (x.values, x.scales);
    debug_assert!(rows <= ROW_TILE && xq.len() >= rows * stride && sx.len() >= rows * blocks);
    debug_assert_eq!(sw.len(), blocks * GROUP);
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); ROW_TILE];
    let wp = w.as_ptr();
    for b in 0..blocks {
        let scale_w = _mm256_loadu_ps(sw.as_ptr().add(b * GROUP));
        for (r, acc) in acc.iter_mut().enumerate().take(rows) {
            let xv = _mm256_loadu_si256(xq.as_ptr().add(r * stride + b * CHUNK) as *const __m256i);
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

/// AVX-512 VNNI over [`Packing::Quads`]. Per block, the group's eight 64-byte runs are
/// loaded once and kept in registers for every row; per row, eight `dpbusd` (the weights'
/// offset bytes times the row's four inputs broadcast, added into the sixteen channels'
/// lanes; at most 8·4·255·127 in a lane, no overflow) give the block sums of all sixteen
/// channels at once, less `128 · Σ x` for the offset: the exact integers the portable
/// kernel computes, scaled and added as it does.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn group_vnni(w: &[i8], sw: &[f32], x: &Rows, rows: usize, sums: &mut [f32; ROW_TILE * MAX_GROUP]) {
    use std::arch::x86_64::*;
    const GROUP: usize = 16;
    const RUNS: usize = CHUNK / QUAD;
    let stride = w.len() / GROUP;
    let blocks = stride / CHUNK;
    debug_assert!(rows <= ROW_TILE && x.values.len() >= rows * stride && x.scales.len() >= rows * blocks);
    debug_assert_eq!(sw.len(), blocks * GROUP);
    let mut acc = [_mm512_setzero_ps(); ROW_TILE];
    let wp = w.as_ptr();
    let xp = x.values.as_ptr();
    for b in 0..blocks {
        let block_w = wp.add(b * GROUP * CHUNK);
        let mut runs = [_mm512_setzero_si512(); RUNS];
        for (q, run) in runs.iter_mut().enumerate() {
            *run = _mm512_loadu_si512(block_w.add(q * GROUP * QUAD) as *const _);
        }
        let scale_w = _mm512_loadu_ps(sw.as_ptr().add(b * GROUP));
        for (r, acc) in acc.iter_mut().enumerate().take(rows) {
            let x_block = xp.add(r * stride + b * CHUNK) as *const i32;
            let mut dot = _mm512_set1_epi32(-128 * *x.sums.get_unchecked(r * blocks + b));
            for (q, run) in runs.iter().enumerate() {
                dot = _mm512_dpbusd_epi32(dot, *run, _mm512_set1_epi32(x_block.add(q).read_unaligned()));
            }
            let scale = _mm512_mul_ps(scale_w, _mm512_set1_ps(*x.scales.get_unchecked(r * blocks + b)));
            // Multiply, then add (no FMA): the portable kernel's rounding, to the bit.
            *acc = _mm512_add_ps(*acc, _mm512_mul_ps(_mm512_cvtepi32_ps(dot), scale));
        }
    }
    for (r, acc) in acc.iter().enumerate().take(rows) {
        _mm512_storeu_ps(sums.as_mut_ptr().add(r * GROUP), *acc);
    }
}

/// Two pairs of 16×16 block products of the AMX kernel: the pair being scaled and the pair
/// being multiplied (a task's buffer, reused for each of its groups).
#[repr(C, align(64))]
struct Products([[[i32; TILE_ROWS * MAX_GROUP]; 2]; 2]);

/// AMX over [`Packing::Quads`]: sixteen rows (`x`) by one group of sixteen channels. Two
/// blocks at a time, `tdpbsud` multiplies the rows' 32 signed inputs by the channels'
/// offset bytes into a 16×16 tile of i32, stored to memory; each of its rows, less
/// `128 · Σ x` for the offset, is then scaled and added in f32 exactly as the other kernels
/// do, so all agree to the bit. The tile products of the next two blocks are issued before
/// the scaling of these two, so that the tile unit can work while the vector units scale.
/// The scaling (five vector operations per row and block) is what bounds this kernel: at
/// 2280×768 by 2048 it is about 1.3× candle's f32 GEMM, where the tile unit alone could
/// be several times faster.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn amx_group(
    tiles: &crate::amx::Tiles,
    w: &[i8],
    sw: &[f32],
    x: &Rows,
    products: &mut Products,
    sums: &mut [f32; TILE_ROWS * MAX_GROUP],
) {
    use std::arch::x86_64::*;
    const GROUP: usize = 16;
    let stride = w.len() / GROUP;
    let blocks = stride / CHUNK;
    debug_assert!(x.values.len() >= TILE_ROWS * stride && x.scales.len() >= TILE_ROWS * blocks);
    let mut acc = [_mm512_setzero_ps(); TILE_ROWS];
    let (wp, xp) = (w.as_ptr(), x.values.as_ptr());
    // Pair p is blocks 2p and 2p + 1; an odd last block is multiplied twice, its copy ignored.
    let pair = |p: usize| (2 * p, (2 * p + 1).min(blocks - 1));
    // The tile stores write through this pointer while the scaling reads the other pair.
    let buffers = products.0.as_mut_ptr();
    let issue = |p: usize| {
        let (first, second) = pair(p);
        let [c0, c1] = &mut *buffers.add(p % 2);
        tiles.block_products(
            xp.add(first * CHUNK),
            wp.add(first * GROUP * CHUNK),
            c0.as_mut_ptr(),
            xp.add(second * CHUNK),
            wp.add(second * GROUP * CHUNK),
            c1.as_mut_ptr(),
            stride,
        );
    };
    let pairs = blocks.div_ceil(2);
    issue(0);
    for p in 0..pairs {
        if p + 1 < pairs {
            issue(p + 1);
        }
        let (first, second) = pair(p);
        let [c0, c1] = &*buffers.add(p % 2);
        for (b, c) in [(first, c0), (second, c1)].into_iter().take(second - first + 1) {
            let scale_w = _mm512_loadu_ps(sw.as_ptr().add(b * GROUP));
            for (r, acc) in acc.iter_mut().enumerate() {
                let offset = _mm512_set1_epi32(128 * *x.sums.get_unchecked(r * blocks + b));
                let dot = _mm512_sub_epi32(_mm512_load_si512(c.as_ptr().add(r * GROUP) as *const _), offset);
                let scale = _mm512_mul_ps(scale_w, _mm512_set1_ps(*x.scales.get_unchecked(r * blocks + b)));
                // Multiply, then add (no FMA): the portable kernel's rounding, to the bit.
                *acc = _mm512_add_ps(*acc, _mm512_mul_ps(_mm512_cvtepi32_ps(dot), scale));
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        _mm512_storeu_ps(sums.as_mut_ptr().add(r * GROUP), *acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every packing, whatever this CPU runs (a packing without its SIMD kernel here runs
    /// the portable one).
    const PACKINGS: [Packing; 2] = [Packing::Channels, Packing::Quads];

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
            for packing in PACKINGS {
                let m = Int8Matrix::quantize_packed(&w, out, inp, packing);
                let want = reference(&m, &x, rows);
                for got in [m.matmul(&x, rows), m.matmul_portable(&x, rows)] {
                    for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                        assert!((g - e).abs() <= 2e-5 * e.abs().max(1.0), "{packing:?} {rows}x{out}x{inp} [{i}]: {g} vs {e}");
                    }
                }
            }
        }
    }

    #[test]
    fn simd_and_portable_kernels_agree_to_the_bit() {
        // Odd shapes: a last group of fewer channels than a group holds, row tiles of 8
        // plus a remainder, blocks padded at the end; outliers so scales differ between
        // blocks. Every kernel of every packing gives the same bits.
        for &(rows, out, inp) in &[(1, 250, 512), (3, 13, 70), (9, 67, 96), (17, 9, 33), (32, 64, 1024), (45, 200, 96), (50, 33, 1000)] {
            let mut w = random(out * inp, 5 + inp as u64, 0.1);
            w[out * inp / 2] = 3.0;
            let mut x = random(rows * inp, 6 + rows as u64, 2.0);
            x[inp / 3] = -40.0;
            let want = Int8Matrix::quantize_packed(&w, out, inp, Packing::Channels).matmul_portable(&x, rows);
            for packing in PACKINGS {
                let m = Int8Matrix::quantize_packed(&w, out, inp, packing);
                let runs = Kernel::ALL.iter().filter_map(|&k| m.matmul_using(&x, rows, k).map(|y| (k, y)));
                for (kernel, got) in runs.chain([(Kernel::Portable, m.matmul(&x, rows))]) {
                    assert!(
                        got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
                        "{packing:?} {kernel:?} {rows}x{out}x{inp}"
                    );
                }
            }
        }
    }

    #[test]
    fn row_quantizers_agree_to_the_bit() {
        // Ties (a maximum of 127 makes the scale 1, so x.5 stays x.5), both signs, −0, a
        // NaN, an infinity, an all-zero block and a short last block: what the vector
        // versions must round, or hand to the scalar one, exactly as `f32::round` does.
        let mut row: Vec<f32> = (0..CHUNK).map(|i| i as f32 - 15.5).collect();
        row[0] = 127.0;
        row[1] = -126.5;
        row[2] = -0.0;
        row.extend((0..CHUNK).map(|i| if i == 0 { -127.0 } else if i % 2 == 0 { 0.5 } else { -2.5 }));
        row.extend(random(CHUNK, 41, 3.0));
        row.extend(random(CHUNK, 42, 1.0).into_iter().enumerate().map(|(i, v)| if i == 7 { f32::NAN } else { v }));
        row.extend(random(CHUNK, 43, 1.0).into_iter().enumerate().map(|(i, v)| if i == 3 { f32::INFINITY } else { v }));
        row.extend(vec![0.0; CHUNK]);
        row.extend(random(CHUNK, 44, 1e-30));
        row.extend(random(11, 45, 2.0));
        let blocks = padded(row.len()) / CHUNK;
        let quantize = |f: &dyn Fn(&[f32], &mut [i8], &mut [f32], &mut [i32])| {
            let (mut q, mut scales, mut sums) = (vec![0i8; blocks * CHUNK], vec![0f32; blocks], vec![0i32; blocks]);
            f(&row, &mut q, &mut scales, &mut sums);
            (q, scales.iter().map(|s| s.to_bits()).collect::<Vec<_>>(), sums)
        };
        let want = quantize(&|s, q, sc, su| quantize_row(s, q, sc, su));
        assert_eq!(&want.0[..4], &[127, -127, 0, -13], "ties round away from zero");
        assert_eq!(&want.0[CHUNK..CHUNK + 3], &[-127, -3, 1]);
        assert_eq!(quantize(&|s, q, sc, su| quantize_row_fast(s, q, sc, su)), want, "the fastest row quantizer here");
        #[cfg(target_arch = "x86_64")]
        {
            if crate::kernels::has_avx2_fma() {
                assert_eq!(quantize(&|s, q, sc, su| unsafe { quantize_row_avx2(s, q, sc, su) }), want, "avx2");
            }
            if has_avx512() {
                assert_eq!(quantize(&|s, q, sc, su| unsafe { quantize_row_avx512(s, q, sc, su) }), want, "avx512");
            }
        }
    }

    #[test]
    fn extreme_values_do_not_saturate() {
        // 127·127 and 127·(−127) in every position: the i16 pair sums (AVX2) and the
        // offset lanes (VNNI) are at their largest.
        let (out, inp) = (MAX_GROUP + 1, CHUNK * 3);
        let mut w = vec![1f32; out * inp];
        w[inp..2 * inp].fill(-1.0);
        for packing in PACKINGS {
            let m = Int8Matrix::quantize_packed(&w, out, inp, packing);
            for x in [vec![1f32; inp], vec![-1f32; inp]] {
                let sign = x[0];
                for y in [m.matmul(&x, 1), m.matmul_portable(&x, 1)] {
                    assert_eq!(y[0], sign * inp as f32, "{packing:?}");
                    assert_eq!(y[1], -sign * inp as f32, "{packing:?}");
                    assert_eq!(y[out - 1], sign * inp as f32, "{packing:?}");
                }
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
        let rows = quantize_rows(&w, inp);
        let stride = padded(inp);
        let want: Vec<i8> = rows.values.chunks(stride).flat_map(|r| r[..inp].to_vec()).collect();
        let x = random(3 * inp, 22, 1.0);
        for packing in PACKINGS {
            let m = Int8Matrix::quantize_packed(&w, out, inp, packing);
            let (values, scales) = m.parts();
            assert_eq!(values, want, "{packing:?}");
            assert_eq!(scales, rows.scales, "{packing:?}");
            let again = Int8Matrix::from_parts(values, scales, out, inp).unwrap();
            assert_eq!(again.matmul(&x, 3), m.matmul(&x, 3), "{packing:?}");
            assert_eq!(again.dequantize(), m.dequantize(), "{packing:?}");
        }
    }

    #[test]
    fn dequantized_rows_are_rows_of_the_dequantized_matrix() {
        let (out, inp) = (19, 45);
        let w = random(out * inp, 31, 0.5);
        let want = Int8Matrix::quantize_packed(&w, out, inp, Packing::Channels).dequantize();
        for packing in PACKINGS {
            let m = Int8Matrix::quantize_packed(&w, out, inp, packing);
            let all = m.dequantize();
            assert_eq!(all, want, "{packing:?}");
            let rows = m.dequantize_rows(&[18, 0, 7, 7]).unwrap();
            for (i, &o) in [18usize, 0, 7, 7].iter().enumerate() {
                assert_eq!(rows[i * inp..(i + 1) * inp], all[o * inp..(o + 1) * inp], "{packing:?} row {o}");
            }
            assert!(m.dequantize_rows(&[19]).is_none());
        }
    }

    #[test]
    fn rows_are_independent_of_the_batch() {
        // Batched decoding must equal solo decoding: a row's output depends on that row only.
        let (out, inp) = (40, 96);
        let x = random(11 * inp, 12, 1.5);
        for packing in PACKINGS {
            let m = Int8Matrix::quantize_packed(&random(out * inp, 11, 0.3), out, inp, packing);
            let all = m.matmul(&x, 11);
            for r in 0..11 {
                assert_eq!(m.matmul(&x[r * inp..(r + 1) * inp], 1), all[r * out..(r + 1) * out], "{packing:?} row {r}");
            }
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
