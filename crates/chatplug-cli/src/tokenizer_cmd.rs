//! `chatplug tokenizer train`: a SentencePiece unigram tokenizer in T5/mT5
//! layout from plain-text or JSONL files (crate `chatplug-tokenizer`, module
//! `train`). Prints one JSON line with the training statistics.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chatplug_tokenizer::train::{train_files, InputFormat, Normalization, TrainOptions};
use chatplug_tokenizer::Tokenizer;
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Train spiece.model (+ T5Tokenizer config files) from text files.
    Train(TrainArgs),
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Training files: plain text (one sentence or paragraph per line) or JSONL
    /// (`.jsonl`/`.json`: `{"text"}` lines, or every string field of each object).
    #[arg(long, required = true, num_args = 1..)]
    input: Vec<PathBuf>,
    /// Output directory (created if missing; the three tokenizer files are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Pieces in spiece.model, <pad>, </s> and <unk> included; the tokenizer
    /// adds 100 <extra_id_N> tokens after them.
    #[arg(long)]
    vocab_size: u32,
    /// Share of character occurrences the kept characters must cover; rarer ones become <unk>.
    #[arg(long, default_value_t = 0.9995)]
    character_coverage: f64,
    /// Longest piece, in characters.
    #[arg(long, default_value_t = 16)]
    max_piece_length: usize,
    /// Normalizer stored in spiece.model and applied to the training text:
    /// `nmt_nfkc` (T5/mT5's) or `identity`.
    #[arg(long, default_value = "nmt_nfkc", value_parser = ["nmt_nfkc", "identity"])]
    normalization: String,
    /// `auto` (by extension: .jsonl/.json are JSONL), `text` or `jsonl`.
    #[arg(long, default_value = "auto", value_parser = ["auto", "text", "jsonl"])]
    format: String,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Train(a) => train(a),
    }
}

fn train(args: TrainArgs) -> Result<()> {
    let options = TrainOptions {
        vocab_size: args.vocab_size,
        character_coverage: args.character_coverage,
        max_piece_length: args.max_piece_length,
        // Both values are restricted by clap's value_parser.
        normalization: Normalization::parse(&args.normalization).context("--normalization")?,
        input_format: InputFormat::parse(&args.format).context("--format")?,
    };
    // A note for people waiting at a terminal; scripts get stderr for errors only.
    if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprintln!("training a {}-piece unigram tokenizer on {} file(s)...", options.vocab_size, args.input.len());
    }
    let trained = train_files(&args.input, &options)?;
    trained.save(&args.out)?;
    // Load what was written, as the engine will.
    let tokenizer = Tokenizer::from_dir(&args.out)
        .with_context(|| format!("the tokenizer written to {} does not load", args.out.display()))?;
    let report = trained.report();
    println!(
        "{}",
        json!({
            "out": args.out,
            "tokenizer_len": tokenizer.len(),
            "report": report,
        })
    );
    Ok(())
}
