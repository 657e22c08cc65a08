//! Which earlier turns the model sees, and how turns are written into a passage
//! (reference §3 "Building the passages", §4 stages 1 and 10).

use crate::request::Turn;
use crate::text::{is_farewell, is_special_skill, END_PUNCTUATION};
use serde::Serialize;

/// What replaces a farewell turn in history.
pub const FAREWELL_MARK: &str = "#";

/// Replaces farewell turns (utterance and rewritten) by `#`, so the model is not
/// pushed towards saying goodbye again. Returns how many turns were replaced.
pub fn drop_farewells(history: &mut [Turn]) -> usize {
    let mut n = 0;
    for t in history.iter_mut() {
        if is_farewell(&t.utterance) {
            t.utterance = FAREWELL_MARK.to_string();
            t.rewritten = Some(FAREWELL_MARK.to_string());
            n += 1;
        }
    }
    n
}

fn render(turns: &[String], last_speaker: char) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(turns.len());
    let mut speaker = last_speaker;
    for text in turns.iter().rev() {
        let mut t = text.clone();
        if let Some(c) = t.chars().last() {
            if !END_PUNCTUATION.contains(c) {
                t.push('。');
            }
        }
        parts.push(format!("{speaker}：{t}"));
        speaker = if speaker == '我' { '你' } else { '我' };
    }
    parts.reverse();
    parts.concat()
}

/// The context (current utterance last): speakers alternate backwards from `我`.
pub fn render_context(turns: &[String]) -> String {
    render(turns, '我')
}

/// Older history: speakers alternate backwards from `你`.
pub fn render_history(turns: &[String]) -> String {
    render(turns, '你')
}

/// The turns chosen for one passage set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextSelection {
    /// The utterance written last in the context.
    pub utterance: String,
    /// Earlier turns in the context (oldest first), without `utterance`.
    pub context: Vec<String>,
    /// Older turns for the history passage.
    pub history: Vec<String>,
    /// Whether dialogue context was used at all.
    pub use_context: bool,
}

/// Python `list[-n:]` for n ≥ 1.
fn tail<T>(items: &[T], n: usize) -> &[T] {
    &items[items.len().saturating_sub(n)..]
}

/// Python `list[-a:-b]` for a, b ≥ 1.
fn window<T>(items: &[T], from_end: usize, to_end: usize) -> &[T] {
    let start = items.len().saturating_sub(from_end);
    let end = items.len().saturating_sub(to_end);
    if start < end {
        &items[start..end]
    } else {
        &[]
    }
}

/// Context selection (stage 10). `classifier_allows` is true when there is no query
/// classifier or it labelled the query chit-chat. Persona questions and
/// special-skill queries get neither context nor history.
#[allow(clippy::too_many_arguments)]
pub fn select_context(
    history: &[Turn],
    original_query: &str,
    rewritten_query: &str,
    persona_question: bool,
    classifier_allows: bool,
    max_context_turns: usize,
    max_history_turns: usize,
) -> ContextSelection {
    let mut sel = ContextSelection {
        utterance: rewritten_query.to_string(),
        context: Vec::new(),
        history: Vec::new(),
        use_context: false,
    };
    if history.is_empty() {
        return sel;
    }
    let concat = !persona_question && !is_special_skill(rewritten_query) && classifier_allows;
    if concat {
        sel.utterance = original_query.to_string();
        sel.context = tail(history, max_context_turns)
            .iter()
            .map(|t| t.utterance.clone())
            .collect();
        sel.history = window(history, max_history_turns, max_context_turns)
            .iter()
            .map(|t| t.utterance.clone())
            .collect();
        sel.use_context = true;
    } else if crate::text::is_persona_question(original_query) {
        sel.utterance = original_query.to_string();
    }
    sel
}
