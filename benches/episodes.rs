//! Episodic memory speed: recording a 10,000-event episode (each event durable when
//! recorded) and reading it back in order, on the embedded store in a temp dir. Under
//! `cargo test` it runs a 500-event smoke version.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::sync::Arc;
use std::time::Instant;

use engram::embed::{EmbedderOptions, SentenceEmbedder};
use engram::episodes::Episodes;
use engram::memory::Metrics;
use engram::store::{Payload, Store};

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let events: u64 = if full { 10_000 } else { 500 };
    let embedder = Arc::new(SentenceEmbedder::from_env(&EmbedderOptions::new()).expect("model"));
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(dir.path()).expect("store");
    let episodes = Episodes::new(&store, embedder).expect("episodes");
    let id = episodes
        .start_episode("a very long task", Payload::new())
        .expect("start");
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(events as usize);
    for n in 0..events {
        let t = Instant::now();
        episodes
            .record_event(
                id,
                "step",
                "worker",
                serde_json::json!({"n": n, "note": "compiled module and ran its tests"}),
            )
            .expect("record");
        latencies.push(t.elapsed());
    }
    let recording = started.elapsed();
    let started = Instant::now();
    let log = episodes.get_episode(id).expect("read back");
    let reading = started.elapsed();
    assert_eq!(log.events.len() as u64, events);
    let started = Instant::now();
    episodes.end_episode(id, true, Metrics::new()).expect("end");
    let ending = started.elapsed();
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3;
    println!(
        "{events} events: recorded in {:.2} s ({:.0} events/s; p50 {:.3} ms, p99 {:.3} ms per event), \
         read back in order in {:.1} ms, ended in {:.1} ms",
        recording.as_secs_f64(),
        events as f64 / recording.as_secs_f64(),
        at(0.5),
        at(0.99),
        reading.as_secs_f64() * 1e3,
        ending.as_secs_f64() * 1e3
    );
}
