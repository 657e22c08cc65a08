//! Percentiles as numpy's `np.percentile(values, q)` computes them with its default
//! method, `linear`: sort, take the virtual index `(len - 1) * q / 100`, interpolate
//! between its two neighbours. numpy interpolates `a + (b - a) * t` for `t < 0.5` and
//! `b - (b - a) * (1 - t)` otherwise; the same is done here so results match bit for bit.

/// The `q`-th percentile (0 ≤ q ≤ 100) of `values`; `None` when there are none.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = (sorted.len() - 1) as f64 * (q / 100.0);
    let below = index.floor();
    let t = index - below;
    let lo = (below as usize).min(sorted.len() - 1);
    let hi = (lo + 1).min(sorted.len() - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    let difference = b - a;
    Some(if t >= 0.5 {
        b - difference * (1.0 - t)
    } else {
        a + difference * t
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_linearly_between_neighbours() {
        // index 0.9 * 4 = 3.6 → 40 + 0.6 * 10.
        assert_eq!(
            percentile(&[50.0, 10.0, 40.0, 20.0, 30.0], 90.0),
            Some(46.0)
        );
        assert_eq!(percentile(&[10.0, 20.0], 50.0), Some(15.0));
        assert_eq!(percentile(&[7.0], 90.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
