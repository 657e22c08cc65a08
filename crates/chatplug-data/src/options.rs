//! What to read and how to build examples: input formats, objectives and limits.

use crate::error::{DataError, Result};
use chatplug_dialogue::TemplatePreset;
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// An input file format (JSONL unless said otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// Our request fields (`query`, `history`, `knowledge`, `bot_profile`,
    /// `user_profile`, `role_instruction`) plus `response`.
    Dialogue,
    /// The reference's training format: `context`, `response`, `passages`.
    Xdpx,
    /// BELLE / Alpaca: `instruction`, `input`, `output`.
    Instruction,
    /// Plain text lines, or `{"text"}` lines, for pre-training objectives.
    Documents,
    /// Already tokenized examples (`input_ids`, `labels`).
    Tokenized,
}

/// A training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Objective {
    /// Response generation from the passages (dialogue and xdpx files).
    Dialogue,
    /// Following an instruction in the unified format (instruction files).
    Instruction,
    /// T5 span corruption on documents.
    SpanCorruption,
    /// The end of a document from its beginning.
    PrefixLm,
}

const FORMATS: &[(&str, InputFormat)] = &[
    ("dialogue", InputFormat::Dialogue),
    ("xdpx", InputFormat::Xdpx),
    ("instruction", InputFormat::Instruction),
    ("documents", InputFormat::Documents),
    ("tokenized", InputFormat::Tokenized),
];

const OBJECTIVES: &[(&str, Objective)] = &[
    ("dialogue", Objective::Dialogue),
    ("instruction", Objective::Instruction),
    ("span-corruption", Objective::SpanCorruption),
    ("prefix-lm", Objective::PrefixLm),
];

fn parse_named<T: Copy>(s: &str, table: &[(&str, T)], what: &str) -> Result<T, String> {
    table
        .iter()
        .find(|(name, _)| *name == s)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            format!("unknown {what} `{s}` (known: {})", names.join(", "))
        })
}

fn name_of<T: PartialEq>(v: &T, table: &[(&'static str, T)]) -> &'static str {
    table
        .iter()
        .find(|(_, x)| x == v)
        .map(|(n, _)| *n)
        .unwrap_or("?")
}

impl FromStr for InputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_named(s, FORMATS, "format")
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(name_of(self, FORMATS))
    }
}

impl FromStr for Objective {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_named(s, OBJECTIVES, "objective")
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(name_of(self, OBJECTIVES))
    }
}

impl InputFormat {
    /// The objective a format gets when none is chosen (`None`: tokenized files,
    /// whose objective was fixed when they were made).
    pub fn default_objective(self) -> Option<Objective> {
        match self {
            InputFormat::Dialogue | InputFormat::Xdpx => Some(Objective::Dialogue),
            InputFormat::Instruction => Some(Objective::Instruction),
            InputFormat::Documents => Some(Objective::SpanCorruption),
            InputFormat::Tokenized => None,
        }
    }

    /// Whether `objective` can be built from this format. Passage formats take
    /// `dialogue` or `instruction` (both train the reply from the passages; the name
    /// is a label for curricula), documents take the pre-training objectives.
    pub fn accepts(self, objective: Objective) -> bool {
        use Objective::*;
        match self {
            InputFormat::Dialogue | InputFormat::Xdpx | InputFormat::Instruction => {
                matches!(objective, Dialogue | Instruction)
            }
            InputFormat::Documents => matches!(objective, SpanCorruption | PrefixLm),
            InputFormat::Tokenized => false,
        }
    }
}

/// Options for [`crate::prepare_file`].
#[derive(Debug, Clone, PartialEq)]
pub struct DataOptions {
    /// Tokens per passage, EOS included (ChatPLUG-3.7B: 380).
    pub max_encoder_length: usize,
    /// Tokens per target, EOS included (ChatPLUG-3.7B: 512).
    pub max_decoder_length: usize,
    /// Passages per example; later ones are dropped (the reference's
    /// `max_n_passage`: 20).
    pub max_passages: usize,
    /// Template set for the passages; `None`: the pipeline's configured set for
    /// dialogue and instruction files, the training-loader set for xdpx files (as
    /// the reference's loader).
    pub templates: Option<TemplatePreset>,
    /// `None`: the format's default ([`InputFormat::default_objective`]).
    pub objective: Option<Objective>,
    /// Span corruption: share of tokens masked.
    pub noise_density: f64,
    /// Span corruption: mean length of a masked span.
    pub mean_span_length: f64,
    /// Seeds span corruption and prefix-LM split points.
    pub seed: u64,
}

impl Default for DataOptions {
    fn default() -> Self {
        DataOptions {
            max_encoder_length: 380,
            max_decoder_length: 512,
            max_passages: 20,
            templates: None,
            objective: None,
            noise_density: 0.15,
            mean_span_length: 3.0,
            seed: 0,
        }
    }
}

impl DataOptions {
    /// Checks ranges and that the objective fits `format`; returns the objective.
    pub fn check(&self, format: InputFormat) -> Result<Option<Objective>> {
        if self.max_encoder_length < 2 {
            return Err(DataError::option(
                "max_encoder_length",
                "must be at least 2 (a token and EOS)",
            ));
        }
        if self.max_decoder_length < 2 {
            return Err(DataError::option(
                "max_decoder_length",
                "must be at least 2 (a token and EOS)",
            ));
        }
        if self.max_passages == 0 {
            return Err(DataError::option("max_passages", "must be at least 1"));
        }
        if !(self.noise_density > 0.0 && self.noise_density < 1.0) {
            return Err(DataError::option(
                "noise_density",
                "must be between 0 and 1 (exclusive)",
            ));
        }
        if !(self.mean_span_length >= 1.0 && self.mean_span_length.is_finite()) {
            return Err(DataError::option("mean_span_length", "must be at least 1"));
        }
        match (format, self.objective) {
            (InputFormat::Tokenized, Some(o)) => Err(DataError::option(
                "objective",
                format!("`{o}` does not apply to tokenized files (their objective was fixed when they were made)"),
            )),
            (_, None) => Ok(format.default_objective()),
            (f, Some(o)) if f.accepts(o) => Ok(Some(o)),
            (f, Some(o)) => Err(DataError::option(
                "objective",
                format!("`{o}` cannot be built from {f} files"),
            )),
        }
    }
}
