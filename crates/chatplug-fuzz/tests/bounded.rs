//! Every fuzz target for a few seconds (`CHATPLUG_FUZZ_SECONDS`, default 3) on the
//! stable toolchain: seeds, committed regressions, then seeded mutations. A panic, a
//! hang or a very slow input fails the test and names the file the input was saved to.
//! Long runs: `CHATPLUG_FUZZ_SECONDS=600 cargo test --release -p chatplug-fuzz`, or
//! libFuzzer with coverage feedback (fuzz/README.md).

use std::time::Duration;

use chatplug_fuzz::{run, target, Budget};

fn budget() -> Budget {
    let seconds = std::env::var("CHATPLUG_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(3.0);
    let seed = std::env::var("CHATPLUG_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED);
    Budget {
        time: Duration::from_secs_f64(seconds),
        seed,
        ..Budget::default()
    }
}

fn fuzz(name: &str) {
    let report = run(target(name), &budget());
    eprintln!("{report}");
    assert!(report.findings.is_empty(), "{report}");
    assert!(report.executions > 0);
}

macro_rules! fuzz_tests {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { fuzz(stringify!($name)); })*

        /// Every target of the library has a test here.
        #[test]
        fn every_target_is_tested() {
            let tested = [$(stringify!($name)),*];
            for t in chatplug_fuzz::TARGETS {
                assert!(tested.contains(&t.name), "fuzz target `{}` has no test", t.name);
            }
        }
    };
}

fuzz_tests!(
    spiece_model,
    tokenizer_text,
    tokenizer_files,
    model_config,
    safetensors,
    torch_checkpoint,
    knowledge_import,
    chat_request,
    generation_options,
);
