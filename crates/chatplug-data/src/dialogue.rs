//! Dialogue files: one object per line with the request fields the pipeline and
//! `/v1/chat` take (`query`, `history`, `knowledge`, `bot_profile`, `user_profile`,
//! `role_instruction`) plus `response` (the target reply) and an optional `id`
//! (ignored). The passages come from [`ChatPipeline::training_inputs`], the same
//! stages inference runs.

use crate::error::{DataError, Result};
use crate::jsonl::{object, string_field, Line};
use chatplug_dialogue::passages::map_whitespace;
use chatplug_dialogue::{ChatPipeline, ChatRequest, ModelType, TemplateSet, TrainingInputs};
use serde_json::Value;
use std::path::Path;

/// One dialogue example.
#[derive(Debug, Clone, PartialEq)]
pub struct DialogueRecord {
    pub request: ChatRequest,
    pub response: String,
}

impl DialogueRecord {
    /// Reads one line. Request fields are strict (an unknown field is an error that
    /// names it, as for `/v1/chat`).
    pub fn parse(path: &Path, line: &Line<'_>) -> Result<DialogueRecord> {
        let mut fields = object(path, line)?;
        let response = string_field(path, line.number, &fields, "response", true)?;
        if response.trim().is_empty() {
            return Err(DataError::line(path, line.number, "`response` is empty"));
        }
        fields.remove("response");
        fields.remove("id");
        let request = ChatRequest::from_value(Value::Object(fields))
            .map_err(|e| DataError::line(path, line.number, e.to_string()))?;
        Ok(DialogueRecord { request, response })
    }

    /// The pipeline's passage stages on the request.
    pub fn inputs(
        &self,
        pipeline: &ChatPipeline,
        templates: Option<&TemplateSet>,
        path: &Path,
        line: usize,
    ) -> Result<TrainingInputs> {
        pipeline
            .training_inputs(&self.request, templates)
            .map_err(|e| DataError::line(path, line, e.to_string()))
    }
}

/// The target text: the reply with the whitespace mapping, as the reference loader
/// maps targets (the model learns to write `▁<extra_id_22>` for a newline; decoding
/// maps it back).
pub fn target_text(response: &str) -> String {
    map_whitespace(response, ModelType::T5)
}
