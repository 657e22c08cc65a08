//! Character n-gram counts, shared by BLEU and Distinct-n.

use std::collections::HashMap;

/// How often each n-gram (a window of `n` characters) occurs in `chars`. Empty when
/// the text is shorter than `n`.
pub fn ngram_counts(chars: &[char], n: usize) -> HashMap<&[char], usize> {
    let mut counts = HashMap::new();
    if n == 0 {
        return counts;
    }
    for gram in chars.windows(n) {
        *counts.entry(gram).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_overlapping_windows() {
        let chars: Vec<char> = "哈哈哈".chars().collect();
        let counts = ngram_counts(&chars, 2);
        assert_eq!(counts.len(), 1);
        assert_eq!(counts[&chars[0..2]], 2);
        assert!(ngram_counts(&chars, 4).is_empty());
    }
}
