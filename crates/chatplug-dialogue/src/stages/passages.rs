//! Stages 10–11 and passage building: context selection, dynamic profiles, chunking,
//! the instruction templates and the whitespace mapping. These are the stages
//! training data goes through too ([`super::PASSAGES`]).

use super::{Flow, TurnState};
use crate::chunking::split_chunks;
use crate::config::ModelType;
use crate::context::select_context;
use crate::passages::{build_passages, map_whitespace, PassageInputs};
use crate::pipeline::ChatPipeline;
use crate::profiles::build_profiles_with_memory;
use crate::text::join_non_empty;
use std::ops::ControlFlow;

/// Stage 10: the context and history windows (none for persona questions,
/// special-skill queries and encyclopedic questions of a classifier).
pub(super) fn select(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let cfg = &p.config;
    s.selection = Some(select_context(
        &s.history,
        &s.request.query,
        &s.rewritten,
        s.persona_question,
        s.allows_context(),
        cfg.core_chat_max_context_turns,
        cfg.core_chat_max_history_turns,
    ));
    ControlFlow::Continue(())
}

/// Stage 11: the request's profiles (the role instruction joins the bot profile)
/// plus the facts stated in earlier turns (for persona questions, also without
/// request profiles unless `persona_question_memory` is off, as in the reference).
pub(super) fn profiles(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let request = s.request;
    let bot_profile = join_non_empty([
        request.bot_profile.as_str(),
        request.role_instruction.as_deref().unwrap_or(""),
    ]);
    s.profiles = Some(build_profiles_with_memory(
        &request.user_profile,
        &bot_profile,
        &s.history,
        s.persona_question,
        p.config.persona_question_memory,
    ));
    ControlFlow::Continue(())
}

/// Knowledge in passage order (explicit items chunked, rule knowledge, FAQ answers,
/// retrieved chunks) and the profiles cut into chunks.
pub(super) fn chunk(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let cfg = &p.config;
    let (max_len, overlap) = (
        cfg.core_chat_max_knowledge_length,
        cfg.knowledge_chunk_overlap,
    );
    let mut knowledge: Vec<String> = s
        .request
        .knowledge
        .iter()
        .flat_map(|k| split_chunks(k, max_len, overlap))
        .collect();
    knowledge.extend(s.rule_knowledge.iter().cloned());
    knowledge.extend(s.debug.faq_knowledge.iter().map(|h| h.answer.clone()));
    knowledge.append(&mut s.retrieved_chunks);
    s.knowledge = knowledge;
    let profiles = s.profiles.clone().unwrap_or_default();
    s.user_profile_chunks = split_chunks(&profiles.user_profile, max_len, overlap);
    s.bot_profile_chunks = split_chunks(&profiles.bot_profile, max_len, overlap);
    ControlFlow::Continue(())
}

/// The passages from the templates (history, knowledge, user profile, bot profile,
/// or the context alone); PLUG's vocabulary spells the separator `[SEP]`.
pub(super) fn fill_templates(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let mut passages = build_passages(
        s.templates.as_ref().unwrap_or(&p.templates),
        &PassageInputs {
            selection: s.selection.as_ref(),
            knowledge: &s.knowledge,
            user_profile: &s.user_profile_chunks,
            bot_profile: &s.bot_profile_chunks,
        },
    );
    if p.config.model_type == ModelType::Plug {
        passages = passages
            .iter()
            .map(|p| p.replace("</s>", "[SEP]"))
            .collect();
    }
    s.passages = passages;
    ControlFlow::Continue(())
}

/// Newline, tab and two spaces become the model's whitespace tokens.
pub(super) fn map_spaces(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    if p.config.whitespace_mapping {
        let model = p.config.model_type;
        for passage in &mut s.passages {
            *passage = map_whitespace(passage, model);
        }
    }
    ControlFlow::Continue(())
}
