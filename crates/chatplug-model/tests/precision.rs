//! bf16 and int8 against f32 on the golden requests (the small random FiD-T5 models of
//! `fixtures/make_golden.py`): the largest logit difference and the share of greedy tokens
//! that agree with f32's. Random models have flat logits, where a small error flips a
//! choice more easily than in a trained one; the bounds are those measured here, with room.

use std::path::{Path, PathBuf};

use candle_core::Device;
use chatplug_model::{generate, FidT5, GenerationConfig, Precision};
use serde_json::Value;

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden")
}

fn read_jsonl(name: &str) -> Vec<Value> {
    std::fs::read_to_string(golden().join(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn load(model: &str, precision: Precision) -> FidT5 {
    FidT5::load_with_precision(&golden().join("models").join(model), &Device::Cpu, precision)
        .unwrap_or_else(|e| panic!("{model} in {precision}: {e}"))
}

fn ids2(value: &Value) -> Vec<Vec<u32>> {
    serde_json::from_value(value.clone()).unwrap()
}

/// (largest |logit difference| relative to the logits' range, share of positions whose
/// argmax agrees) over the teacher-forced logits cases.
fn logits_against_f32(precision: Precision) -> (f32, f64) {
    let (mut worst, mut agree, mut total) = (0f32, 0usize, 0usize);
    for case in read_jsonl("logits.jsonl") {
        let name = case["model"].as_str().unwrap();
        let input = ids2(&case["input_ids"]);
        let decoder: Vec<u32> = serde_json::from_value(case["decoder_input_ids"].clone()).unwrap();
        let exact = load(name, Precision::F32).forward_logits(&input, &decoder).unwrap();
        let approx = load(name, precision).forward_logits(&input, &decoder).unwrap();
        let vocab = exact.len() / decoder.len();
        for (e, a) in exact.chunks_exact(vocab).zip(approx.chunks_exact(vocab)) {
            let range = e.iter().cloned().fold(f32::MIN, f32::max) - e.iter().cloned().fold(f32::MAX, f32::min);
            let diff = e.iter().zip(a).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            worst = worst.max(diff / range);
            agree += (argmax(e) == argmax(a)) as usize;
            total += 1;
        }
    }
    (worst, agree as f64 / total as f64)
}

fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold(0, |best, (i, x)| if *x > v[best] { i } else { best })
}

/// Share of generated tokens equal to f32's at the same position, over the golden greedy
/// requests (a position past the shorter output counts as a disagreement).
fn greedy_agreement(precision: Precision) -> f64 {
    let (mut agree, mut total) = (0usize, 0usize);
    for case in read_jsonl("cases.jsonl") {
        let generation = &case["generation"];
        if generation["do_sample"].as_bool() == Some(true) || generation["num_beams"].as_u64().unwrap_or(1) != 1 {
            continue;
        }
        let name = case["model"].as_str().unwrap();
        let options = GenerationConfig::from_json(generation).unwrap();
        let passages = ids2(&case["encoder_input_ids"]);
        let exact = generate(&load(name, Precision::F32), &passages, &options, None).unwrap().sequences;
        let approx = generate(&load(name, precision), &passages, &options, None).unwrap().sequences;
        let (e, a) = (&exact[0], &approx[0]);
        total += e.len().max(a.len());
        agree += e.iter().zip(a).filter(|(x, y)| x == y).count();
    }
    agree as f64 / total as f64
}

#[test]
fn f32_through_the_precision_path_is_the_plain_load() {
    let case = &read_jsonl("logits.jsonl")[0];
    let name = case["model"].as_str().unwrap();
    let input = ids2(&case["input_ids"]);
    let decoder: Vec<u32> = serde_json::from_value(case["decoder_input_ids"].clone()).unwrap();
    let plain = FidT5::load(&golden().join("models").join(name), &Device::Cpu).unwrap();
    assert_eq!(
        plain.forward_logits(&input, &decoder).unwrap(),
        load(name, Precision::F32).forward_logits(&input, &decoder).unwrap()
    );
}

/// Measures `precision` against f32 and checks the bounds: the largest logit difference
/// (share of the range), and the least argmax and greedy agreements.
fn check(precision: Precision, max_diff: f32, min_argmax: f64, min_greedy: f64) {
    let (worst, argmax_agree) = logits_against_f32(precision);
    let greedy = greedy_agreement(precision);
    eprintln!("{precision}: max |logit diff| / range {worst:.5}, argmax agreement {argmax_agree:.4}, greedy tokens {greedy:.4}");
    assert!(worst < max_diff, "{precision} logits differ by {worst} of their range");
    assert!(argmax_agree >= min_argmax, "{precision} argmax agreement {argmax_agree}");
    assert!(greedy >= min_greedy, "{precision} greedy agreement {greedy}");
}

#[test]
fn bf16_stays_close_to_f32() {
    // Measured: 0.0180, 0.988 and 0.980 (0.0116 before the token embedding was held in
    // bf16 too).
    check(Precision::Bf16, 0.025, 0.95, 0.9);
}

#[test]
fn int8_stays_close_to_f32() {
    // Measured: 0.057, 0.977 and 0.70 (0.052, 0.953 and 0.64 before the token embedding
    // was held in int8 too: the changed rounding moved a few early choices) where the
    // encoder widens int8 weights for the f32 GEMM (AVX2); 0.062, 0.977 and 0.646 where it
    // multiplies in integers (VNNI/AMX, activations quantized too). Teacher-forced, int8 picks f32's token at 95 % of
    // the steps; run free, the first different choice changes every later position, and on
    // these flat random models that happens early in a third of the requests.
    check(Precision::Int8, 0.07, 0.93, 0.55);
}
