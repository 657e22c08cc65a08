//! `chatplug data prepare` / `export` end to end.

mod common;

use common::{chatplug, stdout_json};
use serde_json::{json, Value};
use std::path::Path;

const TOKENIZER: &str = "fixtures/golden/tokenizer";

fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn run(args: &[&str]) -> std::process::Output {
    chatplug(args, "")
}

fn ok(out: &std::process::Output) {
    assert!(out.status.success(), "chatplug failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn requests() -> Vec<Value> {
    vec![
        json!({"query": "周末去哪里玩？", "history": [
            {"role": "user", "utterance": "我叫李雷"}, {"role": "bot", "utterance": "你好李雷"},
            {"role": "user", "utterance": "今天好累"}, {"role": "bot", "utterance": "早点休息吧"}]}),
        json!({"query": "长城有多长", "knowledge": ["长城全长两万多千米"], "bot_profile": "我叫小婉", "user_profile": "我住在北京"}),
    ]
}

/// Train = infer: the prepared passages are `chatplug prompt`'s passages, tokenized by
/// `chatplug tokenize`.
#[test]
fn prepared_passages_are_what_prompt_builds() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dialogue.jsonl");
    let lines: Vec<String> = requests()
        .into_iter()
        .map(|mut r| {
            r["response"] = json!("好的。");
            r.to_string()
        })
        .collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    let (out, stats) = (dir.path().join("train.jsonl"), dir.path().join("stats.json"));
    let args = ["data", "prepare", "--format", "dialogue", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(),
        "--tokenizer", TOKENIZER, "--stats", stats.to_str().unwrap()];
    ok(&run(&args));
    let examples = read_jsonl(&out);
    assert_eq!(examples.len(), 2);
    for (example, request) in examples.iter().zip(requests()) {
        let prompt = stdout_json(&chatplug(&["prompt"], &request.to_string()));
        let texts = json!({"texts": prompt["passages"]});
        let ids = stdout_json(&chatplug(&["tokenize", "--model", TOKENIZER], &texts.to_string()));
        assert_eq!(example["input_ids"], ids["ids"], "{request}");
        let label = stdout_json(&chatplug(&["tokenize", "--model", TOKENIZER], r#"{"texts": ["好的。"]}"#));
        assert_eq!(example["labels"], label["ids"][0]);
    }
    let stats: Value = serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    assert_eq!(stats["examples"], 2);
    assert_eq!(stats["format"], "dialogue");
    assert_eq!(stats["passages_per_example"]["max"], 3);
}

#[test]
fn a_bad_line_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dialogue.jsonl");
    std::fs::write(&input, "{\"query\": \"你好\", \"response\": \"好\"}\n{\"query\": \"你好\"}\n").unwrap();
    let out = dir.path().join("train.jsonl");
    std::fs::write(&out, "old\n").unwrap();
    let stats = dir.path().join("stats.json");
    let args = ["data", "prepare", "--format", "dialogue", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(),
        "--tokenizer", TOKENIZER, "--stats", stats.to_str().unwrap()];
    let result = run(&args);
    assert!(!result.status.success());
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("dialogue.jsonl:2: missing field `response`"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n", "the old output is untouched");
    assert!(!stats.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left");
    // A bad option value names itself.
    let result = run(&["data", "prepare", "--format", "dialog", "--input", "x", "--out", "y", "--tokenizer", TOKENIZER]);
    assert!(String::from_utf8_lossy(&result.stderr).contains("unknown format `dialog`"));
}

/// Export to XDPX, then prepare it as XDPX: the same examples as preparing the
/// dialogue file with the same (training) template set.
#[test]
fn export_then_prepare_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("dialogue.jsonl");
    let lines: Vec<String> = requests()
        .into_iter()
        .map(|mut r| {
            r["response"] = json!("好的，\n明白了。");
            r.to_string()
        })
        .collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    ok(&run(&["data", "export", "--format", "xdpx", "--input", &path("dialogue.jsonl"), "--out", &path("x.jsonl")]));
    let exported = read_jsonl(&dir.path().join("x.jsonl"));
    assert_eq!(exported[0]["context"], "今天好累</s>早点休息吧</s>周末去哪里玩？");
    assert_eq!(exported[0]["passages"], "history:我叫李雷</s>你好李雷");
    assert_eq!(exported[1]["passages"], "knowledge:长城全长两万多千米;;;user_profile:你住在北京;;;bot_profile:我叫小婉");
    let prepare = |format: &str, input: &str, out: &str| {
        ok(&run(&["data", "prepare", "--format", format, "--input", input, "--out", out, "--tokenizer", TOKENIZER,
            "--templates", "training"]))
    };
    prepare("dialogue", &path("dialogue.jsonl"), &path("a.jsonl"));
    prepare("xdpx", &path("x.jsonl"), &path("b.jsonl"));
    assert_eq!(read_jsonl(&dir.path().join("a.jsonl")), read_jsonl(&dir.path().join("b.jsonl")));
}

#[test]
fn span_corruption_is_seeded_and_stats_go_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    // Long enough for several spans (with one span, T5 always masks the end).
    let docs: String =
        (0..6).map(|i| format!("第{i}篇：{}\n", "清晨的公园里有人打太极，有人跑步，还有人在湖边喂鸽子。".repeat(5))).collect();
    std::fs::write(dir.path().join("docs.txt"), docs).unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let make = |seed: &str, out: &str| {
        let result = run(&["data", "prepare", "--format", "documents", "--objective", "span-corruption", "--input",
            &path("docs.txt"), "--out", &path(out), "--tokenizer", TOKENIZER, "--seed", seed]);
        ok(&result);
        let stats: Value = serde_json::from_str(String::from_utf8_lossy(&result.stderr).trim()).unwrap();
        assert_eq!(stats["examples"], 6);
        std::fs::read_to_string(dir.path().join(out)).unwrap()
    };
    assert_eq!(make("3", "a.jsonl"), make("3", "b.jsonl"));
    assert_ne!(make("3", "a.jsonl"), make("4", "c.jsonl"));
}
