//! `chatplug`: the command-line entry point. Each subcommand lives in its own module and
//! stays thin: parse input, call the library crates, print JSON.

mod backend;
mod bench;
mod chat;
mod data;
mod engine;
mod eval;
mod generate;
mod io;
mod kb;
mod model_choice;
mod prompt;
mod quantize;
mod serve;
mod sources;
mod text_stream;
mod tokenize;
mod train;
mod tokenizer_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// Tensor buffers are large and short-lived; mimalloc reuses them instead of returning them
// to the kernel and paying for freshly zeroed pages on every op.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "chatplug", version, about = "ChatPLUG: knowledge-augmented, persona-aware Chinese dialogue (FiD-T5)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the FiD model on one JSON request and print the generated token ids (and texts).
    Generate(generate::Args),
    /// Tokenize texts with the model's tokenizer: {"texts": [...]} → {"ids": [[...], ...]}.
    Tokenize(tokenize::Args),
    /// Run the dialogue pipeline up to generation, without a model: passages and decisions.
    Prompt(prompt::Args),
    /// Talk to a model in the terminal, with multi-turn memory.
    Chat(chat::Args),
    /// Time encoder and decoder steps on one request (used by bench/bench_fid.py).
    Bench(bench::Args),
    /// Knowledge base and FAQ: index, search, delete, evaluate.
    Kb(kb::Args),
    /// Save a model with its linear maps in int8 (load it with `--precision int8`).
    Quantize(quantize::Args),
    /// Serve the chat APIs (native, OpenAI-compatible), sessions and the web page over HTTP.
    Serve(serve::Args),
    /// Train a FiD-T5 model: fine-tune a model directory or train a fresh one (curricula too).
    Train(train::Args),
    /// Score replies with the paper's metrics: run a model over an evaluation set, or
    /// score predictions made elsewhere.
    Eval(eval::Args),
    /// Tokenizer tools: `train` a SentencePiece unigram tokenizer (T5/mT5 layout).
    Tokenizer(tokenizer_cmd::Args),
    /// Training data: tokenized examples in the unified format; export to the reference's format.
    Data(data::Args),
}

/// Log events (search failures, served requests...) go to stderr, filtered by
/// `CHATPLUG_LOG` (tracing `EnvFilter` directives such as `debug` or
/// `chatplug_search=debug`). Default: `info` for `serve`, `warn` otherwise.
fn init_logging(command: &Command) {
    let default = if matches!(command, Command::Serve(_)) { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHATPLUG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.command);
    let result = match cli.command {
        Command::Generate(args) => generate::run(args),
        Command::Tokenize(args) => tokenize::run(args),
        Command::Prompt(args) => prompt::run(args),
        Command::Chat(args) => chat::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Kb(args) => kb::run(args),
        Command::Quantize(args) => quantize::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Tokenizer(args) => tokenizer_cmd::run(args),
        Command::Data(args) => data::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line: the whole context chain, outermost first.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
