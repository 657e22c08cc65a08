// What every libFuzzer driver here is: one target of `chatplug_fuzz` (the same function
// the bounded runner of `cargo test -p chatplug-fuzz` calls), under libfuzzer-sys.

/// `chatplug_fuzz_target!("name")` defines the libFuzzer entry point for target `name`.
///
/// It puts the default panic hook back instead of libfuzzer-sys's aborting one: a panic
/// the code under test catches on purpose (the tokenizer turns the `tokenizers` crate's
/// into errors) is no finding, while one that escapes still aborts, in libfuzzer-sys's
/// `LLVMFuzzerTestOneInput` wrapper, and is reported as a crash.
macro_rules! chatplug_fuzz_target {
    ($name:literal) => {
        libfuzzer_sys::fuzz_target!(init: drop(std::panic::take_hook()), |data: &[u8]| {
            let _ = (chatplug_fuzz::target($name).run)(data);
        });
    };
}
