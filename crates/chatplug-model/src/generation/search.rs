//! One request's decoding as a state machine: it names the tokens to feed, takes the
//! logits of that step, and says what the caches need next. Whoever runs the model drives
//! it: [`super::generate_encoded`] one request at a time, [`super::batch`] many requests
//! in one pass over the weights. Both therefore choose exactly the same tokens.

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::beam::BeamHypotheses;
use super::processors::{log_softmax, softmax, LogitsPipeline};
use super::{GenerationOutput, ResolvedConfig, TokenCallback};
use crate::error::{ModelError, Result};

/// What the decoder caches need after a step.
#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    /// Feed [`Search::inputs`] next, caches as they are.
    Continue,
    /// Keep these rows of the caches (with repetition, in this order), then feed the inputs.
    Reorder(Vec<u32>),
    /// No more steps; [`Search::finish`] has the output.
    Finished,
}

pub(crate) enum Search {
    Rows(RowSearch),
    Beam(BeamSearch),
}

impl Search {
    pub(crate) fn new(config: ResolvedConfig) -> Self {
        if config.num_beams > 1 {
            Search::Beam(BeamSearch::new(config))
        } else {
            Search::Rows(RowSearch::new(config))
        }
    }

    /// No step is left to run (also true before the first step when `max_length` allows none).
    pub(crate) fn is_finished(&self) -> bool {
        match self {
            Search::Rows(s) => s.ended || s.sequences[0].len() >= s.config.max_length,
            Search::Beam(s) => s.ended || s.beams[0].len() >= s.config.max_length,
        }
    }

    /// The hypotheses' token sequences so far.
    fn sequences(&self) -> &[Vec<u32>] {
        match self {
            Search::Rows(s) => &s.sequences,
            Search::Beam(s) => &s.beams,
        }
    }

    /// How many hypotheses a step feeds (rows of the decoder input).
    pub(crate) fn rows(&self) -> usize {
        self.sequences().len()
    }

    /// The token each hypothesis feeds next: one row per hypothesis.
    pub(crate) fn inputs(&self) -> Vec<u32> {
        self.sequences()
            .iter()
            .map(|row| *row.last().expect("rows start with the decoder start token"))
            .collect()
    }

    /// Takes one step's logits (one row per input) and chooses the next tokens.
    pub(crate) fn advance(&mut self, logits: Vec<Vec<f32>>, on_token: &mut Option<TokenCallback<'_>>) -> Result<Step> {
        match self {
            Search::Rows(s) => Ok(s.advance(logits, on_token)),
            Search::Beam(s) => s.advance(logits, on_token),
        }
    }

    pub(crate) fn finish(self) -> GenerationOutput {
        match self {
            Search::Rows(s) => GenerationOutput { sequences: s.sequences },
            Search::Beam(s) => s.finish(),
        }
    }
}

/// Greedy search and multinomial sampling: independent rows, no reordering.
pub(crate) struct RowSearch {
    config: ResolvedConfig,
    rng: rand::rngs::StdRng,
    sequences: Vec<Vec<u32>>,
    unfinished: Vec<bool>,
    /// Every row ended, or the callback asked to stop.
    ended: bool,
}

impl RowSearch {
    fn new(config: ResolvedConfig) -> Self {
        let rows = if config.do_sample { config.num_return_sequences } else { 1 };
        RowSearch {
            rng: rand::rngs::StdRng::seed_from_u64(config.seed),
            sequences: vec![vec![config.decoder_start_token_id]; rows],
            unfinished: vec![true; rows],
            ended: false,
            config,
        }
    }

    fn advance(&mut self, logits: Vec<Vec<f32>>, on_token: &mut Option<TokenCallback<'_>>) -> Step {
        let config = &self.config;
        let pipeline = LogitsPipeline::new(config);
        let has_eos = !config.eos_token_ids.is_empty();
        for (row, mut scores) in logits.into_iter().enumerate() {
            pipeline.process(&self.sequences[row], &mut scores);
            let token = if config.do_sample {
                pipeline.warp(&mut scores);
                sample(&scores, &mut self.rng)
            } else {
                argmax(&scores)
            };
            let token = if self.unfinished[row] || !has_eos { token } else { config.pad_token_id };
            self.sequences[row].push(token);
            if self.unfinished[row] {
                if let Some(callback) = on_token.as_mut() {
                    self.ended |= callback(row, token).is_break();
                }
                if config.eos_token_ids.contains(&token) {
                    self.unfinished[row] = false;
                }
            }
        }
        self.ended |= !self.unfinished.iter().any(|&u| u);
        if self.ended || self.sequences[0].len() >= config.max_length {
            Step::Finished
        } else {
            Step::Continue
        }
    }
}

/// First index of the maximum, like `torch.argmax`.
fn argmax(scores: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best as u32
}

fn sample(scores: &[f32], rng: &mut impl Rng) -> u32 {
    let probs = softmax(scores);
    let mut target: f64 = rng.random::<f64>();
    let mut last_positive = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            last_positive = i;
            target -= p as f64;
            if target < 0.0 {
                return i as u32;
            }
        }
    }
    last_positive as u32
}

/// HF beam search (`BeamSearchScorer`): `num_beams` rows, reordered every step.
pub(crate) struct BeamSearch {
    config: ResolvedConfig,
    beams: Vec<Vec<u32>>,
    beam_scores: Vec<f32>,
    finished: BeamHypotheses,
    /// HF's `is_done`: no beam can beat the finished hypotheses any more.
    done: bool,
    /// Done, or the callback asked to stop (the beams are finalized as they are).
    ended: bool,
}

impl BeamSearch {
    fn new(config: ResolvedConfig) -> Self {
        let num_beams = config.num_beams;
        // Only the first beam is live at the start, so the others never get chosen.
        let mut beam_scores = vec![-1e9f32; num_beams];
        beam_scores[0] = 0.0;
        BeamSearch {
            beams: vec![vec![config.decoder_start_token_id]; num_beams],
            beam_scores,
            finished: BeamHypotheses::new(num_beams, config.length_penalty, config.early_stopping, config.max_length),
            done: false,
            ended: false,
            config,
        }
    }

    fn advance(&mut self, logits: Vec<Vec<f32>>, on_token: &mut Option<TokenCallback<'_>>) -> Result<Step> {
        let config = &self.config;
        let pipeline = LogitsPipeline::new(config);
        let num_beams = config.num_beams;
        let eos = &config.eos_token_ids;
        let keep = (1 + eos.len()).max(2) * num_beams;
        let vocab = logits[0].len();
        // Each beam's log-softmax, processors and best `keep` candidates in parallel (a
        // pass over the whole vocabulary each); the best `keep` of all beams are among
        // them. Offering the lists in beam order, each best first, keeps HF's order:
        // score, then the lower flat index.
        let (beams, beam_scores) = (&self.beams, &self.beam_scores);
        let per_beam: Vec<Vec<(f32, usize)>> = logits
            .into_par_iter()
            .enumerate()
            .map(|(b, mut scores)| {
                log_softmax(&mut scores);
                pipeline.process(&beams[b], &mut scores);
                let mut best = TopK::new(keep);
                for (token, s) in scores.into_iter().enumerate() {
                    best.offer(s + beam_scores[b], b * vocab + token);
                }
                best.into_sorted()
            })
            .collect();
        let mut candidates = TopK::new(keep);
        for (score, flat) in per_beam.into_iter().flatten() {
            candidates.offer(score, flat);
        }
        let candidates = candidates.into_sorted();

        // HF `BeamSearchScorer.process`.
        let cur_len = self.beams[0].len() + 1;
        let mut next: Vec<(f32, u32, usize)> = Vec::with_capacity(num_beams);
        for (rank, &(score, flat)) in candidates.iter().enumerate() {
            let (source, token) = (flat / vocab, (flat % vocab) as u32);
            if eos.contains(&token) {
                if rank >= num_beams {
                    continue;
                }
                self.finished.add(self.beams[source].clone(), score as f64, cur_len - 1);
            } else {
                next.push((score, token, source));
            }
            if next.len() == num_beams {
                break;
            }
        }
        if next.len() < num_beams {
            return Err(ModelError::generation(
                "num_beams",
                "fewer candidate tokens than beams remain; the vocabulary is too constrained",
            ));
        }
        self.done = self.done || self.finished.is_done(candidates[0].0 as f64, cur_len);

        let sources: Vec<u32> = next.iter().map(|&(_, _, s)| s as u32).collect();
        self.beams = next
            .iter()
            .map(|&(_, token, source)| {
                let mut b = self.beams[source].clone();
                b.push(token);
                b
            })
            .collect();
        self.beam_scores = next.iter().map(|&(s, _, _)| s).collect();
        if let Some(callback) = on_token.as_mut() {
            let mut stop = false;
            for (b, &(_, token, _)) in next.iter().enumerate() {
                stop |= callback(b, token).is_break();
            }
            self.ended |= stop;
        }
        self.ended |= self.done;
        Ok(if self.ended || self.beams[0].len() >= self.config.max_length {
            Step::Finished
        } else {
            Step::Reorder(sources)
        })
    }

    /// HF `BeamSearchScorer.finalize`.
    fn finish(mut self) -> GenerationOutput {
        let config = &self.config;
        if !self.done {
            for (b, tokens) in self.beams.iter().enumerate() {
                self.finished.add(tokens.clone(), self.beam_scores[b] as f64, tokens.len() - 1);
            }
        }
        let eos = &config.eos_token_ids;
        let best = self.finished.best(config.num_return_sequences);
        let longest = best.iter().map(Vec::len).max().unwrap_or(0);
        let width = (longest + 1).min(config.max_length);
        let sequences = best
            .into_iter()
            .map(|mut tokens| {
                if tokens.len() < width {
                    tokens.push(eos.first().copied().unwrap_or(config.pad_token_id));
                }
                tokens.resize(width, config.pad_token_id);
                tokens
            })
            .collect();
        GenerationOutput { sequences }
    }
}

/// The `k` best (score, index) pairs, best first; equal scores keep the lower index first.
struct TopK {
    k: usize,
    items: Vec<(f32, usize)>,
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK { k, items: Vec::with_capacity(k + 1) }
    }

    fn offer(&mut self, score: f32, index: usize) {
        if self.items.len() == self.k && !(score > self.items[self.k - 1].0) {
            return;
        }
        let at = self.items.partition_point(|&(s, _)| s >= score);
        self.items.insert(at, (score, index));
        self.items.truncate(self.k);
    }

    fn into_sorted(self) -> Vec<(f32, usize)> {
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::TopK;

    #[test]
    fn top_k_orders_and_breaks_ties_by_index() {
        let mut t = TopK::new(3);
        for (i, s) in [1.0, 5.0, 3.0, 5.0, 4.0, -1.0].into_iter().enumerate() {
            t.offer(s, i);
        }
        assert_eq!(t.into_sorted(), vec![(5.0, 1), (5.0, 3), (4.0, 4)]);
    }

    #[test]
    fn best_of_each_beam_merged_in_beam_order_equals_the_best_of_all() {
        // What beam search relies on: per-beam lists, offered beam by beam, give the
        // candidates (and their order, ties included) of one pass over all beams.
        let (beams, vocab, keep) = (3, 50, 6);
        let scores: Vec<f32> = (0..beams * vocab).map(|i| ((i * 7919 + 13) % 23) as f32 * 0.5).collect();
        let mut all = TopK::new(keep);
        for (i, &s) in scores.iter().enumerate() {
            all.offer(s, i);
        }
        let mut merged = TopK::new(keep);
        for b in 0..beams {
            let mut best = TopK::new(keep);
            for t in 0..vocab {
                best.offer(scores[b * vocab + t], b * vocab + t);
            }
            for (s, i) in best.into_sorted() {
                merged.offer(s, i);
            }
        }
        let want = all.into_sorted();
        assert!(want.windows(2).any(|w| w[0].0 == w[1].0), "the case has ties");
        assert_eq!(merged.into_sorted(), want);
    }
}
