//! An in-process server for the API tests, with a stand-in generator for the queue,
//! limit and cancellation mechanics (the real model is exercised end to end by the
//! CLI crate's `serve` tests).

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use chatplug_dialogue::{ChatPipeline, Config, Generated, Generator, STOPPED};
use chatplug_server::app::SharedState;
use chatplug_server::sessions::SqliteStore;
use chatplug_server::{Server, ServerConfig};
use http_body_util::BodyExt;
use serde_json::{Map, Value};
use tower::ServiceExt;

/// Test stand-in for the model: replies `echo:` plus the current utterance (what
/// follows the last `我：` in the first passage's dialogue context, before its first
/// `#`), one character at a time with `delay` between them. Counts calls and stops.
#[derive(Default)]
pub struct PassageEchoGenerator {
    pub delay: Duration,
    pub calls: AtomicUsize,
    pub stopped: AtomicUsize,
}

impl PassageEchoGenerator {
    pub fn slow(delay_ms: u64) -> Arc<Self> {
        Arc::new(PassageEchoGenerator { delay: Duration::from_millis(delay_ms), ..Default::default() })
    }

    fn reply(passages: &[String]) -> String {
        let first = passages.first().map(String::as_str).unwrap_or("");
        let context = first.split('#').next().unwrap_or("");
        format!("echo:{}", context.rsplit("我：").next().unwrap_or(""))
    }
}

impl Generator for PassageEchoGenerator {
    fn generate(&self, passages: &[String], options: &Map<String, Value>) -> Result<String, String> {
        self.generate_streaming(passages, options, &mut |_| true).map(|g| g.text)
    }

    fn generate_streaming(
        &self,
        passages: &[String],
        _options: &Map<String, Value>,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generated, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let reply = Self::reply(passages);
        for c in reply.chars() {
            std::thread::sleep(self.delay);
            if !on_text(&c.to_string()) {
                self.stopped.fetch_add(1, Ordering::SeqCst);
                return Err(STOPPED.into());
            }
        }
        Ok(Generated { text: reply, usage: None })
    }
}

pub struct TestServer {
    pub app: Router,
    pub state: SharedState,
    pub generator: Arc<PassageEchoGenerator>,
    _dir: tempfile::TempDir,
}

pub fn server(config: ServerConfig, generator: Arc<PassageEchoGenerator>) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("sessions.sqlite3")).unwrap());
    let pipeline = Arc::new(ChatPipeline::new(Config::default()).unwrap());
    let server = Server::new(config, pipeline, generator.clone(), store);
    TestServer { app: server.router().unwrap(), state: server.state().clone(), generator, _dir: dir }
}

pub fn default_server() -> TestServer {
    server(ServerConfig::default(), Arc::new(PassageEchoGenerator::default()))
}

pub fn request(method: &str, path: &str, body: Option<&str>) -> Request<Body> {
    let builder = Request::builder().method(method).uri(path);
    match body {
        Some(b) => builder.header("content-type", "application/json").body(Body::from(b.to_string())).unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// Sends a request; returns the status and the body as JSON (`Value::String` when it
/// is not JSON).
pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub async fn post(app: &Router, path: &str, body: &str) -> (StatusCode, Value) {
    send(app, request("POST", path, Some(body))).await
}

pub async fn get(app: &Router, path: &str) -> (StatusCode, Value) {
    send(app, request("GET", path, None)).await
}

/// Asserts the contract's error shape and returns the message.
pub fn error_message(body: &Value, kind: &str) -> String {
    assert_eq!(body["error"]["type"], kind, "{body}");
    body["error"]["message"].as_str().expect("error.message").to_string()
}

/// Waits until `cond` holds (at most 10 s).
pub async fn eventually(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}
