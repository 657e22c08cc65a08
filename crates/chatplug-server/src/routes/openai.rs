//! The OpenAI-compatible API: `POST /v1/chat/completions` and `GET /v1/models`.
//!
//! Mapping: `system` (and `developer`) messages → the role instruction (one more
//! bot-profile passage for the FiD model); earlier `user`/`assistant` messages → the
//! history; the last message (must be `user`) → the query. `max_tokens` (or
//! `max_completion_tokens`) → `max_new_tokens`; `temperature` 0 → greedy search;
//! `temperature` > 0 or `top_p` → sampling with them; neither → the configured
//! decoding (beam search by default); `seed` → the sampling seed (choice `i` of `n`
//! uses `seed + i`); `stop` cuts the reply before the first stop string.
//! `frequency_penalty`, `presence_penalty`, `logit_bias`, `user` and `stream_options`
//! other than `include_usage` are accepted and have no effect.

use axum::extract::State;
use axum::response::sse::Event as SseEvent;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatplug_dialogue::{ChatRequest, ChatResult, Turn};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::app::SharedState;
use crate::error::{ApiError, ApiJson};
use crate::limits::{check_chars, check_count, check_request};
use crate::routes::sse::{stream, StreamFormat};
use crate::turn::{self, submit};
use crate::workers::TurnJob;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
// The compatibility-only fields are parsed (so their types are checked) but not read.
#[allow(dead_code)]
pub struct CompletionRequest {
    #[serde(default)]
    model: Option<String>,
    messages: Vec<Message>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    n: Option<u64>,
    stop: Option<Stop>,
    seed: Option<u64>,
    #[serde(default)]
    stream: bool,
    stream_options: Option<StreamOptions>,
    // Accepted for compatibility; no effect.
    #[serde(default)]
    frequency_penalty: Option<f64>,
    #[serde(default)]
    presence_penalty: Option<f64>,
    #[serde(default)]
    logit_bias: Option<Map<String, Value>>,
    #[serde(default)]
    user: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    include_usage: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Message {
    role: MessageRole,
    content: Content,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum MessageRole {
    System,
    Developer,
    User,
    Assistant,
}

/// A string, or OpenAI content parts of which only text parts are supported.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
struct Part {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

impl Content {
    fn text(&self, field: &str) -> Result<String, ApiError> {
        match self {
            Content::Text(t) => Ok(t.clone()),
            Content::Parts(parts) => parts
                .iter()
                .enumerate()
                .map(|(i, p)| match (p.kind.as_str(), &p.text) {
                    ("text", Some(t)) => Ok(t.clone()),
                    (kind, _) => Err(ApiError::invalid(format!(
                        "`{field}[{i}]`: only text content parts are supported, got type `{kind}`"
                    ))),
                })
                .collect(),
        }
    }
}

/// The ChatPLUG request of a list of messages.
fn to_chat_request(messages: &[Message], state: &SharedState) -> Result<ChatRequest, ApiError> {
    let limits = &state.config.limits;
    check_count("messages", messages.len(), limits.max_messages, "messages")?;
    let Some((last, earlier)) = messages.split_last() else {
        return Err(ApiError::invalid("`messages` is empty; the last message must be the user's"));
    };
    if last.role != MessageRole::User {
        return Err(ApiError::invalid(format!(
            "`messages[{}].role`: the last message must be a user message",
            messages.len() - 1
        )));
    }
    let mut request = ChatRequest::new(last.content.text(&format!("messages[{}].content", messages.len() - 1))?);
    let mut system = Vec::new();
    for (i, m) in earlier.iter().enumerate() {
        let text = m.content.text(&format!("messages[{i}].content"))?;
        check_chars(&format!("messages[{i}].content"), &text, limits.max_utterance_chars)?;
        match m.role {
            MessageRole::System | MessageRole::Developer => system.push(text),
            MessageRole::User => request.history.push(Turn::user(text)),
            MessageRole::Assistant => request.history.push(Turn::bot(text)),
        }
    }
    if !system.is_empty() {
        request.role_instruction = Some(system.join("\n"));
    }
    check_request(&request, limits, "messages").map_err(|mut e| {
        // The query is the last message's content.
        e.message = e.message.replace("`query`", &format!("`messages[{}].content`", messages.len() - 1));
        e
    })?;
    Ok(request)
}

/// HF generate options of the sampling fields.
fn generation_options(body: &CompletionRequest, max_new_tokens: usize) -> Result<Map<String, Value>, ApiError> {
    let mut options = Map::new();
    if let Some(n) = body.max_completion_tokens.or(body.max_tokens) {
        let field = if body.max_completion_tokens.is_some() { "max_completion_tokens" } else { "max_tokens" };
        if n == 0 {
            return Err(ApiError::invalid(format!("`{field}` must be at least 1")));
        }
        if n as usize > max_new_tokens {
            return Err(ApiError::too_large(field, max_new_tokens, "tokens"));
        }
        options.insert("max_new_tokens".into(), json!(n));
    }
    if let Some(t) = body.temperature {
        if !(0.0..=2.0).contains(&t) {
            return Err(ApiError::invalid(format!("`temperature` must be within [0, 2], got {t}")));
        }
    }
    if let Some(p) = body.top_p {
        if !(p > 0.0 && p <= 1.0) {
            return Err(ApiError::invalid(format!("`top_p` must be within (0, 1], got {p}")));
        }
    }
    match (body.temperature, body.top_p) {
        (Some(t), _) if t <= 0.0 => {
            options.insert("num_beams".into(), json!(1));
            options.insert("do_sample".into(), json!(false));
        }
        (None, None) => {}
        (t, p) => {
            options.insert("num_beams".into(), json!(1));
            options.insert("do_sample".into(), json!(true));
            options.insert("temperature".into(), json!(t.unwrap_or(1.0)));
            options.insert("top_p".into(), json!(p.unwrap_or(1.0)));
        }
    }
    if let Some(seed) = body.seed {
        options.insert("seed".into(), json!(seed));
    }
    Ok(options)
}

pub async fn completions(
    State(state): State<SharedState>,
    ApiJson(body): ApiJson<CompletionRequest>,
) -> Result<Response, ApiError> {
    let limits = &state.config.limits;
    let request = to_chat_request(&body.messages, &state)?;
    let options = generation_options(&body, limits.max_new_tokens)?;
    let choices = body.n.unwrap_or(1);
    if choices == 0 {
        return Err(ApiError::invalid("`n` must be at least 1"));
    }
    check_count("n", choices as usize, limits.max_choices, "choices")?;
    let stop = match &body.stop {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s.clone()],
        Some(Stop::Many(v)) => v.clone(),
    };
    check_count("stop", stop.len(), limits.max_stop_strings, "strings")?;
    if stop.iter().any(String::is_empty) {
        return Err(ApiError::invalid("`stop` strings must not be empty"));
    }
    let max_new_tokens = options.get("max_new_tokens").and_then(Value::as_u64);
    let job = TurnJob { request, overrides: options, choices: choices as usize, stop, session_id: None };
    let ticket = submit(&state, job)?;
    let format = Completion {
        id: format!("chatcmpl-{:024x}", rand::random::<u128>() >> 32),
        created: unix_now(),
        model: body.model.clone().unwrap_or_else(|| state.config.model_name.clone()),
        max_new_tokens,
        include_usage: body.stream_options.as_ref().is_some_and(|o| o.include_usage),
        streamed: vec![String::new(); choices as usize],
    };
    if body.stream {
        return Ok(stream(state, ticket, format));
    }
    let results = turn::results(&state, ticket).await?;
    Ok(Json(format.object(&results)).into_response())
}

pub async fn models(State(state): State<SharedState>) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{"id": state.config.model_name, "object": "model", "created": state.started, "owned_by": "chatplug"}],
    }))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Renders completions and completion chunks.
struct Completion {
    id: String,
    created: u64,
    model: String,
    max_new_tokens: Option<u64>,
    include_usage: bool,
    /// Text streamed so far, per choice.
    streamed: Vec<String>,
}

impl Completion {
    /// `length` when the reply used all the tokens it was allowed, else `stop`.
    fn finish_reason(&self, result: &ChatResult) -> &'static str {
        match (self.max_new_tokens, result.usage) {
            (Some(max), Some(u)) if u.completion_tokens as u64 >= max => "length",
            _ => "stop",
        }
    }

    fn object(&self, results: &[ChatResult]) -> Value {
        let choices: Vec<Value> = results
            .iter()
            .enumerate()
            .map(|(i, r)| json!({
                "index": i,
                "message": {"role": "assistant", "content": r.response},
                "logprobs": null,
                "finish_reason": self.finish_reason(r),
            }))
            .collect();
        json!({
            "id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
            "system_fingerprint": null, "choices": choices, "usage": turn::usage(results),
        })
    }

    fn chunk(&self, choices: Value) -> SseEvent {
        SseEvent::default().data(self.chunk_object(choices).to_string())
    }

    fn chunk_object(&self, choices: Value) -> Value {
        json!({"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
               "system_fingerprint": null, "choices": choices})
    }
}

impl StreamFormat for Completion {
    fn start(&mut self) -> Vec<SseEvent> {
        (0..self.streamed.len())
            .map(|i| self.chunk(json!([{"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}])))
            .collect()
    }

    fn delta(&mut self, choice: usize, text: &str) -> Vec<SseEvent> {
        if let Some(s) = self.streamed.get_mut(choice) {
            s.push_str(text);
        }
        vec![self.chunk(json!([{"index": choice, "delta": {"content": text}, "logprobs": null, "finish_reason": null}]))]
    }

    /// The final chunks. Post-processing may have changed the reply after it was
    /// streamed; what it appended is sent as one more delta, other changes cannot be
    /// taken back (the non-streaming reply and the native `done` event are exact).
    fn done(&mut self, results: &[ChatResult]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for (i, r) in results.iter().enumerate() {
            let streamed = self.streamed.get(i).map(String::as_str).unwrap_or("");
            if let Some(rest) = r.response.strip_prefix(streamed).filter(|rest| !rest.is_empty()) {
                events.push(self.chunk(json!([{"index": i, "delta": {"content": rest}, "logprobs": null, "finish_reason": null}])));
            }
            events.push(self.chunk(json!([{"index": i, "delta": {}, "logprobs": null, "finish_reason": self.finish_reason(r)}])));
        }
        if self.include_usage {
            let mut usage = self.chunk_object(json!([]));
            usage["usage"] = turn::usage(results);
            events.push(SseEvent::default().data(usage.to_string()));
        }
        events.push(SseEvent::default().data("[DONE]"));
        events
    }

    fn error(&mut self, error: &ApiError) -> Vec<SseEvent> {
        vec![SseEvent::default().data(error.body().to_string()), SseEvent::default().data("[DONE]")]
    }
}
