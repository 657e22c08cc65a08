//! Character-unigram F1 with multiset overlap (each character of the reference can be
//! matched as often as it occurs there), and Knowledge-F1, its best value over the
//! knowledge items.

use std::collections::HashMap;

/// `2PR / (P + R)` over the characters both texts share (as multisets); 0 when they
/// share none (so an empty text scores 0).
pub fn char_f1(prediction: &[char], reference: &[char]) -> f64 {
    let mut available: HashMap<char, usize> = HashMap::new();
    for &c in reference {
        *available.entry(c).or_insert(0) += 1;
    }
    let mut common = 0usize;
    for c in prediction {
        if let Some(n) = available.get_mut(c) {
            if *n > 0 {
                *n -= 1;
                common += 1;
            }
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / prediction.len() as f64;
    let recall = common as f64 / reference.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// The highest [`char_f1`] between the prediction and any one knowledge item; `None`
/// when there is no knowledge.
pub fn knowledge_f1(prediction: &[char], knowledge: &[Vec<char>]) -> Option<f64> {
    knowledge
        .iter()
        .map(|item| char_f1(prediction, item))
        .reduce(f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn overlap_is_clipped_by_counts() {
        // common = 2 (two 哈 in the reference), P = 2/4, R = 2/3 → 4/7.
        assert!((char_f1(&chars("哈哈哈哈"), &chars("哈哈笑")) - 4.0 / 7.0).abs() < 1e-15);
        assert_eq!(char_f1(&chars(""), &chars("哈")), 0.0);
    }

    #[test]
    fn knowledge_f1_takes_the_best_item() {
        let knowledge = vec![chars("无关内容"), chars("北京是首都")];
        assert_eq!(knowledge_f1(&chars("北京是首都"), &knowledge), Some(1.0));
        assert_eq!(knowledge_f1(&chars("北京"), &[]), None);
    }
}
