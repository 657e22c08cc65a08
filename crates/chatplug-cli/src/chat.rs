//! `chatplug chat`: a terminal conversation with multi-turn memory. Commands: `#exit`,
//! `#reset`, `#debug` (toggle passages, search results, evidence, timings), `#profile`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use chatplug_dialogue::{ChatResult, Session};
use rustyline::error::ReadlineError;
use serde_json::json;

use crate::engine::load_engine;
use crate::prompt::load_pipeline;

#[derive(clap::Args)]
pub struct Args {
    /// Model directory (config.json, weights, spiece.model or tokenizer.json).
    #[arg(long)]
    model: PathBuf,
    /// Pipeline configuration (TOML); built-in ChatPLUG-3.7B defaults when omitted.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The bot's persona, `;`-separated facts.
    #[arg(long, default_value = "")]
    bot_profile: String,
    /// What the bot knows about the user, `;`-separated facts.
    #[arg(long, default_value = "")]
    user_profile: String,
}

const HELP: &str = "commands: #exit, #reset (forget the conversation), #debug (toggle details), #profile";

pub fn run(args: Args) -> Result<()> {
    let (pipeline, generator) = load_engine(&args.model, "chat", || load_pipeline(args.config.as_deref()))?;
    let mut session = Session::with_profiles(args.bot_profile, args.user_profile);
    let mut editor = rustyline::DefaultEditor::new().context("cannot open the terminal")?;
    let mut debug = false;
    eprintln!("chatplug chat — {HELP}");
    loop {
        let line = match editor.readline("你> ") {
            Ok(line) => line,
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("cannot read from the terminal"),
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(line);
        match line {
            "#exit" => break,
            "#reset" => {
                session.reset();
                println!("(conversation forgotten)");
            }
            "#debug" => {
                debug = !debug;
                println!("(debug {})", if debug { "on" } else { "off" });
            }
            "#profile" => println!("{}", serde_json::to_string_pretty(&session.profiles())?),
            _ if line.starts_with('#') => println!("(unknown command; {HELP})"),
            query => match session.chat(&pipeline, query, &generator) {
                Ok(result) => print_reply(&result, debug)?,
                // A failed turn is reported and the conversation goes on.
                Err(e) => eprintln!("error: {e:#}"),
            },
        }
    }
    Ok(())
}

fn print_reply(result: &ChatResult, debug: bool) -> Result<()> {
    println!("机器人> {}", result.response);
    if debug {
        let d = &result.debug;
        let details = json!({
            "response_type": result.response_type,
            "grounding_evidence": result.grounding_evidence,
            "search": {"need_search": d.need_search, "query": d.search_query, "results": d.search_results},
            "warnings": d.warnings,
            "passages": d.passages,
            "timings_ms": d.timings_ms,
        });
        println!("{}", serde_json::to_string_pretty(&details)?);
    }
    Ok(())
}
