//! Builds the providers a `[search]` table names: every web provider wrapped in the
//! shared cache and its own circuit breaker, all of them behind one fan-out (named
//! `web`), and the triple-file graph provider.

use crate::bing::{Bing, BingEndpoint};
use crate::breaker::{BreakerPolicy, CircuitBreaker};
use crate::cache::ResultCache;
use crate::config::SearchConfig;
use crate::error::{Result, SearchError};
use crate::fanout::FanOut;
use crate::generic::{Fields, Generic};
use crate::graph::TripleGraph;
use crate::guard::Guarded;
use crate::http::{HttpClient, HttpPolicy};
use crate::searxng::Searxng;
use chatplug_dialogue::KnowledgeProvider;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The name of the fan-out provider in the pipeline.
pub const FANOUT_NAME: &str = "web";

/// The providers of a configuration file's `[search]` table (none when it lists
/// none), in the order to attach them. `dir` resolves relative paths; `env` supplies
/// overrides and the API keys.
pub fn providers_from_config(
    text: &str,
    dir: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<Arc<dyn KnowledgeProvider>>> {
    let env: HashMap<String, String> = env.into_iter().collect();
    let config = SearchConfig::from_toml(text, env.clone())?;
    let mut providers: Vec<Arc<dyn KnowledgeProvider>> = Vec::new();
    if let Some(web) = web_providers(&config, &env)? {
        providers.push(Arc::new(web));
    }
    if let Some(g) = &config.graph {
        let path = dir.join(&g.triples);
        providers.push(Arc::new(TripleGraph::load("graph", &path, g.max_triples)?));
    }
    Ok(providers)
}

/// The fan-out over the listed web providers; `None` when none is listed.
pub fn web_providers(
    config: &SearchConfig,
    env: &HashMap<String, String>,
) -> Result<Option<FanOut>> {
    if config.providers.is_empty() {
        return Ok(None);
    }
    let policy = HttpPolicy {
        timeout: Duration::from_millis(config.timeout_ms),
        retries: config.retries,
        backoff: Duration::from_millis(config.backoff_ms),
    };
    let client = || HttpClient::new(policy);
    let cache =
        ResultCache::new(config.cache_size, Duration::from_secs(config.cache_ttl_s)).map(Arc::new);
    let breaker = BreakerPolicy {
        threshold: config.breaker_failures,
        cooldown: Duration::from_millis(config.breaker_cooldown_ms),
    };
    let mut raw: Vec<Arc<dyn KnowledgeProvider>> = Vec::new();
    for name in &config.providers {
        match name.as_str() {
            "bing" => {
                let b = &config.bing;
                let key = env
                    .get(&b.key_env)
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| {
                        SearchError::config(
                            "search.bing.key_env",
                            format!(
                                "environment variable `{}` (the Bing subscription key) is not set",
                                b.key_env
                            ),
                        )
                    })?;
                raw.push(Arc::new(Bing::new(
                    "bing",
                    BingEndpoint::Web,
                    key.clone(),
                    b.clone(),
                    client(),
                )));
                if b.news {
                    raw.push(Arc::new(Bing::new(
                        "bing_news",
                        BingEndpoint::News,
                        key.clone(),
                        b.clone(),
                        client(),
                    )));
                }
            }
            "searxng" => raw.push(Arc::new(Searxng::new(
                "searxng",
                config.searxng.clone(),
                client(),
            ))),
            _ => {
                let (i, g) = config
                    .generic
                    .iter()
                    .enumerate()
                    .find(|(_, g)| &g.name == name)
                    .expect("validated provider name");
                let fields = Fields::parse(g).map_err(|(key, m)| {
                    SearchError::config(format!("search.generic[{i}].{key}"), m)
                })?;
                let mut headers: Vec<(String, String)> = g
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (header, var) in &g.header_env {
                    let value = env.get(var).ok_or_else(|| {
                        SearchError::config(
                            format!("search.generic[{i}].header_env.{header}"),
                            format!("environment variable `{var}` is not set"),
                        )
                    })?;
                    headers.push((header.clone(), value.clone()));
                }
                raw.push(Arc::new(Generic::new(g.clone(), headers, fields, client())));
            }
        }
    }
    let members = raw
        .into_iter()
        .map(|p| {
            Arc::new(Guarded::new(p, CircuitBreaker::new(breaker), cache.clone()))
                as Arc<dyn KnowledgeProvider>
        })
        .collect();
    Ok(Some(FanOut::new(
        FANOUT_NAME,
        members,
        Duration::from_millis(config.deadline_ms),
    )))
}
