//! Decoding options under their HF `generate` / ChatPLUG `core_chat_generate_config` names.

use serde::Deserialize;

use crate::config::T5Config;
use crate::error::{ModelError, Result};

/// HF `early_stopping`: `true`, `false` or `"never"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EarlyStopping {
    #[default]
    Heuristic,
    Stop,
    Never,
}

impl<'de> Deserialize<'de> for EarlyStopping {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(true) => Ok(EarlyStopping::Stop),
            serde_json::Value::Bool(false) => Ok(EarlyStopping::Heuristic),
            serde_json::Value::String(s) if s == "never" => Ok(EarlyStopping::Never),
            other => Err(serde::de::Error::custom(format!(
                "early_stopping must be true, false or \"never\", got {other}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }
}

/// What a request may set. Unset options take HF `GenerationConfig` defaults (or the model
/// config's token ids). Unknown names are rejected so that a typo never passes silently.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationConfig {
    pub max_length: Option<usize>,
    pub max_new_tokens: Option<usize>,
    pub min_length: Option<usize>,
    pub min_new_tokens: Option<usize>,
    pub do_sample: Option<bool>,
    pub num_beams: Option<usize>,
    pub num_return_sequences: Option<usize>,
    pub temperature: Option<f64>,
    pub top_k: Option<usize>,
    pub top_p: Option<f64>,
    pub repetition_penalty: Option<f64>,
    pub length_penalty: Option<f64>,
    pub no_repeat_ngram_size: Option<usize>,
    pub bad_words_ids: Option<Vec<Vec<u32>>>,
    pub early_stopping: Option<EarlyStopping>,
    pub eos_token_id: Option<TokenIds>,
    pub pad_token_id: Option<u32>,
    pub decoder_start_token_id: Option<u32>,
    /// Seed of the sampling RNG (ours, not torch's: sampled ids cannot equal torch's).
    pub seed: Option<u64>,
    /// Accepted for compatibility; the cache is always used.
    pub use_cache: Option<bool>,
    /// Ours, not HF's: the most copies in a row of one token, or of a pair of tokens, a
    /// hypothesis may hold; the token that would start one more is banned. Unset or 0: no
    /// limit (0 says so over a model directory's `generation_config.json`).
    pub max_repeat_run: Option<usize>,
}

/// Options with every default filled in and checked against the model.
#[derive(Debug, Clone)]
pub struct ResolvedConfig {
    /// Total decoder length including the start token (HF `max_length`).
    pub max_length: usize,
    pub min_length: usize,
    pub min_new_tokens: usize,
    pub do_sample: bool,
    pub num_beams: usize,
    pub num_return_sequences: usize,
    pub temperature: f64,
    pub top_k: usize,
    pub top_p: f64,
    pub repetition_penalty: f64,
    pub length_penalty: f64,
    pub no_repeat_ngram_size: usize,
    pub bad_words_ids: Vec<Vec<u32>>,
    pub early_stopping: EarlyStopping,
    pub eos_token_ids: Vec<u32>,
    pub pad_token_id: u32,
    pub decoder_start_token_id: u32,
    pub seed: u64,
    pub max_repeat_run: Option<usize>,
}

/// HF `GenerationConfig.max_length` default.
const DEFAULT_MAX_LENGTH: usize = 20;
const DEFAULT_TOP_K: usize = 50;

impl GenerationConfig {
    pub fn from_json(value: &serde_json::Value) -> Result<Self> {
        serde_json::from_value(value.clone()).map_err(|e| {
            let message = e.to_string();
            let option = message.split('`').nth(1).unwrap_or("generation").to_string();
            ModelError::Generation { option, message }
        })
    }

    pub fn resolve(&self, model: &T5Config) -> Result<ResolvedConfig> {
        // The decoder prompt is the start token alone, so `max_new_tokens` counts from 1.
        let prompt_len = 1;
        let max_length = match (self.max_new_tokens, self.max_length) {
            // Saturating: a request may say usize::MAX, and that means "no limit here".
            (Some(n), _) => n.saturating_add(prompt_len),
            (None, Some(l)) => l,
            (None, None) => DEFAULT_MAX_LENGTH,
        };
        if self.max_new_tokens == Some(0) {
            return Err(ModelError::generation("max_new_tokens", "must be at least 1"));
        }
        // HF turns `min_new_tokens` into `min_length` as well.
        let min_length = match self.min_new_tokens {
            Some(n) => n.saturating_add(prompt_len),
            None => self.min_length.unwrap_or(0),
        };
        let num_beams = self.num_beams.unwrap_or(1);
        if num_beams == 0 {
            return Err(ModelError::generation("num_beams", "must be at least 1"));
        }
        let do_sample = self.do_sample.unwrap_or(false);
        let num_return_sequences = self.num_return_sequences.unwrap_or(1);
        if num_return_sequences == 0 {
            return Err(ModelError::generation("num_return_sequences", "must be at least 1"));
        }
        if num_beams > 1 && num_return_sequences > num_beams {
            return Err(ModelError::generation(
                "num_return_sequences",
                format!("must not exceed num_beams ({num_beams}), got {num_return_sequences}"),
            ));
        }
        if num_beams == 1 && !do_sample && num_return_sequences > 1 {
            return Err(ModelError::generation(
                "num_return_sequences",
                "greedy search returns one sequence; set do_sample or num_beams > 1",
            ));
        }
        if num_beams > 1 && do_sample {
            return Err(ModelError::generation(
                "do_sample",
                "beam-search sampling (do_sample with num_beams > 1) is not supported",
            ));
        }
        let temperature = self.temperature.unwrap_or(1.0);
        if do_sample && !(temperature > 0.0 && temperature.is_finite()) {
            return Err(ModelError::generation("temperature", "must be a positive number"));
        }
        let top_p = self.top_p.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&top_p) {
            return Err(ModelError::generation("top_p", "must be within [0, 1]"));
        }
        let repetition_penalty = self.repetition_penalty.unwrap_or(1.0);
        if !(repetition_penalty > 0.0 && repetition_penalty.is_finite()) {
            return Err(ModelError::generation("repetition_penalty", "must be a positive number"));
        }
        let length_penalty = self.length_penalty.unwrap_or(1.0);
        if !length_penalty.is_finite() {
            return Err(ModelError::generation("length_penalty", "must be a finite number"));
        }
        let eos_token_ids = match &self.eos_token_id {
            Some(ids) => ids.to_vec(),
            None => model.eos_token_id.clone(),
        };
        let vocab = model.vocab_size as u32;
        for (option, ids) in [
            ("eos_token_id", eos_token_ids.clone()),
            ("pad_token_id", self.pad_token_id.into_iter().collect()),
            ("decoder_start_token_id", self.decoder_start_token_id.into_iter().collect()),
        ] {
            if let Some(bad) = ids.iter().find(|&&id| id >= vocab) {
                return Err(ModelError::generation(
                    option,
                    format!("token id {bad} is outside the vocabulary (size {vocab})"),
                ));
            }
        }
        let mut bad_words_ids = Vec::new();
        for (i, seq) in self.bad_words_ids.iter().flatten().enumerate() {
            if seq.is_empty() {
                return Err(ModelError::generation(
                    "bad_words_ids",
                    format!("entry {i} is empty; each entry must be a non-empty list of token ids"),
                ));
            }
            if let Some(bad) = seq.iter().find(|&&id| id >= vocab) {
                return Err(ModelError::generation(
                    "bad_words_ids",
                    format!("entry {i}: token id {bad} is outside the vocabulary (size {vocab})"),
                ));
            }
            // HF drops a banned sequence that is just an EOS token.
            if seq.len() == 1 && eos_token_ids.contains(&seq[0]) {
                continue;
            }
            bad_words_ids.push(seq.clone());
        }
        if max_length <= prompt_len {
            return Err(ModelError::generation(
                "max_length",
                format!("must be greater than 1 (the decoder start token), got {max_length}"),
            ));
        }
        Ok(ResolvedConfig {
            max_length,
            min_length,
            min_new_tokens: self.min_new_tokens.unwrap_or(0),
            do_sample,
            num_beams,
            num_return_sequences,
            temperature,
            top_k: self.top_k.unwrap_or(DEFAULT_TOP_K),
            top_p,
            repetition_penalty,
            length_penalty,
            no_repeat_ngram_size: self.no_repeat_ngram_size.unwrap_or(0),
            bad_words_ids,
            early_stopping: self.early_stopping.unwrap_or_default(),
            eos_token_ids,
            pad_token_id: self.pad_token_id.unwrap_or(model.pad_token_id),
            decoder_start_token_id: self
                .decoder_start_token_id
                .unwrap_or(model.decoder_start_token_id),
            seed: self.seed.unwrap_or(0),
            max_repeat_run: self.max_repeat_run.filter(|&limit| limit > 0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn model() -> T5Config {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/models/relu_tied/config.json");
        T5Config::from_json_str(&std::fs::read_to_string(&path).unwrap(), &path).unwrap()
    }

    /// `usize::MAX` token counts (a request's JSON may say 18446744073709551615) used to
    /// overflow when the decoder prompt was added: a panic in a debug build.
    #[test]
    fn the_largest_token_counts_saturate_instead_of_overflowing() {
        let options = GenerationConfig { max_new_tokens: Some(usize::MAX), min_new_tokens: Some(usize::MAX), ..Default::default() };
        let resolved = options.resolve(&model()).unwrap();
        assert_eq!((resolved.max_length, resolved.min_length), (usize::MAX, usize::MAX));
    }
}
