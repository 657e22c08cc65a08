//! Finished-hypothesis bookkeeping of HF `BeamSearchScorer` / `BeamHypotheses` for one
//! request (batch size 1).

use super::config::EarlyStopping;

pub struct BeamHypotheses {
    num_beams: usize,
    length_penalty: f64,
    early_stopping: EarlyStopping,
    /// Total decoder length limit, start token included.
    max_length: usize,
    /// (score, tokens) in insertion order; HF's tie-breaking depends on that order.
    beams: Vec<(f64, Vec<u32>)>,
    worst_score: f64,
}

/// The decoder prompt is the start token.
const PROMPT_LEN: usize = 1;

impl BeamHypotheses {
    pub fn new(num_beams: usize, length_penalty: f64, early_stopping: EarlyStopping, max_length: usize) -> Self {
        BeamHypotheses {
            num_beams,
            length_penalty,
            early_stopping,
            max_length,
            beams: Vec::new(),
            worst_score: 1e9,
        }
    }

    /// Adds a hypothesis scored `sum_logprobs / generated_len ^ length_penalty`.
    pub fn add(&mut self, tokens: Vec<u32>, sum_logprobs: f64, generated_len: usize) {
        let score = sum_logprobs / (generated_len as f64).powf(self.length_penalty);
        if self.beams.len() < self.num_beams || score > self.worst_score {
            self.beams.push((score, tokens));
            if self.beams.len() > self.num_beams {
                let mut ranked: Vec<(f64, usize)> =
                    self.beams.iter().enumerate().map(|(i, (s, _))| (*s, i)).collect();
                ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                self.beams.remove(ranked[0].1);
                self.worst_score = ranked[1].0;
            } else {
                self.worst_score = self.worst_score.min(score);
            }
        }
    }

    /// Whether no open beam can still beat the finished ones.
    pub fn is_done(&self, best_sum_logprobs: f64, cur_len: usize) -> bool {
        if self.beams.len() < self.num_beams {
            return false;
        }
        let attainable = |len: usize| best_sum_logprobs / (len as f64).powf(self.length_penalty);
        match self.early_stopping {
            EarlyStopping::Stop => true,
            EarlyStopping::Heuristic => self.worst_score >= attainable(cur_len - PROMPT_LEN),
            EarlyStopping::Never => {
                let len = if self.length_penalty > 0.0 {
                    self.max_length - PROMPT_LEN
                } else {
                    cur_len - PROMPT_LEN
                };
                self.worst_score >= attainable(len)
            }
        }
    }

    /// The best `n` hypotheses, best first (HF: stable sort by score, then pop).
    pub fn best(mut self, n: usize) -> Vec<Vec<u32>> {
        let mut order: Vec<usize> = (0..self.beams.len()).collect();
        order.sort_by(|&a, &b| self.beams[a].0.total_cmp(&self.beams[b].0));
        order
            .into_iter()
            .rev()
            .take(n)
            .map(|i| std::mem::take(&mut self.beams[i].1))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_and_tracks_the_worst() {
        let mut h = BeamHypotheses::new(2, 1.0, EarlyStopping::Heuristic, 20);
        h.add(vec![0, 1], -4.0, 2); // -2.0
        h.add(vec![0, 2], -3.0, 2); // -1.5
        h.add(vec![0, 3], -1.0, 2); // -0.5 replaces -2.0
        assert_eq!(h.beams.len(), 2);
        assert!(!h.is_done(-0.1, 3)); // an open beam could still reach -0.05 > -1.5
        assert!(h.is_done(-10.0, 3));
        assert_eq!(h.best(2), vec![vec![0, 3], vec![0, 2]]);
    }
}
