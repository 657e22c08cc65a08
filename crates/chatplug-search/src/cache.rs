//! An LRU cache of search results with a time to live, shared by the providers and
//! keyed by provider name and query. Only successful searches are kept.

use chatplug_dialogue::SearchResults;
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct ResultCache {
    entries: Mutex<LruCache<(String, String), (Instant, SearchResults)>>,
    ttl: Duration,
}

impl ResultCache {
    /// `None` when `capacity` or `ttl` is zero (caching off).
    pub fn new(capacity: usize, ttl: Duration) -> Option<ResultCache> {
        let capacity = NonZeroUsize::new(capacity)?;
        (!ttl.is_zero()).then(|| ResultCache {
            entries: Mutex::new(LruCache::new(capacity)),
            ttl,
        })
    }

    /// A fresh entry; an expired one is dropped.
    pub fn get(&self, provider: &str, query: &str) -> Option<SearchResults> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let key = (provider.to_string(), query.to_string());
        match entries.get(&key) {
            Some((stored, results)) if stored.elapsed() < self.ttl => Some(results.clone()),
            Some(_) => {
                entries.pop(&key);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, provider: &str, query: &str, results: SearchResults) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.put(
            (provider.to_string(), query.to_string()),
            (Instant::now(), results),
        );
    }
}
