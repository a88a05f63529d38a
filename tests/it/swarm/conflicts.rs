//! The three conflict policies: `reject` with the current value and version, two
//! concurrent writers on one version (one wins), `last_write_wins` ordered by the hybrid
//! clock, `merge` as RFC 7396 (its own example) and concurrent merges that lose nothing.

use std::sync::Arc;

use engram::swarm::{ConflictPolicy, Put, SwarmError};
use serde_json::json;

use super::{Fixture, put};

#[test]
fn reject_answers_the_current_value_and_version() {
    let f = Fixture::new();
    let s = &f.swarm;
    let key = "swarm/prod/plan";
    s.put(
        None,
        &put(key, json!({"step": 1}), ConflictPolicy::Reject),
        None,
    )
    .expect("create");
    // Creating again (no expected version) is a conflict carrying what is stored.
    let error = s
        .put(
            None,
            &put(key, json!({"step": 9}), ConflictPolicy::Reject),
            None,
        )
        .expect_err("exists");
    let SwarmError::Conflict {
        expected, current, ..
    } = error
    else {
        panic!("expected a conflict, got {error}");
    };
    assert_eq!(expected, None);
    let current = current.expect("current");
    assert_eq!((current.version, current.value), (1, json!({"step": 1})));
    let update = Put {
        expected_version: Some(1),
        ..put(key, json!({"step": 2}), ConflictPolicy::Reject)
    };
    assert_eq!(s.put(None, &update, None).expect("update").entry.version, 2);
    let error = s.put(None, &update, None).expect_err("stale");
    assert!(
        matches!(error, SwarmError::Conflict { expected: Some(1), current: Some(ref c), .. } if c.version == 2),
        "{error}"
    );
}

#[test]
fn of_concurrent_reject_writers_on_one_version_exactly_one_wins() {
    let f = Arc::new(Fixture::new());
    let key = "swarm/prod/leader";
    f.swarm
        .put(
            None,
            &put(key, json!("nobody"), ConflictPolicy::Reject),
            None,
        )
        .expect("create");
    for round in 1..=10u64 {
        let handles: Vec<_> = (0..4)
            .map(|writer| {
                let f = Arc::clone(&f);
                std::thread::spawn(move || {
                    let write = Put {
                        expected_version: Some(round),
                        ..put(key, json!(format!("w{writer}")), ConflictPolicy::Reject)
                    };
                    f.swarm.put(None, &write, None)
                })
            })
            .collect();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .filter_map(|r| r.as_ref().err())
                .all(|e| matches!(e, SwarmError::Conflict { .. })),
            "{results:?}"
        );
        let stored = f.swarm.get(key, None).expect("get").expect("present");
        assert_eq!(stored.version, round + 1);
        assert_eq!(stored.value, won[0].entry.value);
    }
}

#[test]
fn last_write_wins_keeps_the_write_latest_by_the_hybrid_clock() {
    let f = Arc::new(Fixture::new());
    let key = "swarm/prod/status";
    let handles: Vec<_> = (0..4)
        .map(|writer| {
            let f = Arc::clone(&f);
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        f.swarm
                            .put(
                                None,
                                &put(key, json!([writer, i]), ConflictPolicy::LastWriteWins),
                                None,
                            )
                            .expect("put")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let outcomes: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    let stored = f.swarm.get(key, None).expect("get").expect("present");
    let applied: Vec<_> = outcomes.iter().filter(|w| w.applied).collect();
    let latest = applied
        .iter()
        .max_by_key(|w| w.entry.hlc)
        .expect("some write applied");
    assert_eq!(
        stored.value, latest.entry.value,
        "the latest by the clock won"
    );
    assert_eq!(stored.hlc, latest.entry.hlc);
    // Every applied write made its own version; every write that lost was told so and
    // shown a winner written later by the clock.
    let mut versions: Vec<_> = applied.iter().map(|w| w.entry.version).collect();
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len(), applied.len());
    assert_eq!(stored.version as usize, applied.len());
    eprintln!(
        "last_write_wins: {} of {} writes applied",
        applied.len(),
        outcomes.len()
    );
}

#[test]
fn merge_follows_rfc_7396_and_concurrent_merges_lose_nothing() {
    let f = Arc::new(Fixture::new());
    let key = "global/knowledge/config";
    // RFC 7396, section 3's example target and patch.
    f.swarm
        .put(
            None,
            &put(
                key,
                json!({"a": "b", "c": {"d": "e", "f": "g"}}),
                ConflictPolicy::Reject,
            ),
            None,
        )
        .expect("target");
    let merged = f
        .swarm
        .put(
            None,
            &put(
                key,
                json!({"a": "z", "c": {"f": null}}),
                ConflictPolicy::Merge,
            ),
            None,
        )
        .expect("merge");
    assert_eq!(merged.entry.value, json!({"a": "z", "c": {"d": "e"}}));
    // Sixteen writers merging their own field at once: every field lands.
    let handles: Vec<_> = (0..16)
        .map(|writer| {
            let f = Arc::clone(&f);
            std::thread::spawn(move || {
                f.swarm
                    .put(
                        None,
                        &put(
                            key,
                            json!({format!("w{writer}"): writer}),
                            ConflictPolicy::Merge,
                        ),
                        None,
                    )
                    .expect("merge")
            })
        })
        .collect();
    for handle in handles {
        assert!(handle.join().expect("thread").applied);
    }
    let stored = f.swarm.get(key, None).expect("get").expect("present");
    let object = stored.value.as_object().expect("object");
    assert_eq!(object.len(), 18, "{object:?}");
    assert_eq!(stored.version, 18);
    // Merging into a key that does not exist merges into {}.
    let fresh = f
        .swarm
        .put(
            None,
            &put(
                "global/knowledge/new",
                json!({"x": 1, "y": null}),
                ConflictPolicy::Merge,
            ),
            None,
        )
        .expect("merge");
    assert_eq!(fresh.entry.value, json!({"x": 1}));
}
