//! Confidence in a success ratio: the Wilson score interval, whose lower bound ranks a ratio
//! observed a few times below the same ratio observed many times (1 of 1 is not better
//! evidence than 95 of 100).
//!
//! ```text
//! lower, upper = (p + z²/2n ∓ z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n),   p = successes / n
//! ```
//!
//! Source: E. B. Wilson, "Probable inference, the law of succession, and statistical
//! inference", JASA 22 (1927); z = 1.96 for a two-sided 95 % interval. With no trials the
//! bound is 0 (nothing is known).

/// z for a two-sided 95 % interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// The lower bound of the 95 % Wilson score interval of `successes` in `trials` (0 when
/// `trials` is 0; `successes` above `trials` counts as `trials`).
pub fn wilson_lower_bound(successes: u64, trials: u64) -> f64 {
    wilson_interval(successes, trials).0
}

/// The 95 % Wilson score interval `(lower, upper)` of `successes` in `trials`: `(0, 1)` when
/// `trials` is 0 (nothing is known); `successes` above `trials` counts as `trials`.
pub fn wilson_interval(successes: u64, trials: u64) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    let n = trials as f64;
    let p = successes.min(trials) as f64 / n;
    let z2 = Z_95 * Z_95;
    let centre = p + z2 / (2.0 * n);
    let spread = Z_95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let scale = 1.0 + z2 / n;
    (
        ((centre - spread) / scale).max(0.0),
        ((centre + spread) / scale).min(1.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_published_values_and_orders_evidence() {
        // Reference values: statsmodels 0.15's proportion_confint(k, n, alpha=0.05,
        // method="wilson")[0] gives 0.2065493 for 1/1, 0.8882495 for 95/100, 0.3006418
        // for 3/4 and 0.0 for 0/10.
        assert!((wilson_lower_bound(1, 1) - 0.206_549_3).abs() < 1e-6);
        assert!((wilson_lower_bound(95, 100) - 0.888_249_5).abs() < 1e-6);
        assert!((wilson_lower_bound(3, 4) - 0.300_641_8).abs() < 1e-6);
        assert_eq!(wilson_lower_bound(0, 10), 0.0);
        assert_eq!(wilson_lower_bound(0, 0), 0.0);
        assert!(wilson_lower_bound(95, 100) > wilson_lower_bound(1, 1));
    }

    #[test]
    fn interval_matches_statsmodels() {
        // statsmodels 0.15's proportion_confint(k, n, alpha=0.05, method="wilson").
        for (k, n, lower, upper) in [
            (1, 1, 0.206_549_3, 1.0),
            (95, 100, 0.888_249_5, 0.978_456_3),
            (3, 4, 0.300_641_8, 0.954_412_7),
            (0, 10, 0.0, 0.277_532_8),
            (9, 10, 0.595_850_0, 0.982_123_8),
            (2, 8, 0.071_479_2, 0.590_724_6),
        ] {
            let (l, u) = wilson_interval(k, n);
            assert!((l - lower).abs() < 1e-6, "{k}/{n}: lower {l} vs {lower}");
            assert!((u - upper).abs() < 1e-6, "{k}/{n}: upper {u} vs {upper}");
        }
        assert_eq!(wilson_interval(0, 0), (0.0, 1.0));
    }
}
