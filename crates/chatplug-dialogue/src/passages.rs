//! FiD passage construction (reference §3): one history passage, then one passage
//! per knowledge chunk, user-profile chunk and bot-profile chunk; the context-only
//! passage when there is none of these. Then the tokenizer's whitespace mapping.

use crate::config::ModelType;
use crate::context::{render_context, render_history, ContextSelection};
use crate::templates::{fill, TemplateSet};

/// What goes into the passages of one turn (chunks already cut).
#[derive(Debug, Clone, Default)]
pub struct PassageInputs<'a> {
    pub selection: Option<&'a ContextSelection>,
    pub knowledge: &'a [String],
    pub user_profile: &'a [String],
    pub bot_profile: &'a [String],
}

/// Builds the passages (before whitespace mapping).
pub fn build_passages(templates: &TemplateSet, inputs: &PassageInputs<'_>) -> Vec<String> {
    let (utterance, context, history) = match inputs.selection {
        Some(s) => (
            s.utterance.as_str(),
            s.context.as_slice(),
            s.history.as_slice(),
        ),
        None => ("", &[][..], &[][..]),
    };
    let mut turns: Vec<String> = context.to_vec();
    turns.push(utterance.to_string());
    let ctx = render_context(&turns);
    let mut out = Vec::new();
    if !history.is_empty() {
        let h = render_history(history);
        out.push(fill(
            &templates.history,
            &[("context", &ctx), ("history", &h)],
        ));
    }
    for k in inputs.knowledge {
        out.push(fill(
            &templates.knowledge,
            &[("context", &ctx), ("knowledge", k)],
        ));
    }
    for p in inputs.user_profile {
        out.push(fill(
            &templates.user_profile,
            &[("context", &ctx), ("user_profile", p)],
        ));
    }
    for p in inputs.bot_profile {
        out.push(fill(
            &templates.bot_profile,
            &[("context", &ctx), ("bot_profile", p)],
        ));
    }
    if out.is_empty() {
        out.push(fill(&templates.context, &[("context", &ctx)]));
    }
    out
}

/// Maps newline, tab and two spaces to the tokens the model was trained with (the
/// SentencePiece / WordPiece vocabularies cannot represent them).
pub fn map_whitespace(text: &str, model: ModelType) -> String {
    match model {
        ModelType::T5 => text
            .replace('\n', "▁<extra_id_22>")
            .replace('\t', "▁<extra_id_33>")
            .replace("  ", "▁<extra_id_23>"),
        ModelType::Plug => text
            .replace('\n', "[unused22]")
            .replace('\t', "[unused33]")
            .replace("  ", "[unused23]"),
    }
}

/// The reverse mapping for decoded replies; special tokens are removed.
pub fn unmap_whitespace(text: &str) -> String {
    let mut s = text.to_string();
    for (from, to) in [
        ("▁<extra_id_22>", "\n"),
        ("▁<extra_id_33>", "\t"),
        ("▁<extra_id_23>", "  "),
        ("<extra_id_22>", "\n"),
        ("<extra_id_33>", "\t"),
        ("<extra_id_23>", "  "),
        ("[unused22]", "\n"),
        ("[unused33]", "\t"),
        ("[unused23]", "  "),
        ("[SEP]", ""),
        ("[CLS]", ""),
        ("[PAD]", ""),
        ("[UNK]", ""),
    ] {
        s = s.replace(from, to);
    }
    s
}
