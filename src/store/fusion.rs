//! Hybrid search: fusing the dense and keyword (BM25) result lists into one ranking whose
//! scores are absolute, so that a score means the same whatever else is stored and "nothing
//! relevant" can be told by a threshold.
//!
//! Naive reciprocal-rank fusion loses to dense search on code (SOURCES.md: CoSQA R@10 0.678
//! against 0.822), because it gives a weak keyword list the same say as a strong dense one.
//! engram fuses scores instead: the cosine is the relevance, and a keyword match lifts it
//! toward 1.
//!
//! ```text
//! relevance = c + (1 − c) · b · k,   c = max(cos, 0),   k = bm25 / (bm25 + 8)
//! b         = clamp(β + gap − 0.4, 0.05, 1),   gap = (k₁ − k₁₀) / k₁
//! ```
//!
//! - `cos` is the cosine of the query's and the entry's embeddings: absolute, and known for
//!   every candidate (one only the keyword half returned has its vector read). Without a
//!   keyword match the relevance is exactly `c`.
//! - `k` turns the BM25 score (0 without a query term) into a keyword relevance in `[0, 1)`,
//!   saturating like BM25's own term frequency, 0.5 at a score of 8 (about two rare terms
//!   fully matched). It depends on what else is stored only through BM25's IDF, which
//!   weighs a term by how rare it is in the collection.
//! - `b`, the share of the distance to 1 that a full keyword match closes, starts from the
//!   collection's [`Fusion::keyword_lift`] `β` and moves with the keyword half's confidence
//!   on this query: `gap` is how far its top score `k₁` stands above its tenth `k₁₀` (0 past
//!   the end of the list); 0.4 is the gap of a typical query. A rare term shared by the query
//!   and one document gives a large gap and a larger lift. `b` is at least 0.05, so a
//!   keyword match always ranks above an otherwise equal non-match.
//!
//! Measured with `engram bench` (BENCHMARKS.md; constants chosen on CoSQA and LoCoMo, the
//! pylint set held out), R@10 / MRR@10 of hybrid against the better half: CoSQA dev-500
//! 0.834 / 0.536 (dense 0.822 / 0.534), LoCoMo 0.730 / 0.498 (BM25 0.689 / 0.480), pylint
//! 0.927 / 0.696 (BM25 0.876 / 0.672). Scores relative to each half's best (what engram did
//! before) ranked about as well (0.834 / 0.541, 0.735 / 0.506, 0.931 / 0.700) but said 1.0
//! for the best candidate of any query, however unrelated.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::error::Result;
use super::types::{Hit, PointId, Record};

/// How many results each half contributes before fusion (at least the requested limit).
pub const DEPTH: usize = 100;

/// How many results the keyword half is asked for, for a cut at `depth`: twice as many, so
/// that [`cut_ties_by_id`] can decide ties at the cut.
pub fn keyword_fetch(depth: usize) -> usize {
    depth.saturating_mul(2).min(crate::store::MAX_LIMIT)
}

/// The `depth` best of a result list, ties decided by id. BM25 ties are common (short texts
/// of equal length that share one query term score exactly alike); cut where the backend
/// cut them, the candidates would depend on the backend's internal point order, which
/// differs between two stores holding the same points (a restored snapshot, a migrated
/// collection) and changes when segments merge — and so, through the candidates, would the
/// fused top results. Given [`keyword_fetch`]`(depth)` results, the cut depends on the stored
/// points alone unless more than `depth` of them tie at it.
pub fn cut_ties_by_id(mut hits: Vec<(PointId, f32)>, depth: usize) -> Vec<(PointId, f32)> {
    hits.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    hits.truncate(depth);
    hits
}

/// The keyword gap of a typical query, where the lift is the collection's own.
const PIVOT_GAP: f32 = 0.4;
/// The least lift a keyword match gives.
pub const MIN_KEYWORD_LIFT: f32 = 0.05;
/// The BM25 score whose keyword relevance is 0.5.
pub const KEYWORD_HALF_SCORE: f32 = 8.0;

/// How hybrid search weighs keyword matches for a collection's kind of content.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fusion {
    /// For a typical query, the share of the distance from the cosine to 1 that a full
    /// keyword match closes, in `[0, 1]`.
    pub keyword_lift: f32,
}

impl Fusion {
    /// Prose, conversation, error messages: words shared with the query are strong evidence.
    pub const TEXT: Fusion = Fusion { keyword_lift: 1.0 };
    /// Source code searched with natural language: shared words are weak evidence (the
    /// query says "check if iterable", the code says `hasattr(obj, '__iter__')`).
    pub const CODE: Fusion = Fusion { keyword_lift: 0.3 };
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
    /// The relevance, in `[0, 1]`.
    pub score: f32,
    /// Its cosine with the query, when known (always, for points with vectors).
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

/// The keyword lift `b` for this query.
pub fn keyword_lift(fusion: Fusion, keyword: &[(PointId, f32)]) -> f32 {
    (fusion.keyword_lift + keyword_gap(keyword) - PIVOT_GAP).clamp(MIN_KEYWORD_LIFT, 1.0)
}

/// A BM25 score as a keyword relevance in `[0, 1)`.
pub fn keyword_relevance(bm25: f32) -> f32 {
    let bm25 = bm25.max(0.0);
    bm25 / (bm25 + KEYWORD_HALF_SCORE)
}

/// Fuses two ranked lists (best first) into the `limit` best. `cosines` holds the cosine of
/// the candidates only the keyword half returned (one missing counts as 0).
pub fn fuse(
    fusion: Fusion,
    dense: &[(PointId, f32)],
    keyword: &[(PointId, f32)],
    cosines: &HashMap<PointId, f32>,
    limit: usize,
) -> Vec<Fused> {
    let b = keyword_lift(fusion, keyword);
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
            let cosine = raw_dense.get(&id).or_else(|| cosines.get(&id)).copied();
            let bm25 = raw_keyword.get(&id).copied();
            let c = cosine.unwrap_or(0.0).clamp(0.0, 1.0);
            let k = bm25.map_or(0.0, keyword_relevance);
            Fused {
                id,
                score: c + (1.0 - c) * b * k,
                dense: cosine,
                keyword: bm25,
            }
        })
        .collect();
    fused.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.id.cmp(&y.id)));
    fused.truncate(limit);
    fused
}

/// The cosine of `query` and `vector`; 0 when either is zero.
fn cosine(query: &[f32], vector: &[f32]) -> f32 {
    let dot: f32 = query.iter().zip(vector).map(|(a, b)| a * b).sum();
    let norms = query.iter().map(|x| x * x).sum::<f32>().sqrt()
        * vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norms > 0.0 { dot / norms } else { 0.0 }
}

/// The candidates only the keyword half returned that could still reach the `limit` best:
/// their cosine is at most the dense half's last one (they are not in its list), which
/// bounds their relevance; those whose bound is under the `limit`-th best relevance among
/// the dense half's candidates (all known) or under `threshold` cannot make the results,
/// and their vectors need not be read.
pub fn keyword_only_contenders(
    fusion: Fusion,
    dense: &[(PointId, f32)],
    keyword: &[(PointId, f32)],
    limit: usize,
    threshold: Option<f32>,
) -> Vec<PointId> {
    let b = keyword_lift(fusion, keyword);
    let raw_keyword: HashMap<PointId, f32> = keyword.iter().copied().collect();
    let in_dense: std::collections::HashSet<PointId> = dense.iter().map(|(id, _)| *id).collect();
    let relevance = |c: f32, bm25: Option<f32>| {
        let c = c.clamp(0.0, 1.0);
        c + (1.0 - c) * b * bm25.map_or(0.0, keyword_relevance)
    };
    let mut known: Vec<f32> = dense
        .iter()
        .map(|(id, c)| relevance(*c, raw_keyword.get(id).copied()))
        .collect();
    known.sort_by(|x, y| y.total_cmp(x));
    let bar = known
        .get(limit.saturating_sub(1))
        .copied()
        .unwrap_or(f32::NEG_INFINITY)
        .max(threshold.unwrap_or(f32::NEG_INFINITY));
    let cosine_bound = dense.last().map_or(1.0, |(_, c)| *c);
    keyword
        .iter()
        .filter(|(id, _)| !in_dense.contains(id))
        .filter(|(_, bm25)| relevance(cosine_bound, Some(*bm25)) >= bar)
        .map(|(id, _)| *id)
        .collect()
}

/// The hybrid search results: reads the vectors of the candidates only the keyword half
/// returned that could make the results ([`keyword_only_contenders`]), to know their cosine
/// with `query`; fuses; drops results under `threshold`; and attaches the payloads of the
/// survivors. `load(ids, with_vectors)` reads points.
pub(crate) fn hybrid_hits(
    fusion: Fusion,
    query: &[f32],
    dense: &[(PointId, f32)],
    keyword: &[(PointId, f32)],
    limit: usize,
    threshold: Option<f32>,
    load: impl Fn(&[PointId], bool) -> Result<Vec<Record>>,
) -> Result<Vec<Hit>> {
    let contenders = keyword_only_contenders(fusion, dense, keyword, limit, threshold);
    let cosines: HashMap<PointId, f32> = if contenders.is_empty() {
        HashMap::new()
    } else {
        load(&contenders, true)?
            .into_iter()
            .filter_map(|r| r.vector.map(|v| (r.id, cosine(query, &v))))
            .collect()
    };
    let fused: Vec<Fused> = fuse(fusion, dense, keyword, &cosines, limit)
        .into_iter()
        .filter(|f| threshold.is_none_or(|t| f.score >= t))
        .collect();
    let ids: Vec<PointId> = fused.iter().map(|f| f.id).collect();
    let mut payloads: HashMap<PointId, _> = if ids.is_empty() {
        HashMap::new()
    } else {
        load(&ids, false)?
            .into_iter()
            .map(|r| (r.id, r.payload))
            .collect()
    };
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
    fn ties_at_the_cut_are_decided_by_id_whatever_the_backend_order() {
        // Five points tie at 2.0 around a cut at 3: whichever order they come in, the same
        // two of them make it (the lowest ids).
        let hits = vec![
            (id(9), 3.0),
            (id(7), 2.0),
            (id(4), 2.0),
            (id(8), 2.0),
            (id(5), 2.0),
            (id(6), 2.0),
            (id(1), 1.0),
        ];
        let mut reversed = hits.clone();
        reversed.reverse();
        let expected = vec![(id(9), 3.0), (id(4), 2.0), (id(5), 2.0)];
        assert_eq!(cut_ties_by_id(hits, 3), expected);
        assert_eq!(cut_ties_by_id(reversed, 3), expected);
        assert_eq!(keyword_fetch(100), 200);
        assert_eq!(keyword_fetch(9_000), crate::store::MAX_LIMIT);
    }

    #[test]
    fn without_keyword_results_the_score_is_the_cosine() {
        let dense = [(id(1), 0.9), (id(2), 0.8), (id(3), -0.2)];
        let fused = fuse(Fusion::TEXT, &dense, &[], &HashMap::new(), 10);
        assert_eq!(
            fused.iter().map(|f| f.id).collect::<Vec<_>>(),
            vec![id(1), id(2), id(3)]
        );
        assert!((fused[0].score - 0.9).abs() < 1e-6);
        assert_eq!(
            fused[2].score, 0.0,
            "a negative cosine counts as no similarity"
        );
        assert_eq!(fused[2].dense, Some(-0.2), "and is reported as it is");
        assert_eq!(fused[0].keyword, None);
    }

    #[test]
    fn scores_do_not_depend_on_the_other_candidates() {
        let alone = fuse(Fusion::TEXT, &[(id(1), 0.04)], &[], &HashMap::new(), 10);
        assert!((alone[0].score - 0.04).abs() < 1e-6, "{alone:?}");
        let with_better = fuse(
            Fusion::TEXT,
            &[(id(2), 0.9), (id(1), 0.04)],
            &[],
            &HashMap::new(),
            10,
        );
        assert_eq!(with_better[1].score, alone[0].score);
    }

    #[test]
    fn a_keyword_match_ranks_above_an_otherwise_equal_non_match() {
        // The keyword half returns one hit (its only and last one): it must count.
        let dense = [(id(1), 0.7), (id(2), 0.7)];
        for keyword in [vec![(id(2), 3.0)], vec![(id(3), 9.0), (id(2), 0.5)]] {
            for fusion in [Fusion::TEXT, Fusion::CODE, Fusion { keyword_lift: 0.0 }] {
                let fused = fuse(fusion, &dense, &keyword, &HashMap::new(), 3);
                let rank = |n| fused.iter().position(|f| f.id == id(n));
                assert!(rank(2) < rank(1), "{fused:?}");
            }
        }
    }

    #[test]
    fn a_standout_keyword_match_outranks_a_flat_dense_lead() {
        // Dense barely prefers 1; keyword strongly prefers 2 (a rare shared term).
        let dense = [(id(1), 0.60), (id(2), 0.59), (id(3), 0.58)];
        let keyword = [(id(2), 12.0), (id(4), 2.0)];
        let cosines = HashMap::from([(id(4), 0.1)]);
        let fused = fuse(Fusion::TEXT, &dense, &keyword, &cosines, 4);
        assert_eq!(fused[0].id, id(2));
        assert_eq!(fused[0].dense, Some(0.59));
        assert_eq!(fused[0].keyword, Some(12.0));
        let keyword_only = fused.iter().find(|f| f.id == id(4)).expect("candidate 4");
        assert_eq!(
            keyword_only.dense,
            Some(0.1),
            "keyword-only candidates get their cosine"
        );
    }

    #[test]
    fn code_collections_lift_less_and_a_large_gap_lifts_more() {
        let flat: Vec<(PointId, f32)> = (0..10).map(|i| (id(i), 10.0 - 0.2 * i as f32)).collect();
        let sharp = [(id(0), 10.0), (id(1), 1.0)];
        assert!(keyword_lift(Fusion::CODE, &flat) < keyword_lift(Fusion::TEXT, &flat));
        assert!(keyword_lift(Fusion::CODE, &sharp) > keyword_lift(Fusion::CODE, &flat));
        for list in [&flat[..], &sharp[..], &[]] {
            for fusion in [
                Fusion::TEXT,
                Fusion::CODE,
                Fusion { keyword_lift: 7.0 },
                Fusion { keyword_lift: -3.0 },
            ] {
                let b = keyword_lift(fusion, list);
                assert!((MIN_KEYWORD_LIFT..=1.0).contains(&b), "{b}");
            }
        }
    }

    #[test]
    fn only_keyword_candidates_that_could_make_the_results_have_their_vectors_read() {
        // Dense: three strong candidates, the last at 0.5, so a keyword-only candidate's
        // cosine is at most 0.5.
        let dense = [(id(1), 0.9), (id(2), 0.85), (id(3), 0.5)];
        let keyword = [(id(4), 30.0), (id(5), 0.1), (id(1), 0.1)];
        let contenders = keyword_only_contenders(Fusion::TEXT, &dense, &keyword, 2, None);
        // 4 (0.5 lifted by a strong match) may beat 0.85; 5 (barely matched) cannot.
        assert_eq!(contenders, vec![id(4)]);
        // With room for every candidate, all are read; a threshold above any bound, none.
        assert_eq!(
            keyword_only_contenders(Fusion::TEXT, &dense, &keyword, 10, None),
            vec![id(4), id(5)]
        );
        assert!(keyword_only_contenders(Fusion::TEXT, &dense, &keyword, 10, Some(0.99)).is_empty());
        // And the pruned ones could not have made the results: fusing with every cosine
        // (at its bound) gives the same top 2.
        let all = HashMap::from([(id(4), 0.5), (id(5), 0.5)]);
        let pruned = HashMap::from([(id(4), 0.5)]);
        let ids = |c: &HashMap<PointId, f32>| {
            fuse(Fusion::TEXT, &dense, &keyword, c, 2)
                .iter()
                .map(|f| f.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&all), ids(&pruned));
    }

    #[test]
    fn a_collection_spec_written_before_keyword_lift_still_opens() {
        let old: Fusion = serde_json::from_str(r#"{"dense_weight": 0.9}"#).expect("parses");
        assert_eq!(
            old,
            Fusion::default(),
            "the next open writes the code's fusion"
        );
    }

    #[test]
    fn keyword_relevance_saturates_and_every_candidate_appears_once() {
        assert_eq!(keyword_relevance(0.0), 0.0);
        assert!((keyword_relevance(KEYWORD_HALF_SCORE) - 0.5).abs() < 1e-6);
        assert!(keyword_relevance(1e6) < 1.0);
        let dense = [(id(1), 0.9), (id(2), 0.5)];
        let keyword = [(id(2), 3.0), (id(3), 1.0)];
        let fused = fuse(Fusion::TEXT, &dense, &keyword, &HashMap::new(), 10);
        let mut ids: Vec<_> = fused.iter().map(|f| f.id).collect();
        ids.sort();
        assert_eq!(ids, vec![id(1), id(2), id(3)]);
        assert!(fused.windows(2).all(|w| w[0].score >= w[1].score));
        assert!(fused.iter().all(|f| (0.0..=1.0).contains(&f.score)));
        assert_eq!(
            fuse(Fusion::TEXT, &dense, &keyword, &HashMap::new(), 1).len(),
            1
        );
    }
}
