#![no_main]
// libFuzzer driver of chatplug_fuzz's `torch_checkpoint` target (the same function the bounded runner calls).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = (chatplug_fuzz::target("torch_checkpoint").run)(data);
});
