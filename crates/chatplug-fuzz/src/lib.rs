//! Fuzzing of every parser that reads untrusted bytes (issue 13).
//!
//! - [`targets`]: one function per parser, shared by both drivers.
//! - [`runner`]: a bounded, seeded runner on the stable toolchain; `cargo test -p
//!   chatplug-fuzz` runs every target for a few seconds (`CHATPLUG_FUZZ_SECONDS`).
//! - `fuzz/` at the repository root: the same targets under libFuzzer with coverage
//!   feedback (`cargo +nightly fuzz run <target>`), for long runs.
//!
//! An input that once found a problem is committed under `regressions/<target>/` and
//! replayed by every run.

pub mod mutate;
pub mod runner;
pub mod targets;

pub use runner::{run, Budget, Report};
pub use targets::{Target, TARGETS};

/// The target called `name`; panics on an unknown name (the drivers name them statically).
pub fn target(name: &str) -> &'static Target {
    TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target `{name}`"))
}
