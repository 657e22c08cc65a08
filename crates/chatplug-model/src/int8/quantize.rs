//! Quantizing activation rows (and weight rows) to int8 in blocks of [`CHUNK`]: symmetric,
//! `scale = max|v| / 127`, `q = round(v / scale)` rounding half away from zero, plus each
//! block's integer sum (the VNNI and AMX kernels' offset correction). Scalar, AVX2 and
//! AVX-512 versions give the same bits.

use rayon::prelude::*;

use super::{padded, CHUNK};

/// Up to this many rows activations are quantized on the calling thread: for a decoding
/// step's few rows, handing the work to the pool costs more than it saves.
pub(super) const SERIAL_QUANTIZE_ROWS: usize = 32;

/// Quantized rows: values (rows, stride), scales and integer sums (rows, stride / CHUNK).
pub(super) struct QuantizedRows {
    pub(super) values: Vec<i8>,
    pub(super) scales: Vec<f32>,
    /// Σ of each block's quantized values (the VNNI kernel's offset correction).
    pub(super) sums: Vec<i32>,
}

/// Symmetric quantization of each block of each row: `scale = max|v| / 127`,
/// `q = round(v / scale)`; the rows are followed by all-zero ones up to a multiple of
/// `row_multiple` (the AMX kernel reads sixteen at a time).
pub(super) fn quantize_rows(values: &[f32], width: usize, row_multiple: usize) -> QuantizedRows {
    let stride = padded(width);
    let blocks = stride / CHUNK;
    let rows = if width == 0 { 0 } else { values.len() / width };
    let padded_rows = rows.next_multiple_of(row_multiple);
    let mut q = vec![0i8; padded_rows * stride];
    let mut scales = vec![0f32; padded_rows * blocks];
    let mut sums = vec![0i32; padded_rows * blocks];
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
pub(super) fn quantize_row_fast(src: &[f32], dst: &mut [i8], scales: &mut [f32], sums: &mut [i32]) {
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
pub(super) fn quantize_row(src: &[f32], dst: &mut [i8], scales: &mut [f32], sums: &mut [i32]) {
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
pub(super) unsafe fn quantize_row_avx2(src: &[f32], dst: &mut [i8], scales: &mut [f32], sums: &mut [i32]) {
    quantize_row(src, dst, scales, sums)
}

#[cfg(target_arch = "x86_64")]
pub(super) fn has_avx512() -> bool {
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
pub(super) unsafe fn quantize_row_avx512(src: &[f32], dst: &mut [i8], scales: &mut [f32], sums: &mut [i32]) {
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
pub(super) fn quantize_block(src: &[f32], dst: &mut [i8]) -> f32 {
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
