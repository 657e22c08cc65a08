//! ChatPLUG-240M (FiD PLUG) against ModelScope's own code: the goldens of
//! `fixtures/make_plug_golden.py` (two random PLUG models in ModelScope's checkpoint
//! layouts, `PlugV2FidChat.generate` outputs and last-step log-probabilities).

use std::path::{Path, PathBuf};

use candle_core::Device;
use chatplug_model::plug::{translate, FidPlug, TranslateOptions};
use serde::Deserialize;
use serde_json::Value;

const CLS: u32 = 101;
const SEP: u32 = 102;

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/plug")
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    let path = golden().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1)))
        .collect()
}

fn load(name: &str) -> FidPlug {
    FidPlug::load(&golden().join(name), &Device::Cpu).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[derive(Deserialize)]
struct Generation {
    model: String,
    request: usize,
    setting: usize,
    passages: Vec<Vec<u32>>,
    token_type_ids: Option<Vec<Vec<u32>>>,
    options: serde_json::Map<String, Value>,
    output: Vec<u32>,
}

#[derive(Deserialize)]
struct Logits {
    model: String,
    passages: Vec<Vec<u32>>,
    decoder_input_ids: Vec<u32>,
    file: String,
    argmax: usize,
}

fn options(map: &serde_json::Map<String, Value>) -> TranslateOptions {
    let mut o = TranslateOptions::default();
    for (key, value) in map {
        let int = || value.as_u64().unwrap() as usize;
        let float = || value.as_f64().unwrap();
        match key.as_str() {
            "num_beams" => o.num_beams = int(),
            "max_length" => o.max_length = int(),
            "min_length" => o.min_length = int(),
            "length_penalty" => o.length_penalty = float(),
            "repetition_penalty" => o.repetition_penalty = float(),
            "no_repeat_ngram_size" => o.no_repeat_ngram_size = int(),
            "bad_words_ids" => o.bad_words_ids = serde_json::from_value(value.clone()).unwrap(),
            other => panic!("option {other} not handled by the test"),
        }
    }
    o
}

#[test]
fn last_step_log_probs_equal_the_reference() {
    for case in read_jsonl::<Logits>("logits.jsonl") {
        let model = load(&case.model);
        let got = model.forward_log_probs(&case.passages, None, &case.decoder_input_ids).unwrap();
        let bytes = std::fs::read(golden().join("logits").join(&case.file)).unwrap();
        let want: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        assert_eq!(got.len(), want.len(), "{}", case.file);
        let (worst, at) = got
            .iter()
            .zip(&want)
            .enumerate()
            .map(|(i, (g, w))| ((g - w).abs(), i))
            .fold((0f32, 0), |a, b| if b.0 > a.0 { b } else { a });
        assert!(worst < 1e-4, "{}: largest difference {worst} at id {at}", case.file);
        let argmax = got.iter().enumerate().fold((0, f32::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a }).0;
        assert_eq!(argmax, case.argmax, "{}", case.file);
    }
}

#[test]
fn translate_equals_the_reference_beam_search() {
    let cases: Vec<Generation> = read_jsonl("requests.jsonl");
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for name in ["tiny_a", "tiny_b"] {
        let model = load(name);
        for case in cases.iter().filter(|c| c.model == name) {
            let encoded = model.encode(&case.passages, case.token_type_ids.as_deref()).unwrap();
            let got = translate(&model, &encoded, CLS, SEP, &options(&case.options)).unwrap();
            if got != case.output {
                failures.push(format!(
                    "{name} request {} setting {} types {}: got {got:?}, want {:?}",
                    case.request,
                    case.setting,
                    case.token_type_ids.is_some(),
                    case.output
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn broken_checkpoints_name_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let src = golden().join("tiny_b");
    std::fs::copy(src.join("pytorch_model.bin"), dir.path().join("pytorch_model.bin")).unwrap();
    let config: Value = serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();

    // One more decoder layer than the checkpoint has: the first missing tensor is named.
    let mut more = config.clone();
    more["dec_layers"] = 4.into();
    std::fs::write(dir.path().join("config.json"), more.to_string()).unwrap();
    let err = FidPlug::load(dir.path(), &Device::Cpu).err().expect("must fail").to_string();
    assert!(err.contains("missing tensor `decoder.transformer_layers.3."), "{err}");

    // One fewer: the leftover tensors are reported.
    let mut fewer = config.clone();
    fewer["dec_layers"] = 2.into();
    std::fs::write(dir.path().join("config.json"), fewer.to_string()).unwrap();
    let err = FidPlug::load(dir.path(), &Device::Cpu).err().expect("must fail").to_string();
    assert!(err.contains("unexpected tensor") && err.contains("transformer_layers.2."), "{err}");

    // A wider intermediate size: the mis-shaped tensor is named.
    let mut wider = config.clone();
    wider["intermediate_size"] = 57.into();
    std::fs::write(dir.path().join("config.json"), wider.to_string()).unwrap();
    let err = FidPlug::load(dir.path(), &Device::Cpu).err().expect("must fail").to_string();
    assert!(err.contains("bert.encoder.layer.0.intermediate.dense.weight") && err.contains("[56, 24]"), "{err}");

    // Unsupported and inconsistent configurations name the field.
    for (field, value) in [("encoder", Value::from("roberta")), ("dec_hidden_size", 32.into()), ("dec_heads", 5.into()), ("hidden_act", "tanh".into())] {
        let mut bad = config.clone();
        bad[field] = value;
        std::fs::write(dir.path().join("config.json"), bad.to_string()).unwrap();
        let err = FidPlug::load(dir.path(), &Device::Cpu).err().expect("must fail").to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
}

/// The reference's generator weight and decoder embedding are one parameter, filled from
/// both keys with the generator's last: a checkpoint whose two copies differ runs with
/// the generator's. Here it is all zeros, so every log-probability is the bias' own.
#[test]
fn a_stored_generator_weight_wins_over_the_decoder_embedding() {
    let dir = tempfile::tempdir().unwrap();
    let src = golden().join("tiny_b");
    std::fs::copy(src.join("config.json"), dir.path().join("config.json")).unwrap();
    let mut tensors: std::collections::HashMap<String, candle_core::Tensor> =
        candle_core::pickle::read_all(src.join("pytorch_model.bin")).unwrap().into_iter().collect();
    let key = "module.generator.dense.weight";
    let zeros = tensors[key].zeros_like().unwrap();
    tensors.insert(key.to_string(), zeros);
    let bias = tensors["module.generator.dense.bias"].to_vec1::<f32>().unwrap();
    candle_core::safetensors::save(&tensors, dir.path().join("model.safetensors")).unwrap();
    let model = FidPlug::load(dir.path(), &Device::Cpu).unwrap();
    let got = model.forward_log_probs(&[vec![101, 872, 1962, 102]], None, &[101, 5]).unwrap();
    let max = bias.iter().copied().fold(f32::MIN, f32::max);
    let log_total = bias.iter().map(|b| (b - max).exp()).sum::<f32>().ln() + max;
    for (i, (g, b)) in got.iter().zip(&bias).enumerate() {
        assert!((g - (b - log_total)).abs() < 1e-4, "id {i}: {g} vs {}", b - log_total);
    }
}

#[test]
fn a_stop_request_ends_the_search_before_the_next_step() {
    let model = load("tiny_a");
    let encoded = model.encode(&[vec![CLS, 872, 1962, SEP]], None).unwrap();
    let options = TranslateOptions { min_length: 50, max_length: 60, ..TranslateOptions::default() };
    let mut calls = 0;
    let got = chatplug_model::plug::translate_until(&model, &encoded, CLS, SEP, &options, &mut || {
        calls += 1;
        calls <= 3
    })
    .unwrap();
    assert!(got.is_none());
    assert_eq!(calls, 4, "asked once per step, stopped at the fourth");
}
