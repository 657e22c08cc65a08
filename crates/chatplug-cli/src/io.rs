//! Reading requests and loading models for the subcommands.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chatplug_model::FidT5;
use chatplug_tokenizer::Tokenizer;

/// Reads the request JSON from `path`, or from standard input when no path is given.
pub fn read_request(path: Option<&Path>) -> Result<serde_json::Value> {
    let (text, source) = match path {
        Some(p) => (
            std::fs::read_to_string(p).with_context(|| format!("cannot read request file {}", p.display()))?,
            p.display().to_string(),
        ),
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the request from standard input")?;
            (text, "standard input".to_string())
        }
    };
    if text.trim().is_empty() {
        bail!("the request from {source} is empty; expected a JSON object");
    }
    serde_json::from_str(&text).with_context(|| format!("the request from {source} is not valid JSON"))
}

/// Parses a request object into `T`, naming unknown or mistyped fields.
pub fn parse_request<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T> {
    if !value.is_object() {
        bail!("the request must be a JSON object");
    }
    serde_json::from_value(value).map_err(|e| anyhow::anyhow!("bad request: {e}"))
}

pub fn check_model_dir(dir: &Path) -> Result<PathBuf> {
    if !dir.is_dir() {
        bail!("model directory {} does not exist", dir.display());
    }
    Ok(dir.to_path_buf())
}

/// A FiD-T5 model in `precision` (the benchmark measures that family).
pub fn load_model(dir: &Path, precision: chatplug_model::Precision) -> Result<FidT5> {
    let device = candle_core::Device::Cpu;
    FidT5::load_with_precision(dir, &device, precision).context("cannot load the model")
}

/// The tokenizer of a model directory, if it has one (`spiece.model` or `tokenizer.json`).
pub fn load_tokenizer(dir: &Path) -> Result<Option<Tokenizer>> {
    if !dir.join("spiece.model").is_file() && !dir.join("tokenizer.json").is_file() {
        return Ok(None);
    }
    Ok(Some(Tokenizer::from_dir(dir).context("cannot load the tokenizer")?))
}
