//! Decay and reinforcement: five memories with the same text (so relevance is equal and
//! only recency, importance and reinforcement order them), searched at fixed clock times.
//! The expected orderings are worked out by hand from the documented formula
//! (`memories/scoring.rs`, default weights 1 / 0.5 / 0.5 / 0.25, half-lives 6 h, 168 h,
//! 2,160 h, short-term TTL 24 h):
//!
//! | memory | tier | importance | reinforced | at 0 h | at 12 h | at 30 h |
//! |---|---|---|---|---|---|---|
//! | A | short | 0.9 | — | .95 | .575 | expired |
//! | B | long | 0.3 | — | .65 | .648 | .645 |
//! | C | medium | 0.6 | — | .80 | .776 | .742 |
//! | D | long | 0.3 | ×2, ×2 at 0 h | .8375 | .836 | .833 |
//! | E | short | 0.8 | ×1.2 at 20 h | .90 | .525 | .599 |
//!
//! (the sum `0.5·recency + 0.5·importance + 0.25·reinforcement`; relevance adds the same
//! to each.)

use engram::memories::{MemoryFilters, MemoryInput, Scoring, Tier};
use engram::store::PointId;

use super::Library;

const TEXT: &str = "Deploy the payment service with blue-green releases";

fn add(lib: &Library, tag: &str, tier: Tier, importance: f64) -> PointId {
    lib.memories
        .add_memory(
            MemoryInput {
                memory_tier: Some(tier),
                importance: Some(importance),
                tags: vec!["decay".into(), tag.into()],
                ..MemoryInput::new(TEXT)
            },
            None,
        )
        .expect("add")
        .id
}

fn order(lib: &Library, names: &[(PointId, &'static str)]) -> Vec<&'static str> {
    let found = lib
        .memories
        .semantic_search(
            None,
            "blue-green deploy of payments",
            10,
            &MemoryFilters {
                tags: vec!["decay".into()],
                ..MemoryFilters::default()
            },
        )
        .expect("search");
    let relevance = found[0].relevance;
    for hit in &found {
        assert!(
            (hit.relevance - relevance).abs() < 1e-6,
            "same text, same relevance: {found:?}"
        );
    }
    found
        .iter()
        .map(|hit| {
            names
                .iter()
                .find(|(id, _)| *id == hit.memory.id)
                .map(|(_, name)| *name)
                .expect("a known memory")
        })
        .collect()
}

#[test]
fn orderings_at_fixed_times_follow_the_formula() {
    let lib = Library::new();
    lib.at_hours(0.0);
    let a = add(&lib, "a", Tier::Short, 0.9);
    let b = add(&lib, "b", Tier::Long, 0.3);
    let c = add(&lib, "c", Tier::Medium, 0.6);
    let d = add(&lib, "d", Tier::Long, 0.3);
    let e = add(&lib, "e", Tier::Short, 0.8);
    for _ in 0..2 {
        lib.memories
            .reinforce_memory(None, d, 2.0, None)
            .expect("reinforce");
    }
    let names = [(a, "A"), (b, "B"), (c, "C"), (d, "D"), (e, "E")];
    assert_eq!(order(&lib, &names), ["A", "E", "D", "C", "B"]);

    lib.at_hours(12.0);
    assert_eq!(order(&lib, &names), ["D", "C", "B", "A", "E"]);

    lib.at_hours(20.0);
    let reinforced = lib
        .memories
        .reinforce_memory(None, e, 1.2, None)
        .expect("reinforce");
    assert!((reinforced.reinforcement - (1.0 - 1.0 / 1.2)).abs() < 1e-9);
    assert_eq!(reinforced.memory.touched_at, super::T0 + 20 * super::HOUR);
    assert_eq!(
        reinforced.memory.expires_at,
        Some(super::T0 + 44 * super::HOUR),
        "a reinforced short-term memory lives another 24 h"
    );

    lib.at_hours(30.0);
    assert_eq!(
        order(&lib, &names),
        ["D", "C", "B", "E"],
        "A expired at 24 h"
    );
    assert!(lib.memories.get_memory(None, a).is_err(), "expired is gone");

    // The parts as documented, at 30 h.
    let found = lib
        .memories
        .semantic_search(None, TEXT, 10, &MemoryFilters::default())
        .expect("search");
    let e_hit = found.iter().find(|h| h.memory.id == e).expect("E");
    assert!(
        (e_hit.recency - (-10.0f64 / 6.0).exp2()).abs() < 1e-9,
        "{e_hit:?}"
    );
    let d_hit = found.iter().find(|h| h.memory.id == d).expect("D");
    assert!((d_hit.reinforcement - 0.75).abs() < 1e-9);
    assert!((d_hit.recency - (-30.0f64 / 2160.0).exp2()).abs() < 1e-9);
    let expected = (d_hit.relevance + 0.5 * d_hit.recency + 0.5 * 0.3 + 0.25 * 0.75) / 2.25;
    assert!((d_hit.score - expected).abs() < 1e-9, "{d_hit:?}");

    // The sweep deletes what expired and nothing else.
    assert_eq!(lib.memories.sweep().expect("sweep"), 1);
    assert_eq!(lib.memories.count().expect("count"), 4);

    // Promoted to long term, E no longer expires.
    lib.memories
        .update_memory(
            None,
            e,
            engram::memories::MemoryUpdate {
                memory_tier: Some(Tier::Long),
                ..Default::default()
            },
        )
        .expect("promote");
    lib.at_hours(24.0 * 365.0);
    assert_eq!(lib.memories.sweep().expect("sweep"), 0);
    assert!(lib.memories.get_memory(None, e).is_ok());
}

#[test]
fn weights_come_from_the_configuration() {
    // Importance alone: the most important first, whatever the time.
    let lib = Library::with(Scoring {
        relevance_weight: 0.0,
        recency_weight: 0.0,
        importance_weight: 1.0,
        reinforcement_weight: 0.0,
        ..Scoring::default()
    });
    let low = add(&lib, "low", Tier::Long, 0.2);
    let high = add(&lib, "high", Tier::Long, 0.7);
    let mid = add(&lib, "mid", Tier::Long, 0.5);
    let names = [(low, "low"), (high, "high"), (mid, "mid")];
    lib.at_hours(5000.0);
    assert_eq!(order(&lib, &names), ["high", "mid", "low"]);
    let found = lib
        .memories
        .search_memory(None, TEXT, None, 1, None)
        .expect("search");
    assert!((found[0].score - 0.7).abs() < 1e-9);
}

#[test]
fn reinforcement_is_bounded_and_refuses_bad_factors() {
    let lib = Library::new();
    let id = add(&lib, "r", Tier::Long, 0.5);
    let mut last = 0.0;
    for _ in 0..40 {
        let r = lib
            .memories
            .reinforce_memory(None, id, 1.2, None)
            .expect("reinforce");
        assert!(r.reinforcement > last && r.reinforcement < 1.0);
        last = r.reinforcement;
    }
    assert!((last - (1.0 - 1.2f64.powi(-40))).abs() < 1e-9);
    for bad in [1.0, 0.5, f64::NAN, f64::INFINITY, 10.5] {
        let error = lib
            .memories
            .reinforce_memory(None, id, bad, None)
            .expect_err("refused");
        assert!(
            error.to_string().contains("reinforcement_factor"),
            "{error}"
        );
    }
}
