//! The reference's training format (XDPX, `chatplug_prepro_sft_instruction.hjson`):
//! JSONL objects with `context` (turns joined by `</s>`, the current utterance
//! last), `response` and `passages` (`;;;`-separated, each prefixed `history:`,
//! `knowledge:`, `user_profile:` or `bot_profile:`; empty for plain instructions).
//!
//! [`build`] does what the reference's `t5_fidchat_instruction` loader
//! (`XDPX/xdpx/loaders/chat.py`) does, step by step, including its quirks:
//!
//! 1. The whitespace mapping (`\n` → `▁<extra_id_22>`, `\t` → `▁<extra_id_33>`,
//!    two spaces → `▁<extra_id_23>`) is applied to the context, the response and
//!    the passages string, before anything else.
//! 2. Each of the three is stripped of whitespace (Python `str.strip()`), then of
//!    the *characters* `<`, `/`, `s`, `>` at both ends (Python `str.strip("</s>")`
//!    strips a character set, not the separator): a response ending in `s` loses
//!    it, and a trailing newline, mapped to `▁<extra_id_22>`, loses its `>`.
//! 3. The context is split on `</s>` and rendered as the inference context is:
//!    walking backwards from the last turn with speaker `我`, alternating with `你`,
//!    `。` added to non-empty turns that do not end in punctuation. *All* turns are
//!    context (no turn limit).
//! 4. The passages string is split on `;;;`; each piece is stripped of whitespace
//!    (empty pieces are skipped), of `;` characters, and of the `</s>` characters
//!    again. A piece starting with `history` loses `len("history:")` = 8
//!    characters and its `</s>`-separated turns are rendered as history (speaker
//!    `你` last); `user_profile` loses 13, `bot_profile` 12; *any other* piece is
//!    taken as knowledge and loses 10 characters (`len("knowledge:")`), whatever
//!    its prefix. Each filled template gets `</s>` appended.
//! 5. No piece: one context-only passage.
//! 6. The response gets `</s>` appended.
//!
//! The reference tokenizes with `tokenize` (no EOS added), so the appended `</s>`
//! is the EOS token; our tokenizer appends EOS unless the ids already end with it,
//! which gives the same ids. Differences kept on purpose (train = infer): the
//! reference's XDPX tokenizer wrapper also NFD-normalizes and collapses whitespace
//! (`clean_text`), which the inference path does not, and its processor cuts
//! passages and labels at the length limit without keeping EOS, where we keep EOS
//! as HF `truncation=True` does at inference.

use crate::error::{DataError, Result};
use crate::jsonl::{string_field, Line};
use chatplug_dialogue::context::{render_context, render_history};
use chatplug_dialogue::passages::map_whitespace;
use chatplug_dialogue::templates::fill;
use chatplug_dialogue::{ModelType, TemplateSet};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The separator of turns, and the text appended to every passage and response.
pub const SEP: &str = "</s>";
/// The separator of passages.
pub const PASSAGE_SEP: &str = ";;;";

/// One XDPX example.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XdpxRecord {
    pub context: String,
    pub response: String,
    pub passages: String,
}

impl XdpxRecord {
    /// Reads one line: `context` and `response` must be strings, `passages` a string
    /// when present. Other fields are ignored, as the reference's JSONL parser reads
    /// only its `fields`.
    pub fn parse(path: &Path, line: &Line<'_>) -> Result<XdpxRecord> {
        let object = crate::jsonl::object(path, line)?;
        Ok(XdpxRecord {
            context: string_field(path, line.number, &object, "context", true)?,
            response: string_field(path, line.number, &object, "response", true)?,
            passages: string_field(path, line.number, &object, "passages", false)?,
        })
    }
}

/// Python `str.isspace` for one character (Rust's `is_whitespace` plus the
/// information separators U+001C–U+001F).
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python `text.strip(chars)`: every character of `chars` is removed from both ends.
fn strip_chars<'a>(text: &'a str, chars: &str) -> &'a str {
    text.trim_matches(|c| chars.contains(c))
}

/// Python `text[n:]` in characters.
fn drop_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((i, _)) => &text[i..],
        None => "",
    }
}

/// Steps 1–2 for one field.
fn clean(text: &str) -> String {
    let mapped = map_whitespace(text, ModelType::T5);
    strip_chars(mapped.trim_matches(py_space), SEP).to_string()
}

/// The passages (each ending with `</s>`) and the target (ending with `</s>`) the
/// reference loader builds for `record`, with `templates` (the reference uses the
/// training-loader wording, [`chatplug_dialogue::TemplatePreset::Training`]).
pub fn build(record: &XdpxRecord, templates: &TemplateSet) -> (Vec<String>, String) {
    let context = clean(&record.context);
    let response = clean(&record.response);
    let passages = clean(&record.passages);
    let turns: Vec<String> = if context.is_empty() {
        Vec::new()
    } else {
        context.split(SEP).map(str::to_string).collect()
    };
    let ctx = render_context(&turns);
    let mut out = Vec::new();
    for piece in passages.split(PASSAGE_SEP) {
        let piece = piece.trim_matches(py_space);
        if piece.is_empty() {
            continue;
        }
        let piece = strip_chars(strip_chars(piece, ";"), SEP);
        let text = if piece.starts_with("history") {
            let history = drop_chars(piece, "history:".chars().count());
            let turns: Vec<String> = if history.is_empty() {
                Vec::new()
            } else {
                history.split(SEP).map(str::to_string).collect()
            };
            let rendered = render_history(&turns);
            fill(
                &templates.history,
                &[("context", &ctx), ("history", &rendered)],
            )
        } else if piece.starts_with("user_profile") {
            let p = drop_chars(piece, "user_profile:".chars().count());
            fill(
                &templates.user_profile,
                &[("context", &ctx), ("user_profile", p)],
            )
        } else if piece.starts_with("bot_profile") {
            let p = drop_chars(piece, "bot_profile:".chars().count());
            fill(
                &templates.bot_profile,
                &[("context", &ctx), ("bot_profile", p)],
            )
        } else {
            let k = drop_chars(piece, "knowledge:".chars().count());
            fill(&templates.knowledge, &[("context", &ctx), ("knowledge", k)])
        };
        out.push(format!("{text}{SEP}"));
    }
    if out.is_empty() {
        out.push(format!(
            "{}{SEP}",
            fill(&templates.context, &[("context", &ctx)])
        ));
    }
    (out, format!("{response}{SEP}"))
}

/// Rejects what the reference would turn into an empty target.
pub fn check(path: &Path, line: usize, record: &XdpxRecord) -> Result<()> {
    if clean(&record.response).is_empty() {
        return Err(DataError::line(path, line, "`response` is empty"));
    }
    Ok(())
}
