//! How recall ranks entries: by similarity to the query first, and among equally similar
//! entries, proven ones (used often, mostly successfully) above unproven ones.
//!
//! ```text
//! score = similarity + 0.1 · (p − 0.5),   p = (successes + 1) / (uses + 2)
//! ```
//!
//! `similarity` is the hybrid search score in [0, 1]. `p` is the Laplace estimate of the
//! entry's success rate: 0.5 for an entry never used, 0.92 for 10 successes in 10 uses, 0.08
//! for 10 failures. The bonus moves an entry by at most ±0.05, so a clearly more similar
//! entry still wins; it decides between entries that match the query about equally well.

/// Weight of the success estimate against similarity.
pub const PROVEN_WEIGHT: f32 = 0.1;

/// Laplace estimate of the success rate after `uses` uses with `successes` successes (which
/// may be fractional: a pattern stored with success rate 0.8 counts 0.8).
pub fn success_estimate(successes: f64, uses: u64) -> f64 {
    (successes + 1.0) / (uses as f64 + 2.0)
}

/// The recall score of an entry.
pub fn score(similarity: f32, successes: f64, uses: u64) -> f32 {
    similarity + PROVEN_WEIGHT * (success_estimate(successes, uses) as f32 - 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proven_beats_unproven_at_equal_similarity_but_not_a_clearly_better_match() {
        let unproven = score(0.70, 0.0, 0);
        let proven = score(0.70, 9.0, 10);
        let failing = score(0.70, 0.0, 10);
        assert!(proven > unproven && unproven > failing);
        assert!(score(0.80, 0.0, 0) > score(0.72, 10.0, 10));
        assert_eq!(success_estimate(0.0, 0), 0.5);
    }
}
