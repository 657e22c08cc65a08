//! Training examples in ChatPLUG's unified format (issue 9, item 1).
//!
//! [`prepare_file`] reads a dialogue, XDPX, instruction, document or tokenized file
//! and returns tokenized FiD examples plus [`Stats`]; [`read_tokenized`] reads what
//! it wrote back, validated. Dialogue and instruction examples get their passages
//! from [`ChatPipeline::training_inputs`]: the stages inference runs, so a model is
//! trained on exactly what it will see. Nothing here touches tensors.
//!
//! ```no_run
//! use chatplug_data::{prepare_file, DataOptions, InputFormat};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pipeline = chatplug_dialogue::ChatPipeline::new(chatplug_dialogue::Config::default())?;
//! let tokenizer = chatplug_tokenizer::Tokenizer::from_dir("fixtures/golden/tokenizer".as_ref())?;
//! let (examples, stats) = prepare_file("train.jsonl".as_ref(), InputFormat::Dialogue,
//!     &DataOptions::default(), &pipeline, &tokenizer)?;
//! # Ok(()) }
//! ```

pub mod dialogue;
pub mod documents;
pub mod error;
pub mod export;
pub mod instruction;
pub mod jsonl;
pub mod options;
pub mod output;
pub mod span_corruption;
pub mod stats;
pub mod tokenized;
pub mod xdpx;

pub use error::{DataError, Result};
pub use export::{export_dialogue_file, xdpx_jsonl};
pub use options::{DataOptions, InputFormat, Objective};
pub use output::{tokenized_jsonl, write_all_atomic};
pub use stats::{Lengths, Stats};
pub use tokenized::{read_tokenized, T5_EOS};
pub use xdpx::XdpxRecord;

use chatplug_dialogue::{ChatPipeline, ModelType, TemplatePreset, TemplateSet};
use chatplug_tokenizer::Tokenizer;
use jsonl::{lines, read_text};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use stats::StatsBuilder;
use std::path::Path;

/// One training example: FiD passages (each unpadded, ending with EOS, at most
/// `max_encoder_length` ids, at most `max_passages` of them) and the target (ending
/// with EOS, at most `max_decoder_length` ids).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenizedExample {
    pub input_ids: Vec<Vec<u32>>,
    pub labels: Vec<u32>,
}

/// Cuts `ids` (ending with EOS) to `max` ids keeping EOS last, as HF
/// `truncation=True` (and the engine's passage encoding) does. Returns whether it cut.
pub fn truncate_keeping_eos(ids: &mut Vec<u32>, max: usize, eos: u32) -> bool {
    if ids.len() <= max {
        return false;
    }
    ids.truncate(max - 1);
    ids.push(eos);
    true
}

/// Applies the limits to an example, counting what they cut.
fn limit(
    mut e: TokenizedExample,
    options: &DataOptions,
    eos: u32,
    stats: &mut StatsBuilder,
) -> TokenizedExample {
    if e.input_ids.len() > options.max_passages {
        stats.stats.dropped_passages += e.input_ids.len() - options.max_passages;
        e.input_ids.truncate(options.max_passages);
    }
    for p in &mut e.input_ids {
        if truncate_keeping_eos(p, options.max_encoder_length, eos) {
            stats.stats.truncated_passages += 1;
        }
    }
    if truncate_keeping_eos(&mut e.labels, options.max_decoder_length, eos) {
        stats.stats.truncated_labels += 1;
    }
    stats.example(&e);
    e
}

/// Tokenizes passage texts and a target text (each gets EOS unless it already ends
/// with `</s>`).
fn tokenize(tokenizer: &Tokenizer, passages: &[String], target: &str) -> TokenizedExample {
    TokenizedExample {
        input_ids: passages.iter().map(|p| tokenizer.encode(p)).collect(),
        labels: tokenizer.encode(target),
    }
}

/// Reads `path` in `format` and builds tokenized examples. Every bad line is an
/// error naming file and line; a file with no example is an error.
pub fn prepare_file(
    path: &Path,
    format: InputFormat,
    options: &DataOptions,
    pipeline: &ChatPipeline,
    tokenizer: &Tokenizer,
) -> Result<(Vec<TokenizedExample>, Stats)> {
    let objective = options.check(format)?;
    if pipeline.config().model_type != ModelType::T5 {
        return Err(DataError::option(
            "model_type",
            "chatplug data builds examples for T5 tokenizers only (model_type = \"t5\")",
        ));
    }
    let eos = tokenizer.eos_id();
    let text = read_text(path)?;
    let mut stats = StatsBuilder::default();
    stats.stats.format = format.to_string();
    stats.stats.objective = objective.map(|o| o.to_string());
    let mut examples = Vec::new();
    match format {
        InputFormat::Dialogue | InputFormat::Instruction => {
            let templates = options.templates.map(TemplateSet::preset);
            for line in lines(&text) {
                stats.stats.input_lines += 1;
                let record = if format == InputFormat::Dialogue {
                    dialogue::DialogueRecord::parse(path, &line)?
                } else {
                    instruction::parse(path, &line)?
                };
                let inputs = record.inputs(pipeline, templates.as_ref(), path, line.number)?;
                let target = dialogue::target_text(&record.response);
                let e = tokenize(tokenizer, &inputs.passages, &target);
                examples.push(limit(e, options, eos, &mut stats));
            }
        }
        InputFormat::Xdpx => {
            let templates =
                TemplateSet::preset(options.templates.unwrap_or(TemplatePreset::Training));
            for line in lines(&text) {
                stats.stats.input_lines += 1;
                let record = XdpxRecord::parse(path, &line)?;
                xdpx::check(path, line.number, &record)?;
                let (passages, target) = xdpx::build(&record, &templates);
                let e = tokenize(tokenizer, &passages, &target);
                examples.push(limit(e, options, eos, &mut stats));
            }
        }
        InputFormat::Documents => {
            let docs = documents::read(path, &text)?;
            stats.stats.input_lines = docs.len();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(options.seed);
            let (density, mean) = (options.noise_density, options.mean_span_length);
            let span = objective == Some(Objective::SpanCorruption);
            let (piece_len, sentinels) = if span {
                let len = documents::span_piece_length(
                    options.max_encoder_length,
                    options.max_decoder_length,
                    density,
                    mean,
                );
                let (_, spans) = span_corruption::span_counts(len, density, mean);
                (len, documents::sentinel_ids(tokenizer, spans.max(1))?)
            } else {
                (0, Vec::new())
            };
            for doc in docs {
                let mut ids = tokenizer.encode(&chatplug_dialogue::passages::map_whitespace(
                    &doc.text,
                    ModelType::T5,
                ));
                if ids.last() == Some(&eos) {
                    ids.pop();
                }
                let pieces = if span {
                    documents::span_corruption(
                        &ids, piece_len, density, mean, &sentinels, eos, &mut rng,
                    )
                } else {
                    documents::prefix_lm(
                        &ids,
                        options.max_encoder_length,
                        options.max_decoder_length,
                        eos,
                        &mut rng,
                    )
                };
                // A document with no token at all counts as one skipped piece.
                stats.stats.skipped_pieces += pieces.too_short + usize::from(ids.is_empty());
                stats.noise(pieces.noise_tokens, pieces.piece_tokens);
                for e in pieces.examples {
                    examples.push(limit(e, options, eos, &mut stats));
                }
            }
        }
        InputFormat::Tokenized => {
            for line in lines(&text) {
                stats.stats.input_lines += 1;
                let e = tokenized::parse_line(path, line.number, line.text)?;
                tokenized::validate(&e, tokenizer.len())
                    .map_err(|m| DataError::line(path, line.number, m))?;
                examples.push(limit(e, options, eos, &mut stats));
            }
        }
    }
    if examples.is_empty() {
        return Err(DataError::File {
            path: path.to_path_buf(),
            message: "no examples (the file has no usable line)".into(),
        });
    }
    Ok((examples, stats.finish()))
}
