//! [`Guarded`]: one provider behind the shared cache and its own circuit breaker,
//! with failures logged.

use crate::breaker::CircuitBreaker;
use crate::cache::ResultCache;
use chatplug_dialogue::{KnowledgeProvider, ProviderKind, SearchResults};
use std::sync::Arc;

pub struct Guarded {
    inner: Arc<dyn KnowledgeProvider>,
    breaker: CircuitBreaker,
    cache: Option<Arc<ResultCache>>,
}

impl Guarded {
    pub fn new(
        inner: Arc<dyn KnowledgeProvider>,
        breaker: CircuitBreaker,
        cache: Option<Arc<ResultCache>>,
    ) -> Guarded {
        Guarded {
            inner,
            breaker,
            cache,
        }
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }
}

impl KnowledgeProvider for Guarded {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn kind(&self) -> ProviderKind {
        self.inner.kind()
    }
    fn search(&self, query: &str) -> Result<SearchResults, String> {
        let name = self.inner.name();
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(name, query)) {
            tracing::debug!(provider = name, query, "search cache hit");
            return Ok(hit);
        }
        if let Err(why) = self.breaker.admit() {
            tracing::warn!(provider = name, query, "search skipped: {why}");
            return Err(why);
        }
        let outcome = self.inner.search(query);
        self.breaker.record(outcome.is_ok());
        match &outcome {
            Ok(results) => {
                tracing::debug!(
                    provider = name,
                    query,
                    snippets = results.snippets.len(),
                    "searched"
                );
                if let Some(c) = &self.cache {
                    c.put(name, query, results.clone());
                }
            }
            Err(e) => tracing::warn!(provider = name, query, "search failed: {e}"),
        }
        outcome
    }
}
