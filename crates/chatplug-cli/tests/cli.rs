//! The `chatplug` binary end to end: golden requests through `generate` and `tokenize`, and
//! one-line errors with a non-zero exit for bad input.

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{chatplug, root, stdout_json as ok_json};
use serde_json::{json, Value};

fn golden() -> PathBuf {
    root().join("fixtures/golden")
}

fn model(name: &str) -> PathBuf {
    golden().join("models").join(name)
}

/// Asserts a failure whose single stderr line contains every one of `needles`.
fn assert_error(out: &Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected failure, got {}", String::from_utf8_lossy(&out.stdout));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "error should be one line: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "error {stderr:?} should mention {needle:?}");
    }
}

fn golden_cases() -> Vec<Value> {
    std::fs::read_to_string(golden().join("cases.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn generate_matches_hf_for_text_and_id_requests() {
    let cases: Vec<Value> = golden_cases()
        .into_iter()
        .filter(|c| c["generation"]["do_sample"].as_bool() != Some(true))
        .collect();
    let text_cases: Vec<&Value> = cases.iter().filter(|c| c["request"].get("passages").is_some()).collect();
    assert!(!text_cases.is_empty(), "the golden set has text-passage requests");
    let id_cases = cases.iter().filter(|c| c["request"].get("input_ids").is_some()).take(3);
    for case in text_cases.into_iter().chain(id_cases) {
        let mut request = case["request"].clone();
        request["generation"] = case["generation"].clone();
        let dir = model(case["model"].as_str().unwrap());
        let reply = ok_json(&chatplug(&["generate", "--model", dir.to_str().unwrap()], &request.to_string()));
        assert_eq!(reply["sequences"], case["sequences"], "case {}", case["name"]);
        if let Some(texts) = case.get("texts") {
            assert_eq!(&reply["texts"], texts, "case {}", case["name"]);
        }
    }
}

#[test]
fn generate_reads_a_request_file() {
    let case = golden_cases().into_iter().find(|c| c["request"].get("input_ids").is_some()).unwrap();
    let mut request = case["request"].clone();
    request["generation"] = case["generation"].clone();
    let path = std::env::temp_dir().join(format!("chatplug-request-{}.json", std::process::id()));
    std::fs::write(&path, request.to_string()).unwrap();
    let dir = model(case["model"].as_str().unwrap());
    let out = chatplug(&["generate", "--model", dir.to_str().unwrap(), "--request", path.to_str().unwrap()], "");
    std::fs::remove_file(&path).ok();
    assert_eq!(ok_json(&out)["sequences"], case["sequences"]);
}

#[test]
fn tokenize_matches_the_slow_tokenizer() {
    let corpus = std::fs::read_to_string(golden().join("tokenizer_corpus.jsonl")).unwrap();
    let lines: Vec<Value> = corpus.lines().take(200).map(|l| serde_json::from_str(l).unwrap()).collect();
    let texts: Vec<&Value> = lines.iter().map(|l| &l["text"]).collect();
    let want: Vec<&Value> = lines.iter().map(|l| &l["ids"]).collect();
    let dir = golden().join("tokenizer");
    let reply = ok_json(&chatplug(&["tokenize", "--model", dir.to_str().unwrap()], &json!({ "texts": texts }).to_string()));
    let got: Vec<&Value> = reply["ids"].as_array().unwrap().iter().collect();
    assert_eq!(got, want);
}

#[test]
fn bad_input_gives_one_line_errors() {
    let relu = model("relu_tied");
    let m = relu.to_str().unwrap();
    let ids = json!([[5, 6, 7, 1]]);

    let out = chatplug(&["generate", "--model", m], &json!({"input_ids": ids, "generation": {"num_beam": 3}}).to_string());
    assert_error(&out, &["num_beam"]);

    let out = chatplug(&["generate", "--model", m], "{\"input_ids\": [[5, 6,");
    assert_error(&out, &["not valid JSON"]);

    let out = chatplug(&["generate", "--model", m], &json!({"input_ids": [[5, 99999999, 1]]}).to_string());
    assert_error(&out, &["99999999", "vocab"]);

    let out = chatplug(&["generate", "--model", m], &json!({"input_ids": [[-3, 1]]}).to_string());
    assert_error(&out, &["-3"]);

    let out = chatplug(&["generate", "--model", m], &json!({"input_ids": ids, "passages": ["x"]}).to_string());
    assert_error(&out, &["not both"]);

    let out = chatplug(&["generate", "--model", m], &json!({"inputs": ids}).to_string());
    assert_error(&out, &["inputs"]);

    let out = chatplug(&["generate", "--model", m], "");
    assert_error(&out, &["empty"]);

    let out = chatplug(&["generate", "--model", m], &json!({"input_ids": ids, "generation": {"early_stopping": "sometimes"}}).to_string());
    assert_error(&out, &["early_stopping"]);

    let out = chatplug(&["generate", "--model", m], &json!({"input_ids": ids, "generation": {"num_beams": 2, "num_return_sequences": 3}}).to_string());
    assert_error(&out, &["num_return_sequences"]);

    let out = chatplug(&["generate", "--model", "/nonexistent/model"], &json!({"input_ids": ids}).to_string());
    assert_error(&out, &["/nonexistent/model"]);

    // A directory with a config but no weights names what it looked for.
    let dir = std::env::temp_dir().join(format!("chatplug-empty-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(relu.join("config.json"), dir.join("config.json")).unwrap();
    let out = chatplug(&["generate", "--model", dir.to_str().unwrap()], &json!({"input_ids": ids}).to_string());
    assert_error(&out, &["model.safetensors", "pytorch_model.bin"]);
    // A corrupt weights file names the file.
    std::fs::write(dir.join("model.safetensors"), b"not safetensors").unwrap();
    let out = chatplug(&["generate", "--model", dir.to_str().unwrap()], &json!({"input_ids": ids}).to_string());
    assert_error(&out, &["model.safetensors"]);
    std::fs::remove_dir_all(&dir).ok();

    let out = chatplug(&["tokenize", "--model", m], &json!({"text": ["x"]}).to_string());
    assert_error(&out, &["text"]);
}

#[test]
fn precision_is_chosen_by_flag_or_environment_and_checked() {
    let case = golden_cases()
        .into_iter()
        .find(|c| c["request"].get("input_ids").is_some() && c["generation"]["do_sample"].as_bool() != Some(true))
        .unwrap();
    let mut request = case["request"].clone();
    request["generation"] = case["generation"].clone();
    let dir = model(case["model"].as_str().unwrap());
    let m = dir.to_str().unwrap();
    // f32 by flag is the reference's output; bf16 and int8 run and give as many sequences.
    let f32_reply = ok_json(&chatplug(&["generate", "--model", m, "--precision", "f32"], &request.to_string()));
    assert_eq!(f32_reply["sequences"], case["sequences"]);
    for precision in ["bf16", "int8"] {
        let reply = ok_json(&chatplug(&["generate", "--model", m, "--precision", precision], &request.to_string()));
        let (ours, f32s) = (reply["sequences"].as_array().unwrap(), case["sequences"].as_array().unwrap());
        assert_eq!(ours.len(), f32s.len(), "{precision}");
        assert_eq!(ours[0][0], f32s[0][0], "{precision}: sequences start with the decoder start token");
    }
    let out = chatplug(&["generate", "--model", m, "--precision", "fp4"], &request.to_string());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`fp4`"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = common::chatplug_with_env(&["generate", "--model", m], &request.to_string(), &[("CHATPLUG_PRECISION", "half")]);
    assert_error(&out, &["CHATPLUG_PRECISION", "`half`", "f32, bf16 or int8"]);
}

#[test]
fn a_quantized_model_gives_the_outputs_of_int8_on_load() {
    for name in ["gated_untied_sharded", "relu_tied"] {
        let case = golden_cases()
            .into_iter()
            .find(|c| c["model"] == name && c["request"].get("input_ids").is_some() && c["generation"]["do_sample"].as_bool() != Some(true))
            .unwrap();
        let mut request = case["request"].clone();
        request["generation"] = case["generation"].clone();
        let dir = model(name);
        let out = tempfile::tempdir().unwrap();
        let q = out.path().join("q");
        let report = ok_json(&chatplug(&["quantize", "--model", dir.to_str().unwrap(), "--out", q.to_str().unwrap()], ""));
        assert!(report["linear_maps"].as_u64().unwrap() > 0, "{report}");
        assert!(report["copied_files"].as_array().unwrap().iter().any(|f| f == "config.json"), "{report}");
        let on_load = ok_json(&chatplug(&["generate", "--model", dir.to_str().unwrap(), "--precision", "int8"], &request.to_string()));
        let saved = ok_json(&chatplug(&["generate", "--model", q.to_str().unwrap(), "--precision", "int8"], &request.to_string()));
        assert_eq!(saved["sequences"], on_load["sequences"], "{name}");
        // The int8 file cannot pass for f32 weights.
        let out32 = chatplug(&["generate", "--model", q.to_str().unwrap()], &request.to_string());
        assert_error(&out32, &["int8", "chatplug quantize", "precision int8"]);
        // Writing over a checkpoint is refused.
        let again = chatplug(&["quantize", "--model", dir.to_str().unwrap(), "--out", q.to_str().unwrap()], "");
        assert_error(&again, &["already exists"]);
    }
}
