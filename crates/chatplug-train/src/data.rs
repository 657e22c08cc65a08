//! Which examples form each micro-batch, in a deterministic, resumable order.
//!
//! An epoch's batches are a pure function of (seed, epoch), so a data position is just
//! (epoch, next batch) and a resumed run sees exactly the batches an uncut run would.
//! Without shuffling, batches are consecutive chunks in file order and the last chunk of an
//! epoch may be smaller (PyTorch's `DataLoader(shuffle=False, drop_last=False)`).

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::batch::Example;

/// How a micro-batch is sized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum BatchSize {
    /// This many examples.
    Examples(usize),
    /// As many examples of similar length as fit this many padded encoder + decoder
    /// positions (length-bucketed).
    Tokens(usize),
}

/// A reproducible random generator for one purpose at one point of the run.
pub fn rng_for(seed: u64, purpose: u64, a: u64, b: u64) -> rand::rngs::StdRng {
    // SplitMix-style mixing so nearby (a, b) give unrelated streams.
    let mut x = seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for v in [a, b] {
        x = (x ^ v).wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    rand::rngs::StdRng::seed_from_u64(x)
}

pub(crate) const PURPOSE_SHUFFLE: u64 = 1;
pub(crate) const PURPOSE_DROPOUT: u64 = 2;
pub(crate) const PURPOSE_MIXTURE: u64 = 3;

/// Padded size of an example alone: what it costs in a batch.
fn cost(e: &Example) -> usize {
    let longest = e.input_ids.iter().map(Vec::len).max().unwrap_or(0);
    e.input_ids.len() * longest + e.labels.len()
}

/// The micro-batches (example indices) of one epoch.
pub fn plan_epoch(examples: &[Example], size: BatchSize, shuffle: bool, seed: u64, epoch: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = rng_for(seed, PURPOSE_SHUFFLE, epoch, 0);
    if shuffle {
        order.shuffle(&mut rng);
    }
    match size {
        BatchSize::Examples(n) => order.chunks(n.max(1)).map(<[usize]>::to_vec).collect(),
        BatchSize::Tokens(max_tokens) => {
            // Similar lengths together (stable, so ties keep the shuffled order).
            order.sort_by_key(|&i| cost(&examples[i]));
            let mut batches = Vec::new();
            let mut current: Vec<usize> = Vec::new();
            let (mut passages, mut longest, mut target) = (0usize, 0usize, 0usize);
            for i in order {
                let e = &examples[i];
                let p = passages.max(e.input_ids.len());
                let l = longest.max(e.input_ids.iter().map(Vec::len).max().unwrap_or(0));
                let t = target.max(e.labels.len());
                let padded = (current.len() + 1) * (p * l + t);
                if !current.is_empty() && padded > max_tokens {
                    batches.push(std::mem::take(&mut current));
                    (passages, longest, target) = (e.input_ids.len(), e.input_ids.iter().map(Vec::len).max().unwrap_or(0), e.labels.len());
                } else {
                    (passages, longest, target) = (p, l, t);
                }
                current.push(i);
            }
            if !current.is_empty() {
                batches.push(current);
            }
            if shuffle {
                batches.shuffle(&mut rng);
            }
            batches
        }
    }
}

/// Where a stream stands: the next batch of an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Cursor {
    pub epoch: u64,
    pub batch: usize,
}

/// One dataset read as an endless sequence of micro-batches (indices into it).
pub struct Stream<'a> {
    examples: &'a [Example],
    size: BatchSize,
    shuffle: bool,
    seed: u64,
    pub cursor: Cursor,
    plan: Option<(u64, Vec<Vec<usize>>)>,
}

impl<'a> Stream<'a> {
    pub fn new(examples: &'a [Example], size: BatchSize, shuffle: bool, seed: u64) -> Self {
        Stream { examples, size, shuffle, seed, cursor: Cursor::default(), plan: None }
    }

    pub fn batches_per_epoch(&mut self) -> usize {
        self.plan_for(self.cursor.epoch).len()
    }

    fn plan_for(&mut self, epoch: u64) -> &Vec<Vec<usize>> {
        if self.plan.as_ref().map(|(e, _)| *e) != Some(epoch) {
            let plan = plan_epoch(self.examples, self.size, self.shuffle, self.seed, epoch);
            self.plan = Some((epoch, plan));
        }
        &self.plan.as_ref().unwrap().1
    }

    /// The next micro-batch's example indices.
    pub fn next_batch(&mut self) -> Vec<usize> {
        let Cursor { epoch, batch } = self.cursor;
        let plan = self.plan_for(epoch);
        let indices = plan[batch].clone();
        let len = plan.len();
        self.cursor = if batch + 1 >= len { Cursor { epoch: epoch + 1, batch: 0 } } else { Cursor { epoch, batch: batch + 1 } };
        indices
    }
}

/// Several datasets mixed by weight: each micro-batch comes whole from one dataset, chosen
/// with probability proportional to its weight (a generator derived from the step, so the
/// choice needs no saved state).
pub struct Mixture<'a> {
    streams: Vec<Stream<'a>>,
    weights: Vec<f64>,
    seed: u64,
}

impl<'a> Mixture<'a> {
    pub fn new(streams: Vec<Stream<'a>>, weights: Vec<f64>, seed: u64) -> Self {
        Mixture { streams, weights, seed }
    }

    /// (dataset, example indices) of micro-batch `micro` of optimizer step `step`.
    pub fn next_batch(&mut self, step: u64, micro: u64) -> (usize, Vec<usize>) {
        let source = if self.streams.len() == 1 {
            0
        } else {
            let total: f64 = self.weights.iter().sum();
            let mut x = rng_for(self.seed, PURPOSE_MIXTURE, step, micro).random::<f64>() * total;
            let mut chosen = self.weights.len() - 1;
            for (i, w) in self.weights.iter().enumerate() {
                if x < *w {
                    chosen = i;
                    break;
                }
                x -= w;
            }
            chosen
        };
        (source, self.streams[source].next_batch())
    }

    pub fn cursors(&self) -> Vec<Cursor> {
        self.streams.iter().map(|s| s.cursor).collect()
    }

    pub fn set_cursors(&mut self, cursors: &[Cursor]) {
        for (s, c) in self.streams.iter_mut().zip(cursors) {
            s.cursor = *c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn examples(n: usize) -> Vec<Example> {
        (0..n)
            .map(|i| Example { input_ids: vec![vec![5; 1 + i % 7]; 1 + i % 3], labels: vec![1; 1 + i % 4] })
            .collect()
    }

    #[test]
    fn unshuffled_batches_are_file_order_chunks() {
        let data = examples(7);
        let mut s = Stream::new(&data, BatchSize::Examples(3), false, 1);
        assert_eq!(s.next_batch(), vec![0, 1, 2]);
        assert_eq!(s.next_batch(), vec![3, 4, 5]);
        assert_eq!(s.next_batch(), vec![6]);
        assert_eq!(s.next_batch(), vec![0, 1, 2]);
        assert_eq!(s.cursor, Cursor { epoch: 1, batch: 1 });
    }

    #[test]
    fn shuffled_epochs_differ_but_repeat_for_a_seed() {
        let e = examples(50);
        let a0 = plan_epoch(&e, BatchSize::Examples(4), true, 7, 0);
        let a1 = plan_epoch(&e, BatchSize::Examples(4), true, 7, 1);
        assert_ne!(a0, a1);
        assert_eq!(a0, plan_epoch(&e, BatchSize::Examples(4), true, 7, 0));
        let mut all: Vec<usize> = a0.concat();
        all.sort();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn token_batches_respect_the_budget_and_cover_everything() {
        let e = examples(60);
        let plan = plan_epoch(&e, BatchSize::Tokens(40), true, 3, 0);
        let mut seen: Vec<usize> = plan.concat();
        seen.sort();
        assert_eq!(seen, (0..60).collect::<Vec<_>>());
        for batch in &plan {
            let p = batch.iter().map(|&i| e[i].input_ids.len()).max().unwrap();
            let l = batch.iter().flat_map(|&i| e[i].input_ids.iter().map(Vec::len)).max().unwrap();
            let t = batch.iter().map(|&i| e[i].labels.len()).max().unwrap();
            assert!(batch.len() == 1 || batch.len() * (p * l + t) <= 40, "{batch:?}");
        }
    }
}
