//! `chatplug train` end to end: the flags of the PyTorch comparison reproduce its losses, a
//! run killed with SIGKILL and resumed equals an uncut run, and bad input is refused before
//! any step.

#[allow(dead_code)]
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{chatplug, root};

fn losses(out: &Path) -> Vec<f64> {
    std::fs::read_to_string(out.join("train_log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| v.get("loss").and_then(|x| x.as_f64()))
        .collect()
}

#[test]
fn flags_reproduce_the_pytorch_run() {
    let run: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/golden/train/runs/gated_untied__accum/run.json")).unwrap(),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let s = |k: &str| run[k].to_string();
    let output = chatplug(
        &[
            "train", "--model", "fixtures/golden/train/models/gated_untied", "--train", "fixtures/golden/train/data.jsonl",
            "--out", o, "--shuffle", "false", "--dropout", "0", "--schedule", "constant",
            "--steps", &s("steps"), "--batch-size", &s("batch_size"), "--grad-accum", &s("grad_accum"), "--lr", &s("lr"),
            "--adam-beta1", &s("adam_beta1"), "--adam-beta2", &s("adam_beta2"), "--adam-eps", &s("adam_eps"),
            "--weight-decay", &s("weight_decay"), "--clip-norm", &s("clip_norm"),
        ],
        "",
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let expected: Vec<f64> = run["losses"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let ours = losses(out.path());
    assert_eq!(ours.len(), expected.len());
    for (a, b) in ours.iter().zip(&expected) {
        assert!((a - b).abs() <= 1e-5 * b.abs(), "loss {a} vs PyTorch {b}");
    }
    // The output is a model directory the engine runs.
    let request = r#"{"input_ids": [[5, 6, 7, 1]], "generation": {"max_new_tokens": 3}}"#;
    let generated = chatplug(&["generate", "--model", o], request);
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    for file in ["config.json", "model.safetensors", "training_args.json", "train_log.jsonl"] {
        assert!(out.path().join(file).is_file(), "{file} missing");
    }
}

fn train_args<'a>(out: &'a str, steps: &'a str) -> Vec<&'a str> {
    vec![
        "train", "--model", "fixtures/golden/train/models/relu_tied", "--train", "fixtures/golden/train/data.jsonl",
        "--out", out, "--steps", steps, "--batch-size", "2", "--save-every", "10", "--lr", "3e-3",
        "--warmup-steps", "20", "--dropout", "0.1", "--seed", "9",
    ]
}

#[test]
fn a_run_killed_with_sigkill_resumes_to_the_uncut_result() {
    let uncut = tempfile::tempdir().unwrap();
    let out = chatplug(&train_args(uncut.path().to_str().unwrap(), "400"), "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let cut = tempfile::tempdir().unwrap();
    let cut_dir = cut.path().to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatplug"))
        .args(train_args(cut_dir, "400"))
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !cut.path().join("checkpoint-30").exists() {
        assert!(started.elapsed() < Duration::from_secs(120), "no checkpoint-30 after two minutes");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!cut.path().join("model.safetensors").exists(), "the run finished before the kill");

    let resumed = chatplug(&["train", "--resume", cut_dir], "");
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let a = std::fs::read(uncut.path().join("model.safetensors")).unwrap();
    let b = std::fs::read(cut.path().join("model.safetensors")).unwrap();
    assert!(a == b, "the resumed weights differ from the uncut run's");
    assert_eq!(losses(uncut.path()), losses(cut.path()));
    // No half-written checkpoint is left behind; the newest 3 are kept.
    let names: Vec<String> = std::fs::read_dir(cut.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    assert_eq!(names.iter().filter(|n| n.starts_with("checkpoint-")).count(), 3, "{names:?}");
}

#[test]
fn bad_input_is_refused_before_any_step() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out");
    let o = out.to_str().unwrap();
    let expect_error = |args: &[&str], needle: &str| {
        let output = chatplug(args, "");
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        assert!(!output.status.success() && stderr.contains(needle), "expected `{needle}` in: {stderr}");
        assert!(!out.join("train_log.jsonl").exists(), "a step ran: {stderr}");
    };
    // A vocabulary smaller than the tokenizer's.
    let config = d.join("config.json");
    std::fs::write(&config, r#"{"vocab_size": 100, "d_model": 8, "d_kv": 4, "num_heads": 2, "d_ff": 16, "num_layers": 1}"#).unwrap();
    expect_error(
        &["train", "--init-config", config.to_str().unwrap(), "--tokenizer", "fixtures/golden/tokenizer",
          "--train", "fixtures/golden/train/data.jsonl", "--out", o, "--steps", "1"],
        "smaller than the tokenizer",
    );
    // A missing data file, an id outside the vocabulary (file:line), an unknown config key.
    let model = ["--model", "fixtures/golden/train/models/relu_tied", "--out", o, "--steps", "1"];
    expect_error(&[&["train", "--train", "nope.jsonl"][..], &model].concat(), "nope.jsonl");
    let bad = d.join("bad.jsonl");
    std::fs::write(&bad, "{\"input_ids\": [[5, 1]], \"labels\": [6, 1]}\n{\"input_ids\": [[5, 4000]], \"labels\": [1]}\n").unwrap();
    expect_error(&[&["train", "--train", bad.to_str().unwrap()][..], &model].concat(), "bad.jsonl:2");
    let toml = d.join("train.toml");
    std::fs::write(&toml, "[train]\nsteps = 1\nlearnin_rate = 0.1\n").unwrap();
    expect_error(&[&["train", "--config", toml.to_str().unwrap(), "--train", "fixtures/golden/train/data.jsonl"][..], &model].concat(), "learnin_rate");
    let empty = d.join("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    expect_error(&[&["train", "--train", empty.to_str().unwrap()][..], &model].concat(), "no examples");
}

/// The shipped example curriculum: documents → dialogue → instruction tuning, each stage
/// from the previous one's weights, text formats tokenized on the fly.
#[test]
fn the_example_curriculum_runs_its_stages_in_order() {
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let output = chatplug(&["train", "--config", "examples/train/curriculum.toml", "--out", o], "");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let log: Vec<serde_json::Value> = std::fs::read_to_string(out.path().join("train_log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let stages: Vec<(u64, String)> =
        log.iter().map(|v| (v["step"].as_u64().unwrap(), v["stage"].as_str().unwrap().to_string())).collect();
    assert_eq!(stages.len(), 90);
    for (i, (step, stage)) in stages.iter().enumerate() {
        let expected = ["documents", "dialogue", "instruction"][i / 30];
        assert_eq!((*step, stage.as_str()), (i as u64 + 1, expected));
    }
    // Each stage's schedule starts over (one-cycle warm-up from lr/600).
    assert!((log[30]["lr"].as_f64().unwrap() - 2e-3 / 600.0).abs() < 1e-12);
    let request = r#"{"passages": ["青石镇在哪里？"], "generation": {"max_new_tokens": 4}}"#;
    let generated = chatplug(&["generate", "--model", o], request);
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
}
