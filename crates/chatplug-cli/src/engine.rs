//! The model behind the dialogue pipeline: a [`FidBackend`] (either ChatPLUG family)
//! adapted to the dialogue crate's `Generator` trait.

use anyhow::{bail, Result};
use chatplug_dialogue::{ChatPipeline, Generated, Generator};
use serde_json::{Map, Value};

use crate::backend::FidBackend;

/// What `chat`, `serve` and `eval` run: the model of a directory with its tokenizer, and
/// the pipeline `load_pipeline` makes, given that tokenizer for banned n-grams and the
/// model's whitespace tokens. `command` names the caller when the directory has no
/// tokenizer.
pub fn load_engine(
    model: &std::path::Path,
    precision: chatplug_model::Precision,
    command: &str,
    load_pipeline: impl FnOnce() -> Result<ChatPipeline>,
) -> Result<(ChatPipeline, ModelGenerator)> {
    let dir = crate::io::check_model_dir(model)?;
    let backend = crate::backend::load(&dir, precision)?;
    if !backend.has_tokenizer() {
        bail!("{command} needs the model's tokenizer (spiece.model or tokenizer.json; vocab.txt for PLUG) in {}", dir.display());
    }
    let pipeline = load_pipeline()?
        .with_tokenizer(backend.text_tokenizer()?)
        .with_model_type(backend.model_type());
    let generator = ModelGenerator {
        backend,
        max_encoder_length: pipeline.config().core_chat_max_encoder_length as usize,
    };
    Ok((pipeline, generator))
}

/// Shared by every server worker: the model holds no per-request state (each call has
/// its own decoder cache).
pub struct ModelGenerator {
    pub backend: Box<dyn FidBackend>,
    pub max_encoder_length: usize,
}

impl ModelGenerator {
    fn run(
        &self,
        passages: &[String],
        options: &Map<String, Value>,
        on_text: Option<&mut dyn FnMut(&str) -> bool>,
    ) -> Result<Generated> {
        let ids = self.backend.encode_passages(passages, self.max_encoder_length)?;
        self.backend.generate_text(&ids, options, on_text)
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
