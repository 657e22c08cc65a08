//! Worker and queue mechanics with a slow stand-in generator: a full queue answers
//! 429 (or 503), a client that goes away leaves the queue or stops its generation, a
//! slow turn times out with 504, concurrent turns keep their own replies.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::StatusCode;
use chatplug_server::ServerConfig;
use common::*;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

fn config(workers: usize, queue_capacity: usize) -> ServerConfig {
    ServerConfig { workers, queue_capacity, ..ServerConfig::default() }
}

type Pending = tokio::task::JoinHandle<(StatusCode, Value)>;

/// Starts one request that keeps the only worker busy and one that takes the only
/// queue place; returns them once both are in place.
async fn fill_worker_and_queue(s: &TestServer) -> (Pending, Pending) {
    let state = s.state.clone();
    let app = s.app.clone();
    let running = tokio::spawn(async move { post(&app, "/v1/chat", r#"{"query": "一"}"#).await });
    eventually("a busy worker", || state.metrics.busy_workers.load(Ordering::SeqCst) == 1).await;
    let app = s.app.clone();
    let queued = tokio::spawn(async move { post(&app, "/v1/chat", r#"{"query": "二"}"#).await });
    eventually("a queued request", || state.metrics.queue_depth.load(Ordering::SeqCst) == 1).await;
    (running, queued)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_answers_429_and_the_others_finish() {
    let s = server(config(1, 1), PassageEchoGenerator::slow(40));
    let (running, queued) = fill_worker_and_queue(&s).await;
    let (status, reply) = post(&s.app, "/v1/chat", r#"{"query": "三"}"#).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(error_message(&reply, "rate_limit_error").contains("busy"));
    assert_eq!(reply["error"]["code"], "queue_full");

    let (status, reply) = running.await.unwrap();
    assert_eq!((status, reply["response"].as_str()), (StatusCode::OK, Some("echo：一。")));
    let (status, reply) = queued.await.unwrap();
    assert_eq!((status, reply["response"].as_str()), (StatusCode::OK, Some("echo：二。")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_can_answer_503() {
    let s = server(ServerConfig { queue_full_status: 503, ..config(1, 1) }, PassageEchoGenerator::slow(40));
    let (running, queued) = fill_worker_and_queue(&s).await;
    let (status, reply) = post(&s.app, "/v1/chat", r#"{"query": "三"}"#).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    error_message(&reply, "rate_limit_error");
    assert_eq!(running.await.unwrap().0, StatusCode::OK);
    assert_eq!(queued.await.unwrap().0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_request_whose_client_leaves_never_runs() {
    let s = server(config(1, 4), PassageEchoGenerator::slow(40));
    let state = s.state.clone();
    let app = s.app.clone();
    let running = tokio::spawn(async move { post(&app, "/v1/chat", r#"{"query": "一"}"#).await });
    eventually("a busy worker", || state.metrics.busy_workers.load(Ordering::SeqCst) == 1).await;
    let app = s.app.clone();
    let leaving = tokio::spawn(async move { post(&app, "/v1/chat", r#"{"query": "二"}"#).await });
    eventually("a queued request", || state.metrics.queue_depth.load(Ordering::SeqCst) == 1).await;
    // The client goes away: the handler future is dropped.
    leaving.abort();
    eventually("the queue to empty", || state.metrics.queue_depth.load(Ordering::SeqCst) == 0).await;
    assert_eq!(running.await.unwrap().0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.generator.calls.load(Ordering::SeqCst), 1, "the dropped request was never generated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_client_leaves_stops_generating() {
    let s = server(config(1, 4), PassageEchoGenerator::slow(30));
    let body = json!({"query": "这是一个很长的问题需要很长的回答才可以", "stream": true}).to_string();
    let response = s.app.clone().oneshot(request("POST", "/v1/chat", Some(&body))).await.unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: delta"));
    drop(body);
    let g = s.generator.clone();
    eventually("the generation to stop", || g.stopped.load(Ordering::SeqCst) == 1).await;
    let state = s.state.clone();
    eventually("the worker to be free", || state.metrics.busy_workers.load(Ordering::SeqCst) == 0).await;
    // The worker serves the next request.
    let (status, _) = post(&s.app, "/v1/chat", r#"{"query": "好"}"#).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_turn_times_out_with_504_and_stops() {
    let s = server(ServerConfig { request_timeout_s: 0.3, ..config(1, 4) }, PassageEchoGenerator::slow(100));
    let (status, reply) = post(&s.app, "/v1/chat", r#"{"query": "这个回答要很久很久"}"#).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(reply["error"]["type"], "timeout");
    let g = s.generator.clone();
    eventually("the generation to stop", || g.stopped.load(Ordering::SeqCst) == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_turns_get_their_own_replies() {
    let s = server(config(3, 64), PassageEchoGenerator::slow(2));
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let app = s.app.clone();
            tokio::spawn(async move {
                let query = format!("问题编号{i}号");
                let stream = i % 2 == 0;
                let body = json!({"query": query, "stream": stream}).to_string();
                let (status, reply) = post(&app, "/v1/chat", &body).await;
                (i, status, reply, stream)
            })
        })
        .collect();
    for t in tasks {
        let (i, status, reply, stream) = t.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        let want = format!("echo：问题编号{i}号。");
        if stream {
            let text = reply.as_str().unwrap();
            let done = text.split("event: done\ndata: ").nth(1).unwrap().trim();
            let done: Value = serde_json::from_str(done).unwrap();
            assert_eq!(done["response"], want.as_str());
        } else {
            assert_eq!(reply["response"], want.as_str());
        }
    }
}
