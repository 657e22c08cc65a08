//! Tokenized files, the length limits and their statistics, atomic output.

mod common;

use chatplug_data::{
    read_tokenized, tokenized_jsonl, write_all_atomic, DataOptions, InputFormat, TokenizedExample,
};
use common::*;
use serde_json::json;

fn example(passages: &[&[u32]], labels: &[u32]) -> TokenizedExample {
    TokenizedExample {
        input_ids: passages.iter().map(|p| p.to_vec()).collect(),
        labels: labels.to_vec(),
    }
}

#[test]
fn tokenized_files_pass_through_and_read_back() {
    let examples = vec![
        example(&[&[5, 6, 1], &[7, 1]], &[8, 9, 1]),
        example(&[&[10, 1]], &[1]),
    ];
    let lines: Vec<String> = tokenized_jsonl(&examples)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines[0],
        r#"{"input_ids":[[5,6,1],[7,1]],"labels":[8,9,1]}"#
    );
    let (out, stats) = prepare(&lines, InputFormat::Tokenized, &DataOptions::default()).unwrap();
    assert_eq!(out, examples);
    assert_eq!(stats.objective, None);
    assert_eq!(stats.passages_per_example.max, 2);
    let (_dir, path) = input(&lines);
    assert_eq!(read_tokenized(&path, 100).unwrap(), examples);
}

#[test]
fn bad_tokenized_lines_are_errors_naming_line_and_field() {
    let good = r#"{"input_ids": [[5, 1]], "labels": [6, 1]}"#.to_string();
    for (bad, needle) in [
        (
            r#"{"input_ids": [], "labels": [6, 1]}"#,
            "`input_ids` has no passage",
        ),
        (
            r#"{"input_ids": [[5, 1], []], "labels": [6, 1]}"#,
            "`input_ids[1]` is empty",
        ),
        (
            r#"{"input_ids": [[5, 6]], "labels": [6, 1]}"#,
            "`input_ids[0]` does not end with EOS",
        ),
        (
            r#"{"input_ids": [[5, 1]], "labels": [6]}"#,
            "`labels` does not end with EOS",
        ),
        (
            r#"{"input_ids": [[500, 1]], "labels": [6, 1]}"#,
            "`input_ids[0][0]` = 500 is outside the vocabulary (size 100)",
        ),
        (
            r#"{"input_ids": [[5, 1]], "labels": [6, 1], "extra": 1}"#,
            "unknown field `extra`",
        ),
        (
            r#"{"input_ids": [[-5, 1]], "labels": [6, 1]}"#,
            "bad tokenized example",
        ),
    ] {
        let (_dir, path) = input(&[good.clone(), bad.to_string()]);
        let message = read_tokenized(&path, 100).unwrap_err().to_string();
        assert!(
            message.contains("input.jsonl:2: ") && message.contains(needle),
            "{bad}: {message}"
        );
    }
    let (_dir, path) = input(&[]);
    assert!(read_tokenized(&path, 100)
        .unwrap_err()
        .to_string()
        .contains("no examples"));
    let missing = std::path::Path::new("/nonexistent/train.jsonl");
    assert!(read_tokenized(missing, 100)
        .unwrap_err()
        .to_string()
        .contains("/nonexistent/train.jsonl"));
}

#[test]
fn limits_cut_keeping_eos_and_are_counted() {
    let tok = tokenizer();
    let knowledge: Vec<String> = (0..5)
        .map(|i| format!("第{i}条知识：{}", "长城是中国古代的伟大工程。".repeat(3)))
        .collect();
    let line =
        json!({"query": "长城有多长", "knowledge": knowledge, "response": "长城很长。".repeat(20)})
            .to_string();
    let options = DataOptions {
        max_encoder_length: 24,
        max_decoder_length: 10,
        max_passages: 3,
        ..DataOptions::default()
    };
    let (examples, stats) =
        prepare(&[line.clone(), line], InputFormat::Dialogue, &options).unwrap();
    for e in &examples {
        assert_eq!(e.input_ids.len(), 3);
        for p in &e.input_ids {
            assert_eq!(p.len(), 24);
            assert_eq!(*p.last().unwrap(), tok.eos_id());
        }
        assert_eq!(e.labels.len(), 10);
        assert_eq!(*e.labels.last().unwrap(), tok.eos_id());
    }
    assert_eq!(stats.examples, 2);
    assert_eq!(stats.dropped_passages, 4);
    assert_eq!(stats.truncated_passages, 6);
    assert_eq!(stats.truncated_labels, 2);
    assert_eq!(
        (
            stats.passage_tokens.count,
            stats.passage_tokens.p50,
            stats.passage_tokens.max
        ),
        (6, 24, 24)
    );
    assert_eq!(stats.passages_per_example.mean, 3.0);
}

#[test]
fn percentiles_are_nearest_rank() {
    let l = chatplug_data::Lengths::of(&(1..=100).rev().collect::<Vec<_>>());
    assert_eq!((l.min, l.p50, l.p90, l.p99, l.max), (1, 50, 90, 99, 100));
    assert_eq!(l.mean, 50.5);
    let l = chatplug_data::Lengths::of(&[7]);
    assert_eq!((l.p50, l.p99), (7, 7));
}

#[test]
fn atomic_writes_leave_nothing_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let bad = dir.path().join("missing-folder/stats.json");
    assert!(write_all_atomic(&[(&out, "x\n"), (&bad, "{}")]).is_err());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file and no temporary file"
    );
    std::fs::write(&out, "old\n").unwrap();
    write_all_atomic(&[(&out, "new\n")]).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "new\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
