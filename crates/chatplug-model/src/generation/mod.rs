//! Decoding with HF `generate` semantics for encoder-decoder models: greedy search,
//! multinomial sampling and beam search, with HF's logits processors.

mod beam;
pub mod config;
pub mod processors;

use std::ops::ControlFlow;

use rand::{Rng, SeedableRng};

use crate::error::Result;
use crate::fid::{EncodedPassages, FidT5};
pub use config::{EarlyStopping, GenerationConfig, ResolvedConfig, TokenIds};
use processors::{log_softmax, softmax, LogitsPipeline};

#[derive(Debug, Clone, PartialEq)]
pub struct GenerationOutput {
    /// As HF returns them: each starts with the decoder start token; finished rows are
    /// padded with `pad_token_id` to a common length.
    pub sequences: Vec<Vec<u32>>,
}

/// Receives `(sequence index, token id)` as tokens are chosen. Greedy search and sampling:
/// each row's tokens in order (a text stream). Beam search: each step's token of every beam
/// (`num_beams` calls a step); beams are reordered between steps, so these are no text
/// stream, only a chance to stop. Returning `ControlFlow::Break` stops generation after
/// that step (e.g. the client that streams the reply went away); greedy search and
/// sampling return the sequences so far, beam search its current beams.
pub type TokenCallback<'a> = &'a mut dyn FnMut(usize, u32) -> ControlFlow<()>;

/// Generates continuations for one FiD request (a list of token-id passages).
pub fn generate(
    model: &FidT5,
    passages: &[Vec<u32>],
    options: &GenerationConfig,
    on_token: Option<TokenCallback<'_>>,
) -> Result<GenerationOutput> {
    let encoded = model.encode(passages)?;
    generate_encoded(model, &encoded, options, on_token)
}

/// Like [`generate`], for passages already encoded (e.g. to time decoding alone).
pub fn generate_encoded(
    model: &FidT5,
    encoded: &EncodedPassages,
    options: &GenerationConfig,
    on_token: Option<TokenCallback<'_>>,
) -> Result<GenerationOutput> {
    let config = options.resolve(model.config())?;
    if config.num_beams > 1 {
        beam_search(model, encoded, &config, on_token)
    } else {
        greedy_or_sample(model, encoded, &config, on_token)
    }
}

fn greedy_or_sample(
    model: &FidT5,
    encoded: &EncodedPassages,
    config: &ResolvedConfig,
    mut on_token: Option<TokenCallback<'_>>,
) -> Result<GenerationOutput> {
    let pipeline = LogitsPipeline::new(config);
    let rows = if config.do_sample { config.num_return_sequences } else { 1 };
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let mut sequences = vec![vec![config.decoder_start_token_id]; rows];
    let mut unfinished = vec![true; rows];
    let mut state = model.new_decoder_state();
    let has_eos = !config.eos_token_ids.is_empty();

    let mut stopped = false;
    while sequences[0].len() < config.max_length && !stopped {
        let last: Vec<u32> = sequences.iter().map(|s| *s.last().unwrap()).collect();
        let logits = model.decode_step(encoded, &mut state, &last)?.to_vec2::<f32>()?;
        for (row, mut scores) in logits.into_iter().enumerate() {
            pipeline.process(&sequences[row], &mut scores);
            let token = if config.do_sample {
                pipeline.warp(&mut scores);
                sample(&scores, &mut rng)
            } else {
                argmax(&scores)
            };
            let token = if unfinished[row] || !has_eos { token } else { config.pad_token_id };
            sequences[row].push(token);
            if unfinished[row] {
                if let Some(callback) = on_token.as_mut() {
                    stopped |= callback(row, token).is_break();
                }
                if config.eos_token_ids.contains(&token) {
                    unfinished[row] = false;
                }
            }
        }
        if !unfinished.iter().any(|&u| u) {
            break;
        }
    }
    Ok(GenerationOutput { sequences })
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

fn beam_search(
    model: &FidT5,
    encoded: &EncodedPassages,
    config: &ResolvedConfig,
    mut on_token: Option<TokenCallback<'_>>,
) -> Result<GenerationOutput> {
    let pipeline = LogitsPipeline::new(config);
    let num_beams = config.num_beams;
    let eos = &config.eos_token_ids;
    let mut beams = vec![vec![config.decoder_start_token_id]; num_beams];
    // Only the first beam is live at the start, so the others never get chosen.
    let mut beam_scores = vec![-1e9f32; num_beams];
    beam_scores[0] = 0.0;
    let mut finished = beam::BeamHypotheses::new(
        num_beams,
        config.length_penalty,
        config.early_stopping,
        config.max_length,
    );
    let mut done = false;
    let mut state = model.new_decoder_state();
    let keep = (1 + eos.len()).max(2) * num_beams;

    while beams[0].len() < config.max_length {
        let last: Vec<u32> = beams.iter().map(|b| *b.last().unwrap()).collect();
        let logits = model.decode_step(encoded, &mut state, &last)?.to_vec2::<f32>()?;
        let vocab = logits[0].len();
        let mut candidates = TopK::new(keep);
        for (b, mut scores) in logits.into_iter().enumerate() {
            log_softmax(&mut scores);
            pipeline.process(&beams[b], &mut scores);
            for (token, s) in scores.into_iter().enumerate() {
                candidates.offer(s + beam_scores[b], b * vocab + token);
            }
        }
        let candidates = candidates.into_sorted();

        // HF `BeamSearchScorer.process`.
        let cur_len = beams[0].len() + 1;
        let mut next: Vec<(f32, u32, usize)> = Vec::with_capacity(num_beams);
        for (rank, &(score, flat)) in candidates.iter().enumerate() {
            let (source, token) = (flat / vocab, (flat % vocab) as u32);
            if eos.contains(&token) {
                if rank >= num_beams {
                    continue;
                }
                finished.add(beams[source].clone(), score as f64, cur_len - 1);
            } else {
                next.push((score, token, source));
            }
            if next.len() == num_beams {
                break;
            }
        }
        if next.len() < num_beams {
            return Err(crate::error::ModelError::generation(
                "num_beams",
                "fewer candidate tokens than beams remain; the vocabulary is too constrained",
            ));
        }
        done = done || finished.is_done(candidates[0].0 as f64, cur_len);

        let sources: Vec<u32> = next.iter().map(|&(_, _, s)| s as u32).collect();
        beams = next
            .iter()
            .map(|&(_, token, source)| {
                let mut b = beams[source].clone();
                b.push(token);
                b
            })
            .collect();
        beam_scores = next.iter().map(|&(s, _, _)| s).collect();
        if let Some(callback) = on_token.as_mut() {
            let mut stop = false;
            for (b, &(_, token, _)) in next.iter().enumerate() {
                stop |= callback(b, token).is_break();
            }
            if stop && !done {
                // Finalized below with the beams as they are.
                break;
            }
        }
        if done {
            break;
        }
        model.reorder(&mut state, &sources)?;
    }

    // HF `BeamSearchScorer.finalize`.
    if !done {
        for (b, tokens) in beams.iter().enumerate() {
            finished.add(tokens.clone(), beam_scores[b] as f64, tokens.len() - 1);
        }
    }
    let best = finished.best(config.num_return_sequences);
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
    Ok(GenerationOutput { sequences })
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

/// The processed scores of every step of `sequence` under `options`, by teacher forcing:
/// what HF `generate(..., output_scores=True)` reports for greedy search and sampling.
pub fn teacher_forced_scores(
    model: &FidT5,
    passages: &[Vec<u32>],
    options: &GenerationConfig,
    sequence: &[u32],
) -> Result<Vec<Vec<f32>>> {
    let config = options.resolve(model.config())?;
    let pipeline = LogitsPipeline::new(&config);
    let encoded = model.encode(passages)?;
    let mut state = model.new_decoder_state();
    let mut steps = Vec::new();
    for t in 0..sequence.len().saturating_sub(1) {
        let logits = model.decode_step(&encoded, &mut state, &sequence[t..=t])?;
        let mut scores = logits.squeeze(0)?.to_vec1::<f32>()?;
        pipeline.process(&sequence[..=t], &mut scores);
        if config.do_sample {
            pipeline.warp(&mut scores);
        }
        steps.push(scores);
    }
    Ok(steps)
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
}
