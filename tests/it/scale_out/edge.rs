//! The scale-out scenarios on the embedded store: one in-process server, many HTTP clients
//! and threads; and twelve CLI writers started at once on one data directory.

use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use engram::Engram;
use engram::memory::ErrorInput;
use engram::store::Store;
use serde_json::Value;

use super::{
    Client, a_contended_lease_has_one_holder_at_a_time, events_into_one_episode_are_all_kept,
    stores_of_one_entry_count_exactly,
};
use crate::common::{engram_at, shared_embedder};
use crate::server::TestServer;

#[test]
fn sixteen_http_clients_storing_one_entry_500_times_count_exactly() {
    let server = TestServer::start();
    let report = stores_of_one_entry_count_exactly(&[Client::new(&server.base)], 16, 500);
    eprintln!("{report}");
    assert_eq!(
        report.failed_attempts, 0,
        "nothing failed on one healthy server"
    );
}

#[test]
fn concurrent_events_into_one_episode_are_all_kept_in_one_order() {
    let server = TestServer::start();
    let client = Client::new(&server.base);
    // Two groups of clients, as the two servers of the remote test are.
    let report = events_into_one_episode_are_all_kept(&[client.clone(), client], 4, 200);
    eprintln!("{report}");
    assert_eq!(report.failed_attempts, 0);
}

#[test]
fn a_lease_contended_by_8_http_clients_has_one_holder_at_a_time() {
    let server = TestServer::start();
    let report = a_contended_lease_has_one_holder_at_a_time(&[Client::new(&server.base)], 8, 1000);
    eprintln!("{report}");
}

/// The library, without HTTP: threads storing one entry through one `Engram`.
#[test]
fn threads_storing_one_entry_count_exactly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(dir.path()).expect("store");
    let engram = Engram::with(store, Arc::clone(shared_embedder()) as _).expect("engram");
    std::thread::scope(|scope| {
        for t in 0..8 {
            let engram = engram.clone();
            scope.spawn(move || {
                for n in 0..25 {
                    let input = ErrorInput {
                        tags: vec![format!("thread-{t}")],
                        context: format!("thread {t} store {n}"),
                        ..ErrorInput::new(
                            "TimeoutError: the read operation timed out",
                            "raise the client timeout",
                            n % 5 != 0,
                        )
                    };
                    engram.memory().store_error(input).expect("store");
                }
            });
        }
    });
    let found = engram
        .memory()
        .recall_error_solutions("TimeoutError: the read operation timed out", 1)
        .expect("recall");
    let track = &found[0].record.track;
    assert_eq!(track.seen_count, 200);
    assert_eq!(track.success_count, 160.0, "one in five stores failed");
    let mut tags = found[0].record.tags.clone();
    tags.sort();
    assert_eq!(tags.len(), 8, "every thread's tag is kept: {tags:?}");
}

fn remember(home: &std::path::Path, n: usize) -> Command {
    let mut command = engram_at(home);
    // Twelve writers take turns at the directory; each start loads the model and opens the
    // store (about 0.8 s on a 2-core AVX2 machine, more under a loaded test run), so the
    // last one may wait longer than the default 10 s.
    command
        .env("ENGRAM_LOCK_TIMEOUT", "60")
        .args([
            "remember",
            "error",
            "--message",
            "OSError: [Errno 28] No space left on device",
            "--resolution",
            "prune old build artefacts",
            "--tags",
        ])
        .arg(format!("writer-{n}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn recall_count(home: &std::path::Path) -> Value {
    let output = engram_at(home)
        .args([
            "recall",
            "errors",
            "OSError: [Errno 28] No space left on device",
            "--json",
            "--limit",
            "1",
        ])
        .output()
        .expect("recall");
    let text = crate::common::success_stdout(&output);
    let found: Value = serde_json::from_str(&text).expect("json");
    found[0]["record"]["seen_count"].clone()
}

fn all_succeed(children: Vec<std::process::Child>) -> Vec<Output> {
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().expect("wait");
            assert!(
                output.status.success(),
                "a writer failed: exit {:?}\n{}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            );
            output
        })
        .collect()
}

/// Twelve `engram remember` processes at once on one data directory and no server: each
/// waits its turn for the directory (the default lock timeout), none is refused, and every
/// one is counted.
#[test]
fn twelve_cli_writers_at_once_all_land_through_the_lock_wait() {
    let home = tempfile::tempdir().expect("tempdir");
    let started = std::time::Instant::now();
    let children: Vec<_> = (0..12)
        .map(|n| remember(home.path(), n).spawn().expect("spawn"))
        .collect();
    all_succeed(children);
    eprintln!(
        "12 writers done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(recall_count(home.path()), 12);
}

/// The same twelve writers while an `engram serve` holds the directory: each sends its
/// store to the server (the lock file names its address) instead of failing.
#[test]
fn twelve_cli_writers_beside_a_running_server_go_through_it() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut serve = engram_at(home.path());
    serve.args(["serve", "--listen", "127.0.0.1:0"]);
    let (mut child, base, _log) = crate::common::serve(serve);
    let children: Vec<_> = (0..12)
        .map(|n| {
            remember(home.path(), n)
                .env("ENGRAM_LOG", "engram=info")
                .spawn()
                .expect("spawn")
        })
        .collect();
    let outputs = all_succeed(children);
    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("held by engram serve at {base}")),
            "went through the server: {stderr}"
        );
    }
    // Recall and stats go through the server too, and see all twelve.
    assert_eq!(recall_count(home.path()), 12);
    let stats = engram_at(home.path())
        .args(["stats", "--json"])
        .output()
        .expect("stats");
    let stats: Value = serde_json::from_str(&crate::common::success_stdout(&stats)).expect("json");
    assert!(
        stats["store"].as_str().unwrap_or("").contains(&base),
        "{stats}"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// Without a server, a writer that cannot get the directory within `--lock-timeout` fails
/// with exit 1 (engram's side, not bad input), naming the holder and what to do.
#[test]
fn a_writer_that_waits_past_the_lock_timeout_exits_1() {
    let home = tempfile::tempdir().expect("tempdir");
    let _held = Store::open_edge(&home.path().join("data")).expect("hold the directory");
    let output = remember(home.path(), 0)
        .args(["--lock-timeout", "0.5"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("in use by pid {}", std::process::id()))
            && stderr.contains("waited")
            && stderr.contains("--lock-timeout"),
        "{stderr}"
    );
}

/// Seeding and the episode commands also go through a running server.
#[test]
fn seed_and_episode_commands_beside_a_running_server_go_through_it() {
    let home = tempfile::tempdir().expect("tempdir");
    let seeds = home.path().join("my-seeds");
    std::fs::create_dir_all(seeds.join("errors")).expect("mkdir");
    let file = "go-assignment-to-nil-map.md";
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds/errors")
            .join(file),
        seeds.join("errors").join(file),
    )
    .expect("copy a seed file");
    let mut serve = engram_at(home.path());
    serve.args(["serve", "--listen", "127.0.0.1:0"]);
    let (mut child, _base, _log) = crate::common::serve(serve);
    let run = |args: &[&str]| {
        let output = engram_at(home.path()).args(args).output().expect("run");
        crate::common::success_stdout(&output)
    };
    let report: Value =
        serde_json::from_str(&run(&["seed", seeds.to_str().expect("utf-8"), "--json"]))
            .expect("json");
    assert_eq!(report["categories"]["common_error"]["added"], 1, "{report}");
    assert_eq!(report["dir"], seeds.to_str().expect("utf-8"));
    let again: Value =
        serde_json::from_str(&run(&["seed", seeds.to_str().expect("utf-8"), "--json"]))
            .expect("json");
    assert_eq!(again["categories"]["common_error"]["unchanged"], 1);
    let id = run(&["episodes", "start", "--task", "fix the nil map panic"]);
    let id = id.trim();
    assert_eq!(
        run(&[
            "episodes", "event", id, "--type", "test", "--role", "tester"
        ])
        .trim(),
        "0"
    );
    assert_eq!(
        run(&["episodes", "event", id, "--type", "fix", "--role", "coder"]).trim(),
        "1"
    );
    let ended = run(&["episodes", "end", id, "--success"]);
    assert!(ended.contains("succeeded after 2 events"), "{ended}");
    let shown: Value =
        serde_json::from_str(&run(&["episodes", "show", id, "--json"])).expect("json");
    assert_eq!(shown["events"].as_array().map(Vec::len), Some(2));
    let _ = child.kill();
    let _ = child.wait();
}
