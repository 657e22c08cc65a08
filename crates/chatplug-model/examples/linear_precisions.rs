//! Times one linear map in each precision, on the shapes of a FiD-T5 decoding step (a few
//! rows) and of the encoder (thousands of rows), to choose the kernels (issue 11):
//!
//!     cargo run --release -p chatplug-model --example linear_precisions [-- OUT IN [ROWS...]]
//!
//! Prints one line per (rows, precision) with the median time of 7 runs and its ratio to
//! f32; "int8 dequant+gemm" is the int8 matrix widened to f32 for candle's GEMM, "int8 integer"
//! what `Int8Matrix::matmul` picks, then each packing with each kernel this CPU runs.

use std::time::Instant;

use candle_core::{Device, Tensor};
use chatplug_model::int8::{kernel_name, Int8Matrix, Kernel, Packing};
use chatplug_model::layers::Linear;
use chatplug_model::Precision;

fn median_ms(mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[3]
}

fn main() -> candle_core::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (out_dim, in_dim) = (args.first().copied().unwrap_or(2048), args.get(1).copied().unwrap_or(768));
    let dev = Device::Cpu;
    let w = Tensor::randn(0f32, 0.05, (out_dim, in_dim), &dev)?;
    let maps: Vec<(Precision, Linear)> = [Precision::F32, Precision::Bf16, Precision::Int8]
        .into_iter()
        .map(|p| Ok((p, Linear::new(w.clone(), p)?)))
        .collect::<candle_core::Result<_>>()?;
    let values = w.flatten_all()?.to_vec1::<f32>()?;
    let int8 = Int8Matrix::quantize(&values, out_dim, in_dim);
    // Each packing's kernel (the portable one where this CPU lacks its instructions).
    let packed: Vec<(&str, Int8Matrix)> = [("int8 channels/avx2", Packing::Channels), ("int8 quads/vnni", Packing::Quads)]
        .into_iter()
        .map(|(name, p)| (name, Int8Matrix::quantize_packed(&values, out_dim, in_dim, p)))
        .collect();
    println!("{out_dim}x{in_dim} weights, int8 kernel: {}, {} threads", kernel_name(), rayon::current_num_threads());
    let row_counts = if args.len() > 2 { args[2..].to_vec() } else { vec![1, 3, 8, 16, 32, 64, 2280] };
    for rows in row_counts {
        let x = Tensor::randn(0f32, 1.0, (rows, in_dim), &dev)?;
        let f32_ms = median_ms(|| {
            maps[0].1.forward(&x).unwrap();
        });
        for (p, map) in &maps {
            let ms = median_ms(|| {
                map.forward(&x).unwrap();
            });
            println!("rows {rows:>5} {:<20} {ms:>9.3} ms  {:>5.2}x f32", p.as_str(), f32_ms / ms);
        }
        let ms = median_ms(|| {
            x.matmul(&w.t().unwrap()).unwrap();
        });
        println!("rows {rows:>5} {:<20} {ms:>9.3} ms  {:>5.2}x f32", "f32 gemm", f32_ms / ms);
        let values = x.flatten_all()?.to_vec1::<f32>()?;
        let ms = median_ms(|| {
            int8.matmul(&values, rows);
        });
        println!("rows {rows:>5} {:<20} {ms:>9.3} ms  {:>5.2}x f32", "int8 integer", f32_ms / ms);
        for (name, m) in &packed {
            for kernel in [Kernel::Avx2, Kernel::Vnni, Kernel::Amx] {
                if !kernel.runs(m.packing()) {
                    continue;
                }
                let ms = median_ms(|| {
                    m.matmul_using(&values, rows, kernel).unwrap();
                });
                let label = format!("{} {}", name.split('/').next().unwrap(), kernel.name());
                println!("rows {rows:>5} {label:<20} {ms:>9.3} ms  {:>5.2}x f32", f32_ms / ms);
            }
        }
        let ms = median_ms(|| {
            let wd = Tensor::from_vec(int8.dequantize(), (out_dim, in_dim), &dev).unwrap();
            x.matmul(&wd.t().unwrap()).unwrap();
        });
        println!("rows {rows:>5} {:<20} {ms:>9.3} ms  {:>5.2}x f32", "int8 dequant+gemm", f32_ms / ms);
    }
    Ok(())
}
