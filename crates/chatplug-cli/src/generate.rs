//! `chatplug generate`: one FiD request in, HF-`generate`-shaped token ids out.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chatplug_model::{generate, GenerationConfig};
use serde::Deserialize;
use serde_json::json;

use crate::engine::encode_passages;
use crate::io::{check_model_dir, load_model, load_tokenizer, parse_request, read_request};

#[derive(clap::Args)]
pub struct Args {
    /// Model directory: config.json, weights (safetensors or pytorch_model.bin), tokenizer.
    #[arg(long)]
    model: PathBuf,
    /// Request JSON file; standard input when omitted.
    #[arg(long)]
    request: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// FiD passages as text (tokenized with the model's tokenizer).
    passages: Option<Vec<String>>,
    /// FiD passages as token ids, padded with 0 or not.
    input_ids: Option<Vec<Vec<u32>>>,
    /// Token limit per text passage (EOS included), as HF `truncation=True, max_length`.
    max_encoder_length: Option<usize>,
    /// HF `generate` options.
    #[serde(default)]
    generation: serde_json::Value,
}

pub fn run(args: Args) -> Result<()> {
    let dir = check_model_dir(&args.model)?;
    let request: Request = parse_request(read_request(args.request.as_deref())?)?;
    let options = if request.generation.is_null() {
        GenerationConfig::default()
    } else {
        GenerationConfig::from_json(&request.generation)?
    };
    let tokenizer = load_tokenizer(&dir)?;
    let passages = match (request.passages, request.input_ids) {
        (Some(_), Some(_)) => bail!("give either `passages` or `input_ids`, not both"),
        (None, None) => bail!("the request needs `passages` (texts) or `input_ids` (token ids)"),
        (None, Some(ids)) => ids,
        (Some(texts), None) => {
            let tokenizer = tokenizer
                .as_ref()
                .with_context(|| format!("`passages` needs a tokenizer (spiece.model or tokenizer.json) in {}", dir.display()))?;
            // Default: ChatPLUG-3.7B's `core_chat_max_encoder_length`, as the pipeline uses it.
            let max_len = request.max_encoder_length.unwrap_or_else(|| {
                chatplug_dialogue::Config::default().core_chat_max_encoder_length as usize
            });
            if max_len < 2 {
                bail!("max_encoder_length must be at least 2, got {max_len}");
            }
            encode_passages(tokenizer, &texts, max_len)
        }
    };
    if passages.is_empty() {
        bail!("the request has no passages");
    }
    let model = load_model(&dir)?;
    let output = generate(&model, &passages, &options, None)?;
    let mut reply = json!({ "sequences": output.sequences });
    if let Some(tokenizer) = &tokenizer {
        let texts: Vec<String> = output.sequences.iter().map(|s| tokenizer.decode(s)).collect();
        reply["texts"] = json!(texts);
    }
    println!("{reply}");
    Ok(())
}
