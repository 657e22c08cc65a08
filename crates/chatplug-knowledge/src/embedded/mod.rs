//! The embedded knowledge store: two tantivy indexes under one directory,
//! `DIR/docs` (passages) and `DIR/faq` (one entry per FAQ question), both analyzed
//! with jieba words plus a character-bigram field, scored with BM25.

mod docs;
mod faq;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tantivy::collector::Count;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{bigrams, chars, query_bigrams, query_chars, words_with, WordOptions};
use crate::error::{KbError, Result};
use crate::split::SplitOptions;
use crate::tokenizers;

pub use docs::DocsIndex;
pub use faq::FaqIndex;

/// Retrieval settings. The defaults are what measurement on `fixtures/retrieval`
/// supported; the rest exist to measure against (see `chatplug kb eval`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    pub words: WordOptions,
    /// Weight of the character-bigram fields (0: not queried).
    pub bigram_boost: f32,
    /// Weight of the single-character fields (0: not queried).
    pub char_boost: f32,
    /// Weight of the title fields relative to the passage text (0: not queried).
    pub title_boost: f32,
    pub split: SplitOptions,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            words: WordOptions::default(),
            bigram_boost: 0.25,
            char_boost: 0.35,
            title_boost: 0.5,
            split: SplitOptions::default(),
        }
    }
}

impl Tuning {
    /// Plain jieba words over the passage text only: what a straightforward
    /// tantivy + jieba index does, the baseline the defaults improve on.
    pub fn plain() -> Self {
        Tuning {
            words: WordOptions { search_mode: false, stop_words: false },
            bigram_boost: 0.0,
            char_boost: 0.0,
            title_boost: 0.0,
            split: SplitOptions::default(),
        }
    }
}

/// The knowledge base under one directory.
pub struct EmbeddedStore {
    pub(crate) docs: DocsIndex,
    pub(crate) faq: FaqIndex,
}

impl EmbeddedStore {
    /// Opens the knowledge base at `dir`; with `create`, makes it when missing.
    pub fn open(dir: &Path, create: bool) -> Result<Self> {
        Self::open_tuned(dir, create, Tuning::default())
    }

    /// [`EmbeddedStore::open`] with other retrieval settings (for measurement:
    /// index and queries must use the same settings).
    pub fn open_tuned(dir: &Path, create: bool, tuning: Tuning) -> Result<Self> {
        if !create && !dir.join("docs").join("meta.json").exists() {
            return Err(KbError::Index {
                dir: dir.into(),
                message: "no knowledge base here (create one with `chatplug kb index --kb DIR FILE…`)".into(),
            });
        }
        Ok(EmbeddedStore {
            docs: DocsIndex::open(&dir.join("docs"), tuning)?,
            faq: FaqIndex::open(&dir.join("faq"), tuning)?,
        })
    }
}

/// A tantivy index with its reader, and the directory for messages.
pub(crate) struct Handle {
    pub dir: PathBuf,
    pub index: Index,
    pub reader: IndexReader,
    pub tuning: Tuning,
}

/// Text options: stored or not, analyzed with `tokenizer`.
pub(crate) fn text_options(tokenizer: &str, stored: bool) -> TextOptions {
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(tokenizer)
        .set_index_option(IndexRecordOption::WithFreqs);
    let opts = TextOptions::default().set_indexing_options(indexing);
    if stored {
        opts.set_stored()
    } else {
        opts
    }
}

/// A searchable text with its bigram and character shadow fields.
#[derive(Clone, Copy)]
pub(crate) struct TextPair {
    pub words: Field,
    pub bigrams: Field,
    pub chars: Field,
}

impl TextPair {
    pub fn add(builder: &mut tantivy::schema::SchemaBuilder, name: &str, stored: bool) -> Self {
        TextPair {
            words: builder.add_text_field(name, text_options(tokenizers::WORDS, stored)),
            bigrams: builder.add_text_field(&format!("{name}_bigrams"), text_options(tokenizers::BIGRAMS, false)),
            chars: builder.add_text_field(&format!("{name}_chars"), text_options(tokenizers::CHARS, false)),
        }
    }

    pub fn fill(&self, doc: &mut TantivyDocument, text: &str) {
        doc.add_text(self.words, text);
        doc.add_text(self.bigrams, text);
        doc.add_text(self.chars, text);
    }
}

impl Handle {
    pub fn open(dir: &Path, schema: Schema, tuning: Tuning) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| KbError::Io { path: dir.into(), source })?;
        let err = |e: tantivy::TantivyError| KbError::Index { dir: dir.into(), message: e.to_string() };
        let index = if dir.join("meta.json").exists() {
            let index = Index::open_in_dir(dir).map_err(err)?;
            if index.schema() != schema {
                return Err(KbError::Index {
                    dir: dir.into(),
                    message: "the index was made by an incompatible version (its fields differ); rebuild it".into(),
                });
            }
            index
        } else {
            Index::create_in_dir(dir, schema).map_err(err)?
        };
        tokenizers::register(&index, tuning.words);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .map_err(err)?;
        Ok(Handle { dir: dir.into(), index, reader, tuning })
    }

    pub fn err(&self, e: impl std::fmt::Display) -> KbError {
        KbError::Index { dir: self.dir.clone(), message: e.to_string() }
    }

    pub fn writer(&self) -> Result<IndexWriter> {
        // Indexing threads tokenize (jieba) in parallel; 40 MB of buffer each.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        self.index.writer_with_num_threads(threads, threads * 40_000_000).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => {
                self.err("another process is writing to this knowledge base; try again when it is done")
            }
            e => self.err(e),
        })
    }

    /// Commits `writer` and makes the change visible to this process's searches.
    pub fn commit(&self, mut writer: IndexWriter) -> Result<()> {
        writer.commit().map_err(|e| self.err(e))?;
        writer.wait_merging_threads().map_err(|e| self.err(e))?;
        self.reader.reload().map_err(|e| self.err(e))
    }

    /// How many live documents have `text` in the raw field `field`.
    pub fn count_term(&self, field: Field, text: &str) -> Result<usize> {
        let q = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic);
        self.reader.searcher().search(&q, &Count).map_err(|e| self.err(e))
    }

    /// Deletes the documents whose raw field `field` holds one of `ids`, in one
    /// commit; returns how many of the ids were present.
    pub fn delete_ids(&self, field: Field, ids: &[String]) -> Result<usize> {
        let writer = self.writer()?;
        let mut found = 0;
        for id in ids.iter().collect::<HashSet<_>>() {
            if self.count_term(field, id)? > 0 {
                found += 1;
            }
            writer.delete_term(Term::from_field_text(field, id));
        }
        self.commit(writer)?;
        Ok(found)
    }

    /// How many live documents have `value` in the u64 field `field`.
    pub fn count_u64(&self, field: Field, value: u64) -> Result<usize> {
        let q = TermQuery::new(Term::from_field_u64(field, value), IndexRecordOption::Basic);
        self.reader.searcher().search(&q, &Count).map_err(|e| self.err(e))
    }

    /// A BM25 query over `pairs` (each with a weight): the query's words against
    /// the word fields, its bigrams against the bigram fields; any term may match.
    pub fn text_query(&self, query: &str, pairs: &[(TextPair, f32)]) -> Box<dyn Query> {
        let t = self.tuning;
        let dedup = |v: Vec<String>| {
            let mut seen = HashSet::new();
            v.into_iter().filter(|w| seen.insert(w.clone())).collect::<Vec<_>>()
        };
        let mut words = dedup(words_with(query, t.words));
        let mut grams = dedup(if t.words.stop_words { query_bigrams(query) } else { bigrams(query) });
        let mut singles = dedup(if t.words.stop_words { query_chars(query) } else { chars(query) });
        if words.is_empty() && grams.is_empty() {
            // A query of stop words only still deserves its best matches.
            let all = WordOptions { stop_words: false, ..t.words };
            words = dedup(words_with(query, all));
            grams = dedup(bigrams(query));
            singles = dedup(chars(query));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (pair, weight) in pairs {
            if *weight <= 0.0 {
                continue;
            }
            let mut add = |field: Field, terms: &[String], w: f32| {
                for term in terms {
                    let q = TermQuery::new(Term::from_field_text(field, term), IndexRecordOption::WithFreqs);
                    clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), w))));
                }
            };
            add(pair.words, &words, *weight);
            if t.bigram_boost > 0.0 {
                add(pair.bigrams, &grams, weight * t.bigram_boost);
            }
            if t.char_boost > 0.0 {
                add(pair.chars, &singles, weight * t.char_boost);
            }
        }
        Box::new(BooleanQuery::new(clauses))
    }
}

/// The text of a stored field.
pub(crate) fn stored_text(doc: &TantivyDocument, field: Field) -> Option<String> {
    use tantivy::schema::Value;
    doc.get_first(field).and_then(|v| v.as_str()).map(str::to_string)
}

/// The number in a stored u64 field.
pub(crate) fn stored_u64(doc: &TantivyDocument, field: Field) -> Option<u64> {
    use tantivy::schema::Value;
    doc.get_first(field).and_then(|v| v.as_u64())
}

impl crate::store::KnowledgeStore for EmbeddedStore {
    fn upsert_documents(&self, docs: &[crate::ingest::Document]) -> Result<crate::store::IndexSummary> {
        self.docs.upsert(docs)
    }
    fn delete_documents(&self, ids: &[String]) -> Result<usize> {
        self.docs.delete(ids)
    }
    fn search(&self, query: &str, top_k: usize) -> Result<Vec<crate::store::Hit>> {
        self.docs.search(query, top_k)
    }
    fn upsert_faq(&self, entries: &[crate::faq::FaqEntry]) -> Result<usize> {
        self.faq.upsert(entries)
    }
    fn delete_faq(&self, ids: &[String]) -> Result<usize> {
        self.faq.delete(ids)
    }
    fn search_faq(&self, query: &str, size: usize) -> Result<Vec<crate::faq::FaqMatch>> {
        self.faq.search(query, size)
    }
    fn counts(&self) -> Result<(usize, usize)> {
        Ok((self.docs.count()?, self.faq.count()?))
    }
}
