//! The API's one error shape, `{"error": {"message", "type", "code"}}` (OpenAI's), and
//! the JSON body extractor that turns every malformed body into it.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `not_found_error`,
    /// `rate_limit_error`, `timeout`, `server_error`...
    pub kind: &'static str,
    pub code: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), kind, code: None }
    }
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }
    /// A field over its limit: names the field and the limit.
    pub fn too_large(field: &str, limit: usize, unit: &str) -> Self {
        Self::invalid(format!("`{field}` is too large: at most {limit} {unit}")).with_code("field_too_large")
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found_error", message)
    }
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", message)
    }
    pub fn timeout(seconds: f64) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "timeout", format!("the reply took longer than {seconds} s"))
            .with_code("timeout")
    }

    /// The JSON body (also sent as an SSE `error` event).
    pub fn body(&self) -> serde_json::Value {
        json!({"error": {"message": self.message, "type": self.kind, "code": self.code}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        // Lets the metrics layer count errors by type.
        response.extensions_mut().insert(ErrorKind(self.kind));
        response
    }
}

/// The error type of a response, for metrics.
#[derive(Debug, Clone, Copy)]
pub struct ErrorKind(pub &'static str);

/// A JSON body; a bad one is a 400 naming the field (`messages[2].role: unknown
/// variant ...`), a too large one a 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        parse_json(&read_body(req, state).await?).map(ApiJson)
    }
}

/// A body that may be empty (then `T::default()`).
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        parse_json(&bytes).map(OptionalJson)
    }
}

/// What a request body may be (`server.max_body_bytes`, `server.client_timeout_s`), a
/// request extension the router adds.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_bytes: usize,
    /// How long the body may take to arrive once the head is in.
    pub timeout: std::time::Duration,
}

fn body_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error", "the request body is too large")
        .with_code("body_too_large")
}

/// The body, within the configured size and time.
async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let limits = req.extensions().get::<BodyLimits>().copied();
    if let Some(limits) = limits {
        // A declared length over the limit is refused before waiting for a byte of it.
        let declared = req.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limits.max_bytes as u64) {
            return Err(body_too_large());
        }
    }
    let reading = Bytes::from_request(req, state);
    let read = match limits {
        Some(limits) => tokio::time::timeout(limits.timeout, reading).await.map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request_error",
                format!("the request body did not arrive within {} s", limits.timeout.as_secs_f64()),
            )
            .with_code("body_timeout")
        })?,
        None => reading.await,
    };
    read.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            body_too_large()
        } else {
            ApiError::invalid(format!("cannot read the request body: {rejection}"))
        }
    })
}

/// Parses a JSON object body into `T`; errors name the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("the request body is empty; expected a JSON object"));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("the request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::invalid("the request body must be a JSON object"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path.is_empty() || path == "." {
            ApiError::invalid(inner.to_string())
        } else {
            ApiError::invalid(format!("`{path}`: {inner}"))
        }
    })
}
