//! Latency distributions: p50 / p95 / p99 of a set of timings.

use std::time::Duration;

use serde::Serialize;

/// Percentiles of a set of timings, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// Timings measured.
    pub samples: usize,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Latency {
    /// The distribution of `timings` (nearest-rank percentiles); all zero when empty.
    pub fn of(timings: &[Duration]) -> Self {
        let mut sorted: Vec<f64> = timings.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        sorted.sort_by(f64::total_cmp);
        let at = |p: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest value with at least p of the samples at or below it.
            let rank = (p * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1]
        };
        let mean = if sorted.is_empty() {
            0.0
        } else {
            sorted.iter().sum::<f64>() / sorted.len() as f64
        };
        Self {
            samples: sorted.len(),
            p50_ms: at(0.50),
            p95_ms: at(0.95),
            p99_ms: at(0.99),
            mean_ms: mean,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_by_hand() {
        // 1..=100 ms: p50 is the 50th value, p95 the 95th, p99 the 99th.
        let timings: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let l = Latency::of(&timings);
        assert_eq!(l.samples, 100);
        assert!((l.p50_ms - 50.0).abs() < 1e-9);
        assert!((l.p95_ms - 95.0).abs() < 1e-9);
        assert!((l.p99_ms - 99.0).abs() < 1e-9);
        assert!((l.mean_ms - 50.5).abs() < 1e-9);
        // Three samples: p50 is the second, p95 and p99 the largest.
        let l = Latency::of(&[3, 1, 2].map(Duration::from_millis));
        assert_eq!((l.p50_ms, l.p95_ms, l.p99_ms), (2.0, 3.0, 3.0));
        assert_eq!(Latency::of(&[]).p99_ms, 0.0);
    }
}
