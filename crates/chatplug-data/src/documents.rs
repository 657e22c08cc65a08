//! Document files for pre-training: plain text (one document a line) or JSONL
//! `{"text": ...}` lines (the file is JSONL when its first non-blank line starts
//! with `{`). Documents are whitespace-mapped like passages, tokenized, cut into
//! pieces that fit the length limits, and turned into span-corruption or prefix-LM
//! examples.

use crate::error::{DataError, Result};
use crate::jsonl::{lines, object, Line};
use crate::span_corruption::{corrupt, noise_mask, span_counts};
use crate::TokenizedExample;
use chatplug_tokenizer::Tokenizer;
use rand::Rng;
use serde_json::Value;
use std::path::Path;

/// Sentinels available to span corruption: `<extra_id_0>` … `<extra_id_21>`.
/// `<extra_id_22>` (and 23, 33) carry ChatPLUG's whitespace mapping, so a piece may
/// not have more spans than this.
pub const MAX_SPANS: usize = 22;

/// One document with the line it starts on.
pub struct Document {
    pub line: usize,
    pub text: String,
}

/// Reads every document of `text` (the contents of `path`).
pub fn read(path: &Path, text: &str) -> Result<Vec<Document>> {
    let jsonl = lines(text)
        .next()
        .is_some_and(|l| l.text.trim_start().starts_with('{'));
    lines(text)
        .map(|line| {
            let text = if jsonl {
                json_text(path, &line)?
            } else {
                line.text.to_string()
            };
            Ok(Document {
                line: line.number,
                text,
            })
        })
        .collect()
}

fn json_text(path: &Path, line: &Line<'_>) -> Result<String> {
    let fields = object(path, line)?;
    match fields.get("text") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(DataError::line(
            path,
            line.number,
            format!(
                "field `text` must be a string, got {}",
                crate::jsonl::kind(v)
            ),
        )),
        None => Err(DataError::line(path, line.number, "missing field `text`")),
    }
}

/// The ids of `<extra_id_0>` … `<extra_id_{n-1}>`.
pub fn sentinel_ids(tokenizer: &Tokenizer, n: usize) -> Result<Vec<u32>> {
    (0..n)
        .map(|k| {
            let token = format!("<extra_id_{k}>");
            tokenizer.token_to_id(&token).ok_or_else(|| {
                DataError::Tokenizer(format!(
                    "no `{token}` token (span corruption needs T5 sentinels)"
                ))
            })
        })
        .collect()
}

/// The longest piece whose corrupted input fits `max_input` ids and target
/// `max_target` ids (EOS included) with at most [`MAX_SPANS`] spans, as T5 sizes its
/// pieces so that inputs come out at the wanted length.
pub fn span_piece_length(max_input: usize, max_target: usize, density: f64, mean: f64) -> usize {
    let fits = |len: usize| {
        let (noise, spans) = span_counts(len, density, mean);
        len - noise + spans < max_input && noise + spans < max_target && spans <= MAX_SPANS
    };
    let mut len = 1;
    // Input length grows with the piece (by 1 - density per token), so the first
    // failure is the end; the bound keeps the loop finite for any options.
    while len < 1_000_000 && fits(len + 1) {
        len += 1;
    }
    len
}

/// The examples of one document.
#[derive(Debug, Default)]
pub struct Pieces {
    pub examples: Vec<TokenizedExample>,
    /// Pieces under 2 tokens, left out.
    pub too_short: usize,
    /// Span corruption: masked tokens and all tokens of the pieces.
    pub noise_tokens: usize,
    pub piece_tokens: usize,
}

/// `tokens` cut into the fewest pieces of at most `max` tokens, of equal length
/// give or take one, so no piece is a lone leftover token (which no objective can
/// use) unless the document is one token long.
pub fn even_pieces(tokens: &[u32], max: usize) -> Vec<&[u32]> {
    if tokens.is_empty() {
        return Vec::new();
    }
    let n = tokens.len().div_ceil(max.max(1));
    let (base, longer) = (tokens.len() / n, tokens.len() % n);
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let len = base + usize::from(i < longer);
        out.push(&tokens[start..start + len]);
        start += len;
    }
    out
}

/// Span-corruption examples of one document's pieces.
pub fn span_corruption(
    tokens: &[u32],
    piece_len: usize,
    density: f64,
    mean: f64,
    sentinels: &[u32],
    eos: u32,
    rng: &mut impl Rng,
) -> Pieces {
    let mut out = Pieces::default();
    for piece in even_pieces(tokens, piece_len) {
        if piece.len() < 2 {
            out.too_short += 1;
            continue;
        }
        let mask = noise_mask(piece.len(), density, mean, rng);
        out.noise_tokens += mask.iter().filter(|&&m| m).count();
        out.piece_tokens += piece.len();
        let (inputs, labels) = corrupt(piece, &mask, sentinels, eos);
        out.examples.push(TokenizedExample {
            input_ids: vec![inputs],
            labels,
        });
    }
    out
}

/// Prefix-LM examples: each piece is split at a random point (uniform over the
/// points that keep both sides within their limits); the beginning is the passage,
/// the rest the target.
pub fn prefix_lm(
    tokens: &[u32],
    max_input: usize,
    max_target: usize,
    eos: u32,
    rng: &mut impl Rng,
) -> Pieces {
    let (max_prefix, max_rest) = (max_input - 1, max_target - 1);
    let mut out = Pieces::default();
    for piece in even_pieces(tokens, max_prefix + max_rest) {
        if piece.len() < 2 {
            out.too_short += 1;
            continue;
        }
        let low = piece.len().saturating_sub(max_rest).max(1);
        let high = max_prefix.min(piece.len() - 1);
        let split = rng.random_range(low..=high);
        let mut input = piece[..split].to_vec();
        input.push(eos);
        let mut labels = piece[split..].to_vec();
        labels.push(eos);
        out.examples.push(TokenizedExample {
            input_ids: vec![input],
            labels,
        });
    }
    out
}
