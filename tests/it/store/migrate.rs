//! Migration: a store with memories and episodes copied into another (a fresh Edge store;
//! a Qdrant server when `ENGRAM_TEST_QDRANT_URL` is set) — cut short half-way through a
//! collection, then run again: it finishes, every record is identical and verified; a third
//! run copies nothing; a point written to the source meanwhile is copied by the next run; a
//! target holding a point the source does not is reported, not hidden.

use std::sync::Arc;

use engram::memories::{Memories, MemoryInput, Scoring};
use engram::store::migrate::{MigrateError, migrate};
use engram::store::{Point, PointId, Store};

use super::fixture::{Backend, Fixture, records};
use crate::common::shared_embedder;

fn memories(store: &Store) -> Memories {
    Memories::new(
        store,
        Arc::clone(shared_embedder()) as _,
        Scoring::default(),
    )
    .expect("memories")
}

fn resumes_verifies_and_reports(backend: Backend) {
    let source = Fixture::new(Backend::Edge);
    let m = memories(&source.store);
    let inputs = (0..300)
        .map(|i| {
            MemoryInput::new(format!(
                "Build {i} of the release pipeline cached step {}",
                i % 17
            ))
        })
        .collect();
    assert_eq!(m.batch_add_memories(inputs, None).expect("batch").failed, 0);
    let target = Fixture::new(backend);

    // A migration cut short: the memories collection half copied.
    let from = source
        .store
        .open_existing("memories")
        .expect("open")
        .expect("exists");
    let to = target.store.collection(&from.spec()).expect("create");
    let (half, _) = from.export(150, None).expect("export");
    to.import(half).expect("import");

    let first = migrate(&source.store, &target.store, |_| {}).expect("migrate");
    assert!(
        first
            .iter()
            .any(|c| c.name == "memories" && c.copied && c.points == 300)
    );
    assert!(
        records(&target.store) == records(&source.store),
        "every record identical"
    );

    let again = migrate(&source.store, &target.store, |_| {}).expect("again");
    assert!(again.iter().all(|c| !c.copied), "{again:?}");
    assert_eq!(
        again,
        first
            .iter()
            .map(|c| engram::store::migrate::Migrated {
                copied: false,
                ..c.clone()
            })
            .collect::<Vec<_>>()
    );

    // Written to the source meanwhile: the next run copies that collection again.
    m.add_memory(
        MemoryInput::new("A memory written after the first migration"),
        None,
    )
    .expect("add");
    let third = migrate(&source.store, &target.store, |_| {}).expect("third");
    assert!(
        third
            .iter()
            .any(|c| c.name == "memories" && c.copied && c.points == 301)
    );
    assert!(records(&target.store) == records(&source.store));

    // A point only the target holds: reported with both counts.
    to.upsert(vec![Point {
        id: PointId::from_u128(7),
        vector: vec![0.5; from.spec().dimension],
        text: "a stray point".into(),
        payload: serde_json::Map::new(),
    }])
    .expect("stray");
    match migrate(&source.store, &target.store, |_| {}) {
        Err(MigrateError::Mismatch {
            collection,
            source_points,
            target_points,
            ..
        }) => assert_eq!(
            (collection.as_str(), source_points, target_points),
            ("memories", 301, 302)
        ),
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

conformance!(resumes_verifies_and_reports);
