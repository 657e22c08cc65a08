//! HF logits processors and warpers, in HF's order and with its f32 arithmetic, applied to
//! one hypothesis' scores at a time, and one processor of ours (`max_repeat_run`, after
//! HF's, off unless set).

use super::config::ResolvedConfig;

/// Applies the configured processors (and, when sampling, the warpers) to score rows.
pub struct LogitsPipeline<'a> {
    config: &'a ResolvedConfig,
    banned_always: Vec<u32>,
    banned_after: Vec<&'a [u32]>,
}

impl<'a> LogitsPipeline<'a> {
    pub fn new(config: &'a ResolvedConfig) -> Self {
        let mut banned_always = Vec::new();
        let mut banned_after = Vec::new();
        for seq in &config.bad_words_ids {
            if seq.len() == 1 {
                banned_always.push(seq[0]);
            } else {
                banned_after.push(seq.as_slice());
            }
        }
        LogitsPipeline {
            config,
            banned_always,
            banned_after,
        }
    }

    /// The processors HF runs for every decoding method, in its order: repetition penalty,
    /// no-repeat n-grams, bad words, minimum length. `ids` is the hypothesis so far,
    /// starting with the decoder start token.
    pub fn process(&self, ids: &[u32], scores: &mut [f32]) {
        let c = self.config;
        if c.repetition_penalty != 1.0 {
            repetition_penalty(ids, scores, c.repetition_penalty as f32);
        }
        if c.no_repeat_ngram_size > 0 {
            for token in banned_ngram_tokens(ids, c.no_repeat_ngram_size) {
                scores[token as usize] = f32::NEG_INFINITY;
            }
        }
        for &token in &self.banned_always {
            scores[token as usize] = f32::NEG_INFINITY;
        }
        for seq in &self.banned_after {
            // HF ignores a banned sequence longer than the hypothesis.
            if seq.len() > ids.len() {
                continue;
            }
            let (prefix, last) = seq.split_at(seq.len() - 1);
            if ids.ends_with(prefix) {
                scores[last[0] as usize] = f32::NEG_INFINITY;
            }
        }
        if ids.len() < c.min_length || ids.len() - 1 < c.min_new_tokens {
            for &eos in &c.eos_token_ids {
                scores[eos as usize] = f32::NEG_INFINITY;
            }
        }
        if let Some(limit) = c.max_repeat_run {
            // The start token is not text: a run may not count it.
            for token in banned_run_tokens(&ids[1.min(ids.len())..], limit) {
                scores[token as usize] = f32::NEG_INFINITY;
            }
        }
    }

    /// The sampling warpers: temperature, top-k, top-p.
    pub fn warp(&self, scores: &mut [f32]) {
        let c = self.config;
        if c.temperature != 1.0 {
            let t = c.temperature as f32;
            scores.iter_mut().for_each(|s| *s /= t);
        }
        if c.top_k != 0 {
            top_k(scores, c.top_k.max(1));
        }
        if c.top_p < 1.0 {
            top_p(scores, c.top_p);
        }
    }
}

fn repetition_penalty(ids: &[u32], scores: &mut [f32], penalty: f32) {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for &id in ids {
        if seen.insert(id) {
            let s = &mut scores[id as usize];
            *s = if *s < 0.0 { *s * penalty } else { *s / penalty };
        }
    }
}

/// Tokens that would complete an n-gram already present in `ids`.
pub fn banned_ngram_tokens(ids: &[u32], n: usize) -> Vec<u32> {
    if ids.len() + 1 < n {
        return Vec::new();
    }
    let prefix = &ids[ids.len() + 1 - n..];
    ids.windows(n)
        .filter(|w| &w[..n - 1] == prefix)
        .map(|w| w[n - 1])
        .collect()
}

/// The longest unit [`banned_run_tokens`] looks for: one token (`慢慢慢慢`) or two
/// (`好的好的好的好的`); longer repeats are the no-repeat n-gram processor's.
const MAX_RUN_UNIT: usize = 2;

/// Tokens that would make a run of more than `limit` copies of the same unit of one or
/// two tokens at the end of `ids`: the token that starts the next copy. Small models
/// stutter (`空落落落落落落`) in ways no-repeat n-grams of the reference's size (6) cannot
/// see, and a repetition penalty only slows.
pub fn banned_run_tokens(ids: &[u32], limit: usize) -> Vec<u32> {
    let mut banned = Vec::new();
    if limit == 0 {
        return banned;
    }
    for unit in 1..=MAX_RUN_UNIT {
        let span = unit * limit;
        if ids.len() < span {
            continue;
        }
        let tail = &ids[ids.len() - span..];
        let (first, rest) = tail.split_at(unit);
        // A two-token unit of one token twice is the one-token run, counted there.
        if unit > 1 && first.iter().all(|&t| t == first[0]) {
            continue;
        }
        if rest.chunks(unit).all(|copy| copy == first) {
            banned.push(first[0]);
        }
    }
    banned
}

/// Keeps the `k` highest scores and every score tied with the k-th.
fn top_k(scores: &mut [f32], k: usize) {
    let k = k.min(scores.len());
    let mut sorted: Vec<f32> = scores.to_vec();
    let (_, kth, _) = sorted.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
    let threshold = *kth;
    scores
        .iter_mut()
        .filter(|s| **s < threshold)
        .for_each(|s| *s = f32::NEG_INFINITY);
}

/// Nucleus filtering as HF does it: sort ascending, drop the low tail whose cumulative
/// probability is ≤ 1 - top_p, always keep the top token.
fn top_p(scores: &mut [f32], top_p: f64) {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let sorted: Vec<f32> = order.iter().map(|&i| scores[i]).collect();
    let probs = softmax(&sorted);
    let threshold = (1.0 - top_p) as f32;
    // torch's CPU cumsum accumulates in double and stores f32.
    let mut cumulative = 0f64;
    let last = order.len() - 1;
    for (rank, (&index, p)) in order.iter().zip(probs).enumerate() {
        cumulative += p as f64;
        if (cumulative as f32) <= threshold && rank < last {
            scores[index] = f32::NEG_INFINITY;
        }
    }
}

/// Softmax in f32 (max-shifted).
pub fn softmax(scores: &[f32]) -> Vec<f32> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = scores.iter().map(|&s| (s - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// Log-softmax in f32, as beam search scores tokens (the sum of exponentials vectorised,
/// [`crate::kernels::sum_exp_below`]).
pub fn log_softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum = crate::kernels::sum_exp_below(scores, max);
    let log_sum = sum.ln();
    scores.iter_mut().for_each(|s| *s = *s - max - log_sum);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GenerationConfig;

    #[test]
    fn ngram_ban_follows_hf() {
        // ids: 0 5 6 7 5 6 → with n=3 the prefix (5,6) was followed by 7.
        assert_eq!(banned_ngram_tokens(&[0, 5, 6, 7, 5, 6], 3), vec![7]);
        assert_eq!(banned_ngram_tokens(&[0, 5], 3), Vec::<u32>::new());
        assert_eq!(banned_ngram_tokens(&[0, 5, 5], 2), vec![5]);
    }

    #[test]
    fn run_ban_stops_the_copy_after_the_limit() {
        // 慢 three times: a fourth is banned at a limit of 3, not at 4.
        assert_eq!(banned_run_tokens(&[9, 7, 7, 7], 3), vec![7]);
        assert_eq!(banned_run_tokens(&[9, 7, 7, 7], 4), Vec::<u32>::new());
        assert_eq!(banned_run_tokens(&[7, 7, 9, 7], 2), Vec::<u32>::new());
        // A two-token unit: (5 6) three times bans the 5 that would start the fourth.
        assert_eq!(banned_run_tokens(&[1, 5, 6, 5, 6, 5, 6], 3), vec![5]);
        assert_eq!(banned_run_tokens(&[1, 6, 5, 6, 5, 6], 3), Vec::<u32>::new());
        // Both at once: 7 7 7 7 is four one-token copies and two two-token ones.
        assert_eq!(banned_run_tokens(&[7, 7, 7, 7], 2), vec![7]);
        // Shorter than a run, or no limit at all: nothing.
        assert_eq!(banned_run_tokens(&[7, 7], 3), Vec::<u32>::new());
        assert_eq!(banned_run_tokens(&[7, 7, 7], 0), Vec::<u32>::new());
    }

    #[test]
    fn run_ban_ignores_the_start_token() {
        let config = GenerationConfig { max_repeat_run: Some(2), ..Default::default() };
        let model = crate::T5Config::from_json_str(
            r#"{"vocab_size": 8, "d_model": 4, "d_kv": 2, "d_ff": 4, "num_layers": 1, "num_heads": 2}"#,
            std::path::Path::new("config.json"),
        )
        .unwrap();
        let resolved = config.resolve(&model).unwrap();
        let pipeline = LogitsPipeline::new(&resolved);
        // ids start with the decoder start token 0; a reply "0" once is not a run of two.
        let mut scores = vec![0.0f32; 8];
        pipeline.process(&[0, 0], &mut scores);
        assert!(scores[0].is_finite());
        pipeline.process(&[0, 0, 0], &mut scores);
        assert_eq!(scores[0], f32::NEG_INFINITY);
    }

    #[test]
    fn top_k_keeps_ties() {
        let mut s = vec![1.0, 3.0, 2.0, 3.0, 0.5];
        top_k(&mut s, 1);
        assert_eq!(s, vec![f32::NEG_INFINITY, 3.0, f32::NEG_INFINITY, 3.0, f32::NEG_INFINITY]);
    }

    #[test]
    fn top_p_keeps_the_nucleus() {
        // probabilities ≈ 0.64, 0.24, 0.09, 0.03
        let mut s = vec![3.0f32, 2.0, 1.0, 0.0];
        top_p(&mut s, 0.8);
        assert!(s[0].is_finite() && s[1].is_finite());
        assert!(s[2] == f32::NEG_INFINITY && s[3] == f32::NEG_INFINITY);
        let mut one = vec![0.0f32, 10.0];
        top_p(&mut one, 0.0);
        assert_eq!(one, vec![f32::NEG_INFINITY, 10.0]);
    }
}
