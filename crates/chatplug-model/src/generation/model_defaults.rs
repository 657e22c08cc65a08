//! A model directory's own decoding defaults: `generation_config.json`, the file HF's
//! `generate` reads beside a checkpoint. A request's options win; the file fills in only
//! what the request leaves unset, as in HF. The demo model uses it to switch on
//! `max_repeat_run` for itself without changing the decoding of released checkpoints.

use std::path::Path;

use serde_json::{Map, Value};

use super::GenerationConfig;
use crate::error::{ModelError, Result};

/// The file's name in a model directory.
pub const FILE: &str = "generation_config.json";

/// Every option [`GenerationConfig`] has; the file's other keys (HF writes
/// `transformers_version`, `_from_model_config`, `bos_token_id`, …) are left out.
const KNOWN: &[&str] = &[
    "max_length",
    "max_new_tokens",
    "min_length",
    "min_new_tokens",
    "do_sample",
    "num_beams",
    "num_return_sequences",
    "temperature",
    "top_k",
    "top_p",
    "repetition_penalty",
    "length_penalty",
    "no_repeat_ngram_size",
    "bad_words_ids",
    "early_stopping",
    "eos_token_id",
    "pad_token_id",
    "decoder_start_token_id",
    "seed",
    "use_cache",
    "max_repeat_run",
];

/// The options of `dir`'s `generation_config.json` this crate knows, checked; an empty map
/// when there is no such file. A known option with a bad value is an error naming the file.
pub fn read(dir: &Path) -> Result<Map<String, Value>> {
    let path = dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(ModelError::file(&path, format!("cannot read: {e}"))),
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| ModelError::file(&path, format!("not JSON: {e}")))?;
    let Value::Object(all) = value else {
        return Err(ModelError::file(&path, "must be a JSON object of generation options"));
    };
    let known: Map<String, Value> = all.into_iter().filter(|(key, _)| KNOWN.contains(&key.as_str())).collect();
    // One option at a time, so that the error names it (serde's type errors do not).
    for (key, value) in &known {
        let one = Value::Object(Map::from_iter([(key.clone(), value.clone())]));
        GenerationConfig::from_json(&one).map_err(|e| ModelError::file(&path, format!("option `{key}`: {e}")))?;
    }
    Ok(known)
}

/// A request's options over the model's defaults: the request's keys win, a key the
/// request sets to `null` stays unset.
pub fn apply(request: &Map<String, Value>, defaults: &Map<String, Value>) -> Map<String, Value> {
    let mut merged = defaults.clone();
    merged.extend(request.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `KNOWN` must name every field: a field added to `GenerationConfig` and not here
    /// would be dropped from every model's file. The destructuring stops compiling when a
    /// field is added; the loop checks each name is one `from_json` accepts.
    #[test]
    fn known_names_every_option() {
        let GenerationConfig {
            max_length: _,
            max_new_tokens: _,
            min_length: _,
            min_new_tokens: _,
            do_sample: _,
            num_beams: _,
            num_return_sequences: _,
            temperature: _,
            top_k: _,
            top_p: _,
            repetition_penalty: _,
            length_penalty: _,
            no_repeat_ngram_size: _,
            bad_words_ids: _,
            early_stopping: _,
            eos_token_id: _,
            pad_token_id: _,
            decoder_start_token_id: _,
            seed: _,
            use_cache: _,
            max_repeat_run: _,
        } = GenerationConfig::default();
        assert_eq!(KNOWN.len(), 21);
        for key in KNOWN {
            GenerationConfig::from_json(&json!({ *key: null })).unwrap_or_else(|e| panic!("{key}: {e}"));
        }
    }

    fn dir_with(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), text).unwrap();
        dir
    }

    #[test]
    fn reads_known_options_and_skips_the_rest() {
        // As transformers 4.46 writes the file, plus an option of ours.
        let dir = dir_with(
            r#"{"_from_model_config": true, "bos_token_id": 0, "decoder_start_token_id": 0,
                "eos_token_id": 1, "pad_token_id": 0, "transformers_version": "4.46.3",
                "max_repeat_run": 3}"#,
        );
        let defaults = read(dir.path()).unwrap();
        let keys: Vec<&str> = defaults.keys().map(String::as_str).collect();
        assert_eq!(keys, ["decoder_start_token_id", "eos_token_id", "max_repeat_run", "pad_token_id"]);
    }

    #[test]
    fn no_file_means_no_defaults() {
        assert!(read(tempfile::tempdir().unwrap().path()).unwrap().is_empty());
    }

    #[test]
    fn a_bad_value_names_the_file_and_option() {
        let dir = dir_with(r#"{"max_repeat_run": "three"}"#);
        let message = read(dir.path()).unwrap_err().to_string();
        assert!(message.contains(FILE) && message.contains("max_repeat_run"), "{message}");
        let dir = dir_with("[1, 2]");
        assert!(read(dir.path()).unwrap_err().to_string().contains("JSON object"));
    }

    #[test]
    fn the_request_wins() {
        let defaults = json!({"max_repeat_run": 3, "num_beams": 2});
        let request = json!({"num_beams": 4, "max_repeat_run": null});
        let merged = apply(request.as_object().unwrap(), defaults.as_object().unwrap());
        assert_eq!(Value::Object(merged), json!({"num_beams": 4, "max_repeat_run": null}));
    }
}
