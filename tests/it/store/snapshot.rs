//! Snapshots: a store with episodes and 10,000 memories (LoCoMo's conversation turns,
//! embedded by the real model) → snapshot → restore into a fresh store of each backend →
//! every record identical (ids, payloads, both vectors) and the same top-10 for 100 queries
//! (LoCoMo's questions). A changed, cut or foreign file is refused with a clear error and
//! changes nothing; so is a restore into a store that holds points.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use engram::episodes::Episodes;
use engram::memories::{Memories, MemoryFilters, MemoryInput, Scoring, Tier};
use engram::memory::Metrics;
use engram::store::snapshot::{self, SnapshotError};
use engram::store::{PointId, Store, StoredPoint};
use serde_json::json;

use super::fixture::{Backend, Fixture, records};
use crate::common::{locomo_texts, shared_embedder};

const MEMORIES: usize = 10_000;
const QUERIES: usize = 100;
/// One fixed clock for both stores: retrieval scores then depend on the records alone.
const NOW: i64 = 1_767_225_600_000;

/// The seeded store's records, its answers, and its snapshot file.
struct Source {
    file: PathBuf,
    records: BTreeMap<String, Vec<StoredPoint>>,
    queries: Vec<String>,
    answers: Vec<Vec<(PointId, f64)>>,
    episodes: Vec<(PointId, f32)>,
    _dir: tempfile::TempDir,
}

fn memories(store: &Store) -> Memories {
    Memories::new(
        store,
        Arc::clone(shared_embedder()) as _,
        Scoring::default(),
    )
    .expect("memories")
    .with_clock(Arc::new(|| NOW))
}

fn episodes(store: &Store) -> Episodes {
    Episodes::new(store, Arc::clone(shared_embedder()) as _).expect("episodes")
}

fn answers(store: &Store, queries: &[String]) -> Vec<Vec<(PointId, f64)>> {
    let memories = memories(store);
    queries
        .iter()
        .map(|query| {
            memories
                .semantic_search(None, query, 10, &MemoryFilters::default())
                .expect("search")
                .into_iter()
                .map(|hit| (hit.memory.id, hit.score))
                .collect()
        })
        .collect()
}

fn similar_episodes(store: &Store) -> Vec<(PointId, f32)> {
    episodes(store)
        .recall_similar_episodes("plan a birthday party for a friend", 5, false)
        .expect("recall episodes")
        .into_iter()
        .map(|r| (r.id, r.score))
        .collect()
}

/// Seeds a store once for every case, snapshots it, and keeps what it answered.
fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_edge(&dir.path().join("data")).expect("store");
        let (turns, queries) = locomo_texts(MEMORIES, QUERIES);
        let m = memories(&store);
        for chunk in turns.chunks(1000) {
            let inputs = chunk
                .iter()
                .enumerate()
                .map(|(i, text)| MemoryInput {
                    memory_tier: Some(Tier::Long),
                    importance: Some((i % 10) as f64 / 10.0),
                    tags: vec![format!("t{}", i % 7)],
                    ..MemoryInput::new(text.clone())
                })
                .collect();
            let added = m.batch_add_memories(inputs, None).expect("batch");
            assert_eq!(added.failed, 0);
        }
        let e = episodes(&store);
        for (task, success) in [
            ("plan a surprise birthday party for a close friend", true),
            ("organise a charity run in the park", false),
            ("write a support group newsletter", true),
        ] {
            let id = e
                .start_episode(
                    task,
                    json!({"team": "planner"})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                )
                .expect("start");
            e.record_event(id, "step", "planner", json!({"note": task}))
                .expect("event");
            e.end_episode(id, success, Metrics::new()).expect("end");
        }
        store.flush().expect("flush");
        let file = dir.path().join("store.snapshot");
        let summary = snapshot::create(&store, &file, "the seeded test store").expect("create");
        let records = records(&store);
        assert_eq!(
            summary.points,
            records.values().map(Vec::len).sum::<usize>(),
            "the snapshot holds every point"
        );
        assert_eq!(records["memories"].len(), MEMORIES);
        let answers = answers(&store, &queries);
        let episodes = similar_episodes(&store);
        Source {
            file,
            records,
            queries,
            answers,
            episodes,
            _dir: dir,
        }
    })
}

fn restores_every_record_and_every_answer(backend: Backend) {
    let source = source();
    let target = Fixture::new(backend);
    let summary = snapshot::restore(&target.store, &source.file).expect("restore");
    assert_eq!(summary.collections.len(), source.records.len());
    let restored = records(&target.store);
    assert_eq!(
        restored.keys().collect::<Vec<_>>(),
        source.records.keys().collect::<Vec<_>>()
    );
    for (name, points) in &source.records {
        assert_eq!(restored[name].len(), points.len(), "{name}: count");
        assert!(restored[name] == *points, "{name}: every record identical");
    }
    let answers = answers(&target.store, &source.queries);
    let mut same_scores = 0;
    for ((query, before), after) in source.queries.iter().zip(&source.answers).zip(&answers) {
        let ids = |hits: &[(PointId, f64)]| hits.iter().map(|h| h.0).collect::<Vec<_>>();
        assert_eq!(ids(after), ids(before), "top-10 of {query:?}");
        assert_eq!(before.len(), 10, "{query:?}");
        for ((_, a), (_, b)) in before.iter().zip(after) {
            assert!((a - b).abs() < 1e-6, "{query:?}: {a} vs {b}");
        }
        same_scores += 1;
    }
    assert_eq!(same_scores, QUERIES);
    assert_eq!(similar_episodes(&target.store), source.episodes);
    // And the restored store goes on: a new memory is found.
    let m = memories(&target.store);
    let added = m
        .add_memory(
            MemoryInput::new("The snapshot test adds a memory after the restore"),
            None,
        )
        .expect("add");
    let found = m
        .semantic_search(
            None,
            "memory added after the restore",
            1,
            &MemoryFilters::default(),
        )
        .expect("search");
    assert_eq!(found.first().map(|h| h.memory.id), Some(added.id));
}

conformance!(restores_every_record_and_every_answer);

/// Where the byte at `at` is changed, the file is cut or something follows its end, a
/// restore is refused before it writes anything.
#[test]
fn a_damaged_snapshot_is_refused_and_changes_nothing() {
    let source = source();
    let original = std::fs::read(&source.file).expect("read");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut flipped = original.clone();
    // A digit inside some vector in the middle of the file: still valid JSON.
    let middle = original.len() / 2;
    let at = (middle..original.len())
        .find(|&i| original[i].is_ascii_digit() && original[i] != b'9')
        .expect("a digit");
    flipped[at] += 1;
    let cut = original[..original.len() - 200].to_vec();
    let mut extended = original.clone();
    extended.extend_from_slice(b"{\"kind\":\"collection\"}\n");
    let mut foreign_version = String::from_utf8(original.clone()).expect("utf-8");
    foreign_version = foreign_version.replacen("\"version\":1", "\"version\":2", 1);
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("flipped", flipped, "checksum mismatch"),
        ("cut", cut, "cut short"),
        ("extended", extended, "follows the end line"),
        ("version", foreign_version.into_bytes(), "format version 2"),
        ("empty", Vec::new(), "empty"),
    ];
    for (name, bytes, says) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).expect("write");
        let verified = snapshot::verify(&path);
        assert!(
            matches!(
                verified,
                Err(SnapshotError::Corrupt { .. } | SnapshotError::Version { .. })
            ),
            "{name}: {verified:?}"
        );
        let target = Fixture::new(Backend::Edge);
        let refused = snapshot::restore(&target.store, &path).expect_err(name);
        let message = refused.to_string();
        assert!(message.contains(says), "{name}: {message}");
        assert!(
            target.store.collection_names().expect("names").is_empty(),
            "{name}: nothing was created"
        );
    }
    // The intact file is verified, with the digests of what it holds.
    let summary = snapshot::verify(&source.file).expect("verify");
    assert_eq!(summary.collections.len(), source.records.len());
    for collection in &summary.collections {
        assert_eq!(collection.points, source.records[&collection.name].len());
    }
}

#[test]
fn a_restore_into_a_store_that_holds_points_is_refused() {
    let source = source();
    let target = Fixture::new(Backend::Edge);
    let m = memories(&target.store);
    m.add_memory(MemoryInput::new("already here"), None)
        .expect("add");
    let before = records(&target.store);
    let refused = snapshot::restore(&target.store, &source.file).expect_err("not empty");
    assert!(
        matches!(&refused, SnapshotError::NotEmpty(held) if held.iter().any(|(name, n)| name == "memories" && *n == 1)),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("memories: 1 point)"),
        "{refused}"
    );
    assert!(records(&target.store) == before, "nothing changed");
}
