//! Retrieval metrics: recall@k (a gold document among the top k) and MRR@10.

use serde::Serialize;

/// Accumulates the rank of the first gold document over queries.
#[derive(Debug, Clone, Default)]
pub struct RankTally {
    /// 1-based rank of the first gold document per query; `None` if it was not in the list.
    ranks: Vec<Option<usize>>,
}

/// Recall and MRR of one run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    /// Queries counted.
    pub queries: usize,
    /// Share of queries with a gold document at rank 1.
    pub recall_at_1: f64,
    /// … within the top 5.
    pub recall_at_5: f64,
    /// … within the top 10.
    pub recall_at_10: f64,
    /// Mean of 1/rank of the first gold document within the top 10 (0 when absent).
    pub mrr_at_10: f64,
}

impl RankTally {
    /// Records a query's ranked result keys against its gold keys.
    pub fn record(&mut self, results: &[&str], gold: &[String]) {
        let rank = results
            .iter()
            .position(|key| gold.iter().any(|g| g == key))
            .map(|i| i + 1);
        self.ranks.push(rank);
    }

    /// The scores so far.
    pub fn scores(&self) -> Scores {
        let n = self.ranks.len();
        let share = |k: usize| {
            if n == 0 {
                return 0.0;
            }
            self.ranks
                .iter()
                .filter(|r| r.is_some_and(|r| r <= k))
                .count() as f64
                / n as f64
        };
        let mrr = if n == 0 {
            0.0
        } else {
            self.ranks
                .iter()
                .map(|r| match r {
                    Some(r) if *r <= 10 => 1.0 / *r as f64,
                    _ => 0.0,
                })
                .sum::<f64>()
                / n as f64
        };
        Scores {
            queries: n,
            recall_at_1: share(1),
            recall_at_5: share(5),
            recall_at_10: share(10),
            mrr_at_10: mrr,
        }
    }
}

/// The unweighted mean of several runs' scores (LoCoMo's macro average over conversations).
pub fn macro_average(runs: &[Scores]) -> Scores {
    let n = runs.len().max(1) as f64;
    Scores {
        queries: runs.iter().map(|s| s.queries).sum(),
        recall_at_1: runs.iter().map(|s| s.recall_at_1).sum::<f64>() / n,
        recall_at_5: runs.iter().map(|s| s.recall_at_5).sum::<f64>() / n,
        recall_at_10: runs.iter().map(|s| s.recall_at_10).sum::<f64>() / n,
        mrr_at_10: runs.iter().map(|s| s.mrr_at_10).sum::<f64>() / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_and_mrr_by_hand() {
        let mut tally = RankTally::default();
        let gold = |g: &str| vec![g.to_owned()];
        tally.record(&["a", "b"], &gold("a")); // rank 1
        tally.record(&["x", "y", "b", "z"], &gold("b")); // rank 3
        tally.record(
            &["x"; 12].iter().copied().chain(["c"]).collect::<Vec<_>>(),
            &gold("c"),
        ); // rank 13
        tally.record(&["x"], &gold("missing")); // absent
        let s = tally.scores();
        assert_eq!(s.queries, 4);
        assert_eq!(s.recall_at_1, 0.25);
        assert_eq!(s.recall_at_5, 0.5);
        assert_eq!(s.recall_at_10, 0.5);
        assert!((s.mrr_at_10 - (1.0 + 1.0 / 3.0) / 4.0).abs() < 1e-12);
    }

    #[test]
    fn macro_average_weighs_runs_equally() {
        let a = Scores {
            queries: 10,
            recall_at_1: 1.0,
            recall_at_5: 1.0,
            recall_at_10: 1.0,
            mrr_at_10: 1.0,
        };
        let b = Scores {
            queries: 30,
            recall_at_1: 0.0,
            recall_at_5: 0.0,
            recall_at_10: 0.5,
            mrr_at_10: 0.0,
        };
        let m = macro_average(&[a, b]);
        assert_eq!(m.queries, 40);
        assert_eq!(m.recall_at_10, 0.75);
        assert_eq!(m.recall_at_1, 0.5);
    }
}
