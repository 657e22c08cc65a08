//! The router: routes, API-key check on `/v1/*`, metrics, body limit, CORS, JSON
//! errors for unknown routes and methods.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum::Extension;
use chatplug_dialogue::{ChatPipeline, Generator};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::ServerConfig;
use crate::error::{ApiError, BodyLimits, ErrorKind};
use crate::metrics::Metrics;
use crate::routes;
use crate::sessions::SessionStore;
use crate::workers::{self, Engine, Queue};

/// What every handler sees.
pub struct AppState {
    pub config: ServerConfig,
    pub queue: Arc<Queue>,
    pub store: Arc<dyn SessionStore>,
    pub metrics: Arc<Metrics>,
    /// Unix time the server started (OpenAI `created` of the model).
    pub started: u64,
}

pub type SharedState = Arc<AppState>;

/// A configured server: workers started, routes ready.
pub struct Server {
    state: SharedState,
}

impl Server {
    /// Starts `config.workers` model workers running `pipeline` with `generator`.
    pub fn new(
        config: ServerConfig,
        pipeline: Arc<ChatPipeline>,
        generator: Arc<dyn Generator + Send + Sync>,
        store: Arc<dyn SessionStore>,
    ) -> Server {
        let metrics = Arc::new(Metrics::default());
        let engine = Arc::new(Engine { pipeline, generator, store: store.clone(), metrics: metrics.clone() });
        let queue = workers::start(engine, config.workers, config.queue_capacity);
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Server { state: Arc::new(AppState { config, queue, store, metrics, started }) }
    }

    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// The axum app. Fails on a CORS origin that is not a valid header value.
    pub fn router(&self) -> Result<Router, ApiError> {
        let state = self.state.clone();
        let api = Router::new()
            .route("/v1/chat", post(routes::chat::chat))
            .route("/v1/chat/completions", post(routes::openai::completions))
            .route("/v1/models", get(routes::openai::models))
            .route("/v1/sessions", post(routes::sessions::create).get(routes::sessions::list))
            .route("/v1/sessions/{id}", get(routes::sessions::get).delete(routes::sessions::delete))
            .route_layer(middleware::from_fn_with_state(state.clone(), require_api_key));
        let mut app = Router::new()
            .merge(api)
            .route("/", get(routes::static_files::index))
            .route("/static/app.js", get(routes::static_files::app_js))
            .route("/static/style.css", get(routes::static_files::style_css))
            .route("/healthz", get(routes::health::healthz))
            .route("/metrics", get(routes::health::metrics))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
            .layer(Extension(BodyLimits {
                max_bytes: state.config.max_body_bytes,
                timeout: Duration::from_secs_f64(state.config.client_timeout_s),
            }))
            .layer(middleware::from_fn_with_state(state.clone(), record_metrics))
            .with_state(state.clone());
        if let Some(cors) = cors_layer(&state.config.cors_origins)? {
            app = app.layer(cors);
        }
        Ok(app)
    }

    /// Serves on `listener` until ctrl-c / SIGTERM, then lets the requests in flight
    /// finish and stops the workers.
    ///
    /// Each connection is served by hyper with a timer, so that a client that does not
    /// send its request head within `client_timeout_s` is disconnected (axum's `serve`
    /// sets no timer, and then an idle client holds its connection for ever); the body
    /// gets the same time in [`crate::error::ApiJson`].
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let app = self.router().map_err(|e| std::io::Error::other(e.message))?;
        let client_timeout = Duration::from_secs_f64(self.state.config.client_timeout_s);
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown_signal());
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, or a connection reset before it was
                        // accepted: the listener itself is fine, so wait a moment and go on.
                        tracing::warn!("accepting a connection failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = &mut shutdown => break,
            };
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(client_timeout);
            let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!("connection ended with an error: {e}");
                }
            });
        }
        drop(listener);
        graceful.shutdown().await;
        self.state.queue.shutdown();
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, ApiError> {
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| HeaderValue::from_str(o).map_err(|_| ApiError::server(format!("server.cors_origins: `{o}` is not a valid origin"))))
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
    ))
}

/// `Authorization: Bearer <key>` with one of the configured keys (none configured:
/// open).
async fn require_api_key(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let keys = &state.config.api_keys;
    if keys.is_empty() {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(key) if keys.iter().any(|k| k == key) => next.run(request).await,
        Some(_) => auth_error("the API key is not valid").into_response(),
        None => auth_error("an API key is required: send `Authorization: Bearer <key>`").into_response(),
    }
}

fn auth_error(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "authentication_error", message).with_code("invalid_api_key")
}

async fn record_metrics(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let start = Instant::now();
    let response = next.run(request).await;
    let kind = response.extensions().get::<ErrorKind>().map(|k| k.0);
    let seconds = start.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state.metrics.request(&route, status, seconds, kind);
    // One line per request for operators (`CHATPLUG_LOG=info`, the default of `serve`);
    // server errors at `warn`.
    let ms = seconds * 1e3;
    if status >= 500 {
        tracing::warn!(%method, route = %route, status, ms, "request failed");
    } else {
        tracing::info!(%method, route = %route, status, ms, "request");
    }
    response
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!("no route {} {}", request.method(), request.uri().path()))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        format!("method {} is not allowed on {}", request.method(), request.uri().path()),
    )
}
