//! `chatplug tokenizer train` end to end: the committed trained tokenizer is what the
//! command writes, the command's summary, and one-line errors.

mod common;

use common::{chatplug, root, stdout_json};

#[test]
fn train_writes_the_committed_golden_tokenizer() {
    let out_dir = std::env::temp_dir().join(format!("chatplug-cli-tok-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = chatplug(
        &[
            "tokenizer",
            "train",
            "--input",
            "fixtures/tokenizer_corpus/train.txt",
            "--out",
            out_dir.to_str().unwrap(),
            "--vocab-size",
            "1500",
        ],
        "",
    );
    let summary = stdout_json(&out);
    assert_eq!(summary["tokenizer_len"], 1600);
    assert_eq!(summary["report"]["pieces"], 1500);
    assert_eq!(summary["report"]["sentences"], 688);
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    for name in ["spiece.model", "tokenizer_config.json", "special_tokens_map.json"] {
        let ours = std::fs::read(out_dir.join(name)).unwrap();
        let committed = std::fs::read(root().join("fixtures/golden/tokenizer_trained").join(name)).unwrap();
        assert!(ours == committed, "{name} differs from the committed one");
    }
    // The directory works with `chatplug tokenize`.
    let ids = stdout_json(&chatplug(
        &["tokenize", "--model", out_dir.to_str().unwrap()],
        r#"{"texts": ["你好", "<extra_id_0>"]}"#,
    ));
    assert_eq!(ids["ids"][1], serde_json::json!([1599, 1]));
    std::fs::remove_dir_all(&out_dir).ok();
}

#[test]
fn train_errors_are_one_line() {
    let out = chatplug(
        &["tokenizer", "train", "--input", "no/such/file.txt", "--out", "/tmp/x", "--vocab-size", "100"],
        "",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: cannot read no/such/file.txt"), "{stderr}");

    let out = chatplug(
        &[
            "tokenizer",
            "train",
            "--input",
            "fixtures/tokenizer_corpus/train.txt",
            "--out",
            "/tmp/x",
            "--vocab-size",
            "50",
        ],
        "",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("vocab size 50 is too small"), "{stderr}");
}
