//! The model behind the dialogue pipeline: FiD-T5 plus its tokenizer, adapted to the
//! dialogue crate's `Generator` and `TextTokenizer` traits.

use std::ops::ControlFlow;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use chatplug_dialogue::{ChatPipeline, Generated, Generator, TextTokenizer, Usage, STOPPED};
use chatplug_model::{generate, FidT5, GenerationConfig};
use chatplug_tokenizer::Tokenizer;
use serde_json::{Map, Value};

use crate::text_stream::TextStream;

/// What `chat`, `serve` and `eval` run: the model of a directory with its tokenizer, and
/// the pipeline `load_pipeline` makes, given that tokenizer for banned n-grams. `command`
/// names the caller when the directory has no tokenizer.
pub fn load_engine(
    model: &std::path::Path,
    command: &str,
    load_pipeline: impl FnOnce() -> Result<ChatPipeline>,
) -> Result<(ChatPipeline, ModelGenerator)> {
    let dir = crate::io::check_model_dir(model)?;
    let tokenizer = Arc::new(crate::io::load_tokenizer(&dir)?.with_context(|| {
        format!("{command} needs a tokenizer (spiece.model or tokenizer.json) in {}", dir.display())
    })?);
    let pipeline = load_pipeline()?.with_tokenizer(Arc::new(NoEosTokenizer(tokenizer.clone())));
    let generator = ModelGenerator {
        model: crate::io::load_model(&dir)?,
        tokenizer,
        max_encoder_length: pipeline.config().core_chat_max_encoder_length as usize,
    };
    Ok((pipeline, generator))
}

/// Tokenizes FiD passages as HF does with `truncation=True, max_length`: at most
/// `max_len - 1` text tokens, then EOS.
pub fn encode_passages(tokenizer: &Tokenizer, texts: &[String], max_len: usize) -> Vec<Vec<u32>> {
    texts
        .iter()
        .map(|text| {
            let mut ids = tokenizer.encode(text);
            chatplug_data::truncate_keeping_eos(&mut ids, max_len, tokenizer.eos_id());
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

/// Shared by every server worker: the model holds no per-request state (each call
/// has its own decoder cache).
pub struct ModelGenerator {
    pub model: FidT5,
    pub tokenizer: Arc<Tokenizer>,
    pub max_encoder_length: usize,
}

impl ModelGenerator {
    /// Generates the first sequence. With `on_text`, greedy search and sampling hand
    /// over text as tokens are chosen; beam search cannot (the best beam is known only
    /// at the end), so it asks `on_text("")` each step whether to go on and hands over
    /// the whole reply at the end.
    fn run(
        &self,
        passages: &[String],
        options: &Map<String, Value>,
        mut on_text: Option<&mut dyn FnMut(&str) -> bool>,
    ) -> Result<Generated> {
        let ids = encode_passages(&self.tokenizer, passages, self.max_encoder_length);
        let prompt_tokens = ids.iter().map(Vec::len).sum();
        let options = GenerationConfig::from_json(&Value::Object(options.clone()))?;
        let beam = options.resolve(self.model.config())?.num_beams > 1;
        let mut stream = TextStream::new(&self.tokenizer);
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
        let output = generate(&self.model, &ids, &options, Some(&mut on_token))?;
        if stopped {
            bail!(STOPPED);
        }
        let sequence = output.sequences.first().cloned().unwrap_or_default();
        let text = self.tokenizer.decode(&sequence);
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
        Ok(Generated {
            text,
            usage: Some(Usage { prompt_tokens, completion_tokens }),
        })
    }
}

impl Generator for ModelGenerator {
    fn generate(&self, passages: &[String], options: &Map<String, Value>) -> Result<String, String> {
        self.run(passages, options, None).map(|g| g.text).map_err(|e| format!("{e:#}"))
    }

    fn generate_streaming(
        &self,
        passages: &[String],
        options: &Map<String, Value>,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generated, String> {
        self.run(passages, options, Some(on_text)).map_err(|e| format!("{e:#}"))
    }
}
