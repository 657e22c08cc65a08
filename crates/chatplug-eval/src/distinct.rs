//! Distinct-n: distinct character n-grams divided by all character n-grams, counted
//! over every prediction of a corpus (n-grams do not cross from one prediction to the
//! next).

use std::collections::HashSet;

/// Running counts; `None` from [`Distinct::score`] when no prediction had an n-gram.
#[derive(Debug, Clone)]
pub struct Distinct {
    n: usize,
    seen: HashSet<Vec<char>>,
    total: usize,
}

impl Distinct {
    pub fn new(n: usize) -> Distinct {
        assert!(n > 0, "Distinct-n needs n ≥ 1");
        Distinct {
            n,
            seen: HashSet::new(),
            total: 0,
        }
    }

    pub fn add(&mut self, prediction: &[char]) {
        for gram in prediction.windows(self.n) {
            self.total += 1;
            if !self.seen.contains(gram) {
                self.seen.insert(gram.to_vec());
            }
        }
    }

    pub fn score(&self) -> Option<f64> {
        (self.total > 0).then(|| self.seen.len() as f64 / self.total as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_across_predictions_without_joining_them() {
        let mut d = Distinct::new(2);
        d.add(&"哈哈哈".chars().collect::<Vec<_>>());
        d.add(&"哈".chars().collect::<Vec<_>>());
        d.add(&"哈哈".chars().collect::<Vec<_>>());
        // 哈哈 ×3, one distinct.
        assert_eq!(d.score(), Some(1.0 / 3.0));
        assert_eq!(Distinct::new(3).score(), None);
    }
}
