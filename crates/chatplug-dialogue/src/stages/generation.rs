//! Stages 12–13: the no-repeat session with the bad-word list, and the generation
//! options (`min_length` for persona questions, `bad_words_ids` with a tokenizer).

use super::{Flow, TurnState};
use crate::config::ModelType;
use crate::norepeat::{bad_words_ids, blank_persona_keywords, session_utterances};
use crate::pipeline::ChatPipeline;
use serde_json::{json, Map, Value};
use std::ops::ControlFlow;

/// Stage 12: recent utterances (persona keywords blanked) whose n-grams the reply
/// must not repeat, and the configured bad words.
pub(super) fn no_repeat(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let cfg = &p.config;
    let history_texts: Vec<String> = s.history.iter().map(|t| t.utterance.clone()).collect();
    let session = session_utterances(
        &history_texts,
        &s.request.query,
        s.persona_question,
        cfg.core_chat_max_no_repeat_session,
    );
    let profiles = s.profiles.clone().unwrap_or_default();
    let profile_text = [
        profiles.user_profile.as_str(),
        profiles.bot_profile.as_str(),
        profiles.dynamic_user_profile.as_str(),
        profiles.dynamic_bot_profile.as_str(),
    ]
    .join(";");
    s.session = blank_persona_keywords(&session, &profile_text, p.keywords.as_ref());
    s.bad_words = cfg.bad_words();
    ControlFlow::Continue(())
}

/// Stage 13: the configured `generate` options, adjusted for this turn.
pub(super) fn options(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let cfg = &p.config;
    let mut options = match serde_json::to_value(&cfg.core_chat_generate_config) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if s.persona_question {
        options.insert("min_length".into(), json!(cfg.persona_min_length));
    }
    if let Some(tok) = &p.tokenizer {
        let ids = bad_words_ids(
            &s.bad_words,
            &s.session,
            tok.as_ref(),
            cfg.core_chat_max_no_repeat_session_ngrams,
            cfg.bad_words_skip_first_token && cfg.model_type == ModelType::T5,
        );
        s.debug.bad_words_ids_count = Some(ids.len());
        if !ids.is_empty() {
            options.insert("bad_words_ids".into(), json!(ids));
        }
    }
    s.options = options;
    ControlFlow::Continue(())
}
