//! The `[search]` table of the configuration file.

use crate::bing::BingConfig;
use crate::error::{Result, SearchError};
use crate::generic::GenericConfig;
use crate::graph::GraphConfig;
use crate::searxng::SearxngConfig;
use serde::Deserialize;

/// `[search]`: which web search providers to ask and how patiently.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Web providers asked in parallel, results in this order: `bing`, `searxng`, or
    /// the `name` of a `[[search.generic]]` entry. None by default (offline first).
    pub providers: Vec<String>,
    /// Limit on one HTTP request.
    pub timeout_ms: u64,
    /// Limit on the whole fan-out; providers later than this are dropped for the turn.
    pub deadline_ms: u64,
    /// Extra attempts after a 5xx answer, a timeout or a connection failure.
    pub retries: u32,
    /// Wait before the first retry, doubled before each later one.
    pub backoff_ms: u64,
    /// Consecutive failed searches that open a provider's circuit breaker (0: never).
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before one trial call.
    pub breaker_cooldown_ms: u64,
    /// Cached (provider, query) results; 0 turns the cache off.
    pub cache_size: usize,
    pub cache_ttl_s: u64,
    pub bing: BingConfig,
    pub searxng: SearxngConfig,
    pub generic: Vec<GenericConfig>,
    /// A knowledge-graph triple file (off when absent).
    pub graph: Option<GraphConfig>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            providers: Vec::new(),
            timeout_ms: 2000,
            deadline_ms: 3000,
            retries: 1,
            backoff_ms: 200,
            breaker_failures: 5,
            breaker_cooldown_ms: 30_000,
            cache_size: 256,
            cache_ttl_s: 300,
            bing: BingConfig::default(),
            searxng: SearxngConfig::default(),
            generic: Vec::new(),
            graph: None,
        }
    }
}

impl SearchConfig {
    /// Reads the `[search]` table of a configuration file's text, with
    /// `CHATPLUG_SEARCH__<KEY>` overrides from `env`. Errors name `search.<key>`.
    pub fn from_toml(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<SearchConfig> {
        let table = chatplug_dialogue::config::component_table(text, "search", env)?;
        let config: SearchConfig = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let path = e.path().to_string();
                let key = if path == "." {
                    "search".to_string()
                } else {
                    format!("search.{path}")
                };
                SearchError::config(key, e.into_inner().message().to_string())
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        for (i, g) in self.generic.iter().enumerate() {
            if g.name.is_empty() || ["bing", "searxng"].contains(&g.name.as_str()) {
                return Err(SearchError::config(
                    format!("search.generic[{i}].name"),
                    format!(
                        "`{}` cannot name a generic provider (empty, or a built-in one)",
                        g.name
                    ),
                ));
            }
            if self.generic[..i].iter().any(|h| h.name == g.name) {
                return Err(SearchError::config(
                    format!("search.generic[{i}].name"),
                    format!("`{}` names two generic providers", g.name),
                ));
            }
        }
        for (i, p) in self.providers.iter().enumerate() {
            let known = p == "bing" || p == "searxng" || self.generic.iter().any(|g| &g.name == p);
            if !known {
                return Err(SearchError::config(
                    format!("search.providers[{i}]"),
                    format!("unknown provider `{p}`; expected `bing`, `searxng` or the name of a [[search.generic]] entry"),
                ));
            }
            if self.providers[..i].contains(p) {
                return Err(SearchError::config(
                    format!("search.providers[{i}]"),
                    format!("`{p}` is listed twice"),
                ));
            }
        }
        if self.deadline_ms == 0 || self.timeout_ms == 0 {
            return Err(SearchError::config(
                if self.timeout_ms == 0 {
                    "search.timeout_ms"
                } else {
                    "search.deadline_ms"
                },
                "must be above 0",
            ));
        }
        Ok(())
    }
}
