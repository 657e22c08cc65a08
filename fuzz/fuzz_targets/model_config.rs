#![no_main]
// libFuzzer driver of chatplug_fuzz's `model_config` target (the same function the bounded runner calls).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = (chatplug_fuzz::target("model_config").run)(data);
});
