//! `chatplug generate`: one FiD request in, token ids out: HF `generate`'s sequences for
//! FiD-T5, the reference `translate`'s prediction for FiD-PLUG.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::json;

use crate::io::{check_model_dir, parse_request, read_request};

#[derive(clap::Args)]
pub struct Args {
    /// Model directory: config.json, weights (safetensors or pytorch_model.bin), tokenizer;
    /// FiD-T5 (ChatPLUG-3.7B) or FiD-PLUG (ChatPLUG-240M), told apart by config.json.
    #[arg(long)]
    model: PathBuf,
    /// Weights' precision: f32 (the reference's numerics), bf16 or int8. Default:
    /// `CHATPLUG_PRECISION`, else f32.
    #[arg(long)]
    precision: Option<chatplug_model::Precision>,
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
    /// Token limit per text passage (EOS, or [CLS] and [SEP], included), as HF
    /// `truncation=True, max_length`; default 380 for T5 (ChatPLUG-3.7B's pipeline), 300
    /// for PLUG (ModelScope's `fid_dialogue` pipeline).
    max_encoder_length: Option<usize>,
    /// PLUG only: token-type ids of the passages (default 0), shaped like `input_ids`.
    token_type_ids: Option<Vec<Vec<u32>>>,
    /// HF `generate` options (for PLUG: those of the reference's `translate`).
    #[serde(default)]
    generation: serde_json::Value,
}

pub fn run(args: Args) -> Result<()> {
    let dir = check_model_dir(&args.model)?;
    let request: Request = parse_request(read_request(args.request.as_deref())?)?;
    let precision = crate::model_choice::precision_without_config(args.precision)?;
    let backend = crate::backend::load(&dir, precision)?;
    let passages = match (request.passages, request.input_ids) {
        (Some(_), Some(_)) => bail!("give either `passages` or `input_ids`, not both"),
        (None, None) => bail!("the request needs `passages` (texts) or `input_ids` (token ids)"),
        (None, Some(ids)) => ids,
        (Some(texts), None) => {
            let max_len = request.max_encoder_length.unwrap_or_else(|| backend.default_max_encoder_length());
            if max_len < 2 {
                bail!("max_encoder_length must be at least 2, got {max_len}");
            }
            backend.encode_passages(&texts, max_len).context("`passages` are texts")?
        }
    };
    if passages.is_empty() {
        bail!("the request has no passages");
    }
    let sequences = backend.generate_ids(&passages, request.token_type_ids.as_deref(), &request.generation)?;
    let mut reply = json!({ "sequences": sequences });
    if backend.has_tokenizer() {
        let texts = sequences.iter().map(|s| backend.decode(s)).collect::<Result<Vec<_>>>()?;
        reply["texts"] = json!(texts);
    }
    println!("{reply}");
    Ok(())
}
