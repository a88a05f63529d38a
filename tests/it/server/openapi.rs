//! The OpenAPI document is generated from the code (`engram::server::document`);
//! `openapi.json` in the repository is that document (this test fails when they differ, and
//! `ENGRAM_UPDATE_OPENAPI=1 cargo test openapi` rewrites the file); a server serves it (with
//! the security requirement only when it has keys), and every request example in it is
//! accepted by a live server.

use engram::server::openapi::to_json;
use engram::server::{document, routes};
use serde_json::{Value, json};

use super::TestServer;

fn committed() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let generated = to_json(&document());
    if std::env::var_os("ENGRAM_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
    }
    let text = std::fs::read_to_string(&path).expect("openapi.json");
    assert!(
        text == generated,
        "openapi.json differs from the document the code generates; run \
         `ENGRAM_UPDATE_OPENAPI=1 cargo test openapi` and commit the file"
    );
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn the_committed_document_is_the_generated_one_and_servers_serve_it() {
    let doc = committed();
    assert_eq!(doc["openapi"], "3.1.0");
    let keyed = TestServer::with(|config| config.api_keys = vec!["k".repeat(20)]);
    assert_eq!(
        keyed.get_with("/openapi.json", None).body,
        doc,
        "a server with keys serves the committed document, without a key"
    );
    let open = TestServer::start();
    let served = open.get("/openapi.json").body;
    assert!(
        served.get("security").is_none(),
        "no keys: nothing required"
    );
    for (path, item) in served["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            assert!(
                operation.get("security").is_none(),
                "no keys: {method} {path} requires nothing"
            );
        }
    }
    assert_eq!(
        served["paths"].as_object().map(|p| p.len()),
        doc["paths"].as_object().map(|p| p.len())
    );
    // Every documented operation states its errors.
    for (method, path) in routes() {
        let operation = &doc["paths"][&path][method.to_lowercase()];
        let responses = operation["responses"].as_object().expect("responses");
        if path.starts_with("/v1/") {
            for status in ["401", "500", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} documents {status}"
                );
            }
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "415", "422"] {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} documents {status}"
                );
            }
        }
    }
}

#[test]
fn every_route_is_routed_and_its_examples_are_accepted() {
    let doc = committed();
    let s = TestServer::start();
    // The lease the lease examples act on: (token, epoch) while held.
    let mut held: Option<(Value, Value)> = None;
    // The specialist and the deliberation that the specialist examples act on.
    let made = s.post(
        "/v1/specialists",
        &json!({"specialists": [{"id": "examples"}]}),
    );
    assert_eq!(made.status, 200, "{:?}", made.body);
    let session = s.post(
        "/v1/specialists/examples/sessions",
        &json!({"question": "a question for the examples", "deliberation": "examples"}),
    );
    assert_eq!(session.status, 200, "{:?}", session.body);
    // The learning the agent examples act on, promoted so that it has a ledger entry.
    let learned = s.post(
        "/v1/agents/examples/learnings",
        &json!({"content": "a learning for the examples", "source": "examples", "workspace": "examples"}),
    );
    assert_eq!(learned.status, 200, "{:?}", learned.body);
    let learning = learned.body["id"].as_str().expect("id").to_owned();
    let promoted = s.post(
        &format!("/v1/agents/examples/learnings/{learning}/promote"),
        &json!({}),
    );
    assert_eq!(promoted.status, 200, "{:?}", promoted.body);
    // The swarm lock the lock examples act on: (token, epoch) while held.
    let mut swarm_lock: Option<(Value, Value)> = None;
    for (method, template) in routes() {
        if template == "/v1/events/stream" {
            // A stream never ends: its status line and content type are what is checked.
            let head = stream_head(&s.base, &template);
            assert!(
                head.starts_with("HTTP/1.1 200") && head.contains("text/event-stream"),
                "{head}"
            );
            continue;
        }
        let (method, template) = (method.as_str(), template.as_str());
        let operation = &doc["paths"][template][method.to_lowercase()];
        let path = if template.starts_with("/v1/agents/") || template.starts_with("/v1/workspaces/")
        {
            template
                .replace("{id}", &learning)
                .replace("{agent}", "examples")
                .replace("{workspace}", "examples")
                .replace("{domain}", "examples")
        } else if template.starts_with("/v1/memories/{id}") {
            let made = s.post(
                "/v1/memories",
                &json!({"content": "a memory for the examples", "memory_tier": "long"}),
            );
            template.replace("{id}", made.body["id"].as_str().expect("id"))
        } else if template.starts_with("/v1/sessions/{id}") {
            let made = s.post("/v1/sessions", &json!({"user_id": "examples"}));
            template.replace("{id}", made.body["id"].as_str().expect("id"))
        } else if template.starts_with("/v1/groups/{id}") {
            let made = s.post("/v1/groups", &json!({"name": "examples"}));
            template.replace("{id}", made.body["id"].as_str().expect("id"))
        } else if template.contains("{id}") {
            let started = s.post(
                "/v1/episodes",
                &json!({"task": "an episode for the examples"}),
            );
            let id = started.body["id"].as_str().expect("id").to_owned();
            template.replace("{id}", &id)
        } else if template == "/v1/swarm/entry" && method != "PUT" {
            // Read and deleted in either order: write it (again) first.
            let entry = s.put(
                "/v1/swarm/entry",
                &json!({"key": "swarm/examples/entry", "value": 1, "policy": "last_write_wins"}),
            );
            assert_eq!(entry.status, 200, "{:?}", entry.body);
            format!("{template}?key=swarm/examples/entry")
        } else if template == "/v1/swarm/entries" {
            format!("{template}?prefix=swarm/examples")
        } else if template == "/v1/swarm/insights" {
            format!("{template}?kind=task_distribution")
        } else if template.starts_with("/v1/swarm/agents/") {
            template
                .replace("{agent}", "examples")
                .replace("{task_id}", "examples")
        } else {
            template
                .replace("{name}", "examples")
                .replace("{deliberation}", "examples")
        };
        let mut example =
            operation["requestBody"]["content"]["application/json"]["example"].clone();
        if example.get("token").is_some() && template.starts_with("/v1/swarm/locks/") {
            // Renewing and releasing need the token and epoch of a swarm lock held now.
            let (token, epoch) = swarm_lock.get_or_insert_with(|| {
                let granted = s.post(
                    "/v1/swarm/locks",
                    &json!({"key": example["key"], "kind": example["kind"], "ttl_ms": 60_000}),
                );
                assert_eq!(granted.status, 200, "{:?}", granted.body);
                (granted.body["token"].clone(), granted.body["epoch"].clone())
            });
            example["token"] = token.clone();
            example["epoch"] = epoch.clone();
        } else if example.get("token").is_some() {
            // Renewing, releasing and writing need the token and epoch of a lease held now.
            let (token, epoch) = held.get_or_insert_with(|| {
                let granted = s.post("/v1/leases/examples/acquire", &json!({"ttl_ms": 60_000}));
                assert_eq!(granted.status, 200, "{:?}", granted.body);
                (granted.body["token"].clone(), granted.body["epoch"].clone())
            });
            example["token"] = token.clone();
            example["epoch"] = epoch.clone();
        }
        // Examples that name other memories name ones that exist here.
        for field in ["target_id", "memory_id"] {
            if example.get(field).is_some() {
                let made = s.post(
                    "/v1/memories",
                    &json!({"content": "another memory for the examples", "memory_tier": "long"}),
                );
                example[field] = made.body["id"].clone();
            }
        }
        let answer = match method {
            "GET" => s.get(&path),
            "DELETE" => s.delete(&path),
            // An action without a body (ending a session, resetting the breaker).
            _ if operation.get("requestBody").is_none() => s.post(&path, &json!({})),
            _ => {
                assert!(
                    !example.is_null(),
                    "{method} {template} has a request example"
                );
                match method {
                    "PUT" => s.put(&path, &example),
                    "PATCH" => s.patch(&path, &example),
                    _ => s.post(&path, &example),
                }
            }
        };
        assert_eq!(
            answer.status, 200,
            "{method} {template}: the documented example was refused: {:?}",
            answer.body
        );
        if template.ends_with("/acquire") {
            held = Some((answer.body["token"].clone(), answer.body["epoch"].clone()));
        }
        if template == "/v1/swarm/locks" {
            swarm_lock = Some((answer.body["token"].clone(), answer.body["epoch"].clone()));
        } else if template == "/v1/swarm/locks/release" {
            swarm_lock = None;
        } else if template.ends_with("/release") {
            held = None;
        }
        assert!(
            operation["responses"]["200"].is_object(),
            "{method} {template} documents its answer"
        );
    }
    let metrics = s.get("/metrics");
    let text = metrics.body.as_str().expect("text");
    assert!(
        text.contains("engram_http_requests_total{method=\"POST\",route=\"/v1/episodes/{id}/end\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("engram_collection_points{collection=\"code_patterns\"}"),
        "{text}"
    );
}

/// The status line and headers of a GET whose body never ends (a server-sent-event stream).
fn stream_head(base: &str, path: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let addr = base.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(addr).expect("connect");
    write!(socket, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("request");
    let mut reader = BufReader::new(socket);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("header");
        if line == "\r\n" || line.is_empty() {
            return head;
        }
        head.push_str(&line);
    }
}
