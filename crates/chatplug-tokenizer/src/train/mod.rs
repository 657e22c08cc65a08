//! Training a SentencePiece unigram tokenizer in T5/mT5 layout
//! (`chatplug tokenizer train`).
//!
//! Flow: input files (`corpus.rs`) → normalized, counted words and the kept
//! alphabet (`words.rs`, `script.rs`) → the `tokenizers` crate's unigram EM
//! (`unigram.rs`) → `spiece.model` + T5Tokenizer config files
//! (`model_file.rs`), loadable by [`crate::Tokenizer::from_dir`], Python
//! `sentencepiece` and transformers' `T5Tokenizer`.
//!
//! Normalization: the model carries sentencepiece's own `nmt_nfkc` character
//! map (T5's and mT5's), and training text is normalized with it by our
//! runtime normalizer, so pieces are learned on exactly what the encoder sees,
//! and runtime input gets the same NFKC + whitespace treatment in Rust and in
//! Python. `identity` keeps characters as they are (only spaces are handled).

mod corpus;
mod model_file;
mod script;
mod unigram;
mod words;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use corpus::InputFormat;
pub use model_file::{EXTRA_IDS, NMT_NFKC_CHARSMAP};

use crate::spm::{ByteTrie, Normalizer};

/// Number of special pieces at the start of `spiece.model`.
const SPECIAL_PIECES: u32 = 3;

/// The normalizer written into `spiece.model` and applied to training text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Normalization {
    /// sentencepiece's `nmt_nfkc` (T5, mT5).
    NmtNfkc,
    /// No character mapping.
    Identity,
}

impl Normalization {
    pub fn parse(name: &str) -> Option<Normalization> {
        match name {
            "nmt_nfkc" => Some(Normalization::NmtNfkc),
            "identity" => Some(Normalization::Identity),
            _ => None,
        }
    }
}

/// Training options (sentencepiece's names and defaults).
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Pieces in `spiece.model`, the 3 special ones included (sentencepiece's
    /// `--vocab_size`); `len(tokenizer)` is this plus the 100 extra ids.
    pub vocab_size: u32,
    /// Share of character occurrences the kept alphabet must cover; the
    /// rarest characters beyond it become `<unk>`.
    pub character_coverage: f64,
    /// Longest piece, in characters.
    pub max_piece_length: usize,
    pub normalization: Normalization,
    pub input_format: InputFormat,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            vocab_size: 8000,
            character_coverage: 0.9995,
            max_piece_length: 16,
            normalization: Normalization::NmtNfkc,
            input_format: InputFormat::Auto,
        }
    }
}

/// Why training failed. Each variant names the file, line or option at fault.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    InputLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("invalid option {option}: {message}")]
    Option {
        option: &'static str,
        message: String,
    },
    #[error("no training text in {files}: every line is empty after normalization")]
    EmptyCorpus { files: String },
    #[error(
        "vocab size {vocab_size} is too small: the {kept} kept characters plus the 3 special \
         pieces (<pad>, </s>, <unk>) need at least {needed}; raise --vocab-size or lower \
         --character-coverage"
    )]
    VocabTooSmall {
        vocab_size: u32,
        kept: usize,
        needed: u32,
    },
    #[error(
        "vocab size {vocab_size} is too large for this corpus: only {possible} pieces \
         (3 special ones included) could be learned; lower --vocab-size or add text"
    )]
    VocabTooLarge { vocab_size: u32, possible: u32 },
    #[error("training failed: {0}")]
    Trainer(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What training saw and produced (printed by the CLI).
#[derive(Clone, Debug, serde::Serialize)]
pub struct TrainReport {
    /// Non-empty sentences after normalization.
    pub sentences: u64,
    /// Distinct words handed to the EM (after cutting at rare characters).
    pub distinct_words: usize,
    /// Character occurrences in the normalized text (`▁` included).
    pub char_occurrences: u64,
    /// Distinct characters in the normalized text.
    pub alphabet: usize,
    /// Characters kept (each is a piece).
    pub kept_chars: usize,
    /// Share of character occurrences covered by the kept characters.
    pub coverage: f64,
    /// Pieces in `spiece.model` (special ones included).
    pub pieces: usize,
    /// Learned pieces longer than one character.
    pub multi_char_pieces: usize,
    /// Mean length of the learned pieces, in characters.
    pub mean_piece_chars: f64,
    /// `len(tokenizer)`: pieces + 100 extra ids.
    pub tokenizer_len: usize,
    pub seconds_reading: f64,
    pub seconds_training: f64,
}

/// A trained model, ready to be written.
pub struct TrainedTokenizer {
    spiece: Vec<u8>,
    kept: Vec<char>,
    dropped: Vec<char>,
    report: TrainReport,
}

impl TrainedTokenizer {
    /// The serialized `spiece.model`.
    pub fn spiece_model(&self) -> &[u8] {
        &self.spiece
    }

    /// The kept alphabet, most frequent first; every one is a piece.
    pub fn kept_chars(&self) -> &[char] {
        &self.kept
    }

    /// Characters of the corpus left out by `character_coverage` (they
    /// encode as `<unk>`), most frequent first.
    pub fn dropped_chars(&self) -> &[char] {
        &self.dropped
    }

    pub fn report(&self) -> &TrainReport {
        &self.report
    }

    /// Writes `spiece.model`, `tokenizer_config.json` and
    /// `special_tokens_map.json` into `dir` (created if missing).
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        model_file::save(dir, &self.spiece)
    }
}

fn check_options(options: &TrainOptions) -> Result<(), TrainError> {
    let c = options.character_coverage;
    if !(c > 0.0 && c <= 1.0) {
        return Err(TrainError::Option {
            option: "--character-coverage",
            message: format!("{c} is not in (0, 1]"),
        });
    }
    if options.max_piece_length == 0 || options.max_piece_length > 512 {
        return Err(TrainError::Option {
            option: "--max-piece-length",
            message: format!("{} is not in 1..=512", options.max_piece_length),
        });
    }
    // The proto stores ids as int32, and T5Tokenizer adds 100 extra ids.
    if options.vocab_size > i32::MAX as u32 - EXTRA_IDS {
        return Err(TrainError::Option {
            option: "--vocab-size",
            message: format!("{} is too large", options.vocab_size),
        });
    }
    Ok(())
}

/// The normalizer `spiece.model` will carry (built by the runtime's code).
fn runtime_normalizer(normalization: Normalization) -> Result<Normalizer, TrainError> {
    let spec = model_file::normalizer_spec(normalization);
    Normalizer::new(
        spec.precompiled_charsmap.as_deref().unwrap_or(&[]),
        spec.add_dummy_prefix.unwrap_or(true),
        spec.remove_extra_whitespaces.unwrap_or(true),
        spec.escape_whitespaces.unwrap_or(true),
        ByteTrie::build(Vec::new()),
    )
    .map_err(TrainError::Trainer)
}

/// Trains from files (plain text or JSONL, see [`InputFormat`]).
pub fn train_files(paths: &[PathBuf], options: &TrainOptions) -> Result<TrainedTokenizer, TrainError> {
    check_options(options)?;
    let start = Instant::now();
    let normalizer = runtime_normalizer(options.normalization)?;
    let mut counts = words::WordCounts::default();
    corpus::for_each_sentence(paths, options.input_format, |s| counts.add_sentence(&normalizer, s))?;
    if counts.is_empty() {
        let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(TrainError::EmptyCorpus {
            files: files.join(", "),
        });
    }
    train_counts(counts, options, start)
}

/// Trains from sentences in memory (one sentence or paragraph each).
pub fn train_sentences<'a>(
    sentences: impl IntoIterator<Item = &'a str>,
    options: &TrainOptions,
) -> Result<TrainedTokenizer, TrainError> {
    check_options(options)?;
    let start = Instant::now();
    let normalizer = runtime_normalizer(options.normalization)?;
    let mut counts = words::WordCounts::default();
    for s in sentences {
        for line in s.lines() {
            counts.add_sentence(&normalizer, line);
        }
    }
    if counts.is_empty() {
        return Err(TrainError::EmptyCorpus {
            files: "the given sentences".into(),
        });
    }
    train_counts(counts, options, start)
}

fn train_counts(
    counts: words::WordCounts,
    options: &TrainOptions,
    start: Instant,
) -> Result<TrainedTokenizer, TrainError> {
    let sorted_chars = counts.char_counts();
    let char_occurrences: u64 = sorted_chars.iter().map(|&(_, n)| n).sum();
    let n_kept = words::covered_chars(&sorted_chars, options.character_coverage);
    let kept_counts: HashMap<char, u64> = sorted_chars[..n_kept].iter().copied().collect();
    let needed = n_kept as u32 + SPECIAL_PIECES;
    if options.vocab_size < needed {
        return Err(TrainError::VocabTooSmall {
            vocab_size: options.vocab_size,
            kept: n_kept,
            needed,
        });
    }
    let covered: u64 = kept_counts.values().sum();
    let sentences = counts.sentences;
    let training_words = counts.into_training_words(&|c| kept_counts.contains_key(&c));
    let distinct_words = training_words.len();
    let seconds_reading = start.elapsed().as_secs_f64();

    let target = (options.vocab_size - SPECIAL_PIECES) as usize;
    let learned = unigram::learn(training_words, &kept_counts, target, options.max_piece_length)
        .map_err(TrainError::Trainer)?;
    // A learned piece can never spell a special piece (script and whitespace
    // cuts forbid `<`, letters and `>` together), but keep the ids unambiguous.
    let learned: Vec<unigram::LearnedPiece> = learned
        .into_iter()
        .filter(|p| ![model_file::PAD, model_file::EOS, model_file::UNK].contains(&p.piece.as_str()))
        .collect();
    if learned.len() < target {
        return Err(TrainError::VocabTooLarge {
            vocab_size: options.vocab_size,
            possible: learned.len() as u32 + SPECIAL_PIECES,
        });
    }
    let spiece = model_file::spiece_model(&learned, options);
    let piece_chars: Vec<usize> = learned.iter().map(|p| p.piece.chars().count()).collect();
    let report = TrainReport {
        sentences,
        distinct_words,
        char_occurrences,
        alphabet: sorted_chars.len(),
        kept_chars: n_kept,
        coverage: if char_occurrences == 0 {
            0.0
        } else {
            covered as f64 / char_occurrences as f64
        },
        pieces: learned.len() + SPECIAL_PIECES as usize,
        multi_char_pieces: piece_chars.iter().filter(|&&n| n > 1).count(),
        mean_piece_chars: piece_chars.iter().sum::<usize>() as f64 / piece_chars.len().max(1) as f64,
        tokenizer_len: learned.len() + SPECIAL_PIECES as usize + EXTRA_IDS as usize,
        seconds_reading,
        seconds_training: start.elapsed().as_secs_f64() - seconds_reading,
    };
    Ok(TrainedTokenizer {
        spiece,
        kept: sorted_chars[..n_kept].iter().map(|&(c, _)| c).collect(),
        dropped: sorted_chars[n_kept..].iter().map(|&(c, _)| c).collect(),
        report,
    })
}
