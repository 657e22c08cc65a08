//! Corpus BLEU exactly as NLTK's `corpus_bleu` (nltk 3.10.4) computes it with one
//! reference per hypothesis, uniform weights `1/n` over the orders `1..=n` and no
//! smoothing (`SmoothingFunction().method0`):
//!
//! - per hypothesis and order k, the clipped k-gram matches are added to the corpus
//!   numerator and `max(1, number of hypothesis k-grams)` to the denominator, so a
//!   hypothesis shorter than k still adds 1 to the denominator;
//! - brevity penalty over the corpus: 1 when the hypotheses are longer than the
//!   references in total, 0 when they are empty, else `exp(1 - ref_len / hyp_len)`;
//! - no unigram match at all: the score is 0;
//! - an order with no match is replaced by `sys.float_info.min` (`f64::MIN_POSITIVE`)
//!   before its logarithm is taken, so the score is tiny (e.g. about 1e-77 times the
//!   rest for BLEU-4) but not 0 — NLTK's answer, reproduced on purpose.
//!
//! NLTK adds the weighted logarithms with `math.fsum`; a plain sum differs from it by
//! at most a few ulps.

use crate::ngrams::ngram_counts;

/// The highest order BLEU is accumulated for.
pub const MAX_ORDER: usize = 4;

/// Running corpus counts; [`CorpusBleu::add`] each hypothesis with its reference, then
/// [`CorpusBleu::score`] any order up to [`MAX_ORDER`].
#[derive(Debug, Clone, Default)]
pub struct CorpusBleu {
    /// Clipped matches per order (index k-1).
    matches: [u64; MAX_ORDER],
    /// `max(1, hypothesis k-grams)` summed per order.
    totals: [u64; MAX_ORDER],
    hypothesis_len: u64,
    reference_len: u64,
}

impl CorpusBleu {
    pub fn new() -> CorpusBleu {
        CorpusBleu::default()
    }

    /// Adds one hypothesis and its single reference (characters).
    pub fn add(&mut self, hypothesis: &[char], reference: &[char]) {
        for k in 1..=MAX_ORDER {
            let hyp = ngram_counts(hypothesis, k);
            let reference_counts = ngram_counts(reference, k);
            let clipped: usize = hyp
                .iter()
                .map(|(gram, &count)| count.min(reference_counts.get(gram).copied().unwrap_or(0)))
                .sum();
            let total: usize = hyp.values().sum();
            self.matches[k - 1] += clipped as u64;
            self.totals[k - 1] += total.max(1) as u64;
        }
        self.hypothesis_len += hypothesis.len() as u64;
        self.reference_len += reference.len() as u64;
    }

    /// BLEU-`order` of the corpus so far (uniform weights over orders `1..=order`).
    /// Panics when `order` is 0 or above [`MAX_ORDER`] (a programming error).
    pub fn score(&self, order: usize) -> f64 {
        assert!(
            (1..=MAX_ORDER).contains(&order),
            "BLEU order {order} out of 1..={MAX_ORDER}"
        );
        if self.matches[0] == 0 {
            return 0.0;
        }
        let weight = 1.0 / order as f64;
        let log_sum: f64 = (0..order)
            .map(|i| {
                let precision = if self.matches[i] == 0 {
                    f64::MIN_POSITIVE
                } else {
                    self.matches[i] as f64 / self.totals[i] as f64
                };
                weight * precision.ln()
            })
            .sum();
        self.brevity_penalty() * log_sum.exp()
    }

    fn brevity_penalty(&self) -> f64 {
        if self.hypothesis_len > self.reference_len {
            1.0
        } else if self.hypothesis_len == 0 {
            0.0
        } else {
            (1.0 - self.reference_len as f64 / self.hypothesis_len as f64).exp()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn identical_texts_score_one() {
        let mut bleu = CorpusBleu::new();
        bleu.add(&chars("今天天气很好"), &chars("今天天气很好"));
        for n in 1..=4 {
            assert!((bleu.score(n) - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn no_unigram_match_is_zero_and_no_fourgram_match_is_tiny() {
        let mut bleu = CorpusBleu::new();
        bleu.add(&chars("甲乙丙"), &chars("丁戊己"));
        assert_eq!(bleu.score(1), 0.0);
        let mut bleu = CorpusBleu::new();
        bleu.add(&chars("甲乙丙丁"), &chars("甲乙丙戊"));
        let b4 = bleu.score(4);
        assert!(b4 > 0.0 && b4 < 1e-70, "{b4}");
    }
}
