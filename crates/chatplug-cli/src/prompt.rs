//! `chatplug prompt`: every pipeline stage up to generation, without a model. Prints the
//! FiD passages, the generation options and the decisions taken.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chatplug_dialogue::{ChatPipeline, Config};

use crate::io::read_request;
use crate::sources::ConfigFile;

#[derive(clap::Args)]
pub struct Args {
    /// Pipeline configuration (TOML); built-in ChatPLUG-3.7B defaults when omitted.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Request JSON file; standard input when omitted.
    #[arg(long)]
    request: Option<PathBuf>,
    /// A model (or tokenizer) directory, to turn banned n-grams into `bad_words_ids`; a
    /// PLUG one (vocab.txt) also selects the `[unusedN]` whitespace tokens.
    #[arg(long)]
    tokenizer: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let request = read_request(args.request.as_deref())?;
    let pipeline = load_pipeline(args.config.as_deref())?;
    let pipeline = match &args.tokenizer {
        Some(dir) => {
            let (tokenizer, model_type) = crate::backend::load_text_tokenizer(dir)?;
            pipeline.with_tokenizer(tokenizer).with_model_type(model_type)
        }
        None => pipeline,
    };
    let reply = pipeline.prompt_json(&request.to_string())?;
    println!("{reply}");
    Ok(())
}

/// The dialogue pipeline of a configuration file (built-in defaults when `None`), with
/// the knowledge sources its `[search]` and `[knowledge]` tables name.
pub fn load_pipeline(config: Option<&std::path::Path>) -> Result<ChatPipeline> {
    load_pipeline_from(&ConfigFile::read(config)?, None)
}

/// [`load_pipeline`] from a configuration file already read (commands that also take
/// other settings from it read it once), with `default_kb` used as the embedded
/// knowledge base when the configuration names none and a knowledge base exists there
/// (`serve`'s data folder).
pub fn load_pipeline_from(file: &ConfigFile, default_kb: Option<&std::path::Path>) -> Result<ChatPipeline> {
    let pipeline_config = Config::from_toml_with_env(&file.text, &file.dir, std::env::vars())
        .context("bad pipeline configuration")?;
    let pipeline =
        ChatPipeline::new(pipeline_config).context("cannot set up the dialogue pipeline")?;
    crate::sources::attach(pipeline, file, default_kb)
}
