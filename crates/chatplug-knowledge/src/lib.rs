//! Local knowledge for ChatPLUG (reference §4 stages 5 and 8): a knowledge base of
//! documents cut into passages, and an FAQ, behind one [`KnowledgeStore`]
//! interface with two backends:
//!
//! - [`EmbeddedStore`] (the default): tantivy indexes under one directory, text
//!   analyzed with jieba (search mode) plus character bigrams, BM25 ranking;
//! - [`PgStore`]: tables in a PostgreSQL database that several chat servers share.
//!
//! Files are read and checked whole ([`read_documents`], [`read_faq`]) before any
//! write, and every write is one commit / transaction, so a bad input never leaves
//! a half-imported store. [`KbProvider`] and [`KbFaq`] plug a store into the
//! dialogue pipeline; [`KnowledgeConfig`] is the `[knowledge]` configuration table;
//! [`eval`] measures retrieval quality.

pub mod analysis;
pub mod config;
pub mod embedded;
pub mod error;
pub mod eval;
pub mod faq;
pub mod ingest;
pub mod postgres;
mod progress;
pub mod provider;
pub mod split;
pub mod store;
mod tokenizers;

pub use config::{Backend, KnowledgeConfig};
pub use embedded::{EmbeddedStore, Tuning};
pub use error::{KbError, Result};
pub use faq::{read_faq, FaqEntry, FaqMatch};
pub use ingest::{read_documents, Document, Section};
pub use postgres::{PgRanking, PgStore};
pub use provider::{KbFaq, KbProvider};
pub use store::{Hit, IndexSummary, KnowledgeStore};
