//! JSON over HTTP with a per-request timeout and retries with exponential backoff on
//! 5xx answers, timeouts and connection failures (never on 4xx or bad bodies: asking
//! again would get the same answer).
//!
//! The client is `reqwest`'s blocking one: call it from plain threads, never from
//! inside a tokio runtime (the fan-out gives every search its own thread).

use serde_json::Value;
use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

/// Timeout and retry settings of one provider's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpPolicy {
    /// Limit on one request, connection to last body byte.
    pub timeout: Duration,
    /// Extra attempts after a retryable failure.
    pub retries: u32,
    /// Wait before the first retry; doubled before each later one.
    pub backoff: Duration,
}

/// HTTP method of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    /// Query-string pairs added to `url` (encoded by the client).
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl HttpRequest {
    pub fn get(url: impl Into<String>) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: url.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }
}

/// Why a request got no JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpError {
    /// A non-2xx answer; `body` is its start.
    Status {
        status: u16,
        body: String,
    },
    Timeout(Duration),
    /// No connection, reset, bad URL...
    Transport(String),
    /// A 2xx answer whose body is empty.
    Empty,
    /// A 2xx answer whose body is not JSON.
    Malformed(String),
}

impl HttpError {
    /// Whether asking again may help.
    pub fn retryable(&self) -> bool {
        match self {
            HttpError::Status { status, .. } => *status >= 500,
            HttpError::Timeout(_) | HttpError::Transport(_) => true,
            HttpError::Empty | HttpError::Malformed(_) => false,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Status { status, body } if body.is_empty() => write!(f, "HTTP {status}"),
            HttpError::Status { status, body } => write!(f, "HTTP {status}: {body}"),
            HttpError::Timeout(t) => write!(f, "no answer within {} ms", t.as_millis()),
            HttpError::Transport(e) => write!(f, "request failed: {e}"),
            HttpError::Empty => write!(f, "empty response body (expected JSON)"),
            HttpError::Malformed(e) => write!(f, "response is not valid JSON: {e}"),
        }
    }
}

/// Characters of an error body kept in messages.
const BODY_EXCERPT_CHARS: usize = 200;

/// A blocking HTTP client with one provider's policy.
pub struct HttpClient {
    /// Built on first use, on the searching thread: reqwest's blocking client must
    /// not be built inside a tokio runtime, and the fan-out searches on plain threads
    /// even when the pipeline itself is built or run inside one.
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
    policy: HttpPolicy,
}

impl HttpClient {
    pub fn new(policy: HttpPolicy) -> HttpClient {
        HttpClient {
            client: OnceLock::new(),
            policy,
        }
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, HttpError> {
        self.client
            .get_or_init(|| {
                reqwest::blocking::Client::builder()
                    .timeout(self.policy.timeout)
                    .connect_timeout(self.policy.timeout)
                    .user_agent(concat!("chatplug/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .as_ref()
            .map_err(|e| HttpError::Transport(e.clone()))
    }

    /// Sends `request`, retrying retryable failures; the last failure when all fail.
    pub fn send_json(&self, request: &HttpRequest) -> Result<Value, HttpError> {
        let mut wait = self.policy.backoff;
        let mut attempt = 0;
        loop {
            match self.send_once(request) {
                Err(e) if e.retryable() && attempt < self.policy.retries => {
                    tracing::debug!(url = %request.url, attempt, error = %e, "retrying");
                    std::thread::sleep(wait);
                    wait = wait.saturating_mul(2);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn send_once(&self, request: &HttpRequest) -> Result<Value, HttpError> {
        let client = self.client()?;
        let mut builder = match request.method {
            Method::Get => client.get(&request.url),
            Method::Post => client.post(&request.url),
        };
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        let response = builder.send().map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let text = response.text().map_err(|e| self.transport_error(e))?;
        if !status.is_success() {
            return Err(HttpError::Status {
                status: status.as_u16(),
                body: text.trim().chars().take(BODY_EXCERPT_CHARS).collect(),
            });
        }
        if text.trim().is_empty() {
            return Err(HttpError::Empty);
        }
        serde_json::from_str(&text).map_err(|e| HttpError::Malformed(e.to_string()))
    }

    fn transport_error(&self, e: reqwest::Error) -> HttpError {
        if e.is_timeout() {
            HttpError::Timeout(self.policy.timeout)
        } else {
            // The innermost cause says what went wrong (refused, reset...).
            let mut inner: &dyn std::error::Error = &e;
            while let Some(next) = inner.source() {
                inner = next;
            }
            let cause = inner.to_string();
            let outer = e.without_url().to_string();
            if outer == cause {
                HttpError::Transport(outer)
            } else {
                HttpError::Transport(format!("{outer}: {cause}"))
            }
        }
    }
}
