//! The model behind the dialogue pipeline: FiD-T5 plus its tokenizer, adapted to the
//! dialogue crate's `Generator` and `TextTokenizer` traits.

use std::sync::Arc;

use anyhow::Result;
use chatplug_dialogue::{Generator, TextTokenizer};
use chatplug_model::{generate, FidT5, GenerationConfig};
use chatplug_tokenizer::Tokenizer;
use serde_json::{Map, Value};

/// Tokenizes FiD passages as HF does with `truncation=True, max_length`: at most
/// `max_len - 1` text tokens, then EOS.
pub fn encode_passages(tokenizer: &Tokenizer, texts: &[String], max_len: usize) -> Vec<Vec<u32>> {
    texts
        .iter()
        .map(|text| {
            let mut ids = tokenizer.encode(text);
            if ids.len() > max_len {
                ids.truncate(max_len - 1);
                ids.push(tokenizer.eos_id());
            }
            ids
        })
        .collect()
}

/// The tokenizer without the EOS it appends (HF `add_special_tokens=False`), for banned
/// n-grams.
pub struct NoEosTokenizer(pub Arc<Tokenizer>);

impl TextTokenizer for NoEosTokenizer {
    fn encode_no_eos(&self, text: &str) -> Vec<u32> {
        let mut ids = self.0.encode(text);
        if ids.last() == Some(&self.0.eos_id()) {
            ids.pop();
        }
        ids
    }
}

pub struct ModelGenerator {
    pub model: FidT5,
    pub tokenizer: Arc<Tokenizer>,
    pub max_encoder_length: usize,
}

impl ModelGenerator {
    fn run(&self, passages: &[String], options: &Map<String, Value>) -> Result<String> {
        let ids = encode_passages(&self.tokenizer, passages, self.max_encoder_length);
        let options = GenerationConfig::from_json(&Value::Object(options.clone()))?;
        let output = generate(&self.model, &ids, &options, None)?;
        Ok(output
            .sequences
            .first()
            .map(|s| self.tokenizer.decode(s))
            .unwrap_or_default())
    }
}

impl Generator for ModelGenerator {
    fn generate(&self, passages: &[String], options: &Map<String, Value>) -> Result<String, String> {
        self.run(passages, options).map_err(|e| format!("{e:#}"))
    }
}
