//! T5 span corruption (`random_spans_noise_mask` and `noise_span_to_unique_sentinel`
//! of the T5 preprocessors): about `noise_density` of the tokens, in spans of mean
//! length `mean_span_length`, are replaced in the input by one sentinel each
//! (`<extra_id_0>`, `<extra_id_1>`, ... in order); the target lists each sentinel
//! followed by the tokens it hides. Both end with EOS.

use rand::seq::SliceRandom;
use rand::Rng;

/// T5's `round` (TensorFlow and Python 3 both round half to even).
fn round(x: f64) -> usize {
    x.round_ties_even().max(0.0) as usize
}

/// Span counts for a piece of `length` tokens: (noise tokens, noise spans), as
/// `random_spans_noise_mask` computes them (for `length` ≥ 2).
pub fn span_counts(length: usize, noise_density: f64, mean_span_length: f64) -> (usize, usize) {
    let length = length.max(2);
    let noise = round(length as f64 * noise_density).clamp(1, length - 1);
    let spans = round(noise as f64 / mean_span_length).max(1);
    // T5 assumes at least one token per span on both sides; with extreme options
    // (density near 1, mean length near 1) there are fewer, so fewer spans.
    let spans = spans.min(noise).min(length - noise);
    (noise, spans)
}

/// `_random_segmentation`: `num_items` split into `num_segments` non-empty runs at
/// random (the first of each run chosen by shuffling).
fn random_segmentation(num_items: usize, num_segments: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut first_in_segment: Vec<bool> =
        (0..num_items - 1).map(|i| i < num_segments - 1).collect();
    first_in_segment.shuffle(rng);
    let mut lengths = vec![0usize; num_segments];
    let mut segment = 0;
    lengths[0] = 1;
    for first in first_in_segment {
        if first {
            segment += 1;
        }
        lengths[segment] += 1;
    }
    lengths
}

/// `random_spans_noise_mask`: `true` for masked tokens. Spans alternate non-noise,
/// noise, ..., starting with non-noise, so the first token is never masked.
pub fn noise_mask(
    length: usize,
    noise_density: f64,
    mean_span_length: f64,
    rng: &mut impl Rng,
) -> Vec<bool> {
    let padded = length.max(2);
    let (noise, spans) = span_counts(padded, noise_density, mean_span_length);
    let noise_lengths = random_segmentation(noise, spans, rng);
    let keep_lengths = random_segmentation(padded - noise, spans, rng);
    let mut mask = Vec::with_capacity(padded);
    for (keep, masked) in keep_lengths.iter().zip(&noise_lengths) {
        mask.extend(std::iter::repeat_n(false, *keep));
        mask.extend(std::iter::repeat_n(true, *masked));
    }
    mask.truncate(length);
    mask
}

/// Input and target ids for `tokens` (no EOS) under `mask`; `sentinels[k]` is the id
/// of `<extra_id_k>` (there must be one per span).
pub fn corrupt(tokens: &[u32], mask: &[bool], sentinels: &[u32], eos: u32) -> (Vec<u32>, Vec<u32>) {
    let mut inputs = Vec::new();
    let mut targets = Vec::new();
    let mut span = 0;
    for (i, (&token, &masked)) in tokens.iter().zip(mask).enumerate() {
        let starts_span = masked && (i == 0 || !mask[i - 1]);
        if masked {
            if starts_span {
                inputs.push(sentinels[span]);
                targets.push(sentinels[span]);
                span += 1;
            }
            targets.push(token);
        } else {
            inputs.push(token);
        }
    }
    inputs.push(eos);
    targets.push(eos);
    (inputs, targets)
}

/// The number of spans `mask` has.
pub fn count_spans(mask: &[bool]) -> usize {
    mask.iter()
        .enumerate()
        .filter(|(i, &m)| m && (*i == 0 || !mask[i - 1]))
        .count()
}
