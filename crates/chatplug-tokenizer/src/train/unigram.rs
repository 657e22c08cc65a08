//! The unigram EM is the `tokenizers` crate's `UnigramTrainer` (a port of the
//! sentencepiece trainer: seed pieces from a suffix array, EM with the
//! Bayesian M-step, pruning by likelihood loss). What this module adds makes
//! its output reproducible byte for byte:
//!
//! * the words come in a fixed order (`words.rs` sorts them) and training runs
//!   on a one-thread rayon pool: the E-step sums per-chunk float vectors, whose
//!   rounding would otherwise depend on the thread count and on work stealing;
//! * the crate's last step walks a hash set: characters that EM dropped get
//!   the lowest score plus 0.0001 per character in hash order, and ties keep
//!   that order. We give those characters their scores in sentencepiece's
//!   order instead (most frequent first) and sort pieces by score, then text.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use tokenizers::models::unigram::{Unigram, UnigramTrainer};

/// The score step the crate (and sentencepiece) adds per re-inserted character.
const MIN_SCORE_PENALTY_DELTA: f64 = 0.0001;

/// A learned piece with its log probability (as stored in `spiece.model`).
#[derive(Clone, Debug, PartialEq)]
pub struct LearnedPiece {
    pub piece: String,
    pub score: f32,
}

/// Learns `target` pieces (or fewer when the corpus has no more) from
/// `words`; `char_counts` are the kept characters with their counts.
pub fn learn(
    words: Vec<(String, u32)>,
    char_counts: &HashMap<char, u64>,
    target: usize,
    max_piece_length: usize,
) -> Result<Vec<LearnedPiece>, String> {
    let trainer = UnigramTrainer::builder()
        .show_progress(false)
        .vocab_size(u32::try_from(target).map_err(|_| "vocabulary size too large".to_string())?)
        .max_piece_length(max_piece_length)
        .unk_token(None)
        .build()
        .map_err(|e| e.to_string())?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| format!("cannot start the training thread: {e}"))?;
    let mut model = Unigram::default();
    // The crate panics on numeric trouble ("likelihood is NAN"); report it
    // as an error instead of taking the process down.
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.install(|| trainer.do_train(words, &mut model))
    }));
    match outcome {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e.to_string()),
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            return Err(format!("the unigram trainer failed: {what}"));
        }
    }
    let mut pieces: Vec<(String, f64)> = model.iter().cloned().collect();
    rescore_reinserted_chars(&mut pieces, char_counts);
    let mut out: Vec<LearnedPiece> = pieces
        .into_iter()
        .map(|(piece, score)| LearnedPiece {
            piece,
            score: score as f32,
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.piece.cmp(&b.piece)));
    Ok(out)
}

/// Finds the characters the crate re-inserted after EM (single characters
/// whose scores are `min + k·0.0001`, k = 0, 1, …) and hands those same
/// scores out again, most frequent character first, ties by code point.
fn rescore_reinserted_chars(pieces: &mut [(String, f64)], char_counts: &HashMap<char, u64>) {
    let min = pieces
        .iter()
        .map(|(_, s)| *s)
        .filter(|s| !s.is_nan())
        .fold(f64::INFINITY, f64::min);
    if !min.is_finite() {
        return;
    }
    let single_char = |p: &str| {
        let mut it = p.chars();
        matches!((it.next(), it.next()), (Some(_), None))
    };
    let mut reinserted: Vec<usize> = Vec::new();
    let mut penalty = 0.0f64;
    loop {
        let value = min + penalty;
        let before = reinserted.len();
        for (i, (p, s)) in pieces.iter().enumerate() {
            if *s == value && single_char(p) && !reinserted.contains(&i) {
                reinserted.push(i);
            }
        }
        if reinserted.len() == before {
            break;
        }
        penalty += MIN_SCORE_PENALTY_DELTA;
    }
    let count = |i: usize| {
        let c = pieces[i].0.chars().next().unwrap_or('\0');
        (char_counts.get(&c).copied().unwrap_or(0), c)
    };
    reinserted.sort_by(|&a, &b| {
        let (na, ca) = count(a);
        let (nb, cb) = count(b);
        nb.cmp(&na).then(ca.cmp(&cb))
    });
    let mut penalty = 0.0f64;
    for i in reinserted {
        pieces[i].1 = min + penalty;
        penalty += MIN_SCORE_PENALTY_DELTA;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reinserted_chars_are_rescored_by_frequency() {
        let min = -12.0f64;
        // As the crate leaves them: EM pieces, then re-inserted characters in
        // hash order ("c" first although "a" is more frequent).
        let mut pieces = vec![
            ("ab".to_string(), -3.0),
            ("c".to_string(), min),
            ("b".to_string(), min + 0.0001),
            ("a".to_string(), min + 0.0001 + 0.0001),
            ("xy".to_string(), -11.0),
        ];
        let counts: HashMap<char, u64> = [('a', 9), ('b', 5), ('c', 1)].into_iter().collect();
        rescore_reinserted_chars(&mut pieces, &counts);
        assert_eq!(pieces[0].1, -3.0);
        assert_eq!(pieces[4].1, -11.0);
        assert_eq!(pieces[3], ("a".to_string(), min));
        assert_eq!(pieces[2], ("b".to_string(), min + 0.0001));
        assert_eq!(pieces[1], ("c".to_string(), min + 0.0001 + 0.0001));
    }
}
