//! Several writers on one memory lose nothing: the same scenarios against one in-process
//! server over Qdrant Edge (always), two `engram serve` processes sharing a Qdrant server
//! (when `ENGRAM_TEST_QDRANT_URL` is set at build time), and two servers on a three-node
//! Qdrant cluster that loses a node mid-run (when `ENGRAM_TEST_QDRANT_BIN` is set at build
//! time; see `docs/cluster.md`).

mod cluster;
mod edge;
mod node_loss;
mod remote;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// An HTTP client of engram's API.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    pub base: String,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Self {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(120)))
                .build()
                .into(),
            base: base.to_owned(),
        }
    }

    fn answer(
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, Value), String> {
        let mut response = response.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// `POST`, with an idempotency key if given; `Err` when the connection failed.
    pub fn post(
        &self,
        path: &str,
        body: &Value,
        key: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .content_type("application/json");
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        Self::answer(request.send(body.to_string()))
    }

    pub fn put(&self, path: &str, body: &Value) -> Result<(u16, Value), String> {
        Self::answer(
            self.agent
                .put(format!("{}{path}", self.base))
                .content_type("application/json")
                .send(body.to_string()),
        )
    }

    pub fn get(&self, path: &str) -> Result<(u16, Value), String> {
        Self::answer(self.agent.get(format!("{}{path}", self.base)).call())
    }

    /// `POST` until it is acknowledged (200), retrying with the same idempotency key what
    /// failed (as a client does after a timeout or a lost connection). Returns the answer
    /// and how many attempts failed.
    pub fn post_until_acknowledged(&self, path: &str, body: &Value, key: &str) -> (Value, usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut failed = 0;
        loop {
            match self.post(path, body, Some(key)) {
                Ok((200, answer)) => return (answer, failed),
                Ok((status, answer)) if status >= 500 || status == 409 => {
                    failed += 1;
                    eprintln!("{path}: {status} {answer}; retrying with the same key");
                }
                Ok((status, answer)) => panic!("{path}: {status} {answer}"),
                Err(error) => {
                    failed += 1;
                    eprintln!("{path}: {error}; retrying with the same key");
                }
            }
            assert!(Instant::now() < deadline, "{path} never acknowledged");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// What a scenario saw, for the log.
#[derive(Debug, Default)]
pub struct Report {
    pub acknowledged: usize,
    /// Requests that failed and were retried (for the lease scenario: writes of holders
    /// whose lease had lapsed, refused as they must be).
    pub failed_attempts: usize,
    pub seconds: f64,
    pub failures_are: &'static str,
    /// Wall time of each acknowledged request, retries included, in ms (empty where not
    /// measured).
    pub latencies_ms: Vec<f64>,
}

/// The `p`th percentile of `values` (nearest rank).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} acknowledged in {:.1} s ({:.0}/s), {} {}",
            self.acknowledged,
            self.seconds,
            self.acknowledged as f64 / self.seconds.max(1e-9),
            self.failed_attempts,
            self.failures_are
        )?;
        if !self.latencies_ms.is_empty() {
            write!(
                f,
                "; per request p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                percentile(&self.latencies_ms, 50.0),
                percentile(&self.latencies_ms, 99.0),
                percentile(&self.latencies_ms, 100.0)
            )?;
        }
        Ok(())
    }
}

/// `clients` clients spread over `servers` store the same error resolution `total` times
/// (each store with its own idempotency key, retried until acknowledged): the entry's
/// `seen_count`, read from every server, is exactly the number of acknowledged stores, and
/// exactly one store reports that it created the entry.
pub fn stores_of_one_entry_count_exactly(
    servers: &[Client],
    clients: usize,
    total: usize,
) -> Report {
    let run = nonce();
    let message = format!("ConnectionResetError: [Errno 104] Connection reset by peer (run {run})");
    let body = json!({"message": message, "resolution": "retry with exponential backoff"});
    let next = AtomicUsize::new(0);
    let created = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let acknowledged = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(total));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for c in 0..clients {
            let server = servers[c % servers.len()].clone();
            let (next, created, failed, acknowledged) = (&next, &created, &failed, &acknowledged);
            let (body, run, latencies) = (&body, &run, &latencies);
            scope.spawn(move || {
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= total {
                        break;
                    }
                    let key = format!("{run}-store-{n}");
                    let sent = Instant::now();
                    let (answer, failures) =
                        server.post_until_acknowledged("/v1/errors", body, &key);
                    latencies
                        .lock()
                        .expect("lock")
                        .push(sent.elapsed().as_secs_f64() * 1e3);
                    failed.fetch_add(failures, Ordering::SeqCst);
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                    if answer["created"] == true {
                        created.fetch_add(1, Ordering::SeqCst);
                    }
                    assert!(answer["seen_count"].as_u64().expect("seen_count") >= 1);
                }
            });
        }
    });
    let acknowledged = acknowledged.into_inner();
    assert_eq!(acknowledged, total);
    assert_eq!(
        created.into_inner(),
        1,
        "exactly one store created the entry"
    );
    for server in servers {
        let (status, found) = server
            .post(
                "/v1/errors/recall",
                &json!({"query": message, "limit": 1}),
                None,
            )
            .expect("recall");
        assert_eq!(status, 200, "{found}");
        assert_eq!(
            found[0]["record"]["seen_count"], acknowledged,
            "{}: the count is every acknowledged store, no more, no less",
            server.base
        );
        assert_eq!(found[0]["record"]["success_count"], acknowledged as f64);
    }
    Report {
        acknowledged,
        failed_attempts: failed.into_inner(),
        seconds: started.elapsed().as_secs_f64(),
        failures_are: "failed attempts retried",
        latencies_ms: latencies.into_inner().expect("lock"),
    }
}

/// `per_server` events go into one episode through each server, from several clients per
/// server at once: every event is kept once, with its own sequence number, and every server
/// lists them in the same order 0, 1, 2, ….
pub fn events_into_one_episode_are_all_kept(
    servers: &[Client],
    clients_per_server: usize,
    per_server: usize,
) -> Report {
    let run = nonce();
    let (status, started) = servers[0]
        .post(
            "/v1/episodes",
            &json!({"task": format!("scale-out episode {run}")}),
            None,
        )
        .expect("start");
    assert_eq!(status, 200);
    let id = started["id"].as_str().expect("id").to_owned();
    let sequences = Mutex::new(Vec::new());
    let failed = AtomicUsize::new(0);
    let began = Instant::now();
    std::thread::scope(|scope| {
        for (s, server) in servers.iter().enumerate() {
            for c in 0..clients_per_server {
                let server = server.clone();
                let (sequences, failed, id, run) = (&sequences, &failed, &id, &run);
                scope.spawn(move || {
                    let mine = (c..per_server).step_by(clients_per_server);
                    for n in mine {
                        let body = json!({
                            "event_type": "step",
                            "agent_role": format!("client-{c}"),
                            "data": {"server": s, "client": c, "n": n},
                        });
                        let key = format!("{run}-event-{s}-{n}");
                        let (answer, failures) = server.post_until_acknowledged(
                            &format!("/v1/episodes/{id}/events"),
                            &body,
                            &key,
                        );
                        failed.fetch_add(failures, Ordering::SeqCst);
                        sequences
                            .lock()
                            .expect("lock")
                            .push(answer["sequence"].as_u64().expect("sequence"));
                    }
                });
            }
        }
    });
    let total = servers.len() * per_server;
    let sequences: BTreeSet<u64> = sequences.into_inner().expect("lock").into_iter().collect();
    assert_eq!(
        sequences.len(),
        total,
        "every acknowledged event has its own number"
    );
    let mut orders = Vec::new();
    for server in servers {
        let (status, log) = server
            .get(&format!("/v1/episodes/{id}"))
            .expect("get episode");
        assert_eq!(status, 200);
        let events = log["events"].as_array().expect("events");
        assert_eq!(
            events.len(),
            total,
            "{}: no event lost or doubled",
            server.base
        );
        let seqs: Vec<u64> = events
            .iter()
            .map(|e| e["seq"].as_u64().expect("seq"))
            .collect();
        assert_eq!(
            seqs,
            (0..total as u64).collect::<Vec<_>>(),
            "one dense order"
        );
        let mut seen: BTreeMap<(u64, u64, u64), usize> = BTreeMap::new();
        for event in events {
            let data = &event["data"];
            let key = (
                data["server"].as_u64().expect("server"),
                data["client"].as_u64().expect("client"),
                data["n"].as_u64().expect("n"),
            );
            *seen.entry(key).or_default() += 1;
        }
        assert_eq!(seen.len(), total, "every event once");
        assert!(seen.values().all(|&n| n == 1));
        orders.push(seqs);
    }
    Report {
        acknowledged: total,
        failed_attempts: failed.into_inner(),
        seconds: began.elapsed().as_secs_f64(),
        failures_are: "failed attempts retried",
        latencies_ms: Vec::new(),
    }
}

/// Unix milliseconds, the clock the servers judge leases by (they run on this machine).
fn wall_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `clients` clients spread over `servers` contend for one exclusive lease `acquisitions`
/// times, holding it for a random pause; one grant in twenty oversleeps its TTL. Checked by
/// the fencing epochs: every grant has its own epoch, grants in epoch order never overlap in
/// time, a holder whose lease lapsed is refused when it writes the guarded value (and one
/// whose write is answered while its lease is live is not), and the value holds the newest
/// successful writer's write.
pub fn a_contended_lease_has_one_holder_at_a_time(
    servers: &[Client],
    clients: usize,
    acquisitions: usize,
) -> Report {
    let run = nonce();
    let name = format!("contended-{run}");
    let ttl_ms: i64 = 250;
    let next = AtomicUsize::new(0);
    // (epoch, held from, held until, wrote), in Unix milliseconds: what the client saw of its
    // grant, which lies within the time it really held the lease.
    let grants = Arc::new(Mutex::new(Vec::<(u64, i64, i64, bool)>::new()));
    let began = Instant::now();
    std::thread::scope(|scope| {
        for c in 0..clients {
            let server = servers[c % servers.len()].clone();
            let (next, grants, name, run) = (&next, Arc::clone(&grants), &name, &run);
            scope.spawn(move || {
                let mut x = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(c as u64 + 1);
                loop {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    if n >= acquisitions {
                        break;
                    }
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Retried with its idempotency key if the store is unavailable for a
                    // moment: a retry gets the grant the first attempt may have got.
                    let (lease, _) = server.post_until_acknowledged(
                        &format!("/v1/leases/{name}/acquire"),
                        &json!({"ttl_ms": ttl_ms, "wait_ms": 10_000, "owner": format!("client-{c}")}),
                        &format!("{run}-acquire-{n}"),
                    );
                    let from = wall_ms();
                    let expires_at = lease["expires_at"].as_i64().expect("expires_at");
                    let oversleep = x.is_multiple_of(20);
                    std::thread::sleep(if oversleep {
                        Duration::from_millis(ttl_ms as u64 + 100)
                    } else {
                        Duration::from_millis(x % 8)
                    });
                    let until = wall_ms();
                    let (status, answer) = server
                        .put(
                            &format!("/v1/leases/{name}/value"),
                            &json!({"token": lease["token"], "epoch": lease["epoch"], "value": {"client": c}}),
                        )
                        .expect("write");
                    // When the answer came back: a write still in flight at the expiry (slow
                    // while a node is lost) may land after the next holder's, and be fenced.
                    let answered = wall_ms();
                    let lapsed = until >= expires_at;
                    if lapsed {
                        assert_ne!(status, 200, "a lapsed holder wrote: {answer}");
                        let code = answer["error"]["code"].as_str().unwrap_or("");
                        assert!(
                            code == "lease_lost" || code == "fenced" || status == 503,
                            "{status} {answer}"
                        );
                    } else if answered + 20 < expires_at && status != 503 {
                        assert_eq!(status, 200, "a live holder was refused: {answer}");
                    }
                    grants.lock().expect("lock").push((
                        lease["epoch"].as_u64().expect("epoch"),
                        from,
                        until.min(expires_at),
                        status == 200,
                    ));
                    // A failed release only leaves the lease to lapse.
                    let _ = server.post(
                        &format!("/v1/leases/{name}/release"),
                        &json!({"token": lease["token"], "epoch": lease["epoch"]}),
                        None,
                    );
                }
            });
        }
    });
    let mut grants = grants.lock().expect("lock").clone();
    assert_eq!(grants.len(), acquisitions);
    let epochs: BTreeSet<u64> = grants.iter().map(|g| g.0).collect();
    assert_eq!(epochs.len(), acquisitions, "every grant has its own epoch");
    grants.sort_by_key(|g| g.0);
    for pair in grants.windows(2) {
        assert!(
            pair[0].2 <= pair[1].1,
            "epoch {} was held until {} ms, but epoch {} was granted at {} ms",
            pair[0].0,
            pair[0].2,
            pair[1].0,
            pair[1].1
        );
    }
    let value = loop {
        match servers[0].get(&format!("/v1/leases/{name}/value")) {
            Ok((200, value)) => break value,
            Ok((503, _)) | Err(_) => std::thread::sleep(Duration::from_millis(200)),
            Ok((status, answer)) => panic!("reading the value: {status} {answer}"),
        }
    };
    let newest_writer = grants.iter().filter(|g| g.3).map(|g| g.0).max();
    assert_eq!(value["epoch"].as_u64(), newest_writer);
    Report {
        acknowledged: acquisitions,
        failed_attempts: grants.iter().filter(|g| !g.3).count(),
        seconds: began.elapsed().as_secs_f64(),
        failures_are: "writes of lapsed holders refused",
        latencies_ms: Vec::new(),
    }
}
