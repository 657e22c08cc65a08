//! The released ChatPLUG model families behind one interface: what `generate`, `chat`,
//! `serve` and `eval` run. Each backend owns its network, its tokenizer and its decoding
//! (HF `generate` for FiD-T5, the reference's `translate` for FiD-PLUG); the rest of the
//! CLI never asks which one it has.

mod plug;
mod t5;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use chatplug_dialogue::{Generated, ModelType, TextTokenizer};
use chatplug_model::{Architecture, Precision};
use serde_json::{Map, Value};

pub use plug::PlugBackend;
pub use t5::T5Backend;

pub trait FidBackend: Send + Sync {
    /// The tokenizer family, for the pipeline's whitespace mapping.
    fn model_type(&self) -> ModelType;

    /// Whether the directory had a tokenizer (`generate` with token ids needs none).
    fn has_tokenizer(&self) -> bool;

    /// `generate`'s passage length when the request gives none: the reference's.
    fn default_max_encoder_length(&self) -> usize;

    /// Token ids of FiD passages, truncated to `max_len` tokens each as the reference
    /// tokenizer truncates them.
    fn encode_passages(&self, texts: &[String], max_len: usize) -> Result<Vec<Vec<u32>>>;

    /// Text of generated ids.
    fn decode(&self, ids: &[u32]) -> Result<String>;

    /// The tokenizer without end-of-sequence (or `[CLS]`/`[SEP]`) tokens, for banned n-grams.
    fn text_tokenizer(&self) -> Result<Arc<dyn TextTokenizer>>;

    /// `chatplug generate`: the sequences as the reference returns them. `options` are the
    /// request's generation options; `token_types` only where the model has them.
    fn generate_ids(&self, passages: &[Vec<u32>], token_types: Option<&[Vec<u32>]>, options: &Value) -> Result<Vec<Vec<u32>>>;

    /// Continuous batching from now on: concurrent calls share their decoding steps, at
    /// most `max_rows` hypotheses a pass over the weights. False where the family decodes
    /// each request alone (FiD-PLUG's `translate`).
    fn start_batching(&mut self, max_rows: usize) -> Result<bool> {
        let _ = max_rows;
        Ok(false)
    }

    /// The pipeline's reply: text (streamed to `on_text` where the decoding allows),
    /// with token counts. `on_text` returning false stops the generation.
    fn generate_text(
        &self,
        passages: &[Vec<u32>],
        options: &Map<String, Value>,
        on_text: Option<&mut dyn FnMut(&str) -> bool>,
    ) -> Result<Generated>;
}

/// Only the tokenizer of a model (or tokenizer) directory, for commands that run the
/// pipeline without a model: `spiece.model` / `tokenizer.json` (T5), else `vocab.txt`
/// (PLUG). With the tokenizer family.
pub fn load_text_tokenizer(dir: &Path) -> Result<(Arc<dyn TextTokenizer>, ModelType)> {
    if let Some(tokenizer) = crate::io::load_tokenizer(dir)? {
        return Ok((Arc::new(t5::NoEosTokenizer(Arc::new(tokenizer))), ModelType::T5));
    }
    if dir.join("vocab.txt").is_file() {
        let tokenizer = chatplug_tokenizer::BertTokenizer::from_dir(dir).context("cannot load the tokenizer")?;
        return Ok((Arc::new(plug::NoSpecialsTokenizer(Arc::new(tokenizer))), ModelType::Plug));
    }
    anyhow::bail!("no tokenizer (spiece.model, tokenizer.json or vocab.txt) in {}", dir.display())
}

/// Loads the model of `dir`, whichever family its `config.json` describes, with its
/// linear maps held in `precision`.
pub fn load(dir: &Path, precision: Precision) -> Result<Box<dyn FidBackend>> {
    let architecture = Architecture::of_dir(dir).context("cannot load the model")?;
    let backend: Box<dyn FidBackend> = match architecture {
        Architecture::FidT5 => Box::new(T5Backend::load(dir, precision)?),
        Architecture::FidPlug => Box::new(PlugBackend::load(dir, precision)?),
    };
    release_freed_memory();
    Ok(backend)
}

/// Loading frees large buffers (tensors read from the checkpoint, then converted or
/// quantized); mimalloc keeps freed memory for reuse, which would leave the load's peak
/// resident. This returns it to the OS once the model is in place.
pub fn release_freed_memory() {
    // SAFETY: `mi_collect` only releases memory mimalloc holds and no live allocation uses.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
