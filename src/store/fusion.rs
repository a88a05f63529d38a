//! Hybrid search: fusing the dense and keyword result lists into one ranking.
//!
//! First version: min-max normalised scores, combined with a fixed weight. Replaced by the
//! measured design once the evaluation harness has run.

use std::collections::HashMap;

use super::types::PointId;

/// How many results each half contributes before fusion (at least the requested limit).
pub const DEPTH: usize = 100;

/// One fused result with the component scores it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    /// The point.
    pub id: PointId,
    /// The fused score.
    pub score: f32,
    /// Its cosine similarity, if the dense half returned it.
    pub dense: Option<f32>,
    /// Its BM25 score, if the keyword half returned it.
    pub keyword: Option<f32>,
}

/// Fuses two ranked lists (best first) into the `limit` best.
pub fn fuse(dense: &[(PointId, f32)], keyword: &[(PointId, f32)], limit: usize) -> Vec<Fused> {
    let weight_dense = 0.7f32;
    let mut merged: HashMap<PointId, Fused> = HashMap::new();
    let norm = |list: &[(PointId, f32)]| -> Vec<(PointId, f32, f32)> {
        let max = list.iter().map(|(_, s)| *s).fold(f32::MIN, f32::max);
        let min = list.iter().map(|(_, s)| *s).fold(f32::MAX, f32::min);
        let span = (max - min).max(1e-6);
        list.iter()
            .map(|(id, s)| (*id, *s, (s - min) / span))
            .collect()
    };
    for (id, raw, n) in norm(dense) {
        let entry = merged.entry(id).or_insert(Fused {
            id,
            score: 0.0,
            dense: None,
            keyword: None,
        });
        entry.dense = Some(raw);
        entry.score += weight_dense * n;
    }
    for (id, raw, n) in norm(keyword) {
        let entry = merged.entry(id).or_insert(Fused {
            id,
            score: 0.0,
            dense: None,
            keyword: None,
        });
        entry.keyword = Some(raw);
        entry.score += (1.0 - weight_dense) * n;
    }
    let mut fused: Vec<Fused> = merged.into_values().collect();
    fused.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    fused.truncate(limit);
    fused
}
