//! ChatPLUG-240M (FiD PLUG) through the `chatplug` binary: `generate` on ModelScope's
//! goldens (`fixtures/make_plug_golden.py`) from token ids and from text, and `chat` on a
//! PLUG directory, the architecture told apart by config.json.

mod common;

use std::path::{Path, PathBuf};

use common::{chatplug, root, stdout_json};
use serde_json::{json, Value};

/// A ModelScope-style directory: the golden model's files plus the vocabulary.
fn model_dir(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let golden = root().join("fixtures/golden/plug").join(name);
    for f in ["config.json", "configuration.json", "pytorch_model.bin"] {
        std::fs::copy(golden.join(f), dir.path().join(f)).unwrap();
    }
    std::fs::copy(root().join("fixtures/golden/plug_tokenizer/vocab.txt"), dir.path().join("vocab.txt")).unwrap();
    dir
}

fn cases() -> Vec<Value> {
    let path: PathBuf = root().join("fixtures/golden/plug/requests.jsonl");
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn generate(dir: &Path, request: &Value) -> Value {
    stdout_json(&chatplug(&["generate", "--model", dir.to_str().unwrap()], &request.to_string()))
}

#[test]
fn generate_equals_modelscope_from_ids_and_from_text() {
    let cases = cases();
    for name in ["tiny_a", "tiny_b"] {
        let dir = model_dir(name);
        let mine: Vec<&Value> = cases.iter().filter(|c| c["model"] == name).collect();
        // Token ids (with token types where the golden has them), every setting of request 1.
        for case in mine.iter().filter(|c| c["request"] == 1) {
            let mut request = json!({ "input_ids": case["passages"], "generation": case["options"] });
            if !case["token_type_ids"].is_null() {
                request["token_type_ids"] = case["token_type_ids"].clone();
            }
            let reply = generate(dir.path(), &request);
            assert_eq!(reply["sequences"], json!([case["output"]]), "{name} ids {}", case["setting"]);
        }
        // Text, tokenized here as the pipeline tokenizes it: every request, default setting.
        for case in mine.iter().filter(|c| c["setting"] == 0 && c["token_type_ids"].is_null()) {
            let request = json!({ "passages": case["texts"], "max_encoder_length": 48, "generation": case["options"] });
            let reply = generate(dir.path(), &request);
            assert_eq!(reply["sequences"], json!([case["output"]]), "{name} text request {}", case["request"]);
            assert!(reply["texts"][0].is_string(), "{reply}");
        }
    }
}

#[test]
fn chat_runs_on_a_plug_directory() {
    let dir = model_dir("tiny_b");
    let out = chatplug(&["chat", "--model", dir.path().to_str().unwrap()], "你好\n第二句\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("机器人> ").count(), 2, "{stdout}");
}

#[test]
fn a_plug_directory_without_vocab_names_it() {
    let dir = model_dir("tiny_a");
    std::fs::remove_file(dir.path().join("vocab.txt")).unwrap();
    let out = chatplug(&["generate", "--model", dir.path().to_str().unwrap()], r#"{"passages": ["你好"]}"#);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("vocab.txt"), "{}", String::from_utf8_lossy(&out.stderr));
    // Token ids need no tokenizer.
    let reply = generate(dir.path(), &json!({ "input_ids": [[101, 872, 1962, 102]], "generation": { "max_length": 4 } }));
    assert_eq!(reply["sequences"][0].as_array().unwrap().len(), 4, "{reply}");
    assert!(reply.get("texts").is_none());
}

#[test]
fn tokenize_uses_the_wordpiece_vocabulary() {
    let dir = model_dir("tiny_a");
    let out = chatplug(&["tokenize", "--model", dir.path().to_str().unwrap()], r#"{"texts": ["你好[SEP]HELLO"]}"#);
    assert_eq!(stdout_json(&out), json!({ "ids": [[101, 872, 1962, 102, 8701, 102]] }));
}

#[test]
fn text_passages_default_to_modelscopes_300_tokens() {
    // The golden model has 128 positions: a 400-character passage cut to ModelScope's
    // default of 300 tokens is too long for it, and the error says how long it was.
    let dir = model_dir("tiny_a");
    let long = "好".repeat(400);
    let request = json!({ "passages": [long], "generation": { "max_length": 3 } });
    let out = chatplug(&["generate", "--model", dir.path().to_str().unwrap()], &request.to_string());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("a passage of 300 tokens"), "{stderr}");
    let fits = json!({ "passages": [long], "max_encoder_length": 128, "generation": { "max_length": 3 } });
    assert_eq!(generate(dir.path(), &fits)["sequences"][0].as_array().unwrap().len(), 3);
}

#[test]
fn a_plug_model_quantizes_and_loads_in_int8() {
    let dir = model_dir("tiny_a");
    let case = cases().into_iter().find(|c| c["model"] == "tiny_a" && c["request"] == 1).unwrap();
    let request = json!({ "input_ids": case["passages"], "generation": case["options"] });
    let q = tempfile::tempdir().unwrap();
    let out = q.path().join("int8");
    let report = stdout_json(&chatplug(&["quantize", "--model", dir.path().to_str().unwrap(), "--out", out.to_str().unwrap()], ""));
    assert!(report["linear_maps"].as_u64().unwrap() > 10, "{report}");
    let args = |m: &Path| vec!["generate".to_string(), "--model".into(), m.to_str().unwrap().into(), "--precision".into(), "int8".into()];
    let run = |m: &Path| {
        let a = args(m);
        stdout_json(&chatplug(&a.iter().map(String::as_str).collect::<Vec<_>>(), &request.to_string()))
    };
    assert_eq!(run(&out)["sequences"], run(dir.path())["sequences"]);
}
