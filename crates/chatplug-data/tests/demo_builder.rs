//! The demo model's data builder (`data/demo/build.py`, Python standard library only) keeps
//! its own unit tests: determinism, the request shape `chatplug data` reads, the reply rules,
//! that invented values stay invented and held-out strings stay out. The training recipe's
//! scripts (`data/demo/train/`, numpy and safetensors from .ci/setup) keep theirs: the wired
//! copy circuit copies before training. The hand-written knowledge set
//! (`data/demo/eval/knowledge_b.jsonl`) passes its checker. They run here so that
//! `cargo test` (and CI) runs them too.

use std::path::Path;
use std::process::Command;

/// Runs `python3 -m unittest discover` over one folder of `data/demo`.
fn python_tests_pass(folder: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", folder, "-p", "test_*.py"])
        .current_dir(&root)
        .output()
        .expect("python3 is needed for the demo model's Python tests");
    assert!(
        out.status.success(),
        "{folder} unit tests failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn demo_data_builder_tests_pass() {
    python_tests_pass("data/demo");
}

#[test]
fn demo_training_script_tests_pass() {
    python_tests_pass("data/demo/train");
}

#[test]
fn demo_eval_set_checks_pass() {
    python_tests_pass("data/demo/eval");
}
