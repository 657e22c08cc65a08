//! FAQ pairs (a question, its similar questions, an answer): reading them from JSONL
//! and scoring a query against them.
//!
//! The score is a normalized question similarity in [0, 1], so the reference's
//! thresholds keep their meaning (`local_retrieval_faq_q_threshold` 0.95: answer
//! directly; `local_retrieval_faq_q_threshold2` 0.9: use as knowledge). The reference
//! leaves its FAQ score to a re-ranker it never implemented (`q_score`); ours is
//!
//! `score = max over the entry's questions q of 1 − lev(a, b) / max(|a|, |b|)`
//!
//! where `a`, `b` are the query and `q` lower-cased, full-width folded, with
//! punctuation and whitespace removed, and `lev` is the character edit distance.
//! So 1.0 is the same question up to punctuation/case, 0.95 allows one edited
//! character per 20, 0.9 one per 10. A backend first finds candidates by full-text
//! search over all questions, then scores them with this.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::analysis::compact;
use crate::error::{KbError, Result};
use crate::ingest::{parse_json_line, read_lines, RawId};

/// One FAQ entry. Without an explicit id, its id is its question (compacted), so
/// importing the same question again replaces it.
#[derive(Debug, Clone, PartialEq)]
pub struct FaqEntry {
    pub id: String,
    pub question: String,
    pub similar: Vec<String>,
    pub answer: String,
}

impl FaqEntry {
    /// The question, then the similar questions.
    pub fn questions(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.question.as_str()).chain(self.similar.iter().map(String::as_str))
    }
}

/// A scored FAQ entry.
#[derive(Debug, Clone, PartialEq)]
pub struct FaqMatch {
    pub id: String,
    pub question: String,
    /// The question (main or similar) that matched best.
    pub matched: String,
    pub answer: String,
    pub score: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaq {
    #[serde(default)]
    id: Option<RawId>,
    question: String,
    #[serde(default)]
    similar: Vec<String>,
    answer: String,
}

/// Reads a FAQ JSONL file (`{"id"?, "question", "similar"?: [..], "answer"}` per
/// line), whole, checking every line.
pub fn read_faq(path: &Path) -> Result<Vec<FaqEntry>> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if !matches!(ext, "jsonl" | "ndjson") {
        return Err(KbError::input(path, None, "FAQ files are JSONL (.jsonl)"));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (line_no, line) in read_lines(path)? {
        let raw: RawFaq = parse_json_line(path, line_no, &line)?;
        let bad = |msg: &str| KbError::input(path, Some(line_no), msg.to_string());
        if compact(&raw.question).is_empty() {
            return Err(bad("field `question` is empty"));
        }
        if raw.answer.trim().is_empty() {
            return Err(bad("field `answer` is empty"));
        }
        let id = match raw.id {
            Some(id) => id.into_string(),
            None => compact(&raw.question),
        };
        if id.trim().is_empty() {
            return Err(bad("field `id` is empty"));
        }
        if let Some(first) = seen.insert(id.clone(), line_no) {
            return Err(bad(&format!("duplicate FAQ id `{id}` (first at line {first})")));
        }
        let similar = raw.similar.into_iter().filter(|s| !compact(s).is_empty()).collect();
        out.push(FaqEntry { id, question: raw.question, similar, answer: raw.answer });
    }
    Ok(out)
}

/// Character edit distance.
fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The normalized similarity of a query and one question (see the module docs).
pub fn question_similarity(query: &str, question: &str) -> f64 {
    let a: Vec<char> = compact(query).chars().collect();
    let b: Vec<char> = compact(question).chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    1.0 - levenshtein(&a, &b) as f64 / longest as f64
}

/// A full-text candidate: one question of an entry.
pub(crate) struct Candidate {
    pub id: String,
    pub question: String,
    pub matched: String,
    pub answer: String,
    /// The full-text rank score, to break ties.
    pub text_score: f64,
}

/// Question similarity under which entries are ordered by full-text rank.
const ORDER_FLOOR: f64 = 0.5;

/// Scores candidates, keeps each entry's best question, best first, `size` of them.
pub(crate) fn rank(query: &str, candidates: Vec<Candidate>, size: usize) -> Vec<FaqMatch> {
    let mut best: HashMap<String, (FaqMatch, f64)> = HashMap::new();
    for c in candidates {
        let score = question_similarity(query, &c.matched);
        let better = best
            .get(&c.id)
            .is_none_or(|(m, ts)| (score, c.text_score) > (m.score, *ts));
        if better {
            let m = FaqMatch { id: c.id.clone(), question: c.question, matched: c.matched, answer: c.answer, score };
            best.insert(c.id, (m, c.text_score));
        }
    }
    let mut out: Vec<(FaqMatch, f64)> = best.into_values().collect();
    // Below ORDER_FLOOR a few shared characters decide the edit similarity, so the
    // full-text rank orders those entries instead.
    let key = |m: &FaqMatch| if m.score >= ORDER_FLOOR { m.score } else { 0.0 };
    out.sort_by(|(a, ta), (b, tb)| {
        key(b).total_cmp(&key(a)).then(tb.total_cmp(ta)).then(a.id.cmp(&b.id))
    });
    out.into_iter().take(size).map(|(m, _)| m).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_ignores_punctuation_and_counts_edits() {
        assert_eq!(question_similarity("如何自动泊车？", "如何 自动泊车"), 1.0);
        let s = question_similarity("怎么自动泊车", "如何自动泊车");
        assert!((s - 4.0 / 6.0).abs() < 1e-9, "{s}");
        assert_eq!(question_similarity("", "x"), 0.0);
    }

    #[test]
    fn faq_lines_are_checked() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.jsonl");
        std::fs::write(&p, "{\"question\":\"几点开门\",\"answer\":\"九点\"}\n{\"question\":\"q\",\"answr\":\"x\"}\n").unwrap();
        let e = read_faq(&p).unwrap_err().to_string();
        assert!(e.contains("f.jsonl:2:") && e.contains("answr"), "{e}");
    }

    #[test]
    fn rank_keeps_best_question_per_entry() {
        let c = |id: &str, q: &str| Candidate {
            id: id.into(),
            question: "主问题".into(),
            matched: q.into(),
            answer: "答".into(),
            text_score: 1.0,
        };
        let r = rank("营业时间", vec![c("a", "营业时间是"), c("a", "营业时间"), c("b", "时间")], 5);
        assert_eq!(r[0].id, "a");
        assert_eq!(r[0].score, 1.0);
        assert_eq!(r.len(), 2);
        // Low similarities do not override the full-text order.
        let mut weak = c("weak", "营业时间是什么时候");
        weak.text_score = 0.5;
        let r = rank("退款要怎么弄", vec![weak, c("strong", "怎么申请退款")], 5);
        assert_eq!(r[0].id, "strong");
    }
}
