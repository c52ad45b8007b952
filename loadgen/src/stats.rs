//! Latency samples and their summary: nearest-rank percentiles over the
//! sorted samples, no histogram rounding.

use serde::Serialize;

/// Summary of a set of latency samples, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Summary {
    pub count: usize,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub mean_us: f64,
}

/// Nearest-rank percentile `p` (0..=100) of `sorted` (ascending). `None` when empty.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    // Rank ceil(p/100 * n), 1-based; p = 0 is the minimum.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Summarize samples given in nanoseconds.
pub fn summarize(mut samples_ns: Vec<u64>) -> Summary {
    if samples_ns.is_empty() {
        return Summary::default();
    }
    samples_ns.sort_unstable();
    let us = |ns: Option<u64>| ns.unwrap_or(0) as f64 / 1000.0;
    let sum: u128 = samples_ns.iter().map(|&n| u128::from(n)).sum();
    Summary {
        count: samples_ns.len(),
        p50_us: us(percentile(&samples_ns, 50.0)),
        p90_us: us(percentile(&samples_ns, 90.0)),
        p99_us: us(percentile(&samples_ns, 99.0)),
        max_us: us(samples_ns.last().copied()),
        mean_us: (sum as f64 / samples_ns.len() as f64) / 1000.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[], 50.0), None);
        // Ten samples: p99 is the largest, p50 the fifth.
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 99.0), Some(10));
        assert_eq!(percentile(&v, 50.0), Some(5));
    }

    #[test]
    fn summary_sorts_and_converts_to_microseconds() {
        let s = summarize(vec![3_000, 1_000, 2_000, 4_000]);
        assert_eq!(s.count, 4);
        assert_eq!(s.p50_us, 2.0);
        assert_eq!(s.p99_us, 4.0);
        assert_eq!(s.max_us, 4.0);
        assert_eq!(s.mean_us, 2.5);
        assert_eq!(summarize(Vec::new()), Summary::default());
    }
}
