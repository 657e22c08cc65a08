//! Retrieval evaluation: queries with their relevant document ids, recall@k and
//! MRR of any retriever, and a brute-force character-bigram TF-IDF baseline to
//! compare with.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::analysis::bigrams;
use crate::error::{KbError, Result};
use crate::ingest::{parse_json_line, read_lines, Document};

/// One evaluation query (`{"query", "relevant": [ids]}` per JSONL line).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalQuery {
    pub query: String,
    pub relevant: Vec<String>,
}

pub fn read_queries(path: &Path) -> Result<Vec<EvalQuery>> {
    let mut out = Vec::new();
    for (line_no, line) in read_lines(path)? {
        let q: EvalQuery = parse_json_line(path, line_no, &line)?;
        if q.relevant.is_empty() {
            return Err(KbError::input(path, Some(line_no), "field `relevant` lists no document id"));
        }
        out.push(q);
    }
    Ok(out)
}

/// Recall@k (the share of queries with a relevant document in the first k) and
/// mean reciprocal rank of the first relevant document (within the first 10).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Metrics {
    pub queries: usize,
    pub recall_at_1: f64,
    pub recall_at_3: f64,
    pub recall_at_5: f64,
    pub mrr: f64,
}

/// Evaluates `retrieve(query, k)`, which returns document ids best first.
pub fn evaluate(
    queries: &[EvalQuery],
    mut retrieve: impl FnMut(&str, usize) -> Result<Vec<String>>,
) -> Result<Metrics> {
    let mut m = Metrics { queries: queries.len(), ..Metrics::default() };
    for q in queries {
        let relevant: HashSet<&str> = q.relevant.iter().map(String::as_str).collect();
        let ids = retrieve(&q.query, 10)?;
        if let Some(rank) = ids.iter().position(|id| relevant.contains(id.as_str())) {
            m.mrr += 1.0 / (rank + 1) as f64;
            m.recall_at_1 += f64::from(u8::from(rank < 1));
            m.recall_at_3 += f64::from(u8::from(rank < 3));
            m.recall_at_5 += f64::from(u8::from(rank < 5));
        }
    }
    let n = queries.len().max(1) as f64;
    m.recall_at_1 /= n;
    m.recall_at_3 /= n;
    m.recall_at_5 /= n;
    m.mrr /= n;
    Ok(m)
}

/// Brute force: TF-IDF vectors of character bigrams, cosine similarity between the
/// query and each whole document.
pub struct BigramBaseline {
    docs: Vec<(String, HashMap<String, f64>)>,
    idf: HashMap<String, f64>,
}

fn counts(text: &str) -> HashMap<String, f64> {
    let mut c = HashMap::new();
    for g in bigrams(text) {
        *c.entry(g).or_insert(0.0) += 1.0;
    }
    c
}

impl BigramBaseline {
    pub fn new(docs: &[Document]) -> Self {
        let tfs: Vec<(String, HashMap<String, f64>)> = docs
            .iter()
            .map(|d| {
                let text: Vec<String> = d
                    .sections
                    .iter()
                    .map(|s| format!("{} {}", s.title.as_deref().unwrap_or(""), s.text))
                    .collect();
                (d.id.clone(), counts(&text.join("\n")))
            })
            .collect();
        let mut df: HashMap<String, f64> = HashMap::new();
        for (_, tf) in &tfs {
            for g in tf.keys() {
                *df.entry(g.clone()).or_insert(0.0) += 1.0;
            }
        }
        let n = tfs.len() as f64;
        let idf: HashMap<String, f64> = df.into_iter().map(|(g, d)| (g, (1.0 + n / d).ln())).collect();
        let docs = tfs
            .into_iter()
            .map(|(id, tf)| {
                let mut v: HashMap<String, f64> = tf.into_iter().map(|(g, c)| (g.clone(), c * idf[&g])).collect();
                let norm = v.values().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
                v.values_mut().for_each(|x| *x /= norm);
                (id, v)
            })
            .collect();
        BigramBaseline { docs, idf }
    }

    /// Document ids, best first.
    pub fn search(&self, query: &str, k: usize) -> Vec<String> {
        let q: HashMap<String, f64> = counts(query)
            .into_iter()
            .filter_map(|(g, c)| self.idf.get(&g).map(|idf| (g, c * idf)))
            .collect();
        let mut scored: Vec<(f64, &str)> = self
            .docs
            .iter()
            .map(|(id, v)| (q.iter().map(|(g, w)| w * v.get(g).unwrap_or(&0.0)).sum::<f64>(), id.as_str()))
            .filter(|(s, _)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        scored.into_iter().take(k).map(|(_, id)| id.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_count_ranks() {
        let qs = vec![
            EvalQuery { query: "a".into(), relevant: vec!["1".into()] },
            EvalQuery { query: "b".into(), relevant: vec!["2".into()] },
        ];
        let m = evaluate(&qs, |q, _| Ok(if q == "a" { vec!["1".into()] } else { vec!["x".into(), "y".into(), "2".into()] }))
            .unwrap();
        assert_eq!((m.recall_at_1, m.recall_at_3), (0.5, 1.0));
        assert!((m.mrr - (1.0 + 1.0 / 3.0) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn baseline_prefers_shared_bigrams() {
        let docs = vec![Document::new("a", None, "长城是古代的防御工程"), Document::new("b", None, "熊猫吃竹子")];
        assert_eq!(BigramBaseline::new(&docs).search("熊猫的食物是竹子吗", 2), ["b"]);
    }
}
