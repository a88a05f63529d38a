//! Swarm memory over HTTP: keys, conflicts (409 with the current entry), locks (423 for
//! others, the holder's token in the body or headers), agent keys, the event feed, and a
//! server-sent-event consumer whose connection is cut and resumes with `Last-Event-ID`,
//! receiving every event once, in order.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

use crate::server::TestServer;

const ADMIN: &str = "admin-key-0123456789";
const ALPHA: &str = "alpha-key-0123456789";

#[test]
fn keys_conflicts_locks_and_the_event_feed() {
    let s = TestServer::start();
    let key = "swarm/prod/plan";
    let created = s.put(
        "/v1/swarm/entry",
        &json!({"key": key, "value": {"step": 1}, "ttl_ms": 3_600_000}),
    );
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert_eq!(created.body["applied"], true);
    assert_eq!(created.body["entry"]["version"], 1);
    assert_eq!(created.body["entry"]["category"], "swarm");
    let read = s.get(&format!("/v1/swarm/entry?key={key}"));
    assert_eq!(read.status, 200);
    assert_eq!(read.body["value"], json!({"step": 1}));
    assert_eq!(s.get("/v1/swarm/entry?key=swarm/prod/none").status, 404);

    // reject: a stale version is 409 with what is stored.
    let stale = s.put(
        "/v1/swarm/entry",
        &json!({"key": key, "value": {"step": 2}, "expected_version": 0}),
    );
    assert_eq!(stale.status, 409);
    assert_eq!(stale.code(), "conflict");
    assert_eq!(stale.body["error"]["current_version"], 1);
    assert_eq!(stale.body["error"]["current"]["value"], json!({"step": 1}));
    let merged = s.put(
        "/v1/swarm/entry",
        &json!({"key": key, "value": {"owner": "planner"}, "policy": "merge"}),
    );
    assert_eq!(
        merged.body["entry"]["value"],
        json!({"step": 1, "owner": "planner"})
    );

    // Bad keys are 422 and name the rule.
    let bad = s.put(
        "/v1/swarm/entry",
        &json!({"key": "team/prod/plan", "value": 1}),
    );
    assert_eq!(bad.status, 422);
    assert!(
        bad.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("category"),
        "{:?}",
        bad.body
    );

    // A write lock: others get 423 with Retry-After; the holder writes with its token.
    let lock = s.post(
        "/v1/swarm/locks",
        &json!({"key": key, "kind": "write", "ttl_ms": 30_000, "owner": "w1"}),
    );
    assert_eq!(lock.status, 200, "{:?}", lock.body);
    let (token, epoch) = (
        lock.body["token"].as_str().expect("token").to_owned(),
        lock.body["epoch"].as_u64().expect("epoch"),
    );
    let locked = s.put(
        "/v1/swarm/entry",
        &json!({"key": key, "value": 9, "policy": "last_write_wins"}),
    );
    assert_eq!(locked.status, 423, "{:?}", locked.body);
    assert_eq!(locked.code(), "locked");
    assert!(locked.retry_after.is_some());
    let held = s.put(
        "/v1/swarm/entry",
        &json!({"key": key, "value": {"step": 3}, "policy": "last_write_wins", "lock": {"token": token, "epoch": epoch}}),
    );
    assert_eq!(held.status, 200, "{:?}", held.body);
    assert_eq!(s.delete(&format!("/v1/swarm/entry?key={key}")).status, 423);
    let renewed = s.post(
        "/v1/swarm/locks/renew",
        &json!({"key": key, "kind": "write", "token": token, "epoch": epoch, "ttl_ms": 60_000}),
    );
    assert_eq!(renewed.status, 200, "{:?}", renewed.body);
    let released = s.post(
        "/v1/swarm/locks/release",
        &json!({"key": key, "kind": "write", "token": token, "epoch": epoch}),
    );
    assert_eq!(released.body["released"], true);
    let deleted = s.delete(&format!("/v1/swarm/entry?key={key}&expected_version=3"));
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(deleted.body["deleted"], true);

    // An exclusive lock keeps readers out; the holder reads with the Lock-* headers.
    s.put(
        "/v1/swarm/entry",
        &json!({"key": "swarm/prod/secret", "value": "s"}),
    );
    let x = s.post(
        "/v1/swarm/locks",
        &json!({"key": "swarm/prod/secret", "kind": "exclusive", "ttl_ms": 30_000}),
    );
    assert_eq!(s.get("/v1/swarm/entry?key=swarm/prod/secret").status, 423);
    let epoch = x.body["epoch"].to_string();
    let holder = s.get_headers(
        "/v1/swarm/entry?key=swarm/prod/secret",
        &[
            ("Lock-Token", x.body["token"].as_str().expect("token")),
            ("Lock-Epoch", &epoch),
        ],
    );
    assert_eq!(holder.status, 200, "{:?}", holder.body);

    // Listing and the feed.
    let page = s.get("/v1/swarm/entries?prefix=swarm/prod&limit=10");
    assert_eq!(page.status, 200);
    assert_eq!(page.body["entries"].as_array().map(Vec::len), Some(1));
    let published = s.post(
        "/v1/events",
        &json!({"kind": "knowledge_shared", "key": "global/knowledge/x", "data": {"tip": "batch"}}),
    );
    assert_eq!(published.status, 200, "{:?}", published.body);
    let feed = s.get("/v1/events?after=0&limit=100");
    let kinds: Vec<_> = feed.body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "memory_updated",
            "memory_updated",
            "lock_acquired",
            "memory_updated",
            "lock_released",
            "memory_updated",
            "memory_updated",
            "lock_acquired",
            "knowledge_shared"
        ]
    );
    assert_eq!(feed.body["cursor"], 9);
    let filtered = s.get("/v1/events?after=0&prefix=global");
    assert_eq!(filtered.body["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        s.post("/v1/events", &json!({"kind": "memory_updated"}))
            .status,
        422
    );
}

#[test]
fn a_key_bound_to_an_agent_writes_only_its_own_agent_keys() {
    let s = TestServer::with(|c| {
        c.api_keys = vec![ADMIN.to_owned()];
        c.agent_keys = [("alpha".to_owned(), ALPHA.to_owned())].into();
    });
    let own = s.send_as(
        "PUT",
        "/v1/swarm/entry",
        Some(json!({"key": "agent/alpha/state", "value": {"status": "idle"}})),
        ALPHA,
    );
    assert_eq!(own.status, 200, "{:?}", own.body);
    assert_eq!(own.body["entry"]["agent_id"], "alpha");
    let other = s.send_as(
        "PUT",
        "/v1/swarm/entry",
        Some(json!({"key": "agent/beta/state", "value": {"status": "spoofed"}})),
        ALPHA,
    );
    assert_eq!(other.status, 403, "{:?}", other.body);
    assert_eq!(
        s.send_as(
            "DELETE",
            "/v1/swarm/entry?key=agent/beta/state",
            None,
            ALPHA
        )
        .status,
        403
    );
    let admin = s.send_as(
        "PUT",
        "/v1/swarm/entry",
        Some(json!({"key": "agent/beta/state", "value": {"status": "assigned"}})),
        ADMIN,
    );
    assert_eq!(admin.status, 200);
}

/// A server-sent-event connection read line by line.
struct Stream {
    reader: BufReader<TcpStream>,
}

impl Stream {
    fn open(base: &str, last_event_id: Option<u64>) -> Self {
        let addr = base.trim_start_matches("http://");
        let mut socket = TcpStream::connect(addr).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let resume = last_event_id
            .map(|id| format!("Last-Event-ID: {id}\r\n"))
            .unwrap_or_default();
        write!(
            socket,
            "GET /v1/events/stream HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{resume}\r\n"
        )
        .expect("request");
        let mut reader = BufReader::new(socket);
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(status.contains(" 200 "), "{status}");
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).expect("header");
            if header == "\r\n" {
                break;
            }
        }
        Self { reader }
    }

    /// The next event's id and data (chunk sizes and keep-alive comments skipped).
    fn next(&mut self) -> (u64, Value) {
        let (mut id, mut data) = (None, None);
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("an event in time");
            let line = line.trim_end();
            if let Some(rest) = line.strip_prefix("id:") {
                id = rest.trim().parse().ok();
            } else if let Some(rest) = line.strip_prefix("data:") {
                data = serde_json::from_str(rest.trim()).ok();
            } else if line.is_empty()
                && let (Some(id), Some(data)) = (id, data.take())
            {
                return (id, data);
            }
        }
    }
}

#[test]
fn a_stream_consumer_cut_off_and_resumed_with_last_event_id_gets_every_event_once() {
    let s = TestServer::start();
    let swarm_writer = {
        let engram = s.engram.clone();
        std::thread::spawn(move || {
            let swarm = engram.swarm().expect("swarm");
            for i in 0..60 {
                swarm
                    .put(
                        None,
                        &engram::swarm::Put {
                            key: format!("swarm/prod/tasks/{i}"),
                            value: json!(i),
                            policy: engram::swarm::ConflictPolicy::Reject,
                            expected_version: None,
                            ttl_ms: None,
                            lock: None,
                        },
                        None,
                    )
                    .expect("put");
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let mut received = Vec::new();
    let mut connections = 0;
    let mut last = None;
    while received.len() < 60 {
        connections += 1;
        let mut stream = Stream::open(&s.base, last);
        // Take up to 13 events, then drop the connection mid-stream.
        for _ in 0..13 {
            if received.len() == 60 {
                break;
            }
            let (id, data) = stream.next();
            assert_eq!(data["seq"], id);
            received.push(id);
            last = Some(id);
        }
    }
    swarm_writer.join().expect("writer");
    assert_eq!(
        received,
        (1..=60).collect::<Vec<u64>>(),
        "once each, in order"
    );
    assert!(connections >= 5, "{connections} connections");
    eprintln!("stream: 60 events over {connections} connections");
}

#[test]
fn a_server_stops_while_a_stream_is_open_and_the_stream_ends() {
    let s = TestServer::start();
    s.post(
        "/v1/events",
        &json!({"kind": "sync_complete", "data": {"round": 1}}),
    );
    let mut stream = Stream::open(&s.base, None);
    let (id, _) = stream.next();
    assert_eq!(id, 1);
    // Dropping the server is a graceful shutdown: it must not wait for this client.
    let (stopped, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        drop(s);
        let _ = stopped.send(());
    });
    wait.recv_timeout(Duration::from_secs(20))
        .expect("the server stopped with a stream open");
    let mut rest = String::new();
    let read = std::io::Read::read_to_string(&mut stream.reader, &mut rest);
    assert!(read.is_ok(), "the stream ended cleanly: {read:?}");
}

#[test]
fn outcomes_strategy_insights_and_agent_helpers_over_http() {
    let s = TestServer::with(|c| {
        c.api_keys = vec![ADMIN.to_owned()];
        c.agent_keys = [("alpha".to_owned(), ALPHA.to_owned())].into();
    });
    let post = |path: &str, body: Value, key: &str| s.send_as("POST", path, Some(body), key);
    for (strategy, agents, success) in [
        ("parallel_processing", json!(["a", "b", "c"]), true),
        ("parallel_processing", json!(["a", "b", "c"]), true),
        ("parallel_processing", json!(["a", "b"]), false),
        ("solo", json!(["a"]), false),
    ] {
        let recorded = post(
            "/v1/swarm/outcomes",
            json!({"task_type": "data_processing", "agents": agents, "success": success,
                "execution_time": 120.5, "context": {"data_size": "large"},
                "strategy": strategy}),
            ALPHA,
        );
        assert_eq!(recorded.status, 200, "{:?}", recorded.body);
        assert_eq!(recorded.body["recorded_by"], "alpha");
    }
    let bad = post(
        "/v1/swarm/outcomes",
        json!({"task_type": "data_processing", "agents": [], "success": true,
            "execution_time": 1.0}),
        ADMIN,
    );
    assert_eq!(bad.status, 422, "{:?}", bad.body);

    let best = post(
        "/v1/swarm/strategy",
        json!({"context": {"task_type": "data_processing", "data_size": "large"}}),
        ALPHA,
    );
    assert_eq!(best.status, 200, "{:?}", best.body);
    assert_eq!(best.body["strategy"]["strategy"], "parallel_processing");
    assert_eq!(best.body["strategy"]["outcomes"], 3);
    assert_eq!(best.body["considered"], 4);
    assert_eq!(best.body["alternatives"][0]["strategy"], "solo");

    let insights = s.get_with("/v1/swarm/insights?kind=failure", Some(ALPHA));
    assert_eq!(insights.status, 200, "{:?}", insights.body);
    assert_eq!(insights.body[0]["subject"], "solo");
    assert_eq!(
        s.get_with("/v1/swarm/insights?kind=telepathy", Some(ALPHA))
            .status,
        422
    );

    let init = post(
        "/v1/swarm/agents/alpha/memory",
        json!({"config": {"role": "reviewer"}}),
        ALPHA,
    );
    assert_eq!(init.status, 200, "{:?}", init.body);
    assert_eq!(init.body["entry"]["key"], "agent/alpha/state");
    let spoofed = post("/v1/swarm/agents/beta/memory", json!({}), ALPHA);
    assert_eq!(spoofed.status, 403, "{:?}", spoofed.body);
    let decided = post(
        "/v1/swarm/agents/alpha/decisions",
        json!({"decision_type": "task_assignment", "decision": {"task": 1}}),
        ALPHA,
    );
    assert_eq!(decided.status, 200, "{:?}", decided.body);
    let progress = post(
        "/v1/swarm/agents/alpha/progress/proc_001",
        json!({"progress": {"completion": 0.5}}),
        ALPHA,
    );
    assert_eq!(progress.status, 200, "{:?}", progress.body);
    assert_eq!(progress.body["entry"]["value"]["completion"], 0.5);
    let slashed = post(
        "/v1/swarm/agents/alpha/progress/a%2Fb",
        json!({"progress": {}}),
        ALPHA,
    );
    assert_eq!(slashed.status, 422, "{:?}", slashed.body);
    let shared = post(
        "/v1/swarm/knowledge",
        json!({"knowledge_type": "optimization_insight", "knowledge": {"gain": 0.3}}),
        ALPHA,
    );
    assert_eq!(shared.status, 200, "{:?}", shared.body);
    assert_eq!(shared.body["event"]["kind"], "knowledge_shared");
    assert_eq!(shared.body["event"]["agent_id"], "alpha");
}
