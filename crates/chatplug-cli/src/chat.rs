//! `chatplug chat`: a terminal conversation with multi-turn memory. Commands: `#exit`,
//! `#reset`, `#debug` (toggle passages, search results, evidence, timings), `#profile`,
//! `#knowledge TEXT` (send TEXT as knowledge with the following turns; `#knowledge`
//! alone forgets it), `#persona FACTS` (the bot profile from now on; alone: none). Standard input that is not a terminal is a script: one line per
//! turn or command, echoed, so `chatplug chat < conversation.txt` prints a transcript.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result};
use chatplug_dialogue::{ChatResult, Session};
use rustyline::error::ReadlineError;
use serde_json::json;

use crate::engine::load_engine;
use crate::prompt::load_pipeline_from;
use crate::sources::ConfigFile;

#[derive(clap::Args)]
pub struct Args {
    /// Model directory (config.json, weights, spiece.model or tokenizer.json). Default:
    /// `CHATPLUG_MODEL`, else the config file's `model` key, else models/chatplug-demo.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Weights' precision: f32 (the reference's numerics), bf16 or int8. Default:
    /// `CHATPLUG_PRECISION`, else the config file's `precision` key, else f32.
    #[arg(long)]
    precision: Option<chatplug_model::Precision>,
    /// Pipeline configuration (TOML); built-in ChatPLUG-3.7B defaults when omitted.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The bot's persona, `;`-separated facts.
    #[arg(long, default_value = "")]
    bot_profile: String,
    /// What the bot knows about the user, `;`-separated facts.
    #[arg(long, default_value = "")]
    user_profile: String,
    /// Knowledge sent with every turn: a text file, one passage per line.
    #[arg(long)]
    knowledge: Option<PathBuf>,
}

const HELP: &str = "commands: #exit, #reset (forget the conversation), #debug (toggle details), #profile, \
#knowledge TEXT (knowledge for the next turns; alone: none), #persona FACTS (the bot profile; alone: none)";

/// Where the turns come from: the line editor on a terminal, plain lines (echoed after
/// the prompt, for a readable transcript) from a script.
enum Input {
    Terminal(rustyline::DefaultEditor),
    Script(std::io::Lines<std::io::StdinLock<'static>>),
}

impl Input {
    fn open() -> Result<Input> {
        if std::io::stdin().is_terminal() {
            let editor = rustyline::DefaultEditor::new().context("cannot open the terminal")?;
            Ok(Input::Terminal(editor))
        } else {
            Ok(Input::Script(std::io::stdin().lines()))
        }
    }

    /// The next line; `None` at the end of the input or on Ctrl-C / Ctrl-D.
    fn next_line(&mut self) -> Result<Option<String>> {
        match self {
            Input::Terminal(editor) => match editor.readline(PROMPT) {
                Ok(line) => {
                    let _ = editor.add_history_entry(line.trim());
                    Ok(Some(line))
                }
                Err(ReadlineError::Interrupted | ReadlineError::Eof) => Ok(None),
                Err(e) => Err(e).context("cannot read from the terminal"),
            },
            Input::Script(lines) => match lines.next() {
                None => Ok(None),
                Some(line) => {
                    let line = line.context("cannot read standard input")?;
                    if !line.trim().is_empty() {
                        println!("{PROMPT}{}", line.trim());
                    }
                    Ok(Some(line))
                }
            },
        }
    }
}

const PROMPT: &str = "你> ";

pub fn run(args: Args) -> Result<()> {
    let file = ConfigFile::read(args.config.as_deref())?;
    let model = crate::model_choice::choose_from_process(args.model.as_deref(), &file)?;
    let precision = crate::model_choice::precision_from_process(args.precision, &file)?;
    let (pipeline, generator) = load_engine(&model, precision, "chat", || load_pipeline_from(&file, None))?;
    let mut session = Session::with_profiles(args.bot_profile, args.user_profile);
    if let Some(path) = &args.knowledge {
        session.knowledge = read_knowledge(path)?;
    }
    let mut input = Input::open()?;
    let mut debug = false;
    eprintln!("chatplug chat — {HELP}");
    while let Some(line) = input.next_line()? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
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
            "#knowledge" => {
                session.knowledge.clear();
                println!("(no knowledge)");
            }
            "#persona" => {
                session.bot_profile.clear();
                println!("(no persona)");
            }
            _ if line.starts_with("#persona ") => {
                session.bot_profile = line["#persona ".len()..].trim().to_string();
                println!("(persona: {})", session.bot_profile);
            }
            _ if line.starts_with("#knowledge ") => {
                let text = line["#knowledge ".len()..].trim().to_string();
                println!("(knowledge: {text})");
                session.knowledge = vec![text];
            }
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

/// One passage per non-empty line.
fn read_knowledge(path: &std::path::Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the knowledge file {}", path.display()))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect())
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
