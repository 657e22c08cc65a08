//! Instruction files (BELLE / Alpaca): `instruction`, optional `input`, `output`.
//! As in the reference's BELLE conversion (`data/belle/process_belle_0.5M.py`), the
//! context is `instruction + "\n\n" + input` with no passages; the reply is
//! `output`. One difference: with an empty `input` the context is the instruction
//! alone (the reference keeps a trailing `"\n\n"`, which a user's query at inference
//! never has). The example then goes through the dialogue path: a request whose
//! query is the context, so the one context-only passage is built by the inference
//! code.

use crate::dialogue::DialogueRecord;
use crate::error::{DataError, Result};
use crate::jsonl::{object, string_field, Line};
use chatplug_dialogue::ChatRequest;
use std::path::Path;

/// Reads one line as a dialogue example. Fields other than these three are ignored
/// (instruction datasets carry ids, categories...).
pub fn parse(path: &Path, line: &Line<'_>) -> Result<DialogueRecord> {
    let fields = object(path, line)?;
    let instruction = string_field(path, line.number, &fields, "instruction", true)?;
    let input = string_field(path, line.number, &fields, "input", false)?;
    let output = string_field(path, line.number, &fields, "output", true)?;
    let context = if input.trim().is_empty() {
        instruction
    } else {
        format!("{instruction}\n\n{input}")
    };
    if context.trim().is_empty() {
        return Err(DataError::line(path, line.number, "`instruction` is empty"));
    }
    if output.trim().is_empty() {
        return Err(DataError::line(path, line.number, "`output` is empty"));
    }
    Ok(DialogueRecord {
        request: ChatRequest::new(context),
        response: output,
    })
}
