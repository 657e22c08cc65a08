//! The utterance-rewriter hook (reference §4 stage 2). The default is no rewriter:
//! the query is kept.

use crate::request::Turn;

/// Turns of context a rewriter sees before the query.
pub const REWRITE_CONTEXT_TURNS: usize = 4;

/// Rewrites the query from the recent dialogue (coreference, ellipsis).
pub trait UtteranceRewriter: Send + Sync {
    /// `utterances`: the last turns (rewritten text when present) and the query last.
    fn rewrite(&self, utterances: &[String]) -> Result<String, String>;
}

/// What the rewriter is given: the last 4 turns and the query; nothing when there
/// is no history.
pub fn rewrite_input(query: &str, history: &[Turn]) -> Vec<String> {
    if history.is_empty() {
        return Vec::new();
    }
    let start = history.len().saturating_sub(REWRITE_CONTEXT_TURNS);
    history[start..]
        .iter()
        .map(|t| t.effective().to_string())
        .chain(std::iter::once(query.to_string()))
        .collect()
}
