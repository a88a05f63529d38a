//! The scale-out scenarios on a Qdrant server: two `engram serve` processes share it (one
//! namespace), and clients spread over both. Built in when `ENGRAM_TEST_QDRANT_URL` is set
//! at build time.

use std::process::Child;

use serde_json::{Value, json};

use super::{
    Client, a_contended_lease_has_one_holder_at_a_time, events_into_one_episode_are_all_kept,
    stores_of_one_entry_count_exactly,
};
use crate::common::engram_at;

/// Two engram servers on the Qdrant server at `url`, sharing `namespace`.
pub struct TwoServers {
    pub clients: Vec<Client>,
    children: Vec<Child>,
    _homes: Vec<tempfile::TempDir>,
}

impl TwoServers {
    pub fn start(url: &str, namespace: &str, extra_env: &[(&str, &str)]) -> Self {
        let mut clients = Vec::new();
        let mut children = Vec::new();
        let mut homes = Vec::new();
        for _ in 0..2 {
            let home = tempfile::tempdir().expect("tempdir");
            let mut command = engram_at(home.path());
            command
                .args(["serve", "--listen", "127.0.0.1:0"])
                .env("ENGRAM_QDRANT_URL", url)
                .env("ENGRAM_NAMESPACE", namespace);
            for (name, value) in extra_env {
                command.env(name, value);
            }
            let (child, base, _log) = crate::common::serve(command);
            clients.push(Client::new(&base));
            children.push(child);
            homes.push(home);
        }
        Self {
            clients,
            children,
            _homes: homes,
        }
    }
}

impl Drop for TwoServers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn namespace(test: &str) -> String {
    format!(
        "scale-{test}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

#[test]
#[cfg_attr(
    not(engram_remote_tests),
    ignore = "set ENGRAM_TEST_QDRANT_URL (e.g. http://127.0.0.1:6334) when building to run against a Qdrant server"
)]
fn two_servers_on_one_qdrant_lose_no_store_no_event_and_never_share_a_lease() {
    let url = std::env::var("ENGRAM_TEST_QDRANT_URL").expect("ENGRAM_TEST_QDRANT_URL");
    let servers = TwoServers::start(&url, &namespace("two"), &[]);
    let stores = stores_of_one_entry_count_exactly(&servers.clients, 16, 500);
    eprintln!("stores: {stores}");
    let events = events_into_one_episode_are_all_kept(&servers.clients, 4, 200);
    eprintln!("events: {events}");
    let lease = a_contended_lease_has_one_holder_at_a_time(&servers.clients, 8, 1000);
    eprintln!("lease: {lease}");
}

#[test]
#[cfg_attr(
    not(engram_remote_tests),
    ignore = "set ENGRAM_TEST_QDRANT_URL (e.g. http://127.0.0.1:6334) when building to run against a Qdrant server"
)]
fn two_servers_cross_pollinating_at_once_promote_every_learning_once() {
    let url = std::env::var("ENGRAM_TEST_QDRANT_URL").expect("ENGRAM_TEST_QDRANT_URL");
    let servers = TwoServers::start(&url, &namespace("agents"), &[]);
    let learnings = [
        ("researcher", "Interviews give more depth than surveys"),
        ("researcher", "Pilot every questionnaire with three people"),
        ("researcher", "Clear requirements reduce debugging time"),
        ("coder", "Profile the service before optimising it"),
        ("coder", "Log a request id with every error"),
        (
            "coder",
            "Debugging takes less time when the requirements are clear",
        ),
        ("designer", "Icons without labels confuse new users"),
        ("designer", "Touch targets must be at least 44 pixels"),
    ];
    for (n, (agent, text)) in learnings.iter().enumerate() {
        let (status, body) = servers.clients[n % 2]
            .post(
                &format!("/v1/agents/{agent}/learnings"),
                &json!({"content": text, "source": "test", "confidence": 0.9}),
                None,
            )
            .expect("connect");
        assert_eq!(status, 200, "{body}");
    }
    let run =
        json!({"agents": ["researcher", "coder", "designer"], "max_promotions_per_agent": 100});
    let reports: Vec<Value> = std::thread::scope(|scope| {
        let runs: Vec<_> = servers
            .clients
            .iter()
            .map(|client| {
                let run = &run;
                scope.spawn(move || {
                    let (status, body) = client
                        .post("/v1/workspaces/default/cross-pollination", run, None)
                        .expect("connect");
                    assert_eq!(status, 200, "{body}");
                    body
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().expect("run")).collect()
    });
    let promoted: Vec<String> = reports
        .iter()
        .flat_map(|r| r["entries"].as_array().cloned().unwrap_or_default())
        .map(|e| e["learning_id"].as_str().expect("id").to_owned())
        .collect();
    let distinct: std::collections::HashSet<&String> = promoted.iter().collect();
    assert_eq!(
        promoted.len(),
        distinct.len(),
        "a learning promoted twice: {reports:?}"
    );
    assert_eq!(distinct.len(), learnings.len(), "{reports:?}");
    let (_, pool) = servers.clients[0]
        .get("/v1/workspaces/default/learnings?limit=1000")
        .expect("connect");
    assert_eq!(
        pool.as_array().map(Vec::len),
        Some(learnings.len() - 1),
        "the near-duplicate merged once: {pool}"
    );
}
