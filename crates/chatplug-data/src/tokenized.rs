//! Tokenized examples: one `{"input_ids": [[...], ...], "labels": [...]}` object a
//! line, what `chatplug data prepare` writes and the trainer reads.

use crate::error::{DataError, Result};
use crate::jsonl::{lines, read_text};
use crate::TokenizedExample;
use std::path::Path;

/// T5's end-of-sequence id (pad 0, EOS 1, unk 2 in every T5 / mT5 vocabulary and in
/// the tokenizers `chatplug tokenizer train` makes).
pub const T5_EOS: u32 = 1;

/// Checks one example: at least one passage, no empty sequence, every sequence
/// ending with EOS, every id below `vocab_size`. The message names the field.
pub fn validate(example: &TokenizedExample, vocab_size: usize) -> Result<(), String> {
    if example.input_ids.is_empty() {
        return Err("`input_ids` has no passage".into());
    }
    let sequences = example
        .input_ids
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("input_ids[{i}]"), p))
        .chain(std::iter::once(("labels".to_string(), &example.labels)));
    for (name, ids) in sequences {
        match ids.last() {
            None => return Err(format!("`{name}` is empty")),
            Some(&last) if last != T5_EOS => {
                return Err(format!("`{name}` does not end with EOS ({T5_EOS})"))
            }
            _ => {}
        }
        if let Some((j, id)) = ids
            .iter()
            .enumerate()
            .find(|(_, &id)| id as usize >= vocab_size)
        {
            return Err(format!(
                "`{name}[{j}]` = {id} is outside the vocabulary (size {vocab_size})"
            ));
        }
    }
    Ok(())
}

/// Parses one line (unknown fields are errors).
pub fn parse_line(path: &Path, number: usize, text: &str) -> Result<TokenizedExample> {
    serde_json::from_str(text)
        .map_err(|e| DataError::line(path, number, format!("bad tokenized example: {e}")))
}

/// Reads a tokenized JSONL file, validating every line against `vocab_size` (the
/// model's vocabulary). An empty file is an error.
pub fn read_tokenized(path: &Path, vocab_size: usize) -> Result<Vec<TokenizedExample>> {
    let text = read_text(path)?;
    let mut out = Vec::new();
    for line in lines(&text) {
        let example = parse_line(path, line.number, line.text)?;
        validate(&example, vocab_size).map_err(|m| DataError::line(path, line.number, m))?;
        out.push(example);
    }
    if out.is_empty() {
        return Err(DataError::File {
            path: path.to_path_buf(),
            message: "no examples".into(),
        });
    }
    Ok(out)
}
