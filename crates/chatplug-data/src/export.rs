//! Our dialogue examples in the reference's XDPX format, so a team can train with
//! the reference's recipe. The pipeline's passage stages choose what goes where:
//! `context` is the context window (at most `core_chat_max_context_turns` turns)
//! plus the utterance, joined by `</s>`; `passages` has one `history:` item (older
//! turns joined by `</s>`), one `knowledge:` item per knowledge chunk and one
//! `user_profile:` / `bot_profile:` item per profile chunk (dynamic facts
//! included), joined by `;;;`. Loading it with the reference's loader (or
//! `prepare --format xdpx`) gives the passages our dialogue path gives with the same
//! template set, except where the loader's stripping bites (texts ending in `s`,
//! `<`, `/`, `>` or `;`, or containing `</s>` or `;;;`).

use crate::dialogue::DialogueRecord;
use crate::error::{DataError, Result};
use crate::jsonl::{lines, read_text};
use crate::xdpx::{XdpxRecord, PASSAGE_SEP, SEP};
use chatplug_dialogue::{ChatPipeline, TrainingInputs};
use std::path::Path;

/// One dialogue example as an XDPX record.
pub fn to_xdpx(inputs: &TrainingInputs, response: &str) -> XdpxRecord {
    let selection = &inputs.selection;
    let mut turns = selection.context.clone();
    turns.push(selection.utterance.clone());
    let mut passages = Vec::new();
    if !selection.history.is_empty() {
        passages.push(format!("history:{}", selection.history.join(SEP)));
    }
    passages.extend(inputs.knowledge.iter().map(|k| format!("knowledge:{k}")));
    passages.extend(
        inputs
            .user_profile_chunks
            .iter()
            .map(|p| format!("user_profile:{p}")),
    );
    passages.extend(
        inputs
            .bot_profile_chunks
            .iter()
            .map(|p| format!("bot_profile:{p}")),
    );
    XdpxRecord {
        context: turns.join(SEP),
        response: response.to_string(),
        passages: passages.join(PASSAGE_SEP),
    }
}

/// Every example of a dialogue file as XDPX records (the whole file is checked
/// first; an error names its line).
pub fn export_dialogue_file(path: &Path, pipeline: &ChatPipeline) -> Result<Vec<XdpxRecord>> {
    let text = read_text(path)?;
    let mut out = Vec::new();
    for line in lines(&text) {
        let record = DialogueRecord::parse(path, &line)?;
        let inputs = record.inputs(pipeline, None, path, line.number)?;
        out.push(to_xdpx(&inputs, &record.response));
    }
    if out.is_empty() {
        return Err(DataError::File {
            path: path.to_path_buf(),
            message: "no examples".into(),
        });
    }
    Ok(out)
}

/// XDPX records as JSONL text.
pub fn xdpx_jsonl(records: &[XdpxRecord]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&serde_json::to_string(r).expect("records serialize"));
        out.push('\n');
    }
    out
}
