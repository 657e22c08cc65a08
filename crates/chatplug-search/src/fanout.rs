//! [`FanOut`]: asks several providers at once and waits for them until one overall
//! deadline; providers that have not answered by then are dropped from the turn and
//! reported as failures (their threads finish on their own, bounded by the request
//! timeout and retries).

use chatplug_dialogue::{KnowledgeProvider, ProviderKind, SearchResults};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct FanOut {
    name: String,
    members: Vec<Arc<dyn KnowledgeProvider>>,
    deadline: Duration,
}

type Part = (String, Result<SearchResults, String>);

impl FanOut {
    pub fn new(
        name: impl Into<String>,
        members: Vec<Arc<dyn KnowledgeProvider>>,
        deadline: Duration,
    ) -> FanOut {
        FanOut {
            name: name.into(),
            members,
            deadline,
        }
    }

    pub fn members(&self) -> &[Arc<dyn KnowledgeProvider>] {
        &self.members
    }
}

impl KnowledgeProvider for FanOut {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Web
    }

    /// Every member's snippets in member order; the first special card alone when a
    /// member answers with one. Fails only when every member failed.
    fn search(&self, query: &str) -> Result<SearchResults, String> {
        let mut merged = SearchResults::default();
        let mut errors = Vec::new();
        for (name, outcome) in self.search_parts(query) {
            match outcome {
                Ok(r) if r.special_card => return Ok(r),
                Ok(r) => merged.snippets.extend(r.snippets),
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
        if !errors.is_empty() && errors.len() == self.members.len() {
            return Err(errors.join("; "));
        }
        Ok(merged)
    }

    fn search_parts(&self, query: &str) -> Vec<Part> {
        let end = Instant::now() + self.deadline;
        let (tx, rx) = mpsc::channel();
        for (i, member) in self.members.iter().enumerate() {
            let (sender, member, query) = (tx.clone(), member.clone(), query.to_string());
            let spawned = std::thread::Builder::new()
                .name(format!("search-{}", member.name()))
                .spawn(move || {
                    // The receiver is gone when the deadline passed: nothing to do.
                    let _ = sender.send((i, member.search(&query)));
                });
            if let Err(e) = spawned {
                let _ = tx.send((i, Err(format!("cannot start a search thread: {e}"))));
            }
        }
        drop(tx);
        let mut outcomes: Vec<Option<Result<SearchResults, String>>> =
            self.members.iter().map(|_| None).collect();
        let mut pending = self.members.len();
        while pending > 0 {
            let left = end.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((i, outcome)) => {
                    outcomes[i] = Some(outcome);
                    pending -= 1;
                }
                Err(_) => break,
            }
        }
        self.members
            .iter()
            .zip(outcomes)
            .map(|(member, outcome)| {
                let name = member.name().to_string();
                let outcome = outcome.unwrap_or_else(|| {
                    let why = format!(
                        "no answer within the {} ms search deadline; dropped",
                        self.deadline.as_millis()
                    );
                    tracing::warn!(provider = %name, query, "{why}");
                    Err(why)
                });
                (name, outcome)
            })
            .collect()
    }
}
