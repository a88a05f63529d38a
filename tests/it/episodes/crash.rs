//! A child process records events and is killed with SIGKILL; every event it acknowledged
//! is there after reopening, and the episode shows as unfinished.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use engram::episodes::{EpisodeStatus, Episodes};
use engram::store::{Payload, PointId, Store};
use serde_json::json;

use crate::common::shared_embedder;

const DIR_ENV: &str = "ENGRAM_TEST_EPISODE_DIR";

fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .expect("stdout");
}

#[test]
#[ignore = "helper: run in a child process by acknowledged_events_survive_sigkill"]
fn child_recorder() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let store = Store::open_edge(Path::new(&dir)).expect("open");
    let episodes = Episodes::new(&store, Arc::clone(shared_embedder()) as _).expect("episodes");
    let id = episodes
        .start_episode("long running task that crashes", Payload::new())
        .expect("start");
    report(&format!("episode {id}"));
    for n in 0u64.. {
        let seq = episodes
            .record_event(id, "step", "worker", json!({"n": n}))
            .expect("record");
        report(&format!("ack {seq}"));
    }
}

#[test]
fn acknowledged_events_survive_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "episodes::crash::child_recorder",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_ENV, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut episode: Option<PointId> = None;
    let mut acked: Option<u64> = None;
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some((_, id)) = line.split_once("episode ") {
            episode = Some(id.trim().parse().expect("id"));
        } else if let Some((_, seq)) = line.split_once("ack ") {
            acked = Some(seq.trim().parse().expect("seq"));
            if acked >= Some(300) && !killed {
                child.kill().expect("SIGKILL");
                killed = true;
            }
        }
    }
    if !killed {
        child.kill().expect("SIGKILL");
    }
    assert!(!child.wait().expect("wait").success());
    let id = episode.expect("the child started an episode");
    let acked = acked.expect("the child acknowledged events");

    let store = Store::open_edge(dir.path()).expect("reopen after SIGKILL");
    let episodes = Episodes::new(&store, Arc::clone(shared_embedder()) as _).expect("episodes");
    let log = episodes.get_episode(id).expect("the episode survived");
    assert_eq!(
        log.episode.status,
        EpisodeStatus::Running,
        "unfinished, not ended"
    );
    assert!(
        log.events.len() as u64 > acked,
        "{} events read back, {} acknowledged",
        log.events.len(),
        acked + 1
    );
    for (i, event) in log.events.iter().enumerate() {
        assert_eq!(event.seq, i as u64, "in order, without gaps");
        assert_eq!(event.data.get("n"), Some(&json!(i)));
    }
    let running = episodes.running_episodes().expect("running");
    assert_eq!(
        running.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        vec![id]
    );
    // It can go on, or be abandoned.
    let next = episodes
        .record_event(id, "resume", "worker", json!({}))
        .expect("record after the crash");
    assert_eq!(next, log.events.len() as u64);
    let abandoned = episodes
        .abandon_episode(id, "the worker was killed")
        .expect("abandon");
    assert_eq!(abandoned.status, EpisodeStatus::Abandoned);
    assert!(episodes.running_episodes().expect("running").is_empty());
}
