//! ChatPLUG-240M's own beam search: the PALM `translate` routine of ModelScope's
//! `fid_plug` backbone (`_fast_translate_batch`), reproduced step for step for one request,
//! including its quirks, because its results are what the released model was tuned with:
//!
//! - scores are log-probabilities summed over the beam and divided by `(step + 1) ^
//!   length_penalty` at every step (and multiplied back for the next one);
//! - `[SEP]` is forbidden (-1e20) while `step < min_length`;
//! - the repetition penalty applies only to the tokens that would complete an n-gram
//!   (`no_repeat_ngram_size`) already in the hypothesis, start token included (negative
//!   log-probabilities are multiplied by it, others divided); no-repeat n-grams are not
//!   banned outright;
//! - a bad word's last token is forbidden after its prefix, matched with Python slice
//!   semantics on the hypothesis (a prefix longer than the hypothesis wraps around);
//! - a hypothesis that ends with `[SEP]` is recorded but stays among the beams; the search
//!   ends when the best beam ends (or at `max_length`, when every beam is recorded), and
//!   the best recorded hypothesis (stable sort by its length-normalised score) is the
//!   answer, `[SEP]` included when it ended with one;
//! - `block_trigram` acts after the top-k choice in the reference, so it changes nothing
//!   and is not applied;
//! - sampling draws one token per beam and, as in the reference, continues every beam from
//!   the first beam's history; it uses this crate's seeded generator, not torch's.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{ModelError, Result};
use crate::generation::config::EarlyStopping;
use crate::generation::GenerationConfig;
use crate::plug::model::{FidPlug, PlugEncoded};

/// The reference's keyword arguments and their defaults.
#[derive(Debug, Clone)]
pub struct TranslateOptions {
    pub max_length: usize,
    pub min_length: usize,
    pub num_beams: usize,
    pub length_penalty: f64,
    pub repetition_penalty: f64,
    pub no_repeat_ngram_size: usize,
    pub early_stopping: bool,
    pub bad_words_ids: Vec<Vec<u32>>,
    pub do_sample: bool,
    pub temperature: f64,
    pub top_k: usize,
    pub top_p: f64,
    /// Seed of the sampling generator.
    pub seed: u64,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        TranslateOptions {
            max_length: 80,
            min_length: 10,
            num_beams: 3,
            length_penalty: 1.2,
            repetition_penalty: 1.2,
            no_repeat_ngram_size: 4,
            early_stopping: true,
            bad_words_ids: Vec::new(),
            do_sample: false,
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            seed: 0,
        }
    }
}

impl TranslateOptions {
    /// The reference's options from a request's HF-style generation options (the names
    /// ModelScope's pipeline passes through to `translate`). `max_length` / `min_length`
    /// count generated tokens, as in `translate`; `max_new_tokens` / `min_new_tokens` are
    /// the same counts under HF's names. Options `translate` does not have are errors.
    pub fn from_generation(g: &GenerationConfig) -> Result<Self> {
        let d = TranslateOptions::default();
        if g.num_return_sequences.is_some_and(|n| n != 1) {
            return Err(ModelError::generation("num_return_sequences", "ChatPLUG-240M's beam search returns one sequence"));
        }
        for (option, set) in [
            ("eos_token_id", g.eos_token_id.is_some()),
            ("pad_token_id", g.pad_token_id.is_some()),
            ("decoder_start_token_id", g.decoder_start_token_id.is_some()),
        ] {
            if set {
                return Err(ModelError::generation(option, "ChatPLUG-240M starts with [CLS] and ends with [SEP]"));
            }
        }
        if g.max_repeat_run.is_some_and(|limit| limit > 0) {
            return Err(ModelError::generation("max_repeat_run", "not an option of ChatPLUG-240M's beam search (`translate`)"));
        }
        let early_stopping = match g.early_stopping {
            None | Some(EarlyStopping::Stop) => true,
            Some(EarlyStopping::Heuristic) => false,
            Some(EarlyStopping::Never) => {
                return Err(ModelError::generation("early_stopping", "\"never\" is not an option of ChatPLUG-240M's beam search"))
            }
        };
        Ok(TranslateOptions {
            max_length: g.max_new_tokens.or(g.max_length).unwrap_or(d.max_length),
            min_length: g.min_new_tokens.or(g.min_length).unwrap_or(d.min_length),
            num_beams: g.num_beams.unwrap_or(d.num_beams),
            length_penalty: g.length_penalty.unwrap_or(d.length_penalty),
            repetition_penalty: g.repetition_penalty.unwrap_or(d.repetition_penalty),
            no_repeat_ngram_size: g.no_repeat_ngram_size.unwrap_or(d.no_repeat_ngram_size),
            early_stopping,
            bad_words_ids: g.bad_words_ids.clone().unwrap_or_default(),
            do_sample: g.do_sample.unwrap_or(d.do_sample),
            temperature: g.temperature.unwrap_or(d.temperature),
            top_k: g.top_k.unwrap_or(d.top_k),
            top_p: g.top_p.unwrap_or(d.top_p),
            seed: g.seed.unwrap_or(d.seed),
        })
    }
}

const FORBIDDEN: f32 = -1e20;

/// Generates the reply ids for one encoded request, starting from `start` (`[CLS]`) and
/// ending at `end` (`[SEP]`), as the reference's `translate` returns them (without the
/// start token).
pub fn translate(
    model: &FidPlug,
    encoded: &PlugEncoded,
    start: u32,
    end: u32,
    options: &TranslateOptions,
) -> Result<Vec<u32>> {
    let ids = translate_until(model, encoded, start, end, options, &mut || true)?;
    Ok(ids.expect("only keep_going stops the search"))
}

/// [`translate`], asking `keep_going` before every step; `None` when it said no (a
/// cancelled request frees its worker at the next step).
pub fn translate_until(
    model: &FidPlug,
    encoded: &PlugEncoded,
    start: u32,
    end: u32,
    options: &TranslateOptions,
    keep_going: &mut dyn FnMut() -> bool,
) -> Result<Option<Vec<u32>>> {
    let o = options;
    if o.num_beams == 0 {
        return Err(ModelError::generation("num_beams", "must be at least 1"));
    }
    if o.max_length == 0 {
        return Err(ModelError::generation("max_length", "must be at least 1"));
    }
    if !(o.temperature > 0.0) {
        return Err(ModelError::generation("temperature", "must be positive"));
    }
    if o.bad_words_ids.iter().any(Vec::is_empty) {
        return Err(ModelError::generation("bad_words_ids", "an empty bad word"));
    }
    let beams = o.num_beams;
    let vocab = model.config().vocab_size;
    // Prefix → banned last tokens, and the prefix lengths in use.
    let mut bad_words: std::collections::HashMap<Vec<u32>, Vec<u32>> = Default::default();
    let mut prefix_lengths: Vec<usize> = Vec::new();
    for word in &o.bad_words_ids {
        let (last, prefix) = word.split_last().expect("checked non-empty");
        bad_words.entry(prefix.to_vec()).or_default().push(*last);
        if !prefix_lengths.contains(&prefix.len()) {
            prefix_lengths.push(prefix.len());
        }
    }
    let mut rng = StdRng::seed_from_u64(o.seed);

    let mut state = model.new_decoder_state();
    let mut alive: Vec<Vec<u32>> = vec![vec![start]; beams];
    // Full probability to the first beam on the first step.
    let mut beam_scores: Vec<f32> = (0..beams).map(|b| if b == 0 { 0.0 } else { f32::NEG_INFINITY }).collect();
    let mut hypotheses: Vec<(f32, Vec<u32>)> = Vec::new();

    for step in 0..o.max_length {
        if !keep_going() {
            return Ok(None);
        }
        let last: Vec<u32> = alive.iter().map(|s| *s.last().unwrap()).collect();
        let log_probs = model.decode_step(encoded, &mut state, &last)?;
        let mut rows: Vec<Vec<f32>> = log_probs.to_vec2()?;

        for row in rows.iter_mut() {
            if step < o.min_length {
                row[end as usize] = FORBIDDEN;
            }
        }
        if !bad_words.is_empty() {
            for (row, seq) in rows.iter_mut().zip(&alive) {
                for &len in &prefix_lengths {
                    if let Some(banned) = bad_words.get(python_tail(seq, len)) {
                        for &token in banned {
                            if (token as usize) < vocab {
                                row[token as usize] = FORBIDDEN;
                            }
                        }
                    }
                }
            }
        }
        if o.repetition_penalty > 1.0 {
            let penalty = o.repetition_penalty as f32;
            for (row, seq) in rows.iter_mut().zip(&alive) {
                let mut tokens = ngram_completions(seq, o.no_repeat_ngram_size);
                tokens.sort_unstable();
                tokens.dedup();
                for token in tokens {
                    let lp = &mut row[token as usize];
                    if *lp < 0.0 {
                        *lp *= penalty;
                    } else {
                        *lp /= penalty;
                    }
                }
            }
        }

        let length_penalty = ((step + 1) as f64).powf(o.length_penalty) as f32;
        // (score, flat id = beam * vocab + token) of the beams chosen at this step.
        let chosen: Vec<(f32, usize)> = if o.do_sample {
            sample_step(&rows, &beam_scores, length_penalty, o, &mut rng)?
        } else {
            let mut flat: Vec<(f32, usize)> = Vec::with_capacity(beams * vocab);
            for (b, row) in rows.iter().enumerate() {
                for (t, &lp) in row.iter().enumerate() {
                    flat.push(((lp + beam_scores[b]) / length_penalty, b * vocab + t));
                }
            }
            top_k(flat, beams)
        };

        beam_scores = chosen.iter().map(|&(s, _)| s * length_penalty).collect();
        let origins: Vec<u32> = chosen.iter().map(|&(_, id)| (id / vocab) as u32).collect();
        alive = chosen
            .iter()
            .map(|&(_, id)| {
                let mut seq = alive[id / vocab].clone();
                seq.push((id % vocab) as u32);
                seq
            })
            .collect();

        let mut finished: Vec<bool> = chosen.iter().map(|&(_, id)| (id % vocab) as u32 == end).collect();
        if step + 1 == o.max_length {
            finished.iter_mut().for_each(|f| *f = true);
        }
        let mut done = finished[0];
        if finished.iter().any(|&f| f) {
            if done {
                finished.iter_mut().for_each(|f| *f = true);
            }
            for (j, _) in finished.iter().enumerate().filter(|(_, &f)| f) {
                hypotheses.push((chosen[j].0, alive[j][1..].to_vec()));
                // The reference compares the number of *requests* (one here) with num_beams.
                if o.early_stopping && beams == 1 {
                    done = true;
                }
            }
            if done {
                let mut best = hypotheses;
                // Stable, descending: the first recorded of equal scores wins.
                best.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
                return Ok(Some(best.swap_remove(0).1));
            }
        }
        model.reorder(&mut state, &origins)?;
    }
    unreachable!("the last step records every beam and ends the search")
}

/// The `len` last tokens of `seq` as `seq[len(seq) - len : len(seq)]` in Python, where a
/// negative start counts from the end and then clamps at 0.
fn python_tail(seq: &[u32], len: usize) -> &[u32] {
    let n = seq.len() as i64;
    let mut start = n - len as i64;
    if start < 0 {
        start += n;
    }
    &seq[start.max(0) as usize..]
}

/// fairseq's `calc_banned_tokens` for one hypothesis: the tokens that followed earlier
/// occurrences of the hypothesis' last `n - 1` tokens (with repetition).
fn ngram_completions(seq: &[u32], n: usize) -> Vec<u32> {
    let cur_len = seq.len();
    if cur_len + 1 < n {
        return Vec::new();
    }
    let prefix = &seq[cur_len + 1 - n..cur_len];
    if n == 0 {
        return Vec::new();
    }
    seq.windows(n).filter(|w| &w[..n - 1] == prefix).map(|w| w[n - 1]).collect()
}

/// The `k` largest scores, highest first; equal scores in index order.
fn top_k(mut scored: Vec<(f32, usize)>, k: usize) -> Vec<(f32, usize)> {
    let key = |a: &(f32, usize), b: &(f32, usize)| {
        b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1))
    };
    let k = k.min(scored.len());
    if k < scored.len() {
        scored.select_nth_unstable_by(k, key);
        scored.truncate(k);
    }
    scored.sort_by(key);
    scored
}

/// The reference's sampling step: each beam's (temperature-scaled, top-k/top-p filtered)
/// distribution gives one token; its score is the filtered log-softmax plus the beam score,
/// length-normalised. The chosen flat ids are plain token ids (beam 0 as origin).
fn sample_step(
    rows: &[Vec<f32>],
    beam_scores: &[f32],
    length_penalty: f32,
    o: &TranslateOptions,
    rng: &mut StdRng,
) -> Result<Vec<(f32, usize)>> {
    let mut chosen = Vec::with_capacity(rows.len());
    for (row, &beam_score) in rows.iter().zip(beam_scores) {
        let mut scores: Vec<f32> = row.iter().map(|&lp| lp / o.temperature as f32).collect();
        filter_top_k_top_p(&mut scores, o.top_k, o.top_p);
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if max == f32::NEG_INFINITY {
            return Err(ModelError::generation("do_sample", "every token is filtered out"));
        }
        let weights: Vec<f64> = scores.iter().map(|&s| ((s - max) as f64).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut draw = rng.random::<f64>() * total;
        let mut token = weights.len() - 1;
        for (t, &w) in weights.iter().enumerate() {
            if draw < w {
                token = t;
                break;
            }
            draw -= w;
        }
        let log_total = total.ln() as f32 + max;
        let score = (scores[token] - log_total + beam_score) / length_penalty;
        chosen.push((score, token));
    }
    Ok(chosen)
}

/// HF's top-k / top-p filtering (the reference's copy): out-of-set scores become -inf.
fn filter_top_k_top_p(scores: &mut [f32], top_k: usize, top_p: f64) {
    if top_k > 0 {
        let k = top_k.min(scores.len());
        let mut sorted: Vec<f32> = scores.to_vec();
        sorted.sort_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
        let threshold = sorted[k - 1];
        for s in scores.iter_mut() {
            if *s < threshold {
                *s = f32::NEG_INFINITY;
            }
        }
    }
    if top_p < 1.0 {
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap_or(std::cmp::Ordering::Equal));
        let max = scores[order[0]];
        let total: f64 = scores.iter().map(|&s| ((s - max) as f64).exp()).sum();
        let mut cumulative = 0.0;
        let mut remove = Vec::new();
        for (rank, &t) in order.iter().enumerate() {
            // The first token above the threshold is kept (the mask is shifted by one).
            if rank > 0 && cumulative > top_p {
                remove.push(t);
            }
            cumulative += ((scores[t] - max) as f64).exp() / total;
        }
        for t in remove {
            scores[t] = f32::NEG_INFINITY;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_slices_wrap_negative_starts() {
        let seq = [101, 5, 6];
        assert_eq!(python_tail(&seq, 2), &[5, 6]);
        assert_eq!(python_tail(&seq, 0), &[] as &[u32]);
        assert_eq!(python_tail(&[101], 2), &[101]);
        assert_eq!(python_tail(&[101, 5], 3), &[5]);
    }

    #[test]
    fn ngram_completions_follow_fairseq() {
        // Last n-1 = [1, 2]; earlier [1, 2] was followed by 3 and by 4.
        assert_eq!(ngram_completions(&[1, 2, 3, 1, 2, 4, 1, 2], 3), vec![3, 4]);
        assert!(ngram_completions(&[1, 2], 4).is_empty());
        assert_eq!(ngram_completions(&[7, 8, 7], 1), vec![7, 8, 7]);
    }

    #[test]
    fn top_k_keeps_the_largest_in_order() {
        let got = top_k(vec![(0.1, 0), (0.5, 1), (f32::NEG_INFINITY, 2), (0.5, 3), (0.2, 4)], 3);
        assert_eq!(got.iter().map(|x| x.1).collect::<Vec<_>>(), vec![1, 3, 4]);
    }
}
