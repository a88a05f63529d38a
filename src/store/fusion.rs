//! Hybrid search: fusing the dense and keyword (BM25) result lists into one ranking.
//!
//! Naive reciprocal-rank fusion loses to dense search on code (SOURCES.md: CoSQA R@10 0.678
//! against 0.822), because it gives a weak keyword list the same say as a strong dense one.
//! engram fuses scores instead, and lets the weight of each half follow the evidence:
//!
//! 1. Each half contributes its top [`DEPTH`] results. Scores are divided by the half's best
//!    score, so each half's ranking keeps its own shape (how far the runners-up trail the
//!    leader) on a common 0–1 scale. A result missing from one half gets that half's lowest
//!    normalised score among the candidates it did return.
//! 2. The fused score is `a · dense + (1 − a) · keyword`, where the dense weight `a` starts
//!    from the collection's [`Fusion::dense_weight`] and moves with the keyword half's
//!    confidence on this query: `a = clamp(w + 0.5 · (0.4 − gap), 0, 1)`, where `gap` is how
//!    far the keyword top result stands out, `(k₁ − k₁₀) / k₁` (ranks past the end of the list
//!    count as 0). A rare term shared by the query and one document gives a large gap and
//!    shifts weight to keywords; a query whose terms are everywhere gives a small one.
//!    0.4 is the gap of a typical query; a query without keyword results is pure dense.
//!
//! Measured with `engram bench` (BENCHMARKS.md), hybrid R@10 / MRR@10 against the better
//! half: CoSQA dev-500 0.834 / 0.542 (dense 0.822 / 0.534), LoCoMo 0.736 / 0.507 (BM25
//! 0.690 / 0.481), and on the pylint error set, which played no part in choosing the
//! formula, 0.930 / 0.700 (BM25 0.876 / 0.672).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::error::Result;
use super::types::{Hit, PointId, Record};

/// How many results each half contributes before fusion (at least the requested limit).
pub const DEPTH: usize = 100;

/// The keyword gap of a typical query, where the dense weight is the collection's own.
const PIVOT_GAP: f32 = 0.4;
/// How strongly the keyword gap moves the dense weight.
const GAP_SLOPE: f32 = 0.5;

/// How hybrid search balances the halves for a collection's kind of content.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Fusion {
    /// Weight of the dense half for a typical query, in `[0, 1]`.
    pub dense_weight: f32,
}

impl Fusion {
    /// Prose, conversation, error messages: words shared with the query are strong evidence.
    pub const TEXT: Fusion = Fusion { dense_weight: 0.6 };
    /// Source code searched with natural language: shared words are weak evidence (the
    /// query says "check if iterable", the code says `hasattr(obj, '__iter__')`).
    pub const CODE: Fusion = Fusion { dense_weight: 0.9 };
}

impl Default for Fusion {
    fn default() -> Self {
        Self::TEXT
    }
}

/// One fused result with the component scores it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    /// The point.
    pub id: PointId,
    /// The fused score, in `[0, 1]`.
    pub score: f32,
    /// Its cosine similarity, if the dense half returned it.
    pub dense: Option<f32>,
    /// Its BM25 score, if the keyword half returned it.
    pub keyword: Option<f32>,
}

/// The keyword half's confidence: how far its best score stands above its tenth.
fn keyword_gap(keyword: &[(PointId, f32)]) -> f32 {
    let Some(&(_, top)) = keyword.first() else {
        return 0.0;
    };
    if top <= 0.0 {
        return 0.0;
    }
    let tenth = keyword.get(9).map_or(0.0, |(_, s)| *s);
    ((top - tenth) / top).clamp(0.0, 1.0)
}

/// The dense weight for this query.
pub fn dense_weight(fusion: Fusion, keyword: &[(PointId, f32)]) -> f32 {
    if keyword.is_empty() {
        return 1.0;
    }
    (fusion.dense_weight + GAP_SLOPE * (PIVOT_GAP - keyword_gap(keyword))).clamp(0.0, 1.0)
}

/// Each score divided by the list's best; `(normalised, lowest normalised)`.
fn normalise(list: &[(PointId, f32)]) -> (HashMap<PointId, f32>, f32) {
    let top = list
        .first()
        .map_or(1.0, |(_, s)| s.abs())
        .max(f32::MIN_POSITIVE);
    let map: HashMap<PointId, f32> = list.iter().map(|(id, s)| (*id, s / top)).collect();
    let lowest = map.values().copied().fold(f32::INFINITY, f32::min);
    (map, if lowest.is_finite() { lowest } else { 0.0 })
}

/// Fuses two ranked lists (best first) into the `limit` best.
pub fn fuse(
    fusion: Fusion,
    dense: &[(PointId, f32)],
    keyword: &[(PointId, f32)],
    limit: usize,
) -> Vec<Fused> {
    let a = dense_weight(fusion, keyword);
    let (dense_norm, dense_floor) = normalise(dense);
    let (keyword_norm, keyword_floor) = normalise(keyword);
    let raw_dense: HashMap<PointId, f32> = dense.iter().copied().collect();
    let raw_keyword: HashMap<PointId, f32> = keyword.iter().copied().collect();
    let mut fused: Vec<Fused> = dense
        .iter()
        .map(|(id, _)| *id)
        .chain(
            keyword
                .iter()
                .map(|(id, _)| *id)
                .filter(|id| !raw_dense.contains_key(id)),
        )
        .map(|id| {
            let d = dense_norm.get(&id).copied().unwrap_or(dense_floor);
            let k = keyword_norm.get(&id).copied().unwrap_or(keyword_floor);
            Fused {
                id,
                score: a * d + (1.0 - a) * k,
                dense: raw_dense.get(&id).copied(),
                keyword: raw_keyword.get(&id).copied(),
            }
        })
        .collect();
    fused.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.id.cmp(&y.id)));
    fused.truncate(limit);
    fused
}

/// The hybrid search results: fuses the halves, drops results under `threshold`, and
/// attaches the payloads `load` reads for the survivors (in one call).
pub(crate) fn hybrid_hits(
    fusion: Fusion,
    dense: &[(PointId, f32)],
    keyword: &[(PointId, f32)],
    limit: usize,
    threshold: Option<f32>,
    load: impl FnOnce(&[PointId]) -> Result<Vec<Record>>,
) -> Result<Vec<Hit>> {
    let fused: Vec<Fused> = fuse(fusion, dense, keyword, limit)
        .into_iter()
        .filter(|f| threshold.is_none_or(|t| f.score >= t))
        .collect();
    let ids: Vec<PointId> = fused.iter().map(|f| f.id).collect();
    let mut payloads: HashMap<PointId, _> =
        load(&ids)?.into_iter().map(|r| (r.id, r.payload)).collect();
    Ok(fused
        .into_iter()
        .map(|f| Hit {
            id: f.id,
            score: f.score,
            dense_score: f.dense,
            keyword_score: f.keyword,
            payload: payloads.remove(&f.id).unwrap_or_default(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> PointId {
        PointId::from_u128(n)
    }

    #[test]
    fn without_keyword_results_the_dense_ranking_is_kept() {
        let dense = [(id(1), 0.9), (id(2), 0.8), (id(3), 0.1)];
        let fused = fuse(Fusion::TEXT, &dense, &[], 10);
        assert_eq!(
            fused.iter().map(|f| f.id).collect::<Vec<_>>(),
            vec![id(1), id(2), id(3)]
        );
        assert!((fused[0].score - 1.0).abs() < 1e-6);
        assert_eq!(fused[0].keyword, None);
    }

    #[test]
    fn a_standout_keyword_match_outranks_a_flat_dense_lead() {
        // Dense barely prefers 1; keyword strongly prefers 2 (a rare shared term).
        let dense = [(id(1), 0.60), (id(2), 0.59), (id(3), 0.58)];
        let keyword = [(id(2), 12.0), (id(4), 2.0)];
        let fused = fuse(Fusion::TEXT, &dense, &keyword, 3);
        assert_eq!(fused[0].id, id(2));
        assert_eq!(fused[0].dense, Some(0.59));
        assert_eq!(fused[0].keyword, Some(12.0));
    }

    #[test]
    fn code_collections_lean_on_dense_and_a_large_gap_moves_weight_to_keywords() {
        let flat: Vec<(PointId, f32)> = (0..10).map(|i| (id(i), 10.0 - 0.2 * i as f32)).collect();
        let sharp = [(id(0), 10.0), (id(1), 1.0)];
        assert!(dense_weight(Fusion::CODE, &flat) > dense_weight(Fusion::TEXT, &flat));
        assert!(dense_weight(Fusion::TEXT, &sharp) < dense_weight(Fusion::TEXT, &flat));
        assert_eq!(dense_weight(Fusion::TEXT, &[]), 1.0);
        for list in [&flat[..], &sharp[..]] {
            for fusion in [Fusion::TEXT, Fusion::CODE, Fusion { dense_weight: 7.0 }] {
                let a = dense_weight(fusion, list);
                assert!((0.0..=1.0).contains(&a), "{a}");
            }
        }
    }

    #[test]
    fn every_candidate_appears_once_and_scores_descend() {
        let dense = [(id(1), 0.9), (id(2), 0.5)];
        let keyword = [(id(2), 3.0), (id(3), 1.0)];
        let fused = fuse(Fusion::TEXT, &dense, &keyword, 10);
        let mut ids: Vec<_> = fused.iter().map(|f| f.id).collect();
        ids.sort();
        assert_eq!(ids, vec![id(1), id(2), id(3)]);
        assert!(fused.windows(2).all(|w| w[0].score >= w[1].score));
        assert_eq!(fuse(Fusion::TEXT, &dense, &keyword, 1).len(), 1);
    }
}
