//! The int8 group kernels: one group of output channels (the packing's) against a few
//! quantized rows, each in its packing's layout: portable (both packings), AVX2
//! ([`Packing::Channels`]), AVX-512 VNNI and AMX ([`Packing::Quads`]). Integer block sums are
//! exact and every kernel scales and adds them in the same order, so all give the same bits.

use super::{Kernel, Packing, CHUNK, MAX_GROUP, QUAD, ROW_TILE};
use crate::amx::TILE_ROWS;

/// Up to ROW_TILE quantized rows of the same blocks: values (rows, stride), scales and
/// sums (rows, blocks).
pub(super) struct Rows<'a> {
    pub(super) values: &'a [i8],
    pub(super) scales: &'a [f32],
    pub(super) sums: &'a [i32],
}

/// One group of channels (the packing's, values and scales as [`Int8Matrix`] holds them)
/// against up to ROW_TILE rows:
/// `sums[r·group + c] = Σ_b (Σ_{k∈b} w[c][k] · x[r][k]) · (sw[b][c] · sx[r][b])`, the blocks
/// added in order, each product rounded to f32 before it is added: every kernel rounds the
/// same way, so all agree to the bit.
pub(super) type GroupFn = unsafe fn(w: &[i8], sw: &[f32], x: &Rows, rows: usize, sums: &mut [f32; ROW_TILE * MAX_GROUP]);

/// Whether this CPU runs the kernel built with AVX-512 VNNI.
pub(super) fn has_vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        super::quantize::has_avx512() && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The fastest group kernel this CPU runs for a packing (AMX, which is not a group kernel,
/// aside).
pub(super) fn best_kernel(packing: Packing) -> Kernel {
    [Kernel::Vnni, Kernel::Avx2].into_iter().find(|k| k.runs(packing)).unwrap_or(Kernel::Portable)
}

/// The group function of `kernel` for a packing it runs on ([`Kernel::runs`]); AMX has
/// none (`Int8Matrix::matmul_amx` drives its tiles itself).
pub(super) fn group_fn(kernel: Kernel, packing: Packing) -> GroupFn {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Vnni => group_vnni,
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => group_avx2,
        Kernel::Portable => match packing {
            Packing::Channels => group_portable,
            Packing::Quads => group_portable_quads,
        },
        _ => unreachable!("{kernel:?} has no group function here"),
    }
}

/// Which kernel [`Int8Matrix::matmul`] uses here, for reports.
pub fn kernel_name() -> &'static str {
    if Kernel::Amx.runs(Packing::native()) {
        return "avx512-vnni, amx from 32 rows";
    }
    best_kernel(Packing::native()).name()
}

/// The integer dot product of one block.
pub(super) fn block_dot(a: &[i8], b: &[i8]) -> i32 {
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
pub(super) unsafe fn group_portable(w: &[i8], sw: &[f32], x: &Rows, rows: usize, sums: &mut [f32; ROW_TILE * MAX_GROUP]) {
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
pub(super) unsafe fn group_portable_quads(w: &[i8], sw: &[f32], x: &Rows, rows: usize, sums: &mut [f32; ROW_TILE * MAX_GROUP]) {
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
pub(super) unsafe fn group_avx2(w: &[i8], sw: &[f32], x: &Rows, rows: usize, sums: &mut [f32; ROW_TILE * MAX_GROUP]) {
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
pub(super) unsafe fn group_vnni(w: &[i8], sw: &[f32], x: &Rows, rows: usize, sums: &mut [f32; ROW_TILE * MAX_GROUP]) {
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
pub(super) struct Products(pub(super) [[[i32; TILE_ROWS * MAX_GROUP]; 2]; 2]);

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
pub(super) unsafe fn amx_group(
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
