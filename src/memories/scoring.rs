//! The retrieval score of general memory: relevance to the query combined with recency,
//! importance and reinforcement.
//!
//! ```text
//! score         = (w_rel·relevance + w_rec·recency + w_imp·importance + w_rei·reinforcement)
//!                 / (w_rel + w_rec + w_imp + w_rei)
//! recency       = 2^(−age / half_life(tier)),  age = now − touched_at (never negative)
//! reinforcement = 1 − ∏ᵢ 1/factorᵢ             (factorᵢ ∈ (1, 10], one per reinforcement)
//! ```
//!
//! Sources: Generative Agents (Park et al., 2023, §4.1) retrieve by
//! `α_recency·recency + α_importance·importance + α_relevance·relevance`, recency an
//! exponential decay since the memory was last accessed. MemoryBank (Zhong et al., 2023, §2.3)
//! models forgetting with Ebbinghaus' curve `R = e^(−t/S)`, each recall raising the strength
//! `S`. engram writes the decay as a half-life per tier (a short-term note fades in hours,
//! a fact in months) and counts a reinforcement as touching the memory again (its age
//! restarts) plus a bounded bonus: each factor closes part of the distance to 1, so no
//! number of reinforcements grows without bound (the note's `importance × 1.2ⁿ` does).
//!
//! Unlike Generative Agents, the parts are not min-max normalised per query: every part is
//! absolute in [0, 1], so a score means the same for every query (DESIGN.md, "Scores") and
//! relevance, the only part that depends on the query, weighs most by default. Every weight
//! and half-life is configurable (`[memories]` in `engram.toml`).

use serde::{Deserialize, Serialize};

use super::record::Tier;

const HOUR_MS: f64 = 3_600_000.0;

/// Weights, half-lives and the short-term expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scoring {
    /// Weight of relevance to the query (default 1.0).
    pub relevance_weight: f64,
    /// Weight of recency (default 0.5).
    pub recency_weight: f64,
    /// Weight of importance (default 0.5).
    pub importance_weight: f64,
    /// Weight of reinforcement (default 0.25).
    pub reinforcement_weight: f64,
    /// Half-life of a short-term memory's recency, hours (default 6).
    pub short_half_life_hours: f64,
    /// Half-life of a medium-term memory's recency, hours (default 168: a week).
    pub medium_half_life_hours: f64,
    /// Half-life of a long-term memory's recency, hours (default 2,160: 90 days).
    pub long_half_life_hours: f64,
    /// How long a short-term memory lives after it was added or last reinforced, hours
    /// (default 24).
    pub short_ttl_hours: f64,
}

impl Default for Scoring {
    fn default() -> Self {
        Self {
            relevance_weight: 1.0,
            recency_weight: 0.5,
            importance_weight: 0.5,
            reinforcement_weight: 0.25,
            short_half_life_hours: 6.0,
            medium_half_life_hours: 168.0,
            long_half_life_hours: 2160.0,
            short_ttl_hours: 24.0,
        }
    }
}

impl Scoring {
    /// Refuses weights that are negative or not finite, all-zero weights and half-lives or
    /// a TTL that are not positive.
    pub fn validate(&self) -> Result<(), String> {
        let weights = [
            ("relevance_weight", self.relevance_weight),
            ("recency_weight", self.recency_weight),
            ("importance_weight", self.importance_weight),
            ("reinforcement_weight", self.reinforcement_weight),
        ];
        for (name, w) in weights {
            if !w.is_finite() || w < 0.0 {
                return Err(format!("[memories] {name} is {w}; give a number ≥ 0"));
            }
        }
        if weights.iter().map(|(_, w)| w).sum::<f64>() <= 0.0 {
            return Err("[memories] weights are all 0; give at least one a positive weight".into());
        }
        for (name, hours) in [
            ("short_half_life_hours", self.short_half_life_hours),
            ("medium_half_life_hours", self.medium_half_life_hours),
            ("long_half_life_hours", self.long_half_life_hours),
            ("short_ttl_hours", self.short_ttl_hours),
        ] {
            if !hours.is_finite() || hours <= 0.0 {
                return Err(format!("[memories] {name} is {hours}; give a number > 0"));
            }
        }
        Ok(())
    }

    /// The half-life of a tier's recency, milliseconds.
    pub fn half_life_ms(&self, tier: Tier) -> f64 {
        HOUR_MS
            * match tier {
                Tier::Short => self.short_half_life_hours,
                Tier::Medium => self.medium_half_life_hours,
                Tier::Long => self.long_half_life_hours,
            }
    }

    /// How long a short-term memory lives after its last touch, milliseconds.
    pub fn short_ttl_ms(&self) -> i64 {
        (HOUR_MS * self.short_ttl_hours).round() as i64
    }

    /// `2^(−age / half_life)`; a memory touched in the future (clock skew) counts as new.
    pub fn recency(&self, tier: Tier, touched_at: i64, now: i64) -> f64 {
        let age = (now - touched_at).max(0) as f64;
        (-age / self.half_life_ms(tier)).exp2()
    }

    /// The weighted mean of the four parts, each in [0, 1].
    pub fn score(&self, relevance: f64, recency: f64, importance: f64, reinforcement: f64) -> f64 {
        let total = self.relevance_weight
            + self.recency_weight
            + self.importance_weight
            + self.reinforcement_weight;
        (self.relevance_weight * relevance
            + self.recency_weight * recency
            + self.importance_weight * importance
            + self.reinforcement_weight * reinforcement)
            / total
    }
}

/// `1 − ∏ 1/factor`: 0 without reinforcement, approaching 1 as reinforcements add up.
pub fn reinforcement(factors: impl IntoIterator<Item = f64>) -> f64 {
    1.0 - factors.into_iter().map(|f| 1.0 / f).product::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recency_halves_every_half_life_and_ignores_future_touches() {
        let s = Scoring::default();
        let six_hours = 6 * 3_600_000;
        assert_eq!(s.recency(Tier::Short, 0, 0), 1.0);
        assert!((s.recency(Tier::Short, 0, six_hours) - 0.5).abs() < 1e-12);
        assert!((s.recency(Tier::Short, 0, 2 * six_hours) - 0.25).abs() < 1e-12);
        assert_eq!(s.recency(Tier::Long, 10, 0), 1.0);
    }

    #[test]
    fn reinforcement_is_bounded() {
        assert_eq!(reinforcement([]), 0.0);
        assert!((reinforcement([2.0]) - 0.5).abs() < 1e-12);
        assert!((reinforcement([2.0, 2.0]) - 0.75).abs() < 1e-12);
        let forty = reinforcement(std::iter::repeat_n(1.2, 40));
        assert!(forty < 1.0 && forty > 0.999);
        // So many that the product underflows the double's precision: 1, never more.
        assert_eq!(reinforcement(std::iter::repeat_n(1.2, 1000)), 1.0);
    }

    #[test]
    fn score_is_the_weighted_mean() {
        let s = Scoring::default();
        // (1·0.8 + 0.5·0.5 + 0.5·1 + 0.25·0) / 2.25
        assert!((s.score(0.8, 0.5, 1.0, 0.0) - 1.55 / 2.25).abs() < 1e-12);
        let bad = Scoring {
            recency_weight: f64::NAN,
            ..Scoring::default()
        };
        assert!(
            bad.validate()
                .expect_err("NaN refused")
                .contains("recency_weight")
        );
        let zero = Scoring {
            short_ttl_hours: 0.0,
            ..Scoring::default()
        };
        assert!(zero.validate().is_err());
        assert!(Scoring::default().validate().is_ok());
    }
}
