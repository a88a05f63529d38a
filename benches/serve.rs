//! `engram serve` under load on loopback: 32 concurrent clients for 30 s of mixed calls
//! (70 % recall of patterns, solutions and errors; 30 % stores), against an in-process
//! server over the embedded store and the real model. Reports throughput, p50/p99 latency
//! per kind of call and the failed requests (there must be none), once with every request
//! embedding on its own and once with concurrent requests' embeddings batched
//! (`BatchingEmbedder`, as `engram serve` runs), alternating, twice each; then the ratio of
//! requests/s. Under `cargo test` it runs a 3-second smoke version with 8 clients.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engram::Engram;
use engram::config::ServerConfig;
use engram::embed::{BatchLimits, BatchingEmbedder, Embedder, EmbedderOptions, SentenceEmbedder};
use engram::server::Server;
use engram::store::Store;
use serde_json::json;

const CLIENTS: usize = 32;
const SECONDS: u64 = 30;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (clients, seconds, rounds) = if full {
        (CLIENTS, SECONDS, 2)
    } else {
        (8, 3, 1)
    };
    let model: Arc<dyn Embedder> =
        Arc::new(SentenceEmbedder::from_env(&EmbedderOptions::new()).expect("model"));
    println!(
        "{clients} clients, {seconds} s a run; each request embeds on its own (per request) \
         or joins a shared batch (batched: up to 32 texts, 2 ms); runs alternate"
    );
    let mut throughput = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (slot, batched) in [false, true].into_iter().enumerate() {
            let embedder: Arc<dyn Embedder> = if batched {
                Arc::new(
                    BatchingEmbedder::new(Arc::clone(&model), BatchLimits::default())
                        .expect("batcher"),
                )
            } else {
                Arc::clone(&model)
            };
            let label = if batched { "batched" } else { "per request" };
            throughput[slot].push(run(label, embedder, clients, seconds));
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "batched / per request: {:.2}x requests/s",
        mean(&throughput[1]) / mean(&throughput[0])
    );
}

/// One server over a fresh store with `embedder`, `clients` clients for `seconds`; prints
/// the figures and returns requests/s.
fn run(label: &str, embedder: Arc<dyn Embedder>, clients: usize, seconds: u64) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(&dir.path().join("data")).expect("store");
    let engram = Engram::with(store, embedder).expect("engram");
    let config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime
        .block_on(Server::bind(engram, config))
        .expect("bind");
    let base = format!("http://{}", server.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = runtime.spawn(server.run(async {
        let _ = stopped.await;
    }));

    // Something to recall.
    let agent = agent();
    for n in 0..50 {
        post(&agent, &base, "/v1/errors", &error_body(n)).expect("seed");
    }

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|client| {
            let base = base.clone();
            std::thread::spawn(move || client_loop(client, &base, deadline))
        })
        .collect();
    let mut recall = Vec::new();
    let mut store_calls = Vec::new();
    let mut failed = 0;
    for worker in workers {
        let report = worker.join().expect("client");
        recall.extend(report.recall);
        store_calls.extend(report.store);
        failed += report.failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    runtime.block_on(serving).expect("join").expect("serve");

    let total = recall.len() + store_calls.len();
    let per_second = total as f64 / elapsed;
    println!("{label}: {total} requests, {per_second:.1} requests/s, {failed} failed");
    for (name, latencies) in [("recall", &mut recall), ("store", &mut store_calls)] {
        latencies.sort();
        let at = |p: f64| {
            latencies
                .get(((latencies.len().max(1) - 1) as f64 * p) as usize)
                .map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        println!(
            "  {name:<6} {:>6} calls  p50 {:>7.1} ms  p99 {:>7.1} ms",
            latencies.len(),
            at(0.5),
            at(0.99)
        );
    }
    assert_eq!(failed, 0, "every request must succeed");
    per_second
}

struct Report {
    recall: Vec<Duration>,
    store: Vec<Duration>,
    failed: usize,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn error_body(n: usize) -> serde_json::Value {
    json!({
        "message": format!("ConnectionRefusedError: [Errno 111] Connection refused (service {n})"),
        "resolution": format!("start service {n} before the worker"),
    })
}

fn post(
    agent: &ureq::Agent,
    base: &str,
    path: &str,
    body: &serde_json::Value,
) -> Result<(), String> {
    let mut response = agent
        .post(format!("{base}{path}"))
        .content_type("application/json")
        .send(body.to_string())
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let _ = response.body_mut().read_to_string();
    if status == 200 {
        Ok(())
    } else {
        Err(format!("{path}: {status}"))
    }
}

fn client_loop(client: usize, base: &str, deadline: Instant) -> Report {
    let agent = agent();
    let mut report = Report {
        recall: Vec::new(),
        store: Vec::new(),
        failed: 0,
    };
    let mut n = 0usize;
    while Instant::now() < deadline {
        n += 1;
        let (path, body, is_store) = match n % 10 {
            0 | 3 | 6 => ("/v1/errors", error_body(1000 * (client + 1) + n), true),
            1 | 4 => (
                "/v1/errors/recall",
                json!({"query": format!("connection refused by service {}", n % 50)}),
                false,
            ),
            2 | 5 | 8 => (
                "/v1/patterns/recall",
                json!({"query": "retry a flaky network call with backoff", "limit": 5}),
                false,
            ),
            _ => (
                "/v1/solutions/recall",
                json!({"query": "the worker cannot reach the queue"}),
                false,
            ),
        };
        let started = Instant::now();
        let outcome = post(&agent, base, path, &body);
        let took = started.elapsed();
        match outcome {
            Ok(()) if is_store => report.store.push(took),
            Ok(()) => report.recall.push(took),
            Err(error) => {
                eprintln!("client {client}: {error}");
                report.failed += 1;
            }
        }
    }
    report
}
