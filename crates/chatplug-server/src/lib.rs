//! ChatPLUG over HTTP (axum): the native chat API (`POST /v1/chat`, with SSE
//! streaming), an OpenAI-compatible one (`POST /v1/chat/completions`, `GET /v1/models`),
//! persistent sessions (`/v1/sessions`, stored in SQLite, PostgreSQL or Redis),
//! `GET /healthz`, `GET /metrics` (Prometheus) and the web chat page (`/`).
//!
//! The crate knows no model: it runs a [`chatplug_dialogue::ChatPipeline`] with any
//! [`chatplug_dialogue::Generator`] on dedicated worker threads behind a bounded queue
//! ([`workers`]). `chatplug serve` (the CLI crate) plugs in the FiD model.
//!
//! Entry point: [`Server::new`] → [`Server::router`] / [`Server::serve`].

pub mod app;
pub mod config;
pub mod error;
pub mod generation;
pub mod limits;
pub mod metrics;
pub mod routes;
pub mod sessions;
pub mod stop;
pub mod turn;
pub mod workers;

pub use app::{AppState, Server};
pub use config::{Backend, ConfigError, Limits, ServerConfig, SessionsConfig};
pub use error::ApiError;
pub use sessions::{open_store, SessionStore};
