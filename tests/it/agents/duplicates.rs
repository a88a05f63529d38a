//! The near-duplicate threshold, measured: cosine of the two learnings of each hand-written
//! pair in `tests/data/learning_duplicates.json` (20 paraphrases, 20 related but different
//! insights), precision and recall of "merge" at thresholds around
//! [`engram::agents::DUPLICATE_COSINE`].

use engram::agents::DUPLICATE_COSINE;
use engram::embed::Embedder;

use crate::common::embedder;

#[derive(serde::Deserialize)]
struct Pair {
    a: String,
    b: String,
    duplicate: bool,
}

#[derive(serde::Deserialize)]
struct Set {
    pairs: Vec<Pair>,
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

#[test]
fn the_threshold_merges_paraphrases_and_keeps_different_insights_apart() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/learning_duplicates.json"
    );
    let set: Set =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    assert_eq!(set.pairs.iter().filter(|p| p.duplicate).count(), 20);
    assert_eq!(set.pairs.iter().filter(|p| !p.duplicate).count(), 20);
    let scored: Vec<(f32, bool)> = set
        .pairs
        .iter()
        .map(|p| {
            let v = embedder()
                .embed_batch(&[p.a.as_str(), p.b.as_str()])
                .expect("embed");
            (cosine(&v[0], &v[1]), p.duplicate)
        })
        .collect();
    let at = |threshold: f32| {
        let merged: Vec<bool> = scored
            .iter()
            .filter(|(s, _)| *s >= threshold)
            .map(|(_, d)| *d)
            .collect();
        let right = merged.iter().filter(|d| **d).count();
        let precision = if merged.is_empty() {
            1.0
        } else {
            right as f64 / merged.len() as f64
        };
        (precision, right as f64 / 20.0)
    };
    for t in [0.65, 0.70, 0.75, 0.78, 0.80, 0.82, 0.85, 0.90] {
        let (p, r) = at(t);
        eprintln!("threshold {t:.2}: precision {p:.2}, recall {r:.2}");
    }
    let (precision, recall) = at(DUPLICATE_COSINE);
    // A wrong merge loses an insight; a missed one leaves a duplicate: precision first.
    assert_eq!(precision, 1.0, "at {DUPLICATE_COSINE}");
    assert!(recall >= 0.9, "recall {recall} at {DUPLICATE_COSINE}");
}
