//! `chatplug eval`: the paper's metrics on an evaluation set. Either runs every item
//! through the whole dialogue pipeline and the model (`--model`), or scores predictions
//! made elsewhere (`--predictions`). The metrics and file formats are the
//! `chatplug-eval` crate's; this module only runs turns and prints.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chatplug_dialogue::ChatRequest;
use chatplug_eval::{data::EVAL_FIELDS, Item, Record};
use serde_json::{json, Value};

use crate::engine::load_engine;
use crate::prompt::load_pipeline_from;
use crate::sources::ConfigFile;

#[derive(clap::Args)]
pub struct Args {
    /// Evaluation items (JSONL): request fields (`query`, `history`, `knowledge`,
    /// `bot_profile`, `user_profile`, `role_instruction`) plus optional `id`,
    /// `category`, `response` (reference reply) and `answers` (acceptable answers).
    #[arg(long)]
    data: PathBuf,
    /// Model directory: run every item through the pipeline and this model. Default
    /// (without --predictions): `CHATPLUG_MODEL`, else the config file's `model` key,
    /// else models/chatplug-demo.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Weights' precision: f32 (the reference's numerics), bf16 or int8. Default:
    /// `CHATPLUG_PRECISION`, else the config file's `precision` key, else f32.
    #[arg(long)]
    precision: Option<chatplug_model::Precision>,
    /// Score these predictions (`{"id", "prediction"}` lines, optionally
    /// `latency_ms`) instead of running a model.
    #[arg(long, conflicts_with_all = ["model", "config", "no_knowledge", "out", "passages", "limit"])]
    predictions: Option<PathBuf>,
    /// Pipeline configuration (TOML); built-in defaults when omitted. Web search runs
    /// only if its `[search]` table turns it on.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Drop every item's `knowledge` from the requests (the knowledge ablation;
    /// Knowledge-F1 is still measured against the item's knowledge).
    #[arg(long)]
    no_knowledge: bool,
    /// Write one JSON line per item here: `id`, `prediction`, `latency_ms`, `category`
    /// (and `passages` with --passages). `--predictions` reads this format back.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Add the model's passages to each line of --out.
    #[arg(long, requires = "out")]
    passages: bool,
    /// Evaluate only the first N items (N ≥ 1).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
}

pub fn run(args: Args) -> Result<()> {
    let items = chatplug_eval::read_items(&args.data)?;
    let requests = items
        .iter()
        .map(|item| request_of(item, &args.data, args.no_knowledge))
        .collect::<Result<Vec<_>>>()?;
    let records = match &args.predictions {
        Some(predictions) => score_predictions(&items, &args.data, predictions)?,
        None => {
            let file = ConfigFile::read(args.config.as_deref())?;
            let model = crate::model_choice::choose_from_process(args.model.as_deref(), &file)?;
            let n = args
                .limit
                .map_or(items.len(), |l| l.min(items.len() as u64) as usize);
            run_model(&items[..n], &requests[..n], &model, &file, &args)?
        }
    };
    let report = chatplug_eval::report(&records);
    if std::io::stderr().is_terminal() {
        eprint!("{}", chatplug_eval::render_table(&report));
    }
    // The summary is the last line of standard output, for scripts.
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// The item's request as the pipeline takes it; unknown or mistyped fields are errors
/// naming the file and line (in both modes, so a data file is checked once for all).
fn request_of(item: &Item, data: &Path, no_knowledge: bool) -> Result<ChatRequest> {
    let mut fields = item.request.clone();
    if no_knowledge {
        fields.remove("knowledge");
    }
    ChatRequest::from_value(Value::Object(fields)).map_err(|e| {
        let mut message = format!("{}:{}: {e}", data.display(), item.line);
        if message.contains("unknown field") {
            message.push_str(&format!(" (evaluation fields: {})", EVAL_FIELDS.join(", ")));
        }
        anyhow::anyhow!(message)
    })
}

fn score_predictions(items: &[Item], data: &Path, path: &Path) -> Result<Vec<Record>> {
    let predictions = chatplug_eval::read_predictions(path)?;
    let matched = chatplug_eval::match_predictions(items, data, &predictions, path)?;
    Ok(items
        .iter()
        .zip(matched)
        .map(|(item, p)| Record::new(item, p.prediction.clone(), p.latency_ms))
        .collect())
}

/// Runs each request through the pipeline and the model, one at a time; the latency of
/// an item is the wall time of its whole turn (pipeline stages, generation,
/// post-processing).
fn run_model(
    items: &[Item],
    requests: &[ChatRequest],
    model: &Path,
    config: &ConfigFile,
    args: &Args,
) -> Result<Vec<Record>> {
    let mut out = match &args.out {
        Some(path) => {
            Some(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot create {}", path.display())
            })?))
        }
        None => None,
    };
    let precision = crate::model_choice::precision_from_process(args.precision, config)?;
    let (pipeline, generator) = load_engine(model, precision, "eval", || load_pipeline_from(config, None))?;
    let progress = std::io::stderr().is_terminal();
    let mut records = Vec::with_capacity(items.len());
    for (n, (item, request)) in items.iter().zip(requests).enumerate() {
        if progress {
            eprint!("\r{}/{} {}   ", n + 1, items.len(), item.id);
        }
        let start = Instant::now();
        let result = pipeline.chat(request, &generator).with_context(|| {
            format!("item `{}` ({}:{})", item.id, args.data.display(), item.line)
        })?;
        let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
        if let Some(out) = out.as_mut() {
            let mut line =
                json!({"id": item.id, "prediction": result.response, "latency_ms": latency_ms});
            if let Some(category) = &item.category {
                line["category"] = json!(category);
            }
            if args.passages {
                line["passages"] = json!(result.debug.passages);
            }
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .with_context(|| {
                    format!("cannot write {}", args.out.as_ref().unwrap().display())
                })?;
        }
        records.push(Record::new(item, result.response, Some(latency_ms)));
    }
    if progress {
        eprintln!();
    }
    Ok(records)
}

