//! Batches and contention: 1,000 items with 10 invalid ones store 990 and answer 10
//! per-item errors; concurrent compare-and-set updates on one version never both succeed.

use std::sync::{Arc, Barrier};

use engram::memories::{MemoriesError, MemoryInput, MemoryUpdate, Tier};
use engram::store::{PointId, StoreError};

use super::Library;

#[test]
fn a_thousand_items_with_ten_invalid_store_990_and_report_ten() {
    let lib = Library::new();
    let m = &lib.memories;
    let parent = m
        .add_memory(
            MemoryInput {
                memory_tier: Some(Tier::Long),
                ..MemoryInput::new("Batch parent")
            },
            None,
        )
        .expect("parent");
    let mut inputs = Vec::new();
    let mut invalid = Vec::new();
    for i in 0..1000 {
        let mut item = MemoryInput {
            memory_tier: Some(Tier::Medium),
            parent_id: (i % 3 == 0).then_some(parent.id),
            tags: vec![format!("n{}", i % 7)],
            ..MemoryInput::new(format!("Fact number {i}: build step {i} caches its output"))
        };
        if i % 100 == 37 {
            invalid.push(i);
            match (i / 100) % 5 {
                0 => item.content = String::new(),
                1 => item.importance = Some(2.0),
                2 => item.tags = vec!["\u{1}".into()],
                3 => item.parent_id = Some(PointId::from_u128(i as u128)),
                _ => item.importance = Some(f64::NAN),
            }
        }
        inputs.push(item);
    }
    let added = m.batch_add_memories(inputs, None).expect("batch");
    assert_eq!((added.stored, added.failed), (990, 10));
    assert_eq!(added.results.len(), 1000);
    for (i, result) in added.results.iter().enumerate() {
        assert_eq!(result.index, i);
        if invalid.contains(&i) {
            assert!(result.memory.is_none(), "{i}");
            let error = result.error.as_ref().expect("an error");
            assert!(
                error.code == "invalid_request" || error.code == "not_found",
                "{error:?}"
            );
        } else {
            let memory = result.memory.as_ref().expect("stored");
            assert_eq!(
                memory.content,
                format!("Fact number {i}: build step {i} caches its output")
            );
        }
    }
    assert_eq!(m.count().expect("count"), 991);
    // Stored for real: read back by id, in order, and found by meaning.
    let ids: Vec<PointId> = added
        .results
        .iter()
        .filter_map(|r| r.memory.as_ref().map(|m| m.id))
        .collect();
    let got = m.batch_get_memories(None, &ids).expect("batch get");
    assert!(
        got.iter()
            .zip(&ids)
            .all(|(g, id)| g.as_ref().map(|x| x.id) == Some(*id))
    );
    let hits = m
        .search_memory(None, "build step 512 caches its output", None, 3, None)
        .expect("search");
    assert!(hits[0].memory.content.contains("512"), "{:?}", hits[0]);
    assert!(m.batch_add_memories(Vec::new(), None).is_ok());
    let too_many = (0..1001)
        .map(|i| MemoryInput::new(format!("{i}")))
        .collect();
    assert!(matches!(
        m.batch_add_memories(too_many, None),
        Err(MemoriesError::InvalidInput(_))
    ));
}

#[test]
fn two_updates_of_one_version_never_both_succeed() {
    let lib = Library::new();
    let m = Arc::new(lib);
    let id = m
        .memories
        .add_memory(
            MemoryInput {
                memory_tier: Some(Tier::Long),
                ..MemoryInput::new("Contended memory")
            },
            None,
        )
        .expect("add")
        .id;
    for round in 1..=20u64 {
        let barrier = Arc::new(Barrier::new(2));
        let workers: Vec<_> = (0..2)
            .map(|w| {
                let (m, barrier) = (Arc::clone(&m), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    m.memories.update_memory(
                        None,
                        id,
                        MemoryUpdate {
                            importance: Some(if w == 0 { 0.25 } else { 0.75 }),
                            expected_version: Some(round),
                            ..MemoryUpdate::default()
                        },
                    )
                })
            })
            .collect();
        let results: Vec<_> = workers
            .into_iter()
            .map(|w| w.join().expect("join"))
            .collect();
        let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        for lost in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(
                    lost,
                    MemoriesError::Store(StoreError::Conflict {
                        current: Some(v),
                        ..
                    }) if *v == round + 1
                ),
                "{lost}"
            );
        }
        let now = m.memories.get_memory(None, id).expect("get");
        assert_eq!(now.version, round + 1);
        assert_eq!(
            now.importance, won[0].importance,
            "the winner's write stands"
        );
    }
    // Without a version, concurrent updates all land, one after another.
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let m = Arc::clone(&m);
            std::thread::spawn(move || {
                m.memories.update_memory(
                    None,
                    id,
                    MemoryUpdate {
                        tags: Some(vec![format!("w{w}")]),
                        ..MemoryUpdate::default()
                    },
                )
            })
        })
        .collect();
    for w in workers {
        w.join().expect("join").expect("lands");
    }
    let history = m.memories.history(None, id).expect("history");
    assert_eq!(history.versions.len(), 25, "every version kept: 1 + 20 + 4");
    let versions: Vec<u64> = history.versions.iter().map(|v| v.version).collect();
    assert_eq!(versions, (1..=25).collect::<Vec<_>>());
}
