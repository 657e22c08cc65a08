//! The FAQ index (`DIR/faq`): one tantivy document per question (the main one and
//! each similar one) of an entry, all carrying the entry's id, main question and
//! answer.

use std::path::Path;

use tantivy::collector::TopDocs;
use tantivy::schema::{Field, Schema, INDEXED, STORED, STRING};
use tantivy::{TantivyDocument, Term};

use super::{stored_text, Handle, TextPair, Tuning};
use crate::error::Result;
use crate::faq::{rank, Candidate, FaqEntry, FaqMatch};

/// How many full-text candidates are re-scored by question similarity.
const CANDIDATES: usize = 50;

pub struct FaqIndex {
    handle: Handle,
    id: Field,
    /// 0 for the main question, 1.. for similar questions.
    variant: Field,
    question: Field,
    matched: TextPair,
    answer: Field,
}

impl FaqIndex {
    pub fn open(dir: &Path, tuning: Tuning) -> Result<Self> {
        let mut b = Schema::builder();
        let id = b.add_text_field("id", STRING | STORED);
        let variant = b.add_u64_field("variant", INDEXED | STORED);
        let question = b.add_text_field("question", STORED);
        let matched = TextPair::add(&mut b, "matched", true);
        let answer = b.add_text_field("answer", STORED);
        let handle = Handle::open(dir, b.build(), tuning)?;
        Ok(FaqIndex { handle, id, variant, question, matched, answer })
    }

    pub fn count(&self) -> Result<usize> {
        self.handle.count_u64(self.variant, 0)
    }

    pub fn upsert(&self, entries: &[FaqEntry]) -> Result<usize> {
        let h = &self.handle;
        let writer = h.writer()?;
        let mut replaced = 0;
        for e in entries {
            if h.count_term(self.id, &e.id)? > 0 {
                replaced += 1;
            }
            writer.delete_term(Term::from_field_text(self.id, &e.id));
            for (i, q) in e.questions().enumerate() {
                let mut d = TantivyDocument::default();
                d.add_text(self.id, &e.id);
                d.add_u64(self.variant, i as u64);
                d.add_text(self.question, &e.question);
                self.matched.fill(&mut d, q);
                d.add_text(self.answer, &e.answer);
                writer.add_document(d).map_err(|e| h.err(e))?;
            }
        }
        h.commit(writer)?;
        Ok(replaced)
    }

    pub fn delete(&self, ids: &[String]) -> Result<usize> {
        self.handle.delete_ids(self.id, ids)
    }

    pub fn search(&self, query: &str, size: usize) -> Result<Vec<FaqMatch>> {
        let h = &self.handle;
        let q = h.text_query(query, &[(self.matched, 1.0)]);
        let searcher = h.reader.searcher();
        let top = searcher.search(&*q, &TopDocs::with_limit(CANDIDATES)).map_err(|e| h.err(e))?;
        let mut candidates = Vec::new();
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(|e| h.err(e))?;
            candidates.push(Candidate {
                id: stored_text(&d, self.id).unwrap_or_default(),
                question: stored_text(&d, self.question).unwrap_or_default(),
                matched: stored_text(&d, self.matched.words).unwrap_or_default(),
                answer: stored_text(&d, self.answer).unwrap_or_default(),
                text_score: f64::from(score),
            });
        }
        Ok(rank(query, candidates, size))
    }
}
