//! Every metric against the values `fixtures/make_eval_golden.py` computed with NLTK's
//! `corpus_bleu`, numpy's `percentile` and plain-Python definitions on the committed
//! cases (`fixtures/golden/eval/`).

use std::path::{Path, PathBuf};

use chatplug_eval::percentile::percentile;
use chatplug_eval::{match_predictions, read_items, read_predictions, report, score_item, Record};
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/eval")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(golden_dir().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).unwrap()
}

fn records() -> (Vec<String>, Vec<Record>) {
    let data = golden_dir().join("cases.jsonl");
    let predictions_path = golden_dir().join("predictions.jsonl");
    let items = read_items(&data).unwrap();
    let predictions = read_predictions(&predictions_path).unwrap();
    let matched = match_predictions(&items, &data, &predictions, &predictions_path).unwrap();
    let records = items
        .iter()
        .zip(matched)
        .map(|(item, p)| Record::new(item, p.prediction.clone(), p.latency_ms))
        .collect();
    (items.iter().map(|i| i.id.clone()).collect(), records)
}

/// Equal, or within 1e-9 relative: BLEU-4 without 4-gram matches is about 1e-77, so an
/// absolute tolerance would accept 0 there.
fn close(actual: f64, expected: f64) -> bool {
    actual == expected || (actual - expected).abs() <= 1e-9 * actual.abs().max(expected.abs())
}

/// Compares a JSON object of metrics key by key: the same keys (absent metrics absent
/// on both sides), numbers within tolerance, integers and booleans exactly.
fn assert_metrics(actual: &Value, expected: &Value, what: &str) {
    let (a, e) = (actual.as_object().unwrap(), expected.as_object().unwrap());
    let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
    let (mut ak, mut ek) = (keys(a), keys(e));
    ak.sort();
    ek.sort();
    assert_eq!(ak, ek, "{what}: metric keys");
    for (key, e) in e {
        let a = &a[key];
        match (a, e) {
            (Value::Object(_), Value::Object(_)) => assert_metrics(a, e, &format!("{what}.{key}")),
            (Value::Number(x), Value::Number(y)) if y.is_u64() => assert_eq!(x, y, "{what}.{key}"),
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert!(close(x, y), "{what}.{key}: {x} != {y}");
            }
            _ => assert_eq!(a, e, "{what}.{key}"),
        }
    }
}

#[test]
fn per_item_metrics_match_the_reference() {
    let expected = expected();
    let (ids, records) = records();
    assert!(records.len() >= 40, "only {} cases", records.len());
    for (id, record) in ids.iter().zip(&records) {
        let mut actual = serde_json::to_value(score_item(record)).unwrap();
        // Python writes an absent metric as null, like serde does for `None`.
        actual.as_object_mut().unwrap().retain(|_, v| !v.is_null());
        let mut want = expected["per_item"][id].clone();
        want.as_object_mut().unwrap().retain(|_, v| !v.is_null());
        assert_metrics(&actual, &want, &format!("item {id}"));
    }
}

#[test]
fn summary_and_categories_match_the_reference() {
    let expected = expected();
    let (_, records) = records();
    let actual = serde_json::to_value(report(&records)).unwrap();
    assert_metrics(&actual, &expected["summary"], "summary");
    // The edge corpora the cases were written for are there.
    let categories = expected["summary"]["by_category"].as_object().unwrap();
    for name in [
        "knowledge",
        "persona",
        "memory",
        "chitchat",
        "empathy",
        "edge",
        "no4gram",
        "nounigram",
        "short",
    ] {
        assert!(categories.contains_key(name), "{name}");
    }
    let no4gram = categories["no4gram"]["bleu4"].as_f64().unwrap();
    assert!(
        no4gram > 0.0 && no4gram < 1e-70,
        "NLTK's no-4-gram BLEU-4 is tiny, not 0: {no4gram}"
    );
    assert_eq!(categories["nounigram"]["bleu4"].as_f64(), Some(0.0));
}

#[test]
fn percentiles_match_numpy() {
    for case in expected()["percentiles"].as_array().unwrap() {
        let values: Vec<f64> = case["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        for (q, key) in [(50.0, "p50"), (90.0, "p90")] {
            let want = case[key].as_f64().unwrap();
            let got = percentile(&values, q).unwrap();
            assert!(close(got, want), "{values:?} {key}: {got} != {want}");
        }
    }
}
