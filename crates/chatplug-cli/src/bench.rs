//! `chatplug bench`: times the encoder and decoding on one request, for comparison with HF
//! transformers by `bench/bench_fid.py`. Prints one JSON object with medians.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use chatplug_model::generation::generate_encoded;
use chatplug_model::{GenerationConfig, Precision};
use serde::Deserialize;
use serde_json::json;

use chatplug_model::plug::{translate, FidPlug, TranslateOptions};
use chatplug_model::Architecture;

use crate::io::{check_model_dir, load_model, parse_request, read_request};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    model: PathBuf,
    /// Weights' precision: f32 (the reference's numerics), bf16 or int8. Default:
    /// `CHATPLUG_PRECISION`, else f32.
    #[arg(long)]
    precision: Option<chatplug_model::Precision>,
    /// JSON request: {"input_ids": [[...], ...], "new_tokens": N}; standard input when omitted.
    #[arg(long)]
    request: Option<PathBuf>,
    /// Timed repetitions of each measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Beam widths to time besides greedy search.
    #[arg(long, num_args = 0.., default_values_t = vec![3])]
    beams: Vec<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    input_ids: Vec<Vec<u32>>,
    new_tokens: usize,
}

pub fn run(args: Args) -> Result<()> {
    let dir = check_model_dir(&args.model)?;
    let request: Request = parse_request(read_request(args.request.as_deref())?)?;
    let precision = crate::model_choice::precision_without_config(args.precision)?;
    if Architecture::of_dir(&dir)? == Architecture::FidPlug {
        return run_plug(&dir, precision, &request, &args);
    }
    let started = Instant::now();
    let model = load_model(&dir, precision)?;
    crate::backend::release_freed_memory();
    let load_s = started.elapsed().as_secs_f64();
    let loaded_rss = rss_mib("VmRSS:");
    let repeats = args.repeats.max(1);

    let encoder_ms = median_ms(repeats, || model.encode(&request.input_ids).map(|_| ()))?;
    let encoded = model.encode(&request.input_ids)?;
    report(precision, (load_s, loaded_rss), encoder_ms, &request, &args, |beams| {
        // Exactly `new_tokens` steps in both engines: EOS is forbidden until the limit.
        let options = GenerationConfig::from_json(&json!({
            "num_beams": beams,
            "max_new_tokens": request.new_tokens,
            "min_new_tokens": request.new_tokens,
        }))?;
        median_ms(repeats, || generate_encoded(&model, &encoded, &options, None).map(|_| ()))
    })
}

/// The same measurements for a FiD-PLUG model, decoding with the reference's `translate`
/// (`[SEP]` forbidden until the last step, so every run makes `new_tokens` steps).
fn run_plug(dir: &std::path::Path, precision: Precision, request: &Request, args: &Args) -> Result<()> {
    let started = Instant::now();
    let model = FidPlug::load_with_precision(dir, &candle_core::Device::Cpu, precision).context("cannot load the model")?;
    crate::backend::release_freed_memory();
    let load_s = started.elapsed().as_secs_f64();
    let loaded_rss = rss_mib("VmRSS:");
    let repeats = args.repeats.max(1);
    let encoder_ms = median_ms(repeats, || model.encode(&request.input_ids, None).map(|_| ()))?;
    let encoded = model.encode(&request.input_ids, None)?;
    report(precision, (load_s, loaded_rss), encoder_ms, request, args, |beams| {
        let options = TranslateOptions {
            num_beams: beams,
            max_length: request.new_tokens,
            min_length: request.new_tokens,
            ..TranslateOptions::default()
        };
        median_ms(repeats, || translate(&model, &encoded, 101, 102, &options).map(|_| ()))
    })
}

/// Prints the JSON line `bench/` scripts read: greedy and each beam width's decoding time
/// (`decode_ms(beams)`: decoding alone, on passages encoded once; total = encoder +
/// decoding), load time, resident memory once loaded and peak memory.
fn report(
    precision: Precision,
    (load_s, loaded_rss): (f64, Option<f64>),
    encoder_ms: f64,
    request: &Request,
    args: &Args,
    mut decode_ms: impl FnMut(usize) -> Result<f64>,
) -> Result<()> {
    let mut results = serde_json::Map::new();
    for beams in std::iter::once(1).chain(args.beams.iter().copied()) {
        let decode_ms = decode_ms(beams)?;
        let name = if beams == 1 { "greedy".to_string() } else { format!("beam{beams}") };
        results.insert(
            name,
            json!({
                "total_ms": encoder_ms + decode_ms,
                "per_token_ms": decode_ms / request.new_tokens as f64,
            }),
        );
    }
    let reply = json!({
        "engine": "chatplug",
        "precision": precision.as_str(),
        "int8_kernel": chatplug_model::int8::kernel_name(),
        "stream_kernel": chatplug_model::kernels::stream_kernel_name(),
        "load_s": load_s,
        "encoder_ms": encoder_ms,
        "decode": results,
        "loaded_rss_mib": loaded_rss,
        "peak_rss_mib": rss_mib("VmHWM:"),
    });
    println!("{reply}");
    Ok(())
}

fn median_ms(repeats: usize, mut work: impl FnMut() -> chatplug_model::Result<()>) -> Result<f64> {
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        work().context("benchmark run failed")?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// Resident memory of this process from Linux `/proc/self/status` (`VmRSS:` now, `VmHWM:`
/// the peak), if available.
fn rss_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
