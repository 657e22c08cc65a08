//! `chatplug quantize`: saves a model directory with its linear maps in int8, so that
//! `--precision int8` loads it without quantizing again (and reads a quarter of the bytes).

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::io::check_model_dir;

#[derive(clap::Args)]
pub struct Args {
    /// Model directory (FiD-T5 or FiD-PLUG), as for `generate`.
    #[arg(long)]
    model: PathBuf,
    /// Output directory: the quantized `model.safetensors` and the model's other files.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let dir = check_model_dir(&args.model)?;
    let report = chatplug_model::quantize::quantize_int8(&dir, &args.out).context("cannot quantize the model")?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
