//! The knowledge store as the dialogue pipeline's knowledge provider (`kb`) and FAQ
//! retriever.

use std::sync::Arc;

use chatplug_dialogue::search::{FaqHit, FaqRetriever, KnowledgeProvider, ProviderKind, SearchResults, Snippet};

use crate::store::KnowledgeStore;

/// Knowledge-base passages as web-kind knowledge: consulted when the turn needs a
/// search, each hit a snippet with source `kb`, its score and its document id.
pub struct KbProvider {
    store: Arc<dyn KnowledgeStore>,
    top_k: usize,
}

impl KbProvider {
    pub fn new(store: Arc<dyn KnowledgeStore>, top_k: usize) -> Self {
        KbProvider { store, top_k }
    }
}

impl KnowledgeProvider for KbProvider {
    fn name(&self) -> &str {
        "kb"
    }
    fn kind(&self) -> ProviderKind {
        ProviderKind::Web
    }
    fn search(&self, query: &str) -> Result<SearchResults, String> {
        let hits = self.store.search(query, self.top_k).map_err(|e| e.to_string())?;
        let snippets = hits
            .into_iter()
            .map(|h| Snippet {
                text: h.text,
                title: h.title,
                url: None,
                source: Some("kb".into()),
                score: Some(h.score),
                doc_id: Some(h.doc_id),
            })
            .collect();
        Ok(SearchResults { snippets, special_card: false })
    }
}

/// The store's FAQ as the pipeline's FAQ retriever.
pub struct KbFaq {
    store: Arc<dyn KnowledgeStore>,
}

impl KbFaq {
    pub fn new(store: Arc<dyn KnowledgeStore>) -> Self {
        KbFaq { store }
    }
}

impl FaqRetriever for KbFaq {
    fn retrieve(&self, query: &str, size: usize) -> Result<Vec<FaqHit>, String> {
        let hits = self.store.search_faq(query, size).map_err(|e| e.to_string())?;
        Ok(hits
            .into_iter()
            .map(|m| FaqHit { question: m.question, answer: m.answer, score: m.score })
            .collect())
    }
}
