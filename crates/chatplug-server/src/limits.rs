//! Field limits (`[server.limits]`), checked before a request is queued; errors name
//! the field and the limit.

use chatplug_dialogue::ChatRequest;

use crate::config::Limits;
use crate::error::ApiError;

pub fn check_chars(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.chars().count() > max {
        return Err(ApiError::too_large(field, max, "characters"));
    }
    Ok(())
}

pub fn check_count(field: &str, count: usize, max: usize, unit: &str) -> Result<(), ApiError> {
    if count > max {
        return Err(ApiError::too_large(field, max, unit));
    }
    Ok(())
}

/// The turn request after sessions were applied. `history` is the history field
/// name to report (`history`, or `messages` for OpenAI requests).
pub fn check_request(req: &ChatRequest, limits: &Limits, history: &str) -> Result<(), ApiError> {
    if req.query.trim().is_empty() {
        return Err(ApiError::invalid("`query` is empty"));
    }
    check_chars("query", &req.query, limits.max_query_chars)?;
    check_count(history, req.history.len(), limits.max_history_turns, "turns")?;
    for (i, turn) in req.history.iter().enumerate() {
        check_chars(&format!("{history}[{i}].utterance"), &turn.utterance, limits.max_utterance_chars)?;
        if let Some(r) = &turn.rewritten {
            check_chars(&format!("{history}[{i}].rewritten"), r, limits.max_utterance_chars)?;
        }
    }
    check_count("knowledge", req.knowledge.len(), limits.max_knowledge_items, "items")?;
    for (i, k) in req.knowledge.iter().enumerate() {
        check_chars(&format!("knowledge[{i}]"), k, limits.max_knowledge_chars)?;
    }
    check_chars("bot_profile", &req.bot_profile, limits.max_profile_chars)?;
    check_chars("user_profile", &req.user_profile, limits.max_profile_chars)?;
    check_chars("role_instruction", req.role_instruction.as_deref().unwrap_or(""), limits.max_profile_chars)?;
    Ok(())
}
