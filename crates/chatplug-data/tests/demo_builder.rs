//! The demo model's data builder (`data/demo/build.py`, Python standard library only) keeps
//! its own unit tests: determinism, the request shape `chatplug data` reads, the reply rules,
//! that invented values stay invented and held-out strings stay out. They run here so that
//! `cargo test` (and CI) runs them too.

use std::path::Path;
use std::process::Command;

#[test]
fn demo_data_builder_tests_pass() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", "data/demo", "-p", "test_*.py"])
        .current_dir(&root)
        .output()
        .expect("python3 is needed for the demo data builder's tests");
    assert!(
        out.status.success(),
        "data/demo unit tests failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
