//! Crash safety and the one-writer rule, with real processes: a child writes and reports
//! each acknowledged write, is killed with SIGKILL mid-stream, and the parent reopens the
//! store and looks for every acknowledged write.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use engram::store::{CollectionSpec, FieldKind, Payload, Point, PointId, Store, StoreError};
use serde_json::json;

use super::reference::Rng;

const DIR_ENV: &str = "ENGRAM_TEST_CHILD_DIR";
const ROUND_ENV: &str = "ENGRAM_TEST_CHILD_ROUND";

fn spec() -> CollectionSpec {
    CollectionSpec::new("durable", 8).with_index("round", FieldKind::Integer)
}

/// A line to the parent process, flushed at once.
fn report(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .expect("stdout");
}

/// Runs one helper test of this binary in a child process.
fn child(test: &str, dir: &Path, round: u32) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir)
        .env(ROUND_ENV, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// The data directory and round [`child`] gave this process; `None` when the helper test
/// runs on its own.
fn child_round() -> Option<(std::path::PathBuf, u64)> {
    let dir = std::env::var_os(DIR_ENV)?;
    let round = std::env::var(ROUND_ENV)
        .expect("round")
        .parse()
        .expect("number");
    Some((dir.into(), round))
}

/// The writer the durability test kills. Prints `ack up <id>` / `ack del <id>` after each
/// write returned, and `begin del <id>` before a delete.
#[test]
#[ignore = "helper: run in a child process by acknowledged_writes_survive_sigkill"]
fn child_writer() {
    let Some((dir, round)) = child_round() else {
        return;
    };
    let store = Store::open_edge(&dir).expect("open");
    let collection = store.collection(&spec()).expect("collection");
    let mut rng = Rng::new(round + 1);
    let base = round as u128 * 1_000_000;
    let mut next = 0u128;
    loop {
        if next > 10 && rng.below(10) == 0 {
            // Delete one of this round's earlier points.
            let id = base + rng.below(next as u64) as u128;
            // Announced first: if the kill lands mid-delete, the point may or may not be gone.
            report(&format!("begin del {id}"));
            collection
                .delete(&[PointId::from_u128(id)])
                .expect("delete");
            report(&format!("ack del {id}"));
        } else {
            let batch = 1 + rng.below(4) as u128;
            let points: Vec<Point> = (next..next + batch)
                .map(|i| {
                    let mut payload = Payload::new();
                    payload.insert("round".into(), json!(round));
                    payload.insert("i".into(), json!((base + i) as u64));
                    Point {
                        id: PointId::from_u128(base + i),
                        vector: rng.unit_vector(8),
                        text: format!("event {i} of round {round}"),
                        payload,
                    }
                })
                .collect();
            collection.upsert(points).expect("upsert");
            for i in next..next + batch {
                report(&format!("ack up {}", base + i));
            }
            next += batch;
        }
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    // What the store must hold: id -> round, for every acknowledged and not deleted point.
    let mut expected: BTreeMap<PointId, u64> = BTreeMap::new();
    let mut deleted: BTreeSet<PointId> = BTreeSet::new();
    let mut rng = Rng::new(99);
    for round in 0..10u32 {
        let mut writer = child("store::durability::child_writer", dir.path(), round)
            .spawn()
            .expect("spawn writer");
        let stdout = writer.stdout.take().expect("stdout");
        let target = 30 + rng.below(400) as usize;
        let mut acks = 0;
        // A delete announced but not acknowledged may or may not have happened.
        let mut uncertain: BTreeSet<PointId> = BTreeSet::new();
        let mut lines = BufReader::new(stdout).lines();
        let mut killed = false;
        for line in lines.by_ref() {
            let line = line.expect("line");
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some("ack"), Some("up"), Some(id)) => {
                    let id = PointId::from_u128(id.parse().expect("id"));
                    expected.insert(id, u64::from(round));
                    deleted.remove(&id);
                    acks += 1;
                }
                (Some("begin"), Some("del"), Some(id)) => {
                    uncertain.insert(PointId::from_u128(id.parse().expect("id")));
                }
                (Some("ack"), Some("del"), Some(id)) => {
                    let id = PointId::from_u128(id.parse().expect("id"));
                    uncertain.remove(&id);
                    expected.remove(&id);
                    deleted.insert(id);
                    acks += 1;
                }
                _ => {}
            }
            if acks >= target && !killed {
                writer.kill().expect("SIGKILL");
                killed = true;
                // Go on reading: what the writer printed before it died was acknowledged.
            }
        }
        if !killed {
            writer.kill().expect("SIGKILL");
        }
        let status = writer.wait().expect("wait");
        assert!(!status.success(), "the writer was killed, not finished");
        assert!(
            acks >= target,
            "round {round}: the writer died early after {acks} acks"
        );
        for id in &uncertain {
            expected.remove(id);
            deleted.remove(id);
        }

        let store = Store::open_edge(dir.path()).expect("reopen after SIGKILL");
        let collection = store.collection(&spec()).expect("collection");
        let ids: Vec<PointId> = expected.keys().copied().collect();
        let found = collection.get(&ids, false).expect("get");
        let found_ids: BTreeSet<PointId> = found.iter().map(|r| r.id).collect();
        let missing: Vec<_> = ids.iter().filter(|id| !found_ids.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} of {} acknowledged points lost, e.g. {:?}",
            missing.len(),
            ids.len(),
            &missing[..missing.len().min(5)]
        );
        for record in &found {
            assert_eq!(
                record.payload.get("round"),
                Some(&json!(expected[&record.id]))
            );
        }
        let resurrected = collection
            .get(&deleted.iter().copied().collect::<Vec<_>>(), false)
            .expect("get deleted");
        assert!(
            resurrected.is_empty(),
            "round {round}: acknowledged deletes undone"
        );
        eprintln!(
            "round {round}: killed after {acks} acks; {} points, all acknowledged writes present",
            collection.count(None).expect("count")
        );
    }
}

/// Tries to open the store another process holds, and reports what happened.
#[test]
#[ignore = "helper: run in a child process by a_second_writer_fails_fast_naming_the_holder"]
fn child_second_writer() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let started = Instant::now();
    match Store::open_edge(Path::new(&dir)) {
        Ok(_) => report("RESULT opened"),
        Err(error @ StoreError::Locked { .. }) => {
            report(&format!(
                "RESULT locked after {} ms: {error}",
                started.elapsed().as_millis()
            ));
        }
        Err(other) => report(&format!("RESULT other error: {other}")),
    }
}

#[test]
fn a_second_writer_fails_fast_naming_the_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(dir.path()).expect("open");
    store.collection(&spec()).expect("collection");
    let output = child("store::durability::child_second_writer", dir.path(), 0)
        .output()
        .expect("run second writer");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = stdout
        .lines()
        .find_map(|l| l.split_once("RESULT ").map(|(_, result)| result))
        .unwrap_or_else(|| panic!("no result from the child: {stdout}"));
    assert!(result.starts_with("locked after"), "{result}");
    assert!(
        result.contains(&format!("pid {}", std::process::id())),
        "names the holder: {result}"
    );
    assert!(result.contains("--data-dir"), "says what to do: {result}");
    let millis: u64 = result
        .trim_start_matches("locked after ")
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("elapsed");
    assert!(
        millis < 5000,
        "fails at once instead of waiting for the lock: {millis} ms"
    );
    drop(store);
    // Once the holder is gone the directory opens again.
    let reopened = Store::open_edge(dir.path()).expect("reopen");
    assert_eq!(
        reopened.collection_names().expect("names"),
        vec!["durable".to_owned()]
    );
}

/// A process killed while creating a collection leaves its staging folder
/// (`collections/.NAME.creating-PID`); the next open removes it and the store works.
#[test]
fn a_collection_creation_cut_short_leaves_nothing_behind_after_the_next_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let collections = dir.path().join("collections");
    {
        let store = Store::open_edge(dir.path()).expect("open");
        store.collection(&spec()).expect("collection");
    }
    let leftover = collections.join(".durable.creating-4194303");
    std::fs::create_dir_all(leftover.join("shard")).expect("staging");
    std::fs::write(leftover.join("shard").join("wal"), b"half written").expect("file");
    let other = collections.join(".notes.creating-17");
    std::fs::create_dir_all(&other).expect("staging");

    let store = Store::open_edge(dir.path()).expect("reopen");
    assert!(!leftover.exists(), "{} is still there", leftover.display());
    assert!(!other.exists(), "{} is still there", other.display());
    assert_eq!(
        store.collection_names().expect("names"),
        vec!["durable".to_owned()]
    );
    let collection = store.collection(&spec()).expect("collection");
    collection
        .upsert(vec![Point {
            id: PointId::from_u128(1),
            vector: Rng::new(3).unit_vector(8),
            text: "after the cleanup".into(),
            payload: Payload::new(),
        }])
        .expect("upsert");
    assert_eq!(collection.count(None).expect("count"), 1);
}

/// Apparent sizes of the files under `dir` (what `ls -l` shows).
fn apparent_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("list")
        .flatten()
        .map(|entry| {
            let metadata = entry.metadata().expect("metadata");
            if metadata.is_dir() {
                apparent_size(&entry.path())
            } else {
                metadata.len()
            }
        })
        .sum()
}

/// Disk figures count what is allocated: qdrant-edge's memory-mapped files are sparse,
/// hundreds of megabytes apparent for a handful of points.
#[test]
fn disk_figures_count_allocated_bytes_not_sparse_file_sizes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(dir.path()).expect("open");
    let collection = store.collection(&spec()).expect("collection");
    collection
        .upsert(vec![Point {
            id: PointId::from_u128(1),
            vector: Rng::new(5).unit_vector(8),
            text: "one entry".into(),
            payload: Payload::new(),
        }])
        .expect("upsert");
    store.flush().expect("flush");
    let reported = collection.info().expect("info").disk_bytes.expect("bytes");
    let apparent = apparent_size(&dir.path().join("collections").join("durable"));
    eprintln!("one point: {reported} bytes allocated, {apparent} bytes apparent");
    assert!(reported > 0);
    assert!(
        reported < 16 << 20,
        "{reported} bytes reported for one point ({apparent} apparent)"
    );
}

#[test]
fn a_shard_whose_wal_a_forked_child_still_locks_opens_once_the_lock_goes() {
    // What a fork does to a collection created a moment before: the child shares the lock
    // qdrant-edge holds on the shard's WAL directory until it execs. Held here by another
    // open of the directory, released after 150 ms.
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open_edge(dir.path()).expect("store");
        store.collection(&spec()).expect("collection");
    }
    let wal = dir
        .path()
        .join("collections")
        .join(spec().name)
        .join("shard")
        .join("wal");
    let held = std::fs::File::open(&wal).expect("the WAL directory");
    held.try_lock().expect("nobody holds it now");
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(150));
        drop(held);
    });
    let started = Instant::now();
    let store = Store::open_edge(dir.path()).expect("store");
    store
        .collection(&spec())
        .expect("opens once the lock is released");
    release.join().expect("release");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(100),
        "it waited for the lock"
    );
}

/// The store a CLI command opens: closing leaves its collections to the process's exit.
fn kept_cached(dir: &Path) -> Store {
    let options = engram::store::EdgeOptions {
        keep_cached_at_close: true,
        ..engram::store::EdgeOptions::default()
    };
    Store::Edge(engram::store::EdgeStore::open(dir, options).expect("open"))
}

fn numbered(n: u128) -> Point {
    Point {
        id: PointId::from_u128(n),
        vector: Rng::new(n as u64).unit_vector(8),
        text: format!("entry {n}"),
        payload: Payload::new(),
    }
}

/// One CLI-like process of the test below: round 1 writes points 1–3, round 2 only counts
/// them, round 3 adds point 4 and deletes point 1; each closes the store and exits.
#[test]
#[ignore = "helper: run in a child process by a_store_that_keeps_its_files_cached_at_close_loses_no_write"]
fn child_cached_session() {
    let Some((dir, round)) = child_round() else {
        return;
    };
    let store = kept_cached(&dir);
    let collection = store.collection(&spec()).expect("collection");
    match round {
        1 => collection
            .upsert((1..=3).map(numbered).collect())
            .expect("upsert"),
        2 => assert_eq!(collection.count(None).expect("count"), 3),
        _ => {
            collection.upsert(vec![numbered(4)]).expect("upsert");
            collection.delete(&[PointId::from_u128(1)]).expect("delete");
        }
    }
    report("done");
}

/// The CLI's option: closing leaves the collections to the process's exit (qdrant-edge would
/// evict their files from the page cache and flush again), yet every write is there when the
/// next process opens the store, and the directory is free once the process has exited.
#[test]
fn a_store_that_keeps_its_files_cached_at_close_loses_no_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    for round in 1..=3 {
        let output = child("store::durability::child_cached_session", dir.path(), round)
            .output()
            .expect("run the child");
        assert!(
            output.status.success() && String::from_utf8_lossy(&output.stdout).contains("done"),
            "round {round}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let store = Store::open_edge(dir.path()).expect("open");
    let collection = store.collection(&spec()).expect("reopen");
    assert_eq!(collection.count(None).expect("count"), 3);
    let ids: Vec<PointId> = [2, 3, 4].into_iter().map(PointId::from_u128).collect();
    let found: BTreeSet<PointId> = collection
        .get(&ids, false)
        .expect("get")
        .into_iter()
        .map(|record| record.id)
        .collect();
    assert_eq!(found, ids.into_iter().collect());
}
