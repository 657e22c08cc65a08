//! `chatplug tokenize`: {"texts": [...]} → {"ids": [[...], ...]} with the model's tokenizer.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::json;

use crate::io::{check_model_dir, load_tokenizer, parse_request, read_request};

#[derive(clap::Args)]
pub struct Args {
    /// Model directory holding spiece.model (preferred) or tokenizer.json.
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
    let tokenizer = load_tokenizer(&dir)?
        .with_context(|| format!("no tokenizer (spiece.model or tokenizer.json) in {}", dir.display()))?;
    let ids: Vec<Vec<u32>> = request.texts.iter().map(|t| tokenizer.encode(t)).collect();
    println!("{}", json!({ "ids": ids }));
    Ok(())
}
