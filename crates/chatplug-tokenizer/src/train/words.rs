//! From sentences to the counted "words" the unigram trainer learns from,
//! reproducing what the sentencepiece trainer does before its EM:
//!
//! 1. each sentence is normalized by the very normalizer the model will carry
//!    (so pieces are learned on the text the encoder sees);
//! 2. it is cut before every `▁` (`split_by_whitespace`: a piece may start
//!    with `▁` but never contain one further in) and where the Unicode script
//!    changes (`split_by_unicode_script`). A Chinese clause without spaces
//!    stays one word, so multi-character pieces are learned from it;
//! 3. characters are counted and the most frequent ones covering
//!    `character_coverage` of all occurrences are kept (sentencepiece's
//!    `required_chars`); the rest become `<unk>`, so words are also cut at them
//!    (no piece can contain a character the model does not know).

use std::collections::HashMap;

use super::script::split_by_script;
use crate::spm::Normalizer;

/// `U+2581`, sentencepiece's escaped space.
const SPACE: char = '\u{2581}';

/// Words of the normalized corpus with their counts, before the rare
/// characters are cut out.
#[derive(Default)]
pub struct WordCounts {
    counts: HashMap<String, u64>,
    normalized: Vec<u8>,
    pub sentences: u64,
}

impl WordCounts {
    /// Normalizes one sentence and counts its words.
    pub fn add_sentence(&mut self, normalizer: &Normalizer, sentence: &str) {
        normalizer.normalize(sentence, &mut self.normalized);
        if self.normalized.is_empty() {
            return;
        }
        self.sentences += 1;
        // The normalizer only emits whole UTF-8 characters of its input or of
        // its charsmap's replacement strings.
        let Ok(text) = std::str::from_utf8(&self.normalized) else {
            return;
        };
        let mut scripts = Vec::new();
        for word in split_before_space(text) {
            scripts.clear();
            split_by_script(word, &mut scripts);
            for w in &scripts {
                // NUL separates sentences inside the trainer's suffix array.
                for part in w.split('\0').filter(|p| !p.is_empty()) {
                    match self.counts.get_mut(part) {
                        Some(n) => *n += 1,
                        None => {
                            self.counts.insert(part.to_string(), 1);
                        }
                    }
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Occurrences of every character, sorted as sentencepiece sorts them:
    /// most frequent first, ties by code point.
    pub fn char_counts(&self) -> Vec<(char, u64)> {
        let mut chars: HashMap<char, u64> = HashMap::new();
        for (word, &n) in &self.counts {
            for c in word.chars() {
                *chars.entry(c).or_default() += n;
            }
        }
        let mut sorted: Vec<(char, u64)> = chars.into_iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        sorted
    }

    /// The trainer's input: words cut at characters outside `kept`, merged,
    /// sorted (most frequent first, ties by text) so that training sees the
    /// same order in every run.
    pub fn into_training_words(self, kept: &dyn Fn(char) -> bool) -> Vec<(String, u32)> {
        let mut merged: HashMap<String, u64> = HashMap::with_capacity(self.counts.len());
        for (word, n) in self.counts {
            if word.chars().all(kept) {
                *merged.entry(word).or_default() += n;
                continue;
            }
            for part in word.split(|c: char| !kept(c)).filter(|p| !p.is_empty()) {
                *merged.entry(part.to_string()).or_default() += n;
            }
        }
        let mut words: Vec<(String, u32)> = merged
            .into_iter()
            // The trainer counts in u32; a word seen more than 4e9 times saturates.
            .map(|(w, n)| (w, n.min(u32::MAX as u64) as u32))
            .collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        words
    }
}

/// Cuts before every `▁`, keeping it at the start of the next word.
fn split_before_space(text: &str) -> impl Iterator<Item = &str> {
    let mut starts: Vec<usize> = text.match_indices(SPACE).map(|(i, _)| i).collect();
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain([text.len()]).collect();
    starts
        .into_iter()
        .zip(ends)
        .map(move |(s, e)| &text[s..e])
        .filter(|w| !w.is_empty())
}

/// Characters covering `coverage` of all occurrences, most frequent first
/// (sentencepiece: stop before the character that would be added once the
/// covered share has reached `coverage`).
pub fn covered_chars(sorted_counts: &[(char, u64)], coverage: f64) -> usize {
    let total: u64 = sorted_counts.iter().map(|&(_, n)| n).sum();
    let mut covered = 0u64;
    // sentencepiece compares in single precision (`const float coverage`).
    let coverage = coverage as f32;
    for (i, &(_, n)) in sorted_counts.iter().enumerate() {
        if total > 0 && (covered as f64 / total as f64) as f32 >= coverage {
            return i;
        }
        covered += n;
    }
    sorted_counts.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spm::ByteTrie;

    fn identity() -> Normalizer {
        Normalizer::new(&[], true, true, true, ByteTrie::build(Vec::new())).unwrap()
    }

    #[test]
    fn words_are_cut_at_spaces_and_scripts() {
        let mut wc = WordCounts::default();
        wc.add_sentence(&identity(), "  你好，世界  hello world 你好");
        wc.add_sentence(&identity(), "   ");
        assert_eq!(wc.sentences, 1);
        let words = wc.into_training_words(&|_| true);
        assert_eq!(
            words,
            vec![
                ("▁你好".to_string(), 2),
                ("▁hello".to_string(), 1),
                ("▁world".to_string(), 1),
                ("世界".to_string(), 1),
                ("，".to_string(), 1),
            ]
        );
    }

    #[test]
    fn rare_characters_cut_words() {
        let mut wc = WordCounts::default();
        wc.add_sentence(&identity(), "甲乙丙甲乙");
        let words = wc.into_training_words(&|c| c != '丙');
        assert_eq!(words, vec![("▁甲乙".to_string(), 1), ("甲乙".to_string(), 1)]);
    }

    #[test]
    fn coverage_keeps_the_most_frequent_characters() {
        let counts = [('a', 90), ('b', 9), ('c', 1)];
        assert_eq!(covered_chars(&counts, 1.0), 3);
        assert_eq!(covered_chars(&counts, 0.99), 2);
        assert_eq!(covered_chars(&counts, 0.95), 2);
        assert_eq!(covered_chars(&counts, 0.9), 1);
        assert_eq!(covered_chars(&counts, 0.5), 1);
    }
}
