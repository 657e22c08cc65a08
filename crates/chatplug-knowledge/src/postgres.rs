//! The shared knowledge store on PostgreSQL: several chat servers read (and the CLI
//! writes) one database. Text is analyzed in Rust exactly as for the embedded
//! store (jieba words, character bigrams) and ranked by one of two methods:
//!
//! - [`PgRanking::Tsvector`] (default) and [`PgRanking::TsvectorCd`]: the terms go
//!   into a `tsvector` written out with positions and weights (title words A, text
//!   words B, bigrams C, characters D), so no text search parser or locale is
//!   involved; a query is an OR of its terms, found through a GIN index and ranked
//!   with `ts_rank(…, 1)` or `ts_rank_cd`.
//! - [`PgRanking::Trigram`]: pg_trgm `word_similarity` between the query's words and
//!   the passage's space-joined words, ordered through a GiST trigram index.
//!
//! On `fixtures/retrieval`, `ts_rank` beat `ts_rank_cd` and pg_trgm (numbers in
//! `fixtures/retrieval/README.md`), so it is the default.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use postgres::{Client, NoTls, Transaction};
use serde::Deserialize;

use crate::analysis::{bigrams, chars, query_bigrams, query_chars, words};
use crate::error::{KbError, Result};
use crate::faq::{rank, Candidate, FaqEntry, FaqMatch};
use crate::ingest::Document;
use crate::split::SplitOptions;
use crate::store::{passages_of, Hit, IndexSummary, KnowledgeStore};

/// How passages are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PgRanking {
    /// `ts_rank(tsv, q, 1)`: term frequencies, weights, length-normalized.
    #[default]
    Tsvector,
    /// `ts_rank_cd(tsv, q)`: cover density (how close the query terms lie).
    TsvectorCd,
    /// pg_trgm `word_similarity`.
    Trigram,
}

impl PgRanking {
    /// The SQL rank expression of a tsvector ranking.
    fn rank_sql(self) -> &'static str {
        match self {
            PgRanking::TsvectorCd => "ts_rank_cd(tsv, q)",
            _ => "ts_rank(tsv, q, 1)",
        }
    }
}

const SCHEMA: &str = "
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE IF NOT EXISTS kb_passages (
    doc_id text NOT NULL,
    seq integer NOT NULL,
    title text,
    body text NOT NULL,
    words text NOT NULL,
    tsv tsvector NOT NULL,
    PRIMARY KEY (doc_id, seq)
);
CREATE INDEX IF NOT EXISTS kb_passages_tsv ON kb_passages USING gin (tsv);
CREATE INDEX IF NOT EXISTS kb_passages_trgm ON kb_passages USING gist (words gist_trgm_ops);
CREATE TABLE IF NOT EXISTS kb_faq (
    id text NOT NULL,
    variant integer NOT NULL,
    question text NOT NULL,
    matched text NOT NULL,
    answer text NOT NULL,
    words text NOT NULL,
    tsv tsvector NOT NULL,
    PRIMARY KEY (id, variant)
);
CREATE INDEX IF NOT EXISTS kb_faq_tsv ON kb_faq USING gin (tsv);
";

/// FAQ candidates re-scored by question similarity.
const FAQ_CANDIDATES: i64 = 50;

pub struct PgStore {
    client: Mutex<Client>,
    ranking: PgRanking,
    split: SplitOptions,
}

/// A `tsvector` literal: each term with its positions and weight letter.
fn tsvector_literal(groups: &[(&[String], char)]) -> String {
    let mut lexemes: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut pos = 0usize;
    for (terms, weight) in groups {
        for t in terms.iter() {
            pos += 1;
            let entry = lexemes.entry(t.as_str()).or_default();
            // PostgreSQL keeps at most 256 positions per lexeme, each ≤ 16383.
            if entry.len() < 256 {
                entry.push(format!("{}{}", pos.min(16383), weight));
            }
        }
    }
    lexemes
        .into_iter()
        .map(|(t, p)| format!("{}:{}", quote_lexeme(t), p.join(",")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A lexeme quoted for tsvector / tsquery input (taken verbatim, no parser).
fn quote_lexeme(t: &str) -> String {
    format!("'{}'", t.replace('\\', "\\\\").replace('\'', "''"))
}

/// An OR tsquery of the query's words and bigrams; `None` when it has no terms.
fn tsquery_literal(query: &str) -> Option<String> {
    let mut seen = HashSet::new();
    let mut terms: Vec<String> = words(query);
    terms.extend(query_bigrams(query));
    terms.extend(query_chars(query));
    if terms.is_empty() {
        terms = chars(query);
    }
    let quoted: Vec<String> = terms.into_iter().filter(|t| seen.insert(t.clone())).map(|t| quote_lexeme(&t)).collect();
    (!quoted.is_empty()).then(|| quoted.join(" | "))
}

/// Analysis of one searchable text: (space-joined words, tsvector literal).
fn analyze(title: Option<&str>, text: &str) -> (String, String) {
    let title_words = title.map(words).unwrap_or_default();
    let text_words = words(text);
    let mut grams = bigrams(text);
    let mut singles = chars(text);
    if let Some(t) = title {
        grams.extend(bigrams(t));
        singles.extend(chars(t));
    }
    let joined = title_words.iter().chain(&text_words).cloned().collect::<Vec<_>>().join(" ");
    let tsv = tsvector_literal(&[(&title_words, 'A'), (&text_words, 'B'), (&grams, 'C'), (&singles, 'D')]);
    (joined, tsv)
}

impl PgStore {
    /// Connects (a libpq connection string or `postgres://` URL) and creates the
    /// tables and the pg_trgm extension when missing.
    pub fn connect(url: &str, ranking: PgRanking) -> Result<Self> {
        let mut client = Client::connect(url, NoTls)
            .map_err(|e| KbError::Postgres(format!("cannot connect to {}: {e}", redact(url))))?;
        client.batch_execute(SCHEMA).map_err(|e| {
            let e = KbError::from(e);
            KbError::Postgres(format!(
                "creating the knowledge tables: {e} (pg_trgm comes with PostgreSQL's contrib modules)"
            ))
        })?;
        if ranking == PgRanking::Trigram {
            let row = client.query_one("SELECT cardinality(show_trgm('长城'))", &[])?;
            if row.get::<_, i32>(0) == 0 {
                return Err(KbError::Postgres(
                    "pg_trgm ignores Chinese characters in this database (its LC_CTYPE is `C`); \
                     use a UTF-8 locale such as C.UTF-8, or ranking = \"tsvector\""
                        .into(),
                ));
            }
        }
        Ok(PgStore { client: Mutex::new(client), ranking, split: SplitOptions::default() })
    }

    fn with_tx<T>(&self, f: impl FnOnce(&mut Transaction) -> Result<T>) -> Result<T> {
        let mut client = self.client.lock().map_err(|_| KbError::Other("store lock poisoned".into()))?;
        let mut tx = client.transaction()?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut client = self.client.lock().map_err(|_| KbError::Other("store lock poisoned".into()))?;
        f(&mut client)
    }
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..s + 3], user, &url[at + 1..])
        }
        _ => url.split_whitespace().filter(|kv| !kv.starts_with("password=")).collect::<Vec<_>>().join(" "),
    }
}

impl KnowledgeStore for PgStore {
    fn upsert_documents(&self, docs: &[Document]) -> Result<IndexSummary> {
        let split = self.split;
        self.with_tx(|tx| {
            let mut summary = IndexSummary::default();
            let bar = crate::progress::bar(docs.len() as u64, "indexing");
            let insert = tx.prepare(
                "INSERT INTO kb_passages (doc_id, seq, title, body, words, tsv) VALUES ($1, $2, $3, $4, $5, $6::text::tsvector)",
            )?;
            for doc in docs {
                if tx.execute("DELETE FROM kb_passages WHERE doc_id = $1", &[&doc.id])? > 0 {
                    summary.replaced += 1;
                }
                for p in passages_of(doc, split) {
                    let (joined, tsv) = analyze(p.title.as_deref(), &p.text);
                    let seq = p.seq as i32;
                    tx.execute(&insert, &[&p.doc_id, &seq, &p.title, &p.text, &joined, &tsv])?;
                    summary.passages += 1;
                }
                summary.documents += 1;
                bar.inc(1);
            }
            bar.finish_and_clear();
            Ok(summary)
        })
    }

    fn delete_documents(&self, ids: &[String]) -> Result<usize> {
        self.with_tx(|tx| {
            let rows = tx.query("DELETE FROM kb_passages WHERE doc_id = ANY($1) RETURNING doc_id", &[&ids])?;
            Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect::<HashSet<_>>().len())
        })
    }

    fn search(&self, query: &str, top_k: usize) -> Result<Vec<Hit>> {
        if top_k == 0 {
            return Ok(Vec::new());
        }
        let limit = (top_k * 4 + 16) as i64;
        let rows = self.with_client(|c| {
            Ok(match self.ranking {
                PgRanking::Tsvector | PgRanking::TsvectorCd => {
                    let Some(q) = tsquery_literal(query) else { return Ok(Vec::new()) };
                    c.query(
                        &format!(
                            "SELECT doc_id, seq, title, body, {}::float8 AS score
                             FROM kb_passages, CAST($1::text AS tsquery) q WHERE tsv @@ q
                             ORDER BY score DESC, doc_id, seq LIMIT $2",
                            self.ranking.rank_sql()
                        ),
                        &[&q, &limit],
                    )?
                }
                PgRanking::Trigram => {
                    let q = words(query).join(" ");
                    if q.is_empty() {
                        return Ok(Vec::new());
                    }
                    c.query(
                        "SELECT doc_id, seq, title, body, word_similarity($1, words)::float8 AS score
                         FROM kb_passages ORDER BY $1 <<-> words, doc_id, seq LIMIT $2",
                        &[&q, &limit],
                    )?
                }
            })
        })?;
        let mut seen = HashSet::new();
        let mut hits = Vec::new();
        for r in rows {
            let doc_id: String = r.get(0);
            let score: f64 = r.get(4);
            if score <= 0.0 || !seen.insert(doc_id.clone()) {
                continue;
            }
            hits.push(Hit { doc_id, passage: r.get::<_, i32>(1) as u64, title: r.get(2), text: r.get(3), score });
            if hits.len() == top_k {
                break;
            }
        }
        Ok(hits)
    }

    fn upsert_faq(&self, entries: &[FaqEntry]) -> Result<usize> {
        self.with_tx(|tx| {
            let insert = tx.prepare(
                "INSERT INTO kb_faq (id, variant, question, matched, answer, words, tsv) VALUES ($1, $2, $3, $4, $5, $6, $7::text::tsvector)",
            )?;
            let mut replaced = 0;
            for e in entries {
                if tx.execute("DELETE FROM kb_faq WHERE id = $1", &[&e.id])? > 0 {
                    replaced += 1;
                }
                for (i, q) in e.questions().enumerate() {
                    let (joined, tsv) = analyze(None, q);
                    let variant = i as i32;
                    tx.execute(&insert, &[&e.id, &variant, &e.question, &q, &e.answer, &joined, &tsv])?;
                }
            }
            Ok(replaced)
        })
    }

    fn delete_faq(&self, ids: &[String]) -> Result<usize> {
        self.with_tx(|tx| {
            let rows = tx.query("DELETE FROM kb_faq WHERE id = ANY($1) AND variant = 0 RETURNING id", &[&ids])?;
            tx.execute("DELETE FROM kb_faq WHERE id = ANY($1)", &[&ids])?;
            Ok(rows.len())
        })
    }

    fn search_faq(&self, query: &str, size: usize) -> Result<Vec<FaqMatch>> {
        let Some(q) = tsquery_literal(query) else { return Ok(Vec::new()) };
        let rows = self.with_client(|c| {
            Ok(c.query(
                "SELECT id, question, matched, answer, ts_rank(tsv, q, 1)::float8 AS score
                 FROM kb_faq, CAST($1::text AS tsquery) q WHERE tsv @@ q
                 ORDER BY score DESC, id LIMIT $2",
                &[&q, &FAQ_CANDIDATES],
            )?)
        })?;
        let candidates = rows
            .into_iter()
            .map(|r| Candidate {
                id: r.get(0),
                question: r.get(1),
                matched: r.get(2),
                answer: r.get(3),
                text_score: r.get(4),
            })
            .collect();
        Ok(rank(query, candidates, size))
    }

    fn counts(&self) -> Result<(usize, usize)> {
        self.with_client(|c| {
            let docs: i64 = c.query_one("SELECT count(DISTINCT doc_id) FROM kb_passages", &[])?.get(0);
            let faq: i64 = c.query_one("SELECT count(*) FROM kb_faq WHERE variant = 0", &[])?.get(0);
            Ok((docs as usize, faq as usize))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsvector_literal_quotes_and_weights() {
        let a = vec!["长城".to_string(), "it's".to_string()];
        let b = vec!["长城".to_string()];
        assert_eq!(tsvector_literal(&[(&a, 'A'), (&b, 'D')]), "'it''s':2A '长城':1A,3D");
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u@h/db");
        assert_eq!(redact("host=h password=x user=u"), "host=h user=u");
    }
}
