//! `POST /v1/chat`: the native request (issue 3's fields plus `session_id`,
//! `generation`, `debug`, `stream`).

use axum::extract::State;
use axum::response::sse::Event as SseEvent;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatplug_dialogue::{ChatRequest, ChatResult, Turn};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::app::SharedState;
use crate::error::{ApiError, ApiJson};
use crate::generation::check_options;
use crate::limits::check_request;
use crate::routes::sse::{stream, StreamFormat};
use crate::turn::{self, apply_session, load_session, submit, ProfilesGiven};
use crate::workers::TurnJob;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeRequest {
    query: String,
    session_id: Option<String>,
    #[serde(default)]
    history: Vec<Turn>,
    #[serde(default)]
    knowledge: Vec<String>,
    bot_profile: Option<String>,
    user_profile: Option<String>,
    role_instruction: Option<String>,
    #[serde(default)]
    dialog_state: Map<String, Value>,
    #[serde(default)]
    generation: Map<String, Value>,
    #[serde(default)]
    debug: bool,
    #[serde(default)]
    stream: bool,
}

pub async fn chat(State(state): State<SharedState>, ApiJson(body): ApiJson<NativeRequest>) -> Result<Response, ApiError> {
    let limits = &state.config.limits;
    check_options(&body.generation, "generation", limits)?;
    let given = ProfilesGiven {
        bot_profile: body.bot_profile.is_some(),
        user_profile: body.user_profile.is_some(),
        role_instruction: body.role_instruction.is_some(),
    };
    let mut request = ChatRequest {
        query: body.query,
        history: body.history,
        knowledge: body.knowledge,
        bot_profile: body.bot_profile.unwrap_or_default(),
        user_profile: body.user_profile.unwrap_or_default(),
        role_instruction: body.role_instruction,
        dialog_state: body.dialog_state,
    };
    if let Some(id) = &body.session_id {
        if !request.history.is_empty() {
            return Err(ApiError::invalid("give either `history` or `session_id`: a session's history is its stored turns"));
        }
        let session = load_session(&state, id).await?;
        apply_session(&mut request, &session, given);
    }
    check_request(&request, limits, "history")?;
    let job = TurnJob {
        request: request.clone(),
        overrides: body.generation,
        choices: 1,
        stop: Vec::new(),
        session_id: body.session_id.clone(),
    };
    let ticket = submit(&state, job)?;
    let reply = Reply { session_id: body.session_id, request, debug: body.debug };
    if body.stream {
        return Ok(stream(state, ticket, reply));
    }
    let results = turn::results(&state, ticket).await?;
    Ok(Json(reply.object(&results[0])).into_response())
}

/// Builds the reply object (and the native SSE events).
struct Reply {
    session_id: Option<String>,
    request: ChatRequest,
    debug: bool,
}

impl Reply {
    fn object(&self, result: &ChatResult) -> Value {
        let mut reply = json!({
            "session_id": self.session_id,
            "response": result.response,
            "response_type": result.response_type,
            "grounding_evidence": result.grounding_evidence,
            "knowledge": turn::knowledge(result, &self.request),
            "usage": turn::usage(std::slice::from_ref(result)),
            "dialog_state": result.dialog_state,
        });
        if self.debug {
            reply["debug"] = json!(result.debug);
        }
        reply
    }
}

impl StreamFormat for Reply {
    fn delta(&mut self, _choice: usize, text: &str) -> Vec<SseEvent> {
        vec![SseEvent::default().event("delta").data(json!({"text": text}).to_string())]
    }
    fn done(&mut self, results: &[ChatResult]) -> Vec<SseEvent> {
        vec![SseEvent::default().event("done").data(self.object(&results[0]).to_string())]
    }
    fn error(&mut self, error: &ApiError) -> Vec<SseEvent> {
        vec![SseEvent::default().event("error").data(error.body().to_string())]
    }
}
