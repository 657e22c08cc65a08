//! Running one turn for a handler: session history in, job on the queue, waiting
//! (with the request timeout) for the results, and the reply objects both APIs share.

use std::time::Duration;

use axum::http::StatusCode;
use chatplug_dialogue::{ChatRequest, ChatResult};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::app::SharedState;
use crate::error::ApiError;
use crate::sessions::SessionRecord;
use crate::workers::{Event, Ticket, TurnJob};

/// Loads a session in a blocking thread; 404 when unknown.
pub async fn load_session(state: &SharedState, id: &str) -> Result<SessionRecord, ApiError> {
    let store = state.store.clone();
    let key = id.to_string();
    let record = tokio::task::spawn_blocking(move || store.get(&key))
        .await
        .map_err(|e| ApiError::server(format!("session lookup failed: {e}")))?
        .map_err(|e| ApiError::server(e.to_string()))?;
    record.ok_or_else(|| ApiError::not_found(format!("no session `{id}`")).with_code("session_not_found"))
}

/// The request with a session's stored turns as history, its dialog state, and its
/// profiles where the request gives none.
pub fn apply_session(request: &mut ChatRequest, session: &SessionRecord, given: ProfilesGiven) {
    request.history = session.turns.iter().map(|t| t.to_turn()).collect();
    request.dialog_state = session.dialog_state.clone();
    let meta = &session.meta;
    if !given.bot_profile {
        request.bot_profile = meta.bot_profile.clone();
    }
    if !given.user_profile {
        request.user_profile = meta.user_profile.clone();
    }
    if !given.role_instruction {
        request.role_instruction = meta.role_instruction.clone();
    }
}

/// Which profiles a request set itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProfilesGiven {
    pub bot_profile: bool,
    pub user_profile: bool,
    pub role_instruction: bool,
}

/// Queues the job; a full queue is a 429 (or 503, as configured).
pub fn submit(state: &SharedState, job: TurnJob) -> Result<Ticket, ApiError> {
    state.queue.submit(job).map_err(|_| {
        let status = StatusCode::from_u16(state.config.queue_full_status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
        let message = format!(
            "the server is busy: {} requests are waiting for the model; retry later",
            state.config.queue_capacity
        );
        ApiError::new(status, "rate_limit_error", message).with_code("queue_full")
    })
}

/// When a request submitted now must be answered.
pub fn deadline(state: &SharedState) -> Instant {
    Instant::now() + Duration::from_secs_f64(state.config.request_timeout_s)
}

/// The next event before `deadline`; a timeout or a vanished worker is an error.
pub async fn next_event(state: &SharedState, ticket: &mut Ticket, deadline: Instant) -> Result<Event, ApiError> {
    match tokio::time::timeout_at(deadline, ticket.events.recv()).await {
        Ok(Some(event)) => Ok(event),
        Ok(None) => Err(ApiError::server("the model worker stopped")),
        Err(_) => Err(ApiError::timeout(state.config.request_timeout_s)),
    }
}

/// Waits for the results, ignoring text deltas.
pub async fn results(state: &SharedState, mut ticket: Ticket) -> Result<Vec<ChatResult>, ApiError> {
    let deadline = deadline(state);
    loop {
        if let Event::Done(outcome) = next_event(state, &mut ticket, deadline).await? {
            ticket.finish();
            record(state, &outcome);
            return outcome;
        }
    }
}

/// Stage timings and token counts of finished turns.
pub fn record(state: &SharedState, outcome: &Result<Vec<ChatResult>, ApiError>) {
    if let Ok(results) = outcome {
        for r in results {
            state.metrics.stages(r.debug.timings_ms.iter());
            if let Some(u) = r.usage {
                state.metrics.tokens(u.prompt_tokens, u.completion_tokens);
            }
        }
    }
}

/// `{"prompt_tokens", "completion_tokens", "total_tokens"}`: the prompt once, the
/// completions of every result.
pub fn usage(results: &[ChatResult]) -> Value {
    let prompt = results.first().and_then(|r| r.usage).map_or(0, |u| u.prompt_tokens);
    let completion: usize = results.iter().filter_map(|r| r.usage).map(|u| u.completion_tokens).sum();
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

/// What was fed to the model as knowledge: request items, rule knowledge, FAQ
/// answers, provider snippets.
pub fn knowledge(result: &ChatResult, request: &ChatRequest) -> Value {
    let d = &result.debug;
    let mut items: Vec<Value> = request.knowledge.iter().map(|k| json!({"text": k, "source": "request"})).collect();
    if let Some(k) = d.hit_rule.as_ref().and_then(|r| r.append_knowledge.as_ref()) {
        items.push(json!({"text": k, "source": "rule"}));
    }
    for h in &d.faq_knowledge {
        items.push(json!({"text": h.answer, "source": "faq", "title": h.question}));
    }
    for p in &d.search_results {
        for s in &p.results.snippets {
            let mut item = json!({"text": s.text, "source": s.source.clone().unwrap_or_else(|| p.provider.clone())});
            for (key, value) in [("title", &s.title), ("url", &s.url), ("doc_id", &s.doc_id)] {
                if let Some(v) = value {
                    item[key] = json!(v);
                }
            }
            items.push(item);
        }
    }
    Value::Array(items)
}
