//! `chatplug eval` end to end: scoring committed predictions against the values
//! `fixtures/make_eval_golden.py` computed (NLTK, numpy, plain Python), running the tiny
//! random model over items (its replies are token soup: structure only), and errors.

#[allow(dead_code)]
mod common;

use common::{chatplug, root};
use serde_json::Value;

const DATA: &str = "fixtures/golden/eval/cases.jsonl";
const PREDICTIONS: &str = "fixtures/golden/eval/predictions.jsonl";
const MODEL: &str = "fixtures/golden/models/relu_tied";

/// The summary: the last line of standard output, after checking the command succeeded.
fn summary(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "chatplug failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    serde_json::from_str(stdout.lines().last().expect("a summary line"))
        .expect("the last line is JSON")
}

fn stderr(out: &std::process::Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn expected_summary() -> Value {
    let text = std::fs::read_to_string(root().join("fixtures/golden/eval/expected.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["summary"].clone()
}

/// Same keys; integers equal; other numbers within 1e-9 relative (BLEU-4 without
/// 4-gram matches is about 1e-77, which an absolute tolerance could not tell from 0).
fn assert_same_metrics(actual: &Value, expected: &Value, what: &str) {
    let (a, e) = (actual.as_object().unwrap(), expected.as_object().unwrap());
    let mut ak: Vec<_> = a.keys().collect();
    let mut ek: Vec<_> = e.keys().collect();
    ak.sort();
    ek.sort();
    assert_eq!(ak, ek, "{what}: keys");
    for (key, e) in e {
        let a = &a[key];
        if e.is_object() {
            assert_same_metrics(a, e, &format!("{what}.{key}"));
        } else if e.is_u64() {
            assert_eq!(a, e, "{what}.{key}");
        } else {
            let (x, y) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            assert!(
                x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
                "{what}.{key}: {x} != {y}"
            );
        }
    }
}

fn read_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn predictions_are_scored_as_the_reference_implementations_score_them() {
    let out = chatplug(&["eval", "--predictions", PREDICTIONS, "--data", DATA], "");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "only the summary on stdout"
    );
    assert_same_metrics(&summary(&out), &expected_summary(), "summary");
}

#[test]
fn the_model_runs_every_item_through_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let with = dir.path().join("with.jsonl");
    let without = dir.path().join("without.jsonl");
    let run = |out: &std::path::Path, extra: &[&str]| {
        let out = out.to_str().unwrap();
        let mut args = vec![
            "eval",
            "--model",
            MODEL,
            "--data",
            DATA,
            "--limit",
            "4",
            "--out",
            out,
            "--passages",
        ];
        args.extend(extra);
        summary(&chatplug(&args, ""))
    };
    let report = run(&with, &[]);
    assert_eq!(report["items"], 4);
    for key in [
        "bleu1",
        "bleu2",
        "bleu4",
        "rouge_l",
        "f1",
        "knowledge_f1",
        "answer_hit",
        "reply_len",
        "latency_ms_p50",
        "latency_ms_p90",
    ] {
        let v = report[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {report}"));
        assert!(v >= 0.0, "{key}");
        if !key.starts_with("latency") && key != "reply_len" {
            assert!(v <= 1.0, "{key} is a fraction: {v}");
        }
    }
    assert!(report["latency_ms_p90"].as_f64() >= report["latency_ms_p50"].as_f64());
    assert_eq!(report["by_category"]["knowledge"]["items"], 4);

    let lines = read_lines(&with);
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["k1", "k2", "k3", "k4"]);
    for line in &lines {
        assert!(line["prediction"].is_string());
        assert!(line["latency_ms"].as_f64().unwrap() > 0.0);
        assert_eq!(line["category"], "knowledge");
    }
    // The item's knowledge reaches the model's passages, and --no-knowledge drops it.
    let passages = |line: &Value| {
        line["passages"]
            .as_array()
            .expect("passages")
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        passages(&lines[0]).contains("特产是桂花糕和竹编篮"),
        "{}",
        passages(&lines[0])
    );
    let ablated = run(&without, &["--no-knowledge"]);
    assert_eq!(ablated["items"], 4);
    // Knowledge-F1 is still measured against the items' knowledge.
    assert!(ablated["knowledge_f1"].is_f64());
    let ablated_lines = read_lines(&without);
    for (a, b) in lines.iter().zip(&ablated_lines) {
        assert_eq!(a["id"], b["id"]);
        assert_ne!(
            passages(a),
            passages(b),
            "--no-knowledge changes the passages of {}",
            a["id"]
        );
    }
    assert!(!passages(&ablated_lines[0]).contains("桂花糕"));

    // The --out file is a predictions file: scoring it again gives the same summary.
    let rescored = summary(&chatplug(
        &[
            "eval",
            "--predictions",
            with.to_str().unwrap(),
            "--data",
            &limited_data(dir.path(), 4),
        ],
        "",
    ));
    assert_same_metrics(&rescored, &report, "rescored");
}

/// The first `n` lines of the golden data, in a file of their own.
fn limited_data(dir: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(root().join(DATA)).unwrap();
    let path = dir.join("data.jsonl");
    let head: Vec<&str> = text.lines().take(n).collect();
    std::fs::write(&path, head.join("\n") + "\n").unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn items_without_an_id_are_named_by_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.jsonl");
    std::fs::write(
        &data,
        "{\"query\": \"你好\", \"response\": \"你好呀\"}\n\n{\"query\": \"在吗\", \"id\": 7}\n",
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let report = summary(&chatplug(
        &[
            "eval",
            "--model",
            MODEL,
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        "",
    ));
    assert_eq!(report["items"], 2);
    assert!(report["by_category"].as_object().unwrap().is_empty());
    // No answers, no knowledge: those metrics are absent, not 0.
    assert!(
        report.get("answer_hit").is_none() && report.get("knowledge_f1").is_none(),
        "{report}"
    );
    let lines = read_lines(&out);
    assert_eq!(lines[0]["id"], "1");
    assert_eq!(lines[1]["id"], "7");
    assert!(lines[0].get("category").is_none() && lines[0].get("passages").is_none());
}

#[test]
fn bad_data_and_predictions_are_errors_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let good = write("good.jsonl", "{\"id\": \"a\", \"query\": \"你好\", \"response\": \"你好\"}\n{\"id\": \"b\", \"query\": \"在吗\"}\n");
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["--data".into(), write("unknown.jsonl", "{\"query\": \"a\"}\n{\"query\": \"b\", \"refrence\": \"x\"}\n"), "--predictions".into(), write("p0.jsonl", "{\"id\":1,\"prediction\":\"\"}\n")],
            "unknown.jsonl:2: bad request: `refrence`: unknown field `refrence`".into(),
        ),
        (
            vec!["--data".into(), write("nojson.jsonl", "{\"query\": \"a\"}\n{\"query\": \n"), "--model".into(), MODEL.into()],
            "nojson.jsonl:2: not valid JSON".into(),
        ),
        (
            vec!["--data".into(), write("noquery.jsonl", "{\"response\": \"a\"}\n"), "--model".into(), MODEL.into()],
            "noquery.jsonl:1: bad request: missing field `query`".into(),
        ),
        (
            vec!["--data".into(), good.clone(), "--predictions".into(), write("missing.jsonl", "{\"id\": \"a\", \"prediction\": \"你好\"}\n")],
            format!("missing.jsonl: no prediction for id `b` ({good}:2)"),
        ),
        (
            vec!["--data".into(), good.clone(), "--predictions".into(), write("dup.jsonl", "{\"id\": \"a\", \"prediction\": \"x\"}\n{\"id\": \"b\", \"prediction\": \"x\"}\n{\"id\": \"a\", \"prediction\": \"y\"}\n")],
            "dup.jsonl:3: duplicate id `a` (first on line 1)".into(),
        ),
        (
            vec!["--data".into(), good.clone(), "--predictions".into(), write("stray.jsonl", "{\"id\": \"a\", \"prediction\": \"x\"}\n{\"id\": \"b\", \"prediction\": \"x\"}\n{\"id\": \"c\", \"prediction\": \"y\"}\n")],
            "stray.jsonl:3: id `c` is not an item of".into(),
        ),
        (
            vec!["--data".into(), good.clone(), "--model".into(), "no/such/model".into()],
            "model directory no/such/model does not exist".into(),
        ),
    ];
    for (args, needle) in cases {
        let mut argv = vec!["eval".to_string()];
        argv.extend(args);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let err = stderr(&chatplug(&argv, ""));
        assert!(err.contains(&needle), "{argv:?}: {err}");
    }
    assert!(stderr(&chatplug(
        &["eval", "--data", &good, "--model", MODEL, "--limit", "0"],
        ""
    ))
    .contains("--limit"));
    // A model run and --predictions exclude each other (without either, the demo model
    // runs: tests/demo_model.rs).
    let predictions = write("both.jsonl", "{\"id\": \"a\", \"prediction\": \"x\"}\n");
    let err = stderr(&chatplug(&["eval", "--data", &good, "--predictions", &predictions, "--model", MODEL], ""));
    assert!(err.contains("--predictions") && err.contains("--model"), "{err}");
    assert!(stderr(&chatplug(
        &[
            "eval",
            "--data",
            &good,
            "--predictions",
            &good,
            "--limit",
            "1"
        ],
        ""
    ))
    .contains("--limit"));
}
