//! Repeat detection measured on `tests/data/specialist_repeats.json`: 48 hand-written pairs
//! of (question, concern) sessions of one specialist: 24 where the later session asks the
//! same question in other words and restates the concern, and 24 where it does not (12
//! unrelated, 6 the same question with another concern, 6 another question with a
//! similar-sounding concern). Each pair runs through `record_session` on a real store with
//! the real model; the issue asks for precision and recall ≥ 0.9.
//!
//! The test also prints, from the same vectors, precision and recall over a grid of the two
//! thresholds, which is how `REPEAT_QUESTION_COSINE` and `REPEAT_CONCERN_COSINE` were
//! chosen (run with `--nocapture`).

use engram::embed::{Embedder, cosine};
use engram::specialists::{
    REPEAT_CONCERN_COSINE, REPEAT_QUESTION_COSINE, SessionInput, SpecialistSpec,
};
use serde::Deserialize;

use super::{Fixture, session};
use crate::common::shared_embedder;

#[derive(Deserialize)]
struct Side {
    question: String,
    concern: String,
}

#[derive(Deserialize)]
struct Pair {
    specialist: String,
    earlier: Side,
    later: Side,
    repeat: bool,
    kind: String,
}

fn pairs() -> Vec<Pair> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/specialist_repeats.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("the pair set")).expect("JSON")
}

fn precision_recall(predicted: &[bool], truth: &[bool]) -> (f64, f64) {
    let tp = predicted
        .iter()
        .zip(truth)
        .filter(|(p, t)| **p && **t)
        .count() as f64;
    let fp = predicted
        .iter()
        .zip(truth)
        .filter(|(p, t)| **p && !**t)
        .count() as f64;
    let fne = predicted
        .iter()
        .zip(truth)
        .filter(|(p, t)| !**p && **t)
        .count() as f64;
    let precision = if tp + fp == 0.0 { 1.0 } else { tp / (tp + fp) };
    (precision, tp / (tp + fne))
}

#[test]
fn repeat_detection_precision_and_recall_are_at_least_0_9() {
    let pairs = pairs();
    assert!(pairs.len() >= 40, "the issue asks for at least 40 pairs");
    let f = Fixture::new();
    let s = &f.specialists;
    let specs: Vec<SpecialistSpec> = (0..pairs.len())
        .map(|i| SpecialistSpec {
            id: format!("pair-{i}"),
            topics: vec![],
        })
        .collect();
    s.init_specialists(&specs).expect("init");
    let mut predicted = Vec::new();
    let mut misses = Vec::new();
    for (i, pair) in pairs.iter().enumerate() {
        let who = format!("pair-{i}");
        let record = |d: &str, side: &Side| -> SessionInput {
            session(
                d,
                &side.question,
                &[(pair.specialist.as_str(), side.concern.as_str())],
            )
        };
        s.record_session(&who, record("earlier", &pair.earlier))
            .expect("earlier");
        let later = s
            .record_session(&who, record("later", &pair.later))
            .expect("later");
        let found = later.concerns[0].repeat_of.is_some();
        if found != pair.repeat {
            misses.push(format!(
                "{i} ({}, repeat {}): {:?}",
                pair.kind, pair.repeat, later.concerns[0].repeat_of
            ));
        }
        predicted.push(found);
    }
    let truth: Vec<bool> = pairs.iter().map(|p| p.repeat).collect();
    let (precision, recall) = precision_recall(&predicted, &truth);
    eprintln!(
        "repeat detection on {} pairs (question ≥ {REPEAT_QUESTION_COSINE}, concern ≥ \
         {REPEAT_CONCERN_COSINE}): precision {precision:.3}, recall {recall:.3}",
        pairs.len()
    );
    for kind in [
        "paraphrase",
        "unrelated",
        "same_topic_other_concern",
        "other_question_same_concern",
    ] {
        let of: Vec<usize> = (0..pairs.len())
            .filter(|&i| pairs[i].kind == kind)
            .collect();
        let right = of.iter().filter(|&&i| predicted[i] == truth[i]).count();
        eprintln!("  {kind}: {right} of {} right", of.len());
    }
    for miss in &misses {
        eprintln!("  wrong: {miss}");
    }

    // The threshold grid, from the same model's cosines.
    let embedder = shared_embedder();
    let cosines: Vec<(f32, f32)> = pairs
        .iter()
        .map(|p| {
            let v = embedder
                .embed_batch(&[
                    &p.earlier.question,
                    &p.later.question,
                    &p.earlier.concern,
                    &p.later.concern,
                ])
                .expect("embed");
            (cosine(&v[0], &v[1]), cosine(&v[2], &v[3]))
        })
        .collect();
    eprintln!("  grid (question threshold × concern threshold → precision/recall):");
    for q in [0.4f32, 0.5, 0.6, 0.7] {
        let row: Vec<String> = [0.35f32, 0.4, 0.45, 0.5, 0.55, 0.6]
            .iter()
            .map(|&c| {
                let guess: Vec<bool> = cosines.iter().map(|&(cq, cc)| cq >= q && cc >= c).collect();
                let (p, r) = precision_recall(&guess, &truth);
                format!("{c:.2}: {p:.2}/{r:.2}")
            })
            .collect();
        eprintln!("    q {q:.2}  {}", row.join("  "));
    }
    assert!(
        precision >= 0.9 && recall >= 0.9,
        "precision {precision:.3}, recall {recall:.3}: {misses:#?}"
    );
}
