//! HTTP handlers, one module per API area.

pub mod chat;
pub mod health;
pub mod openai;
pub mod sessions;
pub mod sse;
pub mod static_files;
