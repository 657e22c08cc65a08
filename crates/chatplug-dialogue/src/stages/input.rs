//! Stages 1–2: what the later stages read of the request. Farewell turns leave the
//! history, and the query may be rewritten (coreference, ellipsis); the persona
//! question flag is taken here, from both spellings of the query.

use super::{Flow, TurnState};
use crate::context::drop_farewells;
use crate::pipeline::ChatPipeline;
use crate::rewrite::rewrite_input;
use crate::text::is_persona_question;
use std::ops::ControlFlow;

/// Stage 1: farewell turns become `#`, so the model is not pushed to say goodbye.
pub(super) fn drop_farewell_turns(_: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    s.debug.farewells_dropped = drop_farewells(&mut s.history);
    ControlFlow::Continue(())
}

/// Stage 2: the rewriter hook (when attached and there is history). A failing or
/// empty rewrite keeps the query and leaves a warning.
pub(super) fn rewrite_query(p: &ChatPipeline, s: &mut TurnState<'_>) -> Flow {
    let query = s.request.query.as_str();
    s.debug.history_for_rewrite = rewrite_input(query, &s.history);
    let mut rewritten = query.to_string();
    if let (Some(r), false) = (&p.rewriter, s.debug.history_for_rewrite.is_empty()) {
        match r.rewrite(&s.debug.history_for_rewrite) {
            Ok(q) if !q.trim().is_empty() => rewritten = q,
            Ok(_) => s
                .debug
                .warnings
                .push("rewriter returned an empty query; kept the original".into()),
            Err(e) => s.debug.warnings.push(format!("rewriter failed: {e}")),
        }
    }
    s.debug.query_rewritten = rewritten.clone();
    s.persona_question = is_persona_question(&rewritten) || is_persona_question(query);
    s.debug.is_persona_question = s.persona_question;
    s.rewritten = rewritten;
    ControlFlow::Continue(())
}
