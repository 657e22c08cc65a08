//! The passage index (`DIR/docs`).

use std::collections::HashSet;
use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::schema::{Field, Schema, INDEXED, STORED, STRING};
use tantivy::{TantivyDocument, Term};

use super::{stored_text, stored_u64, Handle, TextPair, Tuning};
use crate::error::Result;
use crate::ingest::Document;
use crate::progress;
use crate::store::{passages_of, Hit, IndexSummary};

pub struct DocsIndex {
    handle: Handle,
    doc_id: Field,
    seq: Field,
    title: TextPair,
    text: TextPair,
}

impl DocsIndex {
    pub fn open(dir: &Path, tuning: Tuning) -> Result<Self> {
        let mut b = Schema::builder();
        let doc_id = b.add_text_field("doc_id", STRING | STORED);
        let seq = b.add_u64_field("seq", INDEXED | STORED);
        let title = TextPair::add(&mut b, "title", true);
        let text = TextPair::add(&mut b, "text", true);
        let handle = Handle::open(dir, b.build(), tuning)?;
        Ok(DocsIndex { handle, doc_id, seq, title, text })
    }

    /// Number of stored documents (each has a passage 0).
    pub fn count(&self) -> Result<usize> {
        self.handle.count_u64(self.seq, 0)
    }

    pub fn upsert(&self, docs: &[Document]) -> Result<IndexSummary> {
        let h = &self.handle;
        let mut summary = IndexSummary::default();
        let writer = h.writer()?;
        let bar = progress::bar(docs.len() as u64, "indexing");
        for doc in docs {
            if h.count_term(self.doc_id, &doc.id)? > 0 {
                summary.replaced += 1;
            }
            writer.delete_term(Term::from_field_text(self.doc_id, &doc.id));
            for p in passages_of(doc, h.tuning.split) {
                let mut d = TantivyDocument::default();
                d.add_text(self.doc_id, &p.doc_id);
                d.add_u64(self.seq, p.seq);
                if let Some(t) = &p.title {
                    self.title.fill(&mut d, t);
                }
                self.text.fill(&mut d, &p.text);
                writer.add_document(d).map_err(|e| h.err(e))?;
                summary.passages += 1;
            }
            summary.documents += 1;
            bar.inc(1);
        }
        bar.set_message("committing");
        h.commit(writer)?;
        bar.finish_and_clear();
        Ok(summary)
    }

    pub fn delete(&self, ids: &[String]) -> Result<usize> {
        self.handle.delete_ids(self.doc_id, ids)
    }

    pub fn search(&self, query: &str, top_k: usize) -> Result<Vec<Hit>> {
        let h = &self.handle;
        if top_k == 0 {
            return Ok(Vec::new());
        }
        let q = h.text_query(query, &[(self.text, 1.0), (self.title, h.tuning.title_boost)]);
        let searcher = h.reader.searcher();
        // Several passages of one document may lead; fetch enough to fill top_k
        // distinct documents in the usual case.
        let limit = top_k * 4 + 16;
        let top = searcher.search(&*q, &TopDocs::with_limit(limit)).map_err(|e| h.err(e))?;
        let mut seen = HashSet::new();
        let mut hits = Vec::new();
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(|e| h.err(e))?;
            let doc_id = stored_text(&d, self.doc_id).unwrap_or_default();
            if !seen.insert(doc_id.clone()) {
                continue;
            }
            hits.push(Hit {
                doc_id,
                text: stored_text(&d, self.text.words).unwrap_or_default(),
                title: stored_text(&d, self.title.words),
                score: f64::from(score),
                passage: stored_u64(&d, self.seq).unwrap_or(0),
            });
            if hits.len() == top_k {
                break;
            }
        }
        Ok(hits)
    }
}
