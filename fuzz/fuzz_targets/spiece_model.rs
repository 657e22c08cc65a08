#![no_main]
// libFuzzer driver of chatplug_fuzz's `spiece_model` target (the same function the bounded runner calls).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = (chatplug_fuzz::target("spiece_model").run)(data);
});
