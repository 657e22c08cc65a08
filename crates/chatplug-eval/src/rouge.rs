//! ROUGE-L of one prediction against one reference: the F-measure (β = 1) of the
//! longest common subsequence's precision and recall over characters.

/// Length of the longest common subsequence of `a` and `b` (two-row dynamic programme).
pub fn lcs_len(a: &[char], b: &[char]) -> usize {
    let mut previous = vec![0usize; b.len() + 1];
    let mut current = vec![0usize; b.len() + 1];
    for &x in a {
        for (j, &y) in b.iter().enumerate() {
            current[j + 1] = if x == y {
                previous[j] + 1
            } else {
                current[j].max(previous[j + 1])
            };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// `2PR / (P + R)` with `P = lcs / |prediction|`, `R = lcs / |reference|`; 0 when
/// nothing is shared (so an empty prediction scores 0).
pub fn rouge_l(prediction: &[char], reference: &[char]) -> f64 {
    let lcs = lcs_len(prediction, reference);
    if lcs == 0 {
        return 0.0;
    }
    let precision = lcs as f64 / prediction.len() as f64;
    let recall = lcs as f64 / reference.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn lcs_skips_gaps() {
        assert_eq!(
            lcs_len(&chars("我爱北京天安门"), &chars("我在北京看天安门")),
            6
        );
        assert_eq!(lcs_len(&chars(""), &chars("abc")), 0);
    }

    #[test]
    fn f_measure_of_precision_and_recall() {
        // lcs 2, P = 2/3, R = 2/4 → 4/7.
        assert!((rouge_l(&chars("abx"), &chars("abyz")) - 4.0 / 7.0).abs() < 1e-15);
        assert_eq!(rouge_l(&chars(""), &chars("abc")), 0.0);
    }
}
