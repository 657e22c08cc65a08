//! The HTTP API in process (tower `oneshot`): request validation and error shapes,
//! API keys, the native and OpenAI replies, SSE framing, sessions, metrics.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use chatplug_server::ServerConfig;
use common::*;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

#[tokio::test]
async fn malformed_requests_get_json_errors_naming_the_field() {
    let s = default_server();
    let cases: &[(&str, &str)] = &[
        ("{", "not valid JSON"),
        ("", "empty"),
        ("[1, 2]", "JSON object"),
        (r#"{"query": 5}"#, "`query`"),
        (r#"{"query": "你好", "bogus": 1}"#, "bogus"),
        (r#"{"query": "你好", "history": [{"role": "robot", "utterance": "x"}]}"#, "history[0].role"),
        (r#"{"query": "   "}"#, "`query` is empty"),
        (r#"{"query": "你好", "generation": {"num_beams": "3"}}"#, "generation.num_beams"),
        (r#"{"query": "你好", "generation": {"beams": 3}}"#, "generation.beams"),
        (r#"{"query": "你好", "generation": {"max_new_tokens": 100000}}"#, "generation.max_new_tokens"),
        (r#"{"query": "你好", "session_id": "missing"}"#, "no session"),
    ];
    for (body, expected) in cases {
        let (status, reply) = post(&s.app, "/v1/chat", body).await;
        assert!(status.is_client_error(), "{body}: {status}");
        let kind = if status == StatusCode::NOT_FOUND { "not_found_error" } else { "invalid_request_error" };
        let message = error_message(&reply, kind);
        assert!(message.contains(expected), "{body}: {message}");
    }
    let (status, reply) = post(&s.app, "/v1/chat/completions", r#"{"messages": [{"role": "user"}]}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_message(&reply, "invalid_request_error").contains("messages[0]"), "{reply}");
    let (status, reply) = get(&s.app, "/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_message(&reply, "not_found_error");
    let (status, reply) = get(&s.app, "/v1/chat").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    error_message(&reply, "invalid_request_error");
}

#[tokio::test]
async fn limits_name_the_field_and_the_limit() {
    let mut config = ServerConfig::default();
    config.limits.max_query_chars = 10;
    config.limits.max_knowledge_items = 2;
    config.limits.max_history_turns = 1;
    config.limits.max_messages = 3;
    config.max_body_bytes = 2048;
    let s = server(config, Arc::new(PassageEchoGenerator::default()));
    let long = "长".repeat(11);
    let cases = [
        (json!({"query": long}), "`query` is too large: at most 10 characters"),
        (json!({"query": "你好", "knowledge": ["a", "b", "c"]}), "`knowledge` is too large: at most 2 items"),
        (
            json!({"query": "你好", "history": [{"role": "user", "utterance": "a"}, {"role": "bot", "utterance": "b"}]}),
            "`history` is too large: at most 1 turns",
        ),
        (
            json!({"query": "你好", "generation": {"num_beams": 100000}}),
            "`generation.num_beams` is too large: at most 8 beams",
        ),
        (
            json!({"query": "你好", "generation": {"num_return_sequences": 9}}),
            "`generation.num_return_sequences` is too large: at most 8 sequences",
        ),
    ];
    for (body, expected) in cases {
        let (status, reply) = post(&s.app, "/v1/chat", &body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(error_message(&reply, "invalid_request_error"), expected);
    }
    let messages: Vec<Value> = (0..4).map(|_| json!({"role": "user", "content": "hi"})).collect();
    let (status, reply) = post(&s.app, "/v1/chat/completions", &json!({"messages": messages}).to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_message(&reply, "invalid_request_error").contains("`messages` is too large"), "{reply}");
    let big = json!({"query": "x".repeat(5000)}).to_string();
    let (status, reply) = post(&s.app, "/v1/chat", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    error_message(&reply, "invalid_request_error");
}

#[tokio::test]
async fn api_keys_guard_v1_only() {
    let config = ServerConfig { api_keys: vec!["sk-test".into()], ..ServerConfig::default() };
    let s = server(config, Arc::new(PassageEchoGenerator::default()));
    let (status, reply) = get(&s.app, "/v1/models").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    error_message(&reply, "authentication_error");
    let wrong = request("GET", "/v1/models", None);
    let (parts, body) = wrong.into_parts();
    let mut wrong = axum::http::Request::from_parts(parts, body);
    wrong.headers_mut().insert("authorization", "Bearer nope".parse().unwrap());
    assert_eq!(send(&s.app, wrong).await.0, StatusCode::UNAUTHORIZED);
    let mut right = request("GET", "/v1/models", None);
    right.headers_mut().insert("authorization", "Bearer sk-test".parse().unwrap());
    let (status, reply) = send(&s.app, right).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(reply["data"][0]["id"], "chatplug");
    for open in ["/healthz", "/", "/static/app.js", "/static/style.css", "/metrics"] {
        assert_eq!(get(&s.app, open).await.0, StatusCode::OK, "{open}");
    }
}

#[tokio::test]
async fn native_reply_and_sessions() {
    let s = default_server();
    let (status, created) = post(&s.app, "/v1/sessions", r#"{"bot_profile": "我是小婉", "title": ""}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["turns"], json!([]));

    let body = json!({"query": "我喜欢画画", "session_id": id, "knowledge": ["画画是一种艺术"], "debug": true});
    let (status, reply) = post(&s.app, "/v1/chat", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["response"], "echo：我喜欢画画。");
    assert_eq!(reply["response_type"], "model");
    assert_eq!(reply["session_id"], id.as_str());
    assert_eq!(reply["knowledge"], json!([{"text": "画画是一种艺术", "source": "request"}]));
    assert_eq!(reply["usage"]["total_tokens"], 0, "the stand-in generator counts no tokens");
    let passages = reply["debug"]["passages"].as_array().unwrap();
    assert!(passages.iter().any(|p| p.as_str().unwrap().contains("我是小婉")), "the stored bot profile is used");

    let (_, reply) = post(&s.app, "/v1/chat", &json!({"query": "你呢", "session_id": id}).to_string()).await;
    assert_eq!(reply["response"], "echo：你呢。");
    let (status, session) = get(&s.app, &format!("/v1/sessions/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let turns: Vec<&str> = session["turns"].as_array().unwrap().iter().map(|t| t["utterance"].as_str().unwrap()).collect();
    assert_eq!(turns, ["我喜欢画画", "echo：我喜欢画画。", "你呢", "echo：你呢。"]);
    assert_eq!(session["title"], "我喜欢画画");
    let dynamic = session["dynamic_profiles"]["user_profile"].as_str().unwrap();
    assert!(dynamic.contains("我喜欢画画"), "{session}");

    let (status, _) = post(&s.app, "/v1/sessions", "").await;
    assert_eq!(status, StatusCode::CREATED, "a session needs no body");
    let (_, list) = get(&s.app, "/v1/sessions").await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[1]["id"], id.as_str(), "newest update first");
    assert_eq!(sessions[1]["turn_count"], 4);

    let delete = request("DELETE", &format!("/v1/sessions/{id}"), None);
    assert_eq!(send(&s.app, delete).await.0, StatusCode::NO_CONTENT);
    let (status, reply) = send(&s.app, request("DELETE", &format!("/v1/sessions/{id}"), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    error_message(&reply, "not_found_error");
}

/// The SSE events of a response body.
async fn sse_events(app: &axum::Router, path: &str, body: &str) -> Vec<(String, String)> {
    let response = app.clone().oneshot(request("POST", path, Some(body))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty() && !block.starts_with(':'))
        .map(|block| {
            let mut event = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = e.to_string();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = d.to_string();
                }
            }
            (event, data)
        })
        .collect()
}

#[tokio::test]
async fn native_stream_sends_deltas_then_done() {
    let s = default_server();
    let events = sse_events(&s.app, "/v1/chat", r#"{"query": "讲个故事", "stream": true}"#).await;
    let (last, deltas) = events.split_last().unwrap();
    assert_eq!(last.0, "done");
    let done: Value = serde_json::from_str(&last.1).unwrap();
    assert_eq!(done["response"], "echo：讲个故事。");
    let text: String = deltas
        .iter()
        .map(|(e, d)| {
            assert_eq!(e, "delta");
            serde_json::from_str::<Value>(d).unwrap()["text"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(text, "echo：讲个故事。", "deltas are full-width mapped like the reply");
    assert!(deltas.len() > 3, "one delta per character");
}

#[tokio::test]
async fn openai_choices_stop_and_stream() {
    let s = default_server();
    let body = json!({
        "model": "chatplug",
        "messages": [
            {"role": "system", "content": "你是一只猫"},
            {"role": "user", "content": "早"},
            {"role": "assistant", "content": "喵"},
            {"role": "user", "content": [{"type": "text", "text": "你好呀朋友"}]}
        ],
        "n": 2, "stop": ["朋"], "max_tokens": 50, "temperature": 0.7, "seed": 3
    });
    let (status, reply) = post(&s.app, "/v1/chat/completions", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["object"], "chat.completion");
    let choices = reply["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 2);
    for (i, c) in choices.iter().enumerate() {
        assert_eq!(c["index"], i);
        assert_eq!(c["message"]["role"], "assistant");
        assert_eq!(c["message"]["content"], "echo：你好呀", "cut before the stop string");
        assert_eq!(c["finish_reason"], "stop");
    }
    assert_eq!(s.generator.calls.load(std::sync::atomic::Ordering::SeqCst), 2, "one generation per choice");

    let mut stream_body = body.clone();
    stream_body["stream"] = json!(true);
    stream_body["n"] = json!(1);
    stream_body["stream_options"] = json!({"include_usage": true});
    let events = sse_events(&s.app, "/v1/chat/completions", &stream_body.to_string()).await;
    let data: Vec<&str> = events.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(data.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, "echo：你好呀");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks.last().unwrap()["choices"], json!([]));
    assert!(chunks.last().unwrap()["usage"]["total_tokens"].is_u64());
}

#[tokio::test]
async fn openai_request_errors() {
    let s = default_server();
    let cases = [
        (json!({"messages": []}), "`messages` is empty"),
        (json!({"messages": [{"role": "assistant", "content": "x"}]}), "messages[0].role"),
        (json!({"messages": [{"role": "user", "content": "x"}], "n": 9}), "`n` is too large"),
        (json!({"messages": [{"role": "user", "content": "x"}], "temperature": 5}), "`temperature`"),
        (json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}), "`max_tokens`"),
        (json!({"messages": [{"role": "tool", "content": "x"}]}), "messages[0].role"),
        (json!({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}), "image_url"),
        (json!({"messages": [{"role": "user", "content": "x"}], "functions": []}), "functions"),
    ];
    for (body, expected) in cases {
        let (status, reply) = post(&s.app, "/v1/chat/completions", &body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let message = error_message(&reply, "invalid_request_error");
        assert!(message.contains(expected), "{body}: {message}");
    }
}

#[tokio::test]
async fn metrics_count_requests_stages_and_queue() {
    let s = default_server();
    post(&s.app, "/v1/chat", r#"{"query": "你好"}"#).await;
    post(&s.app, "/v1/chat", r#"{"query": ""}"#).await;
    let response = s.app.clone().oneshot(request("GET", "/metrics", None)).await.unwrap();
    let text = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    for line in [
        "chatplug_requests_total{route=\"/v1/chat\",status=\"200\"} 1",
        "chatplug_requests_total{route=\"/v1/chat\",status=\"400\"} 1",
        "chatplug_errors_total{route=\"/v1/chat\",type=\"invalid_request_error\"} 1",
        "chatplug_stage_duration_seconds_count{stage=\"generate\"} 1",
        "chatplug_stage_duration_seconds_count{stage=\"total\"} 1",
        "chatplug_request_duration_seconds_count{route=\"/v1/chat\"} 2",
        "chatplug_queue_depth 0",
        "chatplug_queue_capacity 16",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
}

#[tokio::test]
async fn cors_allows_the_configured_origins_only() {
    let config = ServerConfig { cors_origins: vec!["https://chat.example.com".into()], ..ServerConfig::default() };
    let s = server(config, Arc::new(PassageEchoGenerator::default()));
    let preflight = |origin: &str| {
        axum::http::Request::builder()
            .method("OPTIONS")
            .uri("/v1/chat")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let allowed = s.app.clone().oneshot(preflight("https://chat.example.com")).await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://chat.example.com");
    let other = s.app.clone().oneshot(preflight("https://evil.example.com")).await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // Without configured origins no CORS headers are sent.
    let plain = default_server().app.oneshot(preflight("https://chat.example.com")).await.unwrap();
    assert!(plain.headers().get("access-control-allow-origin").is_none());
}
