//! The int8 matrix, its packings, kernels and row quantizers against each other and an f64
//! reference.

use super::kernels::*;
use super::quantize::*;
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
    let qx = quantize_rows(x, m.in_dim, 1);
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
    let rows = quantize_rows(&w, inp, 1);
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
