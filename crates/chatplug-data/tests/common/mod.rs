//! Shared set-up: the golden test tokenizer, a default pipeline, input files.
#![allow(dead_code)]

use chatplug_data::{prepare_file, DataOptions, InputFormat, Stats, TokenizedExample};
use chatplug_dialogue::{ChatPipeline, Config};
use chatplug_tokenizer::Tokenizer;
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn tokenizer() -> Tokenizer {
    Tokenizer::from_dir(&root().join("fixtures/golden/tokenizer")).expect("golden tokenizer")
}

pub fn pipeline() -> ChatPipeline {
    ChatPipeline::new(Config::default()).unwrap()
}

/// A file with `lines` (one per line) in a fresh temporary folder.
pub fn input(lines: &[String]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (dir, path)
}

pub fn prepare(
    lines: &[String],
    format: InputFormat,
    options: &DataOptions,
) -> chatplug_data::Result<(Vec<TokenizedExample>, Stats)> {
    let (_dir, path) = input(lines);
    prepare_file(&path, format, options, &pipeline(), &tokenizer())
}

/// The error message of a failing prepare.
pub fn prepare_error(lines: &[String], format: InputFormat, options: &DataOptions) -> String {
    match prepare(lines, format, options) {
        Ok(_) => panic!("expected an error for {lines:?}"),
        Err(e) => e.to_string(),
    }
}
