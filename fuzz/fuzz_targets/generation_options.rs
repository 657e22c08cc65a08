#![no_main]
// libFuzzer driver of chatplug_fuzz's `generation_options` target (the same function the bounded runner calls).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = (chatplug_fuzz::target("generation_options").run)(data);
});
