//! `chatplug tokenize`: {"texts": [...]} → {"ids": [[...], ...]} with the model's tokenizer.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chatplug_tokenizer::BertTokenizer;
use serde::Deserialize;
use serde_json::json;

use crate::io::{check_model_dir, load_tokenizer, parse_request, read_request};

#[derive(clap::Args)]
pub struct Args {
    /// Model directory holding spiece.model (preferred) or tokenizer.json (T5), or
    /// vocab.txt (ChatPLUG-240M's WordPiece: ids with [CLS] and [SEP]).
    #[arg(long)]
    model: PathBuf,
    /// Request JSON file; standard input when omitted.
    #[arg(long)]
    request: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    texts: Vec<String>,
}

pub fn run(args: Args) -> Result<()> {
    let dir = check_model_dir(&args.model)?;
    let request: Request = parse_request(read_request(args.request.as_deref())?)?;
    let ids: Vec<Vec<u32>> = if let Some(tokenizer) = load_tokenizer(&dir)? {
        request.texts.iter().map(|t| tokenizer.encode(t)).collect()
    } else if dir.join("vocab.txt").is_file() {
        let tokenizer = BertTokenizer::from_dir(&dir).context("cannot load the tokenizer")?;
        request.texts.iter().map(|t| tokenizer.encode(t)).collect()
    } else {
        bail!("no tokenizer (spiece.model, tokenizer.json or vocab.txt) in {}", dir.display());
    };
    println!("{}", json!({ "ids": ids }));
    Ok(())
}
