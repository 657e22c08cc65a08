#![no_main]
// libFuzzer driver of chatplug_fuzz's `safetensors` target (the same function the bounded runner calls).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = (chatplug_fuzz::target("safetensors").run)(data);
});
