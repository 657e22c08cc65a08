//! Reply post-processing (reference §4 stage 16), after the response safety check:
//! ASCII punctuation to full width, a farewell right after a dropped farewell turned
//! into a topic change, and a repeated reply prefixed with "you asked that already".

use crate::context::FAREWELL_MARK;
use crate::request::Turn;
use crate::text::{is_farewell, pick};
use serde::Serialize;

/// What post-processing changed, for the debug output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PostprocessNotes {
    pub topic_change: bool,
    pub repeat_prefix: bool,
}

/// `: , ; ! ? ( )` → their full-width forms (Chinese typography).
pub fn full_width_punctuation(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ':' | ',' | ';' | '!' | '?' | '(' | ')' => {
                char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// Applies the rules in the reference's order. `history` is after farewell removal.
pub fn postprocess(
    response: &str,
    history: &[Turn],
    topic_prefixes: &[String],
    topic_responses: &[String],
    repeat_prefixes: &[String],
) -> (String, PostprocessNotes) {
    let mut notes = PostprocessNotes::default();
    let mut out = full_width_punctuation(response);
    let last = history.last().map(|t| t.utterance.as_str());
    if is_farewell(&out) && last == Some(FAREWELL_MARK) {
        let key = format!("{}{}", history.len(), out);
        out = format!(
            "{}{}",
            pick(topic_prefixes, &key).unwrap_or_default(),
            pick(topic_responses, &out).unwrap_or_default()
        );
        notes.topic_change = true;
    }
    if last == Some(out.as_str()) && !repeat_prefixes.is_empty() {
        out = format!(
            "{}{}",
            repeat_prefixes[history.len() % repeat_prefixes.len()],
            out
        );
        notes.repeat_prefix = true;
    }
    (out, notes)
}
