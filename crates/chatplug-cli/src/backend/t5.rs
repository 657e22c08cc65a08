//! ChatPLUG-3.7B's family: FiD-T5 with the mT5 SentencePiece tokenizer and HF `generate`.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use chatplug_dialogue::{Generated, ModelType, TextTokenizer, Usage, STOPPED};
use chatplug_model::generation::{model_defaults, GenerationOutput, TokenCallback};
use chatplug_model::{generate, Batcher, FidT5, GenerationConfig, Precision};
use chatplug_tokenizer::Tokenizer;
use serde_json::{Map, Value};

use super::FidBackend;
use crate::text_stream::TextStream;

pub struct T5Backend {
    model: Arc<FidT5>,
    /// Set by `start_batching`: decoding runs on its thread, shared with concurrent calls.
    batcher: Option<Batcher>,
    tokenizer: Option<Arc<Tokenizer>>,
    /// The model directory's `generation_config.json`: what a request leaves unset.
    generation_defaults: Map<String, Value>,
    dir: std::path::PathBuf,
}

impl T5Backend {
    pub fn load(dir: &Path, precision: Precision) -> Result<Self> {
        let tokenizer = crate::io::load_tokenizer(dir)?.map(Arc::new);
        let model = FidT5::load_with_precision(dir, &candle_core::Device::Cpu, precision).context("cannot load the model")?;
        let generation_defaults = model_defaults::read(dir)?;
        Ok(T5Backend { model: Arc::new(model), batcher: None, tokenizer, generation_defaults, dir: dir.to_path_buf() })
    }

    /// A request's options over the model directory's defaults.
    fn options(&self, request: &Map<String, Value>) -> Result<GenerationConfig> {
        let merged = model_defaults::apply(request, &self.generation_defaults);
        Ok(GenerationConfig::from_json(&Value::Object(merged))?)
    }

    /// `generate`, alone or through the batcher.
    fn generate(
        &self,
        passages: &[Vec<u32>],
        options: &GenerationConfig,
        on_token: Option<TokenCallback<'_>>,
    ) -> chatplug_model::Result<GenerationOutput> {
        match &self.batcher {
            Some(batcher) => batcher.generate(passages, options, on_token),
            None => generate(&self.model, passages, options, on_token),
        }
    }

    fn tokenizer(&self) -> Result<&Arc<Tokenizer>> {
        self.tokenizer.as_ref().with_context(|| {
            format!("no tokenizer (spiece.model or tokenizer.json) in {}", self.dir.display())
        })
    }
}

/// The tokenizer without the EOS it appends (HF `add_special_tokens=False`).
pub(super) struct NoEosTokenizer(pub(super) Arc<Tokenizer>);

impl TextTokenizer for NoEosTokenizer {
    fn encode_no_eos(&self, text: &str) -> Vec<u32> {
        let mut ids = self.0.encode(text);
        if ids.last() == Some(&self.0.eos_id()) {
            ids.pop();
        }
        ids
    }
}

impl FidBackend for T5Backend {
    fn model_type(&self) -> ModelType {
        ModelType::T5
    }

    fn has_tokenizer(&self) -> bool {
        self.tokenizer.is_some()
    }

    /// ChatPLUG-3.7B's `core_chat_max_encoder_length`, as the pipeline uses it.
    fn default_max_encoder_length(&self) -> usize {
        chatplug_dialogue::Config::default().core_chat_max_encoder_length as usize
    }

    /// As HF with `truncation=True, max_length`: at most `max_len - 1` text tokens, then EOS.
    fn encode_passages(&self, texts: &[String], max_len: usize) -> Result<Vec<Vec<u32>>> {
        let tokenizer = self.tokenizer()?;
        Ok(texts
            .iter()
            .map(|text| {
                let mut ids = tokenizer.encode(text);
                chatplug_data::truncate_keeping_eos(&mut ids, max_len, tokenizer.eos_id());
                ids
            })
            .collect())
    }

    fn decode(&self, ids: &[u32]) -> Result<String> {
        Ok(self.tokenizer()?.decode(ids))
    }

    fn text_tokenizer(&self) -> Result<Arc<dyn TextTokenizer>> {
        Ok(Arc::new(NoEosTokenizer(self.tokenizer()?.clone())))
    }

    fn generate_ids(&self, passages: &[Vec<u32>], token_types: Option<&[Vec<u32>]>, options: &Value) -> Result<Vec<Vec<u32>>> {
        if token_types.is_some() {
            bail!("`token_type_ids` are for PLUG models; this is a T5");
        }
        let options = match options {
            Value::Null => self.options(&Map::new())?,
            Value::Object(request) => self.options(request)?,
            other => GenerationConfig::from_json(other)?,
        };
        Ok(self.generate(passages, &options, None)?.sequences)
    }

    fn start_batching(&mut self, max_rows: usize) -> Result<bool> {
        self.batcher = Some(Batcher::new(Arc::clone(&self.model), max_rows)?);
        Ok(true)
    }

    /// Greedy search and sampling hand over text as tokens are chosen; beam search cannot
    /// (the best beam is known only at the end), so it asks `on_text("")` each step whether
    /// to go on and hands over the whole reply at the end.
    fn generate_text(
        &self,
        passages: &[Vec<u32>],
        options: &Map<String, Value>,
        mut on_text: Option<&mut dyn FnMut(&str) -> bool>,
    ) -> Result<Generated> {
        let tokenizer = self.tokenizer()?;
        let prompt_tokens = passages.iter().map(Vec::len).sum();
        let options = self.options(options)?;
        let beam = options.resolve(self.model.config())?.num_beams > 1;
        let mut stream = TextStream::new(tokenizer);
        let mut stopped = false;
        let mut on_token = |row: usize, token: u32| {
            let keep_going = match on_text.as_mut() {
                Some(f) if row == 0 && beam => f(""),
                Some(f) if row == 0 => stream.push(token).is_none_or(|delta| f(&delta)),
                _ => true,
            };
            if keep_going {
                ControlFlow::Continue(())
            } else {
                stopped = true;
                ControlFlow::Break(())
            }
        };
        let output = self.generate(passages, &options, Some(&mut on_token))?;
        if stopped {
            bail!(STOPPED);
        }
        let sequence = output.sequences.first().cloned().unwrap_or_default();
        let text = tokenizer.decode(&sequence);
        if let Some(f) = on_text {
            // Beam search streamed nothing; sampling may have held back a tail.
            let rest = stream.rest(&text);
            if !rest.is_empty() && !f(&rest) {
                bail!(STOPPED);
            }
        }
        let config = self.model.config();
        let completion_tokens = sequence
            .iter()
            .skip(1)
            .take_while(|t| !config.eos_token_id.contains(t) && **t != config.pad_token_id)
            .count();
        Ok(Generated { text, usage: Some(Usage { prompt_tokens, completion_tokens }) })
    }
}
