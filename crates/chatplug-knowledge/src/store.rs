//! The interface every knowledge backend implements (embedded tantivy, shared
//! PostgreSQL), and the passage-level records they share.

use crate::error::Result;
use crate::faq::{FaqEntry, FaqMatch};
use crate::ingest::Document;
use crate::split::{split, SplitOptions};

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    /// The id of the document the passage came from.
    pub doc_id: String,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The backend's relevance score (BM25 for the embedded store); higher is better.
    pub score: f64,
    /// The passage's number within its document.
    pub passage: u64,
}

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexSummary {
    pub documents: usize,
    pub passages: usize,
    /// Documents whose id was already there (their old passages were replaced).
    pub replaced: usize,
}

/// A passage ready to store.
#[derive(Debug, Clone)]
pub(crate) struct PassageRecord {
    pub doc_id: String,
    pub seq: u64,
    pub title: Option<String>,
    pub text: String,
}

/// A document's passages, numbered in order.
pub(crate) fn passages_of(doc: &Document, opts: SplitOptions) -> Vec<PassageRecord> {
    let mut out = Vec::new();
    for section in &doc.sections {
        for text in split(&section.text, opts) {
            out.push(PassageRecord {
                doc_id: doc.id.clone(),
                seq: out.len() as u64,
                title: section.title.clone(),
                text,
            });
        }
    }
    out
}

/// A knowledge store: documents cut into passages, and FAQ entries. Every write is
/// all-or-nothing: after an error the store holds what it held before.
pub trait KnowledgeStore: Send + Sync {
    /// Adds documents; a document whose id is present replaces all its passages.
    fn upsert_documents(&self, docs: &[Document]) -> Result<IndexSummary>;
    /// Deletes documents by id; returns how many of the ids were present.
    fn delete_documents(&self, ids: &[String]) -> Result<usize>;
    /// The best passages for `query`, at most one per document, best first.
    fn search(&self, query: &str, top_k: usize) -> Result<Vec<Hit>>;
    /// Adds FAQ entries; an entry whose id is present replaces it. Returns the
    /// number of entries that replaced one.
    fn upsert_faq(&self, entries: &[FaqEntry]) -> Result<usize>;
    /// Deletes FAQ entries by id; returns how many were present.
    fn delete_faq(&self, ids: &[String]) -> Result<usize>;
    /// The best FAQ entries for `query` (score: see [`crate::faq`]), best first.
    fn search_faq(&self, query: &str, size: usize) -> Result<Vec<FaqMatch>>;
    /// Numbers of documents and FAQ entries stored.
    fn counts(&self) -> Result<(usize, usize)>;
}
