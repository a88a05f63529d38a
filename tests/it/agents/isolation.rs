//! Keys bound to agents (and a workspace): another agent's private learning is never
//! recalled, answers 404 like an id that does not exist, and becomes visible only after its
//! own agent promotes it; a key acts only as its agent and only in its workspace.

use serde_json::json;

use super::ADMIN;
use crate::server::TestServer;

const ALPHA: &str = "alpha-key-0123456789abcdef";
const BETA: &str = "beta-key-0123456789abcdef";

/// Words the random queries are made of: the secret's, the other learnings', and others.
const WORDS: &[&str] = &[
    "the",
    "coder",
    "estimates",
    "run",
    "over",
    "percent",
    "deadline",
    "review",
    "tests",
    "deploy",
    "requirements",
    "debugging",
    "time",
    "users",
    "forms",
    "fields",
    "cache",
    "model",
    "start",
    "latency",
    "secret",
    "budget",
    "plan",
    "team",
    "sprint",
    "bug",
    "release",
    "flags",
    "rollback",
    "database",
    "index",
    "joins",
    "research",
    "survey",
    "interview",
    "design",
    "accessibility",
    "contrast",
    "late",
    "slow",
    "forty",
    "overrun",
];

#[test]
fn a_private_learning_never_reaches_another_agent_until_promoted() {
    let s = TestServer::with(|c| {
        c.api_keys = vec![ADMIN.to_owned()];
        c.agent_keys = [
            ("alpha".to_owned(), ALPHA.to_owned()),
            ("beta".to_owned(), BETA.to_owned()),
        ]
        .into();
        c.agent_workspaces = [
            ("alpha".to_owned(), "acme".to_owned()),
            ("beta".to_owned(), "acme".to_owned()),
        ]
        .into();
    });
    let as_alpha = |method: &str, path: &str, body: Option<serde_json::Value>| {
        s.send_as(method, path, body, ALPHA)
    };
    let as_beta = |method: &str, path: &str, body: Option<serde_json::Value>| {
        s.send_as(method, path, body, BETA)
    };
    let secret_text = "The coder's estimates run forty percent over every sprint";
    let secret = as_alpha(
        "POST",
        "/v1/agents/alpha/learnings",
        Some(json!({"content": secret_text, "source": "observation", "confidence": 0.7})),
    );
    assert_eq!(secret.status, 200, "{:?}", secret.body);
    assert_eq!(secret.body["workspace"], "acme", "the key's workspace");
    let secret_id = secret.body["id"].as_str().expect("id").to_owned();
    for text in [
        "Clear requirements reduce debugging time",
        "Feature flags let us roll back a release",
        "Index foreign keys to speed up joins",
    ] {
        let shared = as_alpha(
            "POST",
            "/v1/agents/alpha/learnings",
            Some(json!({"content": text, "source": "review", "private": false})),
        );
        assert_eq!(shared.status, 200);
    }
    for text in [
        "Users abandon forms with too many fields",
        "Estimates need a buffer for review time",
        "Caching the model avoids a slow start",
    ] {
        let own = as_beta(
            "POST",
            "/v1/agents/beta/learnings",
            Some(json!({"content": text, "source": "review"})),
        );
        assert_eq!(own.status, 200);
    }

    // 1,000 random recall queries by beta (seeded, so a failure can be replayed), the
    // secret's own words first.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % n
    };
    let mut returned = 0;
    for i in 0..1000 {
        let query = if i == 0 {
            secret_text.to_owned()
        } else {
            let len = 2 + next(6);
            (0..len)
                .map(|_| WORDS[next(WORDS.len())])
                .collect::<Vec<_>>()
                .join(" ")
        };
        let k = 1 + next(20);
        let answer = as_beta(
            "POST",
            "/v1/agents/beta/recall",
            Some(json!({"query": query, "k": k})),
        );
        assert_eq!(answer.status, 200, "{query}: {:?}", answer.body);
        let hits = answer.body.as_array().expect("a list");
        returned += hits.len();
        for hit in hits {
            assert_ne!(
                hit["id"],
                secret_id.as_str(),
                "query {i} {query:?} leaked it"
            );
            assert!(
                hit["scope"] == "shared" || hit["agent"] == "beta",
                "query {i}: {hit:?}"
            );
        }
    }
    assert!(returned > 1000, "the queries found things: {returned}");

    // By id: the same 404 as an id that does not exist.
    let fetched = as_beta(
        "GET",
        &format!("/v1/agents/beta/learnings/{secret_id}"),
        None,
    );
    let absent = as_beta(
        "GET",
        "/v1/agents/beta/learnings/00000000-0000-4000-8000-000000000000",
        None,
    );
    assert_eq!((fetched.status, fetched.code()), (404, "not_found"));
    assert_eq!((absent.status, absent.code()), (404, "not_found"));
    assert_eq!(
        fetched.body["error"]["message"]
            .as_str()
            .map(|m| m.replace(&secret_id, "ID")),
        absent.body["error"]["message"]
            .as_str()
            .map(|m| m.replace("00000000-0000-4000-8000-000000000000", "ID")),
    );
    // Nor can beta promote it, list it, or act as alpha.
    let promote = as_beta(
        "POST",
        &format!("/v1/agents/beta/learnings/{secret_id}/promote"),
        Some(json!({"reason": "leak"})),
    );
    assert_eq!(promote.status, 404);
    for (method, path, body) in [
        ("GET", "/v1/agents/alpha/learnings".to_owned(), None),
        (
            "GET",
            format!("/v1/agents/alpha/learnings/{secret_id}"),
            None,
        ),
        (
            "POST",
            "/v1/agents/alpha/recall".to_owned(),
            Some(json!({"query": secret_text})),
        ),
        (
            "POST",
            format!("/v1/agents/alpha/learnings/{secret_id}/promote"),
            Some(json!({})),
        ),
        (
            "GET",
            "/v1/workspaces/acme/learnings?agent=alpha".to_owned(),
            None,
        ),
        ("GET", "/v1/workspaces/globex/learnings".to_owned(), None),
        (
            "POST",
            "/v1/agents/beta/recall".to_owned(),
            Some(json!({"query": "x", "workspace": "globex"})),
        ),
        (
            "POST",
            "/v1/workspaces/acme/cross-pollination".to_owned(),
            Some(json!({"agents": ["alpha"]})),
        ),
    ] {
        let answer = as_beta(method, &path, body);
        assert_eq!(
            (answer.status, answer.code()),
            (403, "forbidden"),
            "{method} {path}"
        );
    }
    let pool = as_beta("GET", "/v1/workspaces/acme/learnings", None);
    assert_eq!(pool.body.as_array().expect("list").len(), 3);
    assert!(!pool.body.to_string().contains(&secret_id));
    // An admin sees it; alpha promotes it; now beta recalls and reads it.
    let admin = s.get(&format!("/v1/agents/alpha/learnings/{secret_id}"));
    assert_eq!(admin.status, 200);
    let promoted = as_alpha(
        "POST",
        &format!("/v1/agents/alpha/learnings/{secret_id}/promote"),
        Some(json!({"reason": "plan for it"})),
    );
    assert_eq!(promoted.status, 200, "{:?}", promoted.body);
    assert_eq!(promoted.body["promoted"], true);
    let recalled = as_beta(
        "POST",
        "/v1/agents/beta/recall",
        Some(json!({"query": secret_text, "k": 1})),
    );
    assert_eq!(recalled.body[0]["id"], secret_id.as_str());
    let fetched = as_beta(
        "GET",
        &format!("/v1/agents/beta/learnings/{secret_id}"),
        None,
    );
    assert_eq!(fetched.status, 200);
    let history = as_beta(
        "GET",
        &format!("/v1/workspaces/acme/promotions/{secret_id}"),
        None,
    );
    assert_eq!(history.status, 200, "{:?}", history.body);
    assert_eq!(history.body["promoted_by"], "alpha");
    assert_eq!(history.body["exposure_count"], 2, "{:?}", history.body);
}
