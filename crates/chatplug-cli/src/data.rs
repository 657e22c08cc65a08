//! `chatplug data`: training examples in the unified format (`prepare`: any input
//! format → tokenized JSONL plus statistics; `export`: dialogue examples → the
//! reference's XDPX format). Output files are written whole or not at all.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chatplug_data::{
    export_dialogue_file, prepare_file, tokenized_jsonl, write_all_atomic, xdpx_jsonl, DataOptions, InputFormat,
    Objective,
};
use chatplug_dialogue::{ChatPipeline, Config, TemplatePreset};

use crate::io::load_tokenizer;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Build tokenized FiD examples ({"input_ids": [[...]], "labels": [...]} lines).
    Prepare(PrepareArgs),
    /// Write dialogue examples in the reference's XDPX training format.
    Export(ExportArgs),
}

#[derive(clap::Args)]
struct PrepareArgs {
    /// dialogue, xdpx, instruction, documents or tokenized.
    #[arg(long)]
    format: InputFormat,
    #[arg(long)]
    input: PathBuf,
    /// Tokenized JSONL output.
    #[arg(long)]
    out: PathBuf,
    /// A model or tokenizer directory (spiece.model or tokenizer.json).
    #[arg(long)]
    tokenizer: PathBuf,
    /// Pipeline configuration (TOML): context turns, chunking, templates...
    #[arg(long)]
    config: Option<PathBuf>,
    /// dialogue, instruction, span-corruption or prefix-lm (default: the format's).
    #[arg(long)]
    objective: Option<Objective>,
    /// Tokens per passage, EOS included (default: the configuration's
    /// core_chat_max_encoder_length, 380).
    #[arg(long)]
    max_encoder_length: Option<usize>,
    /// Tokens per target, EOS included.
    #[arg(long, default_value_t = 512)]
    max_decoder_length: usize,
    /// Passages per example.
    #[arg(long, default_value_t = 20)]
    max_passages: usize,
    /// Template set: inference or training (default: the configuration's for
    /// dialogue and instruction files, training for xdpx files).
    #[arg(long, value_parser = parse_preset)]
    templates: Option<TemplatePreset>,
    /// Span corruption: share of tokens masked.
    #[arg(long, default_value_t = 0.15)]
    noise_density: f64,
    /// Span corruption: mean masked span length.
    #[arg(long, default_value_t = 3.0)]
    mean_span_length: f64,
    /// Seed for span corruption and prefix-LM split points.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Statistics JSON file (default: one JSON line on standard error).
    #[arg(long)]
    stats: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The output format: xdpx.
    #[arg(long)]
    format: String,
    /// A dialogue JSONL file.
    #[arg(long)]
    input: PathBuf,
    #[arg(long)]
    out: PathBuf,
    /// Pipeline configuration (TOML): context turns, chunking...
    #[arg(long)]
    config: Option<PathBuf>,
}

fn parse_preset(s: &str) -> Result<TemplatePreset, String> {
    match s {
        "inference" => Ok(TemplatePreset::Inference),
        "training" => Ok(TemplatePreset::Training),
        _ => Err(format!("unknown template set `{s}` (known: inference, training)")),
    }
}

/// The pipeline without knowledge sources: training data never calls them.
fn pipeline(config: Option<&Path>) -> Result<ChatPipeline> {
    let config = Config::load(config).context("bad pipeline configuration")?;
    ChatPipeline::new(config).context("cannot set up the dialogue pipeline")
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Prepare(a) => prepare(a),
        Command::Export(a) => export(a),
    }
}

fn prepare(a: PrepareArgs) -> Result<()> {
    let pipeline = pipeline(a.config.as_deref())?;
    let tokenizer = load_tokenizer(&a.tokenizer)?
        .with_context(|| format!("no tokenizer (spiece.model or tokenizer.json) in {}", a.tokenizer.display()))?;
    let options = DataOptions {
        max_encoder_length: a
            .max_encoder_length
            .unwrap_or(pipeline.config().core_chat_max_encoder_length as usize),
        max_decoder_length: a.max_decoder_length,
        max_passages: a.max_passages,
        templates: a.templates,
        objective: a.objective,
        noise_density: a.noise_density,
        mean_span_length: a.mean_span_length,
        seed: a.seed,
    };
    let (examples, stats) = prepare_file(&a.input, a.format, &options, &pipeline, &tokenizer)?;
    let body = tokenized_jsonl(&examples);
    let stats_json = serde_json::to_string_pretty(&stats)?;
    match &a.stats {
        Some(path) => write_all_atomic(&[(&a.out, &body), (path, &format!("{stats_json}\n"))])?,
        None => {
            write_all_atomic(&[(&a.out, &body)])?;
            eprintln!("{}", serde_json::to_string(&stats)?);
        }
    }
    Ok(())
}

fn export(a: ExportArgs) -> Result<()> {
    if a.format != "xdpx" {
        anyhow::bail!("unknown export format `{}` (known: xdpx)", a.format);
    }
    let pipeline = pipeline(a.config.as_deref())?;
    let records = export_dialogue_file(&a.input, &pipeline)?;
    write_all_atomic(&[(&a.out, &xdpx_jsonl(&records))])?;
    Ok(())
}
