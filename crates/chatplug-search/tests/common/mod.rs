//! Shared by the integration tests: the 127.0.0.1 test server and the recorded
//! answers in `tests/data`.

#![allow(dead_code)]

pub use chatplug_testkit::http::{HttpServer as Server, Reply};
use std::path::PathBuf;

/// A recorded body from `tests/data`.
pub fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
