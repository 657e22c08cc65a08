#![no_main]
// libFuzzer driver of chatplug_fuzz's `knowledge_import` target (the same function the bounded runner calls).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = (chatplug_fuzz::target("knowledge_import").run)(data);
});
