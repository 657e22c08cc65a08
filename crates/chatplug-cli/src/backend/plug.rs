//! ChatPLUG-240M's family: FiD-PLUG with the BERT WordPiece tokenizer and the reference's
//! own beam search (`translate`), as ModelScope's `fid_dialogue` pipeline runs them.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use chatplug_dialogue::{Generated, ModelType, TextTokenizer, Usage, STOPPED};
use chatplug_model::plug::{translate_until, FidPlug, TranslateOptions};
use chatplug_model::{GenerationConfig, Precision};
use chatplug_tokenizer::BertTokenizer;
use serde_json::{Map, Value};

use super::FidBackend;

pub struct PlugBackend {
    model: FidPlug,
    tokenizer: Option<Arc<BertTokenizer>>,
    dir: std::path::PathBuf,
}

impl PlugBackend {
    pub fn load(dir: &Path, precision: Precision) -> Result<Self> {
        let tokenizer = if dir.join("vocab.txt").is_file() {
            Some(Arc::new(BertTokenizer::from_dir(dir).context("cannot load the tokenizer")?))
        } else {
            None
        };
        let model = FidPlug::load_with_precision(dir, &candle_core::Device::Cpu, precision).context("cannot load the model")?;
        Ok(PlugBackend { model, tokenizer, dir: dir.to_path_buf() })
    }

    fn tokenizer(&self) -> Result<&Arc<BertTokenizer>> {
        self.tokenizer
            .as_ref()
            .with_context(|| format!("no tokenizer (vocab.txt) in {}", self.dir.display()))
    }

    /// The reference's decoding; `None` when `keep_going` stopped it.
    fn run(
        &self,
        passages: &[Vec<u32>],
        token_types: Option<&[Vec<u32>]>,
        options: &Value,
        keep_going: &mut dyn FnMut() -> bool,
    ) -> Result<Option<Vec<u32>>> {
        let options = if options.is_null() { GenerationConfig::default() } else { GenerationConfig::from_json(options)? };
        let options = TranslateOptions::from_generation(&options)?;
        let (start, end) = match &self.tokenizer {
            Some(t) => (t.cls_id(), t.sep_id()),
            // bert-base-chinese's [CLS] and [SEP], the reference's start and end symbols.
            None => (101, 102),
        };
        let encoded = self.model.encode(passages, token_types)?;
        Ok(translate_until(&self.model, &encoded, start, end, &options, keep_going)?)
    }
}

/// The WordPiece tokenizer without `[CLS]` / `[SEP]`.
pub(super) struct NoSpecialsTokenizer(pub(super) Arc<BertTokenizer>);

impl TextTokenizer for NoSpecialsTokenizer {
    fn encode_no_eos(&self, text: &str) -> Vec<u32> {
        self.0.encode_without_specials(text)
    }
}

impl FidBackend for PlugBackend {
    fn model_type(&self) -> ModelType {
        ModelType::Plug
    }

    fn has_tokenizer(&self) -> bool {
        self.tokenizer.is_some()
    }

    /// ModelScope's `fid_dialogue` pipeline's `max_encoder_length`.
    fn default_max_encoder_length(&self) -> usize {
        300
    }

    /// As the pipeline's `truncation=True, max_length`: `[CLS]`, at most `max_len - 2`
    /// tokens, `[SEP]`.
    fn encode_passages(&self, texts: &[String], max_len: usize) -> Result<Vec<Vec<u32>>> {
        let tokenizer = self.tokenizer()?;
        Ok(texts.iter().map(|t| tokenizer.encode_truncated(t, max_len)).collect())
    }

    fn decode(&self, ids: &[u32]) -> Result<String> {
        Ok(self.tokenizer()?.decode(ids))
    }

    fn text_tokenizer(&self) -> Result<Arc<dyn TextTokenizer>> {
        Ok(Arc::new(NoSpecialsTokenizer(self.tokenizer()?.clone())))
    }

    fn generate_ids(&self, passages: &[Vec<u32>], token_types: Option<&[Vec<u32>]>, options: &Value) -> Result<Vec<Vec<u32>>> {
        let ids = self.run(passages, token_types, options, &mut || true)?;
        Ok(vec![ids.expect("never stopped")])
    }

    /// The beam search knows its answer only at the end: it asks `on_text("")` before
    /// every step whether to go on, and hands over the whole reply at the end.
    fn generate_text(
        &self,
        passages: &[Vec<u32>],
        options: &Map<String, Value>,
        mut on_text: Option<&mut dyn FnMut(&str) -> bool>,
    ) -> Result<Generated> {
        let tokenizer = self.tokenizer()?;
        let prompt_tokens = passages.iter().map(Vec::len).sum();
        let mut keep_going = || on_text.as_mut().is_none_or(|f| f(""));
        let Some(ids) = self.run(passages, None, &Value::Object(options.clone()), &mut keep_going)? else {
            bail!(STOPPED);
        };
        let text = tokenizer.decode(&ids);
        if let Some(f) = on_text {
            if !text.is_empty() && !f(&text) {
                bail!(STOPPED);
            }
        }
        let completion_tokens = ids.iter().take_while(|&&t| t != tokenizer.sep_id()).count();
        Ok(Generated { text, usage: Some(Usage { prompt_tokens, completion_tokens }) })
    }
}
