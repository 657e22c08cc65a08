//! Parity with HF transformers: token ids of `generate` and raw logits, recorded by
//! `fixtures/make_golden.py` on small random FiD-T5 models (see fixtures/README.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::Device;
use chatplug_model::generation::teacher_forced_scores;
use chatplug_model::{generate, FidT5, GenerationConfig};
use serde_json::Value;

/// The committed fixtures, or another set made by the same script (`CHATPLUG_GOLDEN_DIR`).
fn golden_dir() -> PathBuf {
    match std::env::var_os("CHATPLUG_GOLDEN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden"),
    }
}

fn read_jsonl(name: &str) -> Vec<Value> {
    let path = golden_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn custom_golden_dir() -> bool {
    std::env::var_os("CHATPLUG_GOLDEN_DIR").is_some()
}

struct Models(HashMap<String, FidT5>);

impl Models {
    fn get(&mut self, name: &str) -> &FidT5 {
        self.0.entry(name.to_string()).or_insert_with(|| {
            let dir = golden_dir().join("models").join(name);
            FidT5::load(&dir, &Device::Cpu).unwrap_or_else(|e| panic!("loading {name}: {e}"))
        })
    }
}

fn ids2(value: &Value) -> Vec<Vec<u32>> {
    serde_json::from_value(value.clone()).unwrap()
}

fn ids1(value: &Value) -> Vec<u32> {
    serde_json::from_value(value.clone()).unwrap()
}

fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().map(|f| f as f32).unwrap_or(f32::NEG_INFINITY))
        .collect()
}

/// Largest absolute difference, treating matching infinities as equal; None if the
/// infinite positions differ.
fn max_abs_diff(a: &[f32], b: &[f32]) -> Option<f32> {
    assert_eq!(a.len(), b.len(), "score vectors differ in length");
    let mut worst = 0f32;
    for (x, y) in a.iter().zip(b) {
        if x.is_infinite() || y.is_infinite() {
            if x != y {
                return None;
            }
        } else {
            worst = worst.max((x - y).abs());
        }
    }
    Some(worst)
}

#[test]
fn logits_match_hf_within_1e_4() {
    let mut models = Models(HashMap::new());
    let cases = read_jsonl("logits.jsonl");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let model = models.get(case["model"].as_str().unwrap());
        let ours = model
            .forward_logits(&ids2(&case["input_ids"]), &ids1(&case["decoder_input_ids"]))
            .unwrap();
        let want = floats(&case["logits"]);
        match max_abs_diff(&ours, &want) {
            Some(d) if d <= 1e-4 => {}
            other => failures.push(format!("{name}: max |diff| = {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{} of {} logits cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn generated_ids_equal_hf_generate() {
    let mut models = Models(HashMap::new());
    let cases = read_jsonl("cases.jsonl");
    assert!(custom_golden_dir() || cases.len() >= 20, "expected the full golden case set");
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let generation = &case["generation"];
        if generation["do_sample"].as_bool() == Some(true) {
            continue; // torch's RNG cannot be reproduced; see sampled_steps_match_hf_scores
        }
        let model = models.get(case["model"].as_str().unwrap());
        let options = GenerationConfig::from_json(generation).unwrap();
        let passages = ids2(&case["encoder_input_ids"]);
        let want = ids2(&case["sequences"]);
        compared += 1;
        let mut streamed: Vec<u32> = Vec::new();
        let mut on_token = |row: usize, token: u32| {
            assert_eq!(row, 0);
            streamed.push(token);
            std::ops::ControlFlow::Continue(())
        };
        let greedy = generation["num_beams"].as_u64().unwrap_or(1) == 1;
        let result = generate(model, &passages, &options, greedy.then_some(&mut on_token as _));
        if greedy {
            // The stream carries every generated token up to and including the first EOS.
            let eos = options.resolve(model.config()).unwrap().eos_token_ids;
            let generated = &want[0][1..];
            let until = generated.iter().position(|t| eos.contains(t)).map_or(generated.len(), |p| p + 1);
            if streamed != generated[..until] {
                failures.push(format!("{name}: streamed {streamed:?}, sequence {:?}", want[0]));
            }
        }
        match result {
            Ok(out) if out.sequences == want => {}
            Ok(out) => failures.push(format!("{name}: got {:?}\n  want {want:?}", out.sequences)),
            Err(e) => failures.push(format!("{name}: error {e}")),
        }
    }
    assert!(compared > 0);
    assert!(failures.is_empty(), "{} of {compared} cases differ:\n{}", failures.len(), failures.join("\n"));
}

/// Greedy and sampling cases record HF's processed scores at every step; teacher-forcing
/// HF's output through our processors and warpers must give the same scores, and every
/// token HF sampled must be one our warpers allow.
#[test]
fn step_scores_match_hf() {
    let mut models = Models(HashMap::new());
    let cases = read_jsonl("cases.jsonl");
    let mut failures = Vec::new();
    let mut compared = 0;
    for case in cases.iter().filter(|c| c.get("step_scores").is_some_and(|s| !s.is_null())) {
        let name = case["name"].as_str().unwrap();
        let model = models.get(case["model"].as_str().unwrap());
        let options = GenerationConfig::from_json(&case["generation"]).unwrap();
        let passages = ids2(&case["encoder_input_ids"]);
        let sequence = ids2(&case["sequences"])[0].clone();
        let want: Vec<Vec<f32>> = case["step_scores"].as_array().unwrap().iter().map(floats).collect();
        let ours = teacher_forced_scores(model, &passages, &options, &sequence).unwrap();
        let eos = options.resolve(model.config()).unwrap().eos_token_ids;
        // After EOS HF forces padding, whatever the scores allow.
        let live_steps = sequence[1..]
            .iter()
            .position(|t| eos.contains(t))
            .map_or(sequence.len() - 1, |p| p + 1);
        compared += 1;
        if ours.len() < want.len() {
            failures.push(format!("{name}: {} steps, HF has {}", ours.len(), want.len()));
            continue;
        }
        for (step, (o, w)) in ours.iter().zip(&want).enumerate() {
            match max_abs_diff(o, w) {
                Some(d) if d <= 1e-4 => {}
                other => {
                    failures.push(format!("{name} step {step}: max |diff| = {other:?}"));
                    break;
                }
            }
            let chosen = sequence[step + 1] as usize;
            if step < live_steps && !o[chosen].is_finite() {
                failures.push(format!("{name} step {step}: HF's token {chosen} is filtered out by us"));
                break;
            }
        }
    }
    assert!(custom_golden_dir() || compared > 0, "no case records step scores");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
