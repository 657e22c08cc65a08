//! Knowledge providers for ChatPLUG's learn-to-search stage (reference §4 stages
//! 8–9), behind `chatplug_dialogue::KnowledgeProvider`:
//!
//! - web search over HTTP: Bing Web Search v7 (web + news, with the computation /
//!   time-zone / translation cards), SearXNG's JSON API, and a generic JSON service
//!   described by a URL template and field paths;
//! - a knowledge-graph triple file (provider kind `Graph`).
//!
//! Web providers are made robust here: per-request timeout, retries with backoff on
//! 5xx / connection failures ([`http`]), a circuit breaker per provider
//! ([`breaker`]), a shared LRU + TTL cache ([`cache`]), and a fan-out that asks them
//! in parallel under one deadline and reports each one's results or failure
//! ([`fanout`]). A failed search is an `Err` string, which the pipeline records as a
//! warning; the turn goes on.
//!
//! HTTP is `reqwest`'s blocking client: run searches on plain threads, not inside a
//! tokio runtime. [`providers_from_config`] builds everything from the `[search]`
//! table of the configuration file.

pub mod bing;
pub mod breaker;
pub mod cache;
pub mod config;
pub mod error;
pub mod fanout;
pub mod fields;
pub mod generic;
pub mod graph;
pub mod guard;
pub mod http;
pub mod searxng;
pub mod setup;

pub use config::SearchConfig;
pub use error::SearchError;
pub use fanout::FanOut;
pub use graph::TripleGraph;
pub use setup::{providers_from_config, web_providers, FANOUT_NAME};
