//! Reading tokenized examples (`{"input_ids": [[...], ...], "labels": [...]}` per line), each
//! line checked before any training step runs.

use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::batch::Example;
use crate::error::{Result, TrainError};

/// Reads a tokenized JSONL file. Every id must be below `vocab_size`; every example needs at
/// least one non-empty passage and a non-empty label sequence. Blank lines are skipped.
pub fn read_tokenized(path: &Path, vocab_size: usize) -> Result<Vec<Example>> {
    let file = std::fs::File::open(path).map_err(|e| TrainError::file(path, format!("cannot open: {e}")))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line_no = i + 1;
        let bad = |message: String| TrainError::Line { path: path.to_path_buf(), line: line_no, message };
        let line = line.map_err(|e| bad(format!("cannot read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let example: Example = serde_json::from_str(&line).map_err(|e| {
            bad(format!("not a tokenized example ({{\"input_ids\": [[...]], \"labels\": [...]}}): {e}"))
        })?;
        validate(&example, vocab_size).map_err(bad)?;
        out.push(example);
    }
    if out.is_empty() {
        return Err(TrainError::file(path, "no examples (the file is empty)"));
    }
    Ok(out)
}

/// Why an example cannot be trained on, if it cannot.
pub fn validate(example: &Example, vocab_size: usize) -> std::result::Result<(), String> {
    if example.input_ids.is_empty() || example.input_ids.iter().all(Vec::is_empty) {
        return Err("`input_ids` has no passage with tokens".into());
    }
    if example.labels.is_empty() {
        return Err("`labels` is empty".into());
    }
    for (p, passage) in example.input_ids.iter().enumerate() {
        if let Some(bad) = passage.iter().find(|&&id| id as usize >= vocab_size) {
            return Err(format!("`input_ids[{p}]` has token id {bad}, outside the vocabulary (vocab_size {vocab_size})"));
        }
    }
    if let Some(bad) = example.labels.iter().find(|&&id| id as usize >= vocab_size) {
        return Err(format!("`labels` has token id {bad}, outside the vocabulary (vocab_size {vocab_size})"));
    }
    Ok(())
}
