#![no_main]
// libFuzzer driver of chatplug_fuzz's `tokenizer_files` target (the same function the bounded runner calls).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = (chatplug_fuzz::target("tokenizer_files").run)(data);
});
