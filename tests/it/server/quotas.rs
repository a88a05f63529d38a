//! Per-agent quotas over HTTP: a key bound to an agent stores until its agent owns as many
//! records (429) or bytes (507) as `[quotas]` allows, then every storing route refuses it
//! with `quota_exceeded` while reads, deletes and other agents go on; deleting brings it
//! back under. The health report shows each agent's use, with a warning from 80 %.

use engram::quota::QuotaSettings;
use serde_json::{Value, json};

use super::TestServer;

const ADMIN: &str = "admin-key-0123456789";
const ALPHA: &str = "alpha-key-0123456789";
const BETA: &str = "beta-key-01234567890";

fn server(settings: QuotaSettings) -> TestServer {
    TestServer::with_engram(
        |engram| engram.with_quotas(settings),
        |c| {
            c.api_keys = vec![ADMIN.to_owned()];
            c.agent_keys = [
                ("alpha".to_owned(), ALPHA.to_owned()),
                ("beta".to_owned(), BETA.to_owned()),
            ]
            .into();
        },
    )
}

fn memory(n: usize) -> Value {
    json!({"content": format!("Deploy step {n}: run the migrations before the web tier"), "memory_tier": "long"})
}

#[test]
fn an_agent_at_its_entries_quota_is_refused_on_every_storing_route_and_nothing_else() {
    let s = server(QuotaSettings {
        entries_per_agent: Some(3),
        bytes_per_agent: None,
    });
    let mut ids = Vec::new();
    for n in 0..2 {
        let added = s.send_as("POST", "/v1/memories", Some(memory(n)), ALPHA);
        assert_eq!(added.status, 200, "{:?}", added.body);
        ids.push(added.body["id"].as_str().expect("id").to_owned());
    }
    let own_key = s.send_as(
        "PUT",
        "/v1/swarm/entry",
        Some(json!({"key": "agent/alpha/state", "value": {"status": "busy"}})),
        ALPHA,
    );
    assert_eq!(own_key.status, 200, "{:?}", own_key.body);

    // Three records owned: every storing route refuses, with the stable code.
    let refusals = [
        s.send_as("POST", "/v1/memories", Some(memory(9)), ALPHA),
        s.send_as(
            "PUT",
            "/v1/swarm/entry",
            Some(json!({"key": "agent/alpha/plan", "value": 1})),
            ALPHA,
        ),
        s.send_as(
            "POST",
            "/v1/patterns",
            Some(json!({"name": "retry", "context": "Retry with backoff", "language": "python", "code": "for i in range(3): pass"})),
            ALPHA,
        ),
        s.send_as(
            "PATCH",
            &format!("/v1/memories/{}", ids[0]),
            Some(json!({"importance": 0.9})),
            ALPHA,
        ),
    ];
    for refused in &refusals {
        assert_eq!(refused.status, 429, "{:?}", refused.body);
        assert_eq!(refused.code(), "quota_exceeded");
        assert_eq!(refused.body["error"]["quota"], "entries");
        assert_eq!(refused.body["error"]["used"], 3);
        assert_eq!(refused.body["error"]["limit"], 3);
        assert_eq!(refused.retry_after, None, "retrying does not help");
    }
    // Reads and searches go on; other agents and admins are not limited.
    let search = s.send_as(
        "POST",
        "/v1/memories/search",
        Some(json!({"query": "deploy migrations"})),
        ALPHA,
    );
    assert_eq!(search.status, 200, "{:?}", search.body);
    assert_eq!(
        s.send_as("POST", "/v1/memories", Some(memory(1)), BETA)
            .status,
        200
    );
    assert_eq!(
        s.send_as("POST", "/v1/memories", Some(memory(2)), ADMIN)
            .status,
        200
    );

    // The report shows alpha at 100 % with a warning, beta at a third without one.
    let report = s.send_as("GET", "/v1/swarm/health", None, ADMIN);
    assert_eq!(report.status, 200, "{:?}", report.body);
    let quotas = report.body["quotas"].as_array().expect("quotas");
    let alpha = quotas
        .iter()
        .find(|q| q["agent"] == "alpha")
        .expect("alpha");
    assert_eq!(alpha["usage"]["entries"], 3);
    assert_eq!(alpha["used_share"], 1.0);
    assert_eq!(alpha["warning"], true);
    let beta = quotas.iter().find(|q| q["agent"] == "beta").expect("beta");
    assert_eq!(beta["warning"], false);
    assert_eq!(report.body["overall_health"], "needs_attention");
    assert!(
        report.body["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f.as_str().is_some_and(|f| f.contains("\"alpha\""))),
        "{:?}",
        report.body["findings"]
    );
    // The report and the optimiser are an admin's.
    assert_eq!(
        s.send_as("GET", "/v1/swarm/health", None, ALPHA).status,
        403
    );
    assert_eq!(
        s.send_as(
            "POST",
            "/v1/swarm/optimize",
            Some(json!({"apply": true})),
            ALPHA
        )
        .status,
        403
    );

    // Deleting is allowed, and brings alpha back under its quota.
    let deleted = s.send_as("DELETE", &format!("/v1/memories/{}", ids[1]), None, ALPHA);
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(
        s.send_as("POST", "/v1/memories", Some(memory(5)), ALPHA)
            .status,
        200
    );
}

#[test]
fn an_agent_at_its_bytes_quota_gets_507() {
    // One memory takes its payload plus 384 × 4 bytes of vector: about 2 KB.
    let limit = 12_000;
    let s = server(QuotaSettings {
        entries_per_agent: None,
        bytes_per_agent: Some(limit),
    });
    let mut stored = 0;
    let refused = loop {
        let answer = s.send_as("POST", "/v1/memories", Some(memory(stored)), ALPHA);
        if answer.status != 200 {
            break answer;
        }
        stored += 1;
        assert!(stored < 100, "never refused");
        // Byte counts are reused for up to a second: give the next check a fresh one.
        std::thread::sleep(engram::quota::BYTES_FRESH_FOR);
    };
    assert_eq!(refused.status, 507, "{:?}", refused.body);
    assert_eq!(refused.code(), "quota_exceeded");
    assert_eq!(refused.body["error"]["quota"], "bytes");
    let used = refused.body["error"]["used"].as_u64().expect("used");
    assert!(used >= limit, "refused at {used} of {limit}");
    // Refused once at the limit: the last write let in crossed it by less than one memory.
    assert!(used < limit + 3_000, "{used}");
    assert!((4..=8).contains(&stored), "{stored} memories stored");
    // Another agent is not limited by alpha's use.
    assert_eq!(
        s.send_as("POST", "/v1/memories", Some(memory(0)), BETA)
            .status,
        200
    );
}
