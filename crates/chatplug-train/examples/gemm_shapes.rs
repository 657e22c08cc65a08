//! GFLOP/s of the `gemm` crate (what candle's matmul and `fused::matmul` call) on the demo
//! model's training shapes, on 2 threads: the ceiling of the trainer's linear maps.
//!
//!     cargo run --release -p chatplug-train --example gemm_shapes
//!
//! Measured 2026-11-30 on the 2-core development machine (AMD EPYC, AVX2, training paused):
//! 94-114 GFLOP/s, where numpy's OpenBLAS on the same shapes gave 122-142 (train/RUNS.md,
//! "seventh session"). The GEMMs are about 60 % of a demo training step.
use std::time::Instant;

fn bench(m: usize, k: usize, n: usize, reps: usize) -> f64 {
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; k * n];
    let mut c = vec![0f32; m * n];
    let run = |c: &mut Vec<f32>| unsafe {
        gemm::gemm(m, n, k, c.as_mut_ptr(), 1, n as isize, false, a.as_ptr(), 1, k as isize, b.as_ptr(), 1, n as isize,
                   0.0, 1.0, false, false, false, gemm::Parallelism::Rayon(2));
    };
    run(&mut c);
    let t = Instant::now();
    for _ in 0..reps {
        run(&mut c);
    }
    2.0 * (m * k * n) as f64 / (t.elapsed().as_secs_f64() / reps as f64) / 1e9
}

fn main() {
    for (m, k, n) in [(2700, 256, 256), (2700, 256, 768), (2700, 768, 256), (256, 2700, 256), (256, 2700, 768),
                      (768, 2700, 256), (150, 256, 8000), (3072, 3072, 3072)] {
        let reps = if m == 3072 { 3 } else { 20 };
        println!("({m}, {k}, {n}) {:.1} GFLOP/s", bench(m, k, n, reps));
    }
}
