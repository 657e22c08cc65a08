#![no_main]
#[macro_use]
#[path = "common.rs"]
mod common;

chatplug_fuzz_target!("tokenizer_files");
