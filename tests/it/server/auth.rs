//! API keys: missing 401, wrong 401, right 200; `/healthz` stays open; listening beyond
//! loopback without keys refuses to start.

use std::net::SocketAddr;
use std::sync::Arc;

use engram::Engram;
use engram::config::ServerConfig;
use engram::server::{ServeError, Server};
use engram::store::Store;
use serde_json::json;

use super::TestServer;
use crate::common::{engram_at, shared_embedder};

const KEY: &str = "test-key-0123456789abcdef";

#[test]
fn requests_need_the_right_key_when_keys_are_configured() {
    let s = TestServer::with(|c| c.api_keys = vec![KEY.to_owned()]);
    let missing = s.get_with("/v1/stats", None);
    assert_eq!((missing.status, missing.code()), (401, "unauthorized"));
    let wrong = s.get_with("/v1/stats", Some("test-key-0123456789abcdeX"));
    assert_eq!((wrong.status, wrong.code()), (401, "unauthorized"));
    let right = s.get_with("/v1/stats", Some(KEY));
    assert_eq!(right.status, 200, "{:?}", right.body);
    assert_eq!(
        s.get_with("/healthz", None).status,
        200,
        "health checks need no key"
    );
    // The key is checked before the body is looked at.
    let stored = s.post("/v1/errors", &json!({"message": "E1", "resolution": "r"}));
    assert_eq!(stored.status, 200, "{:?}", stored.body);
}

#[test]
fn a_key_bound_to_an_agent_is_a_key_too() {
    let bound = "coder-key-0123456789abcdef";
    let s = TestServer::with(|c| {
        c.agent_keys = [("coder-1".to_owned(), bound.to_owned())].into();
    });
    let missing = s.get_with("/v1/stats", None);
    assert_eq!((missing.status, missing.code()), (401, "unauthorized"));
    let right = s.get_with("/v1/stats", Some(bound));
    assert_eq!(right.status, 200, "{:?}", right.body);

    // Agent keys alone are keys enough to listen beyond loopback.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(&dir.path().join("data")).expect("store");
    let engram = Engram::with(store, Arc::clone(shared_embedder()) as _).expect("engram");
    let config = ServerConfig {
        listen: SocketAddr::from(([0, 0, 0, 0], 0)),
        agent_keys: [("coder-1".to_owned(), bound.to_owned())].into(),
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let bound_server = runtime.block_on(Server::bind(engram, config));
    assert!(bound_server.is_ok(), "{bound_server:?}");
}

/// RFC 9110 §11.1: an authentication scheme is case-insensitive (and §11.4: one or more
/// spaces before the credentials); the key is not. Media types are case-insensitive too
/// (RFC 9110 §8.3.1).
#[test]
fn header_names_schemes_and_media_types_are_case_insensitive_and_keys_are_not() {
    let s = TestServer::with(|c| c.api_keys = vec![KEY.to_owned()]);
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let answer = s.get_authorized("/v1/stats", &format!("{scheme} {KEY}"));
        assert_eq!(answer.status, 200, "{scheme}: {:?}", answer.body);
    }
    let spaced = s.get_authorized("/v1/stats", &format!("Bearer   {KEY}"));
    assert_eq!(spaced.status, 200, "{:?}", spaced.body);
    for refused in [
        format!("Bearer {}", KEY.to_uppercase()),
        format!("Basic {KEY}"),
        format!("Bearer{KEY}"),
        "Bearer".to_owned(),
    ] {
        let answer = s.get_authorized("/v1/stats", &refused);
        assert_eq!(
            (answer.status, answer.code()),
            (401, "unauthorized"),
            "{refused}"
        );
    }
    let body = json!({"message": "E-case", "resolution": "r"}).to_string();
    for media_type in [
        "Application/JSON",
        "application/json; charset=UTF-8",
        "APPLICATION/JSON",
    ] {
        let stored = s.send("POST", "/v1/errors", media_type, body.as_bytes(), &[]);
        assert_eq!(stored.status, 200, "{media_type}: {:?}", stored.body);
    }
}

#[test]
fn a_non_loopback_address_without_keys_refuses_to_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(&dir.path().join("data")).expect("store");
    let engram = Engram::with(store, Arc::clone(shared_embedder()) as _).expect("engram");
    let config = ServerConfig {
        listen: SocketAddr::from(([0, 0, 0, 0], 0)),
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let result = runtime.block_on(Server::bind(engram, config));
    assert!(
        matches!(result, Err(ServeError::KeysRequired(_))),
        "{result:?}"
    );

    let home = tempfile::tempdir().expect("tempdir");
    let output = engram_at(home.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .env_remove("ENGRAM_API_KEYS")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without API keys"),
        "{stderr}"
    );
    let output = engram_at(home.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--api-key", "short"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("too short"));
}
