//! Grounding evidence (reference §4 stage 15): the knowledge item the reply copies
//! most from, by character-level ROUGE-L precision (LCS length / reply length).

use crate::request::Evidence;

/// Characters that count: whitespace is not a token in the reference's
/// space-joined character ROUGE.
fn tokens(text: &str) -> Vec<char> {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Length of the longest common subsequence (two-row dynamic programming, no
/// recursion: long knowledge must not blow the stack as in the reference).
pub fn lcs_len(a: &[char], b: &[char]) -> usize {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// ROUGE-L precision of `response` against `reference`, by character.
pub fn rouge_l_precision(response: &str, reference: &str) -> f64 {
    let r = tokens(response);
    if r.is_empty() {
        return 0.0;
    }
    lcs_len(&r, &tokens(reference)) as f64 / r.len() as f64
}

/// The best-scoring candidate, with its score, when the score is above `threshold`.
/// Candidates' own scores are ignored. Ties keep the earlier item.
pub fn find_evidence(response: &str, items: &[Evidence], threshold: f64) -> Option<Evidence> {
    let mut best: Option<Evidence> = None;
    for item in items {
        let score = rouge_l_precision(response, &item.text);
        if best.as_ref().is_none_or(|b| score > b.score) {
            best = Some(Evidence {
                score,
                ..item.clone()
            });
        }
    }
    best.filter(|b| b.score > threshold)
}
