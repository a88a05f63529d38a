//! General memory over HTTP: every route, the 409 of a stale version, per-item batch
//! errors, and isolation between keys bound to agents.

use serde_json::{Value, json};

use crate::server::TestServer;

const ADMIN: &str = "memories-admin-key-0123456789abcdef";
const ALPHA: &str = "memories-alpha-key-0123456789abcdef";
const BETA: &str = "memories-beta-key-0123456789abcdefgh";

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

#[test]
fn every_route_answers_as_documented() {
    let s = TestServer::start();
    let session = s.post(
        "/v1/sessions",
        &json!({"user_id": "user-42", "session_metadata": {"channel": "cli"}}),
    );
    assert_eq!(session.status, 200, "{:?}", session.body);
    assert_eq!(session.body["session_type"], "conversation");
    let sid = id(&session.body);
    let parent = s.post(
        "/v1/memories",
        &json!({"content": "Release 2.0 plan", "memory_tier": "long", "session_id": sid, "importance": 0.9}),
    );
    assert_eq!(parent.status, 200, "{:?}", parent.body);
    assert_eq!(parent.body["version"], 1);
    let pid = id(&parent.body);
    let batch = s.post(
        "/v1/memories/batch",
        &json!({"memories": [
            {"content": "Freeze the API on Monday", "memory_tier": "medium", "parent_id": pid, "tags": ["api"]},
            {"content": ""},
            {"content": "Write the migration guide", "parent_id": pid, "tags": ["docs"]},
            {"content": "x", "unknown_field": 1},
            {"content": "Tag the release", "importance": 3},
        ]}),
    );
    assert_eq!(batch.status, 200, "{:?}", batch.body);
    assert_eq!(batch.body["stored"], 2);
    assert_eq!(batch.body["failed"], 3);
    let results = batch.body["results"].as_array().expect("results");
    assert_eq!(results[1]["error"]["code"], "invalid_request");
    assert!(
        results[3]["error"]["message"]
            .as_str()
            .expect("present")
            .contains("unknown_field")
    );
    assert!(
        results[4]["error"]["message"]
            .as_str()
            .expect("present")
            .contains("importance")
    );
    let a = id(&results[0]["memory"]);
    let b = id(&results[2]["memory"]);

    let got = s.get(&format!("/v1/memories/{a}"));
    assert_eq!(got.body["content"], "Freeze the API on Monday");
    let missing = s.get("/v1/memories/00000000-0000-0000-0000-000000000001");
    assert_eq!((missing.status, missing.code()), (404, "not_found"));
    assert_eq!(s.get("/v1/memories/not-a-uuid").code(), "invalid_id");

    let updated = s.patch(
        &format!("/v1/memories/{a}"),
        &json!({"importance": 0.7, "expected_version": 1}),
    );
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["version"], 2);
    let stale = s.patch(
        &format!("/v1/memories/{a}"),
        &json!({"importance": 0.1, "expected_version": 1}),
    );
    assert_eq!((stale.status, stale.code()), (409, "conflict"));
    assert_eq!(stale.body["error"]["current_version"], 2);
    let not_an_object = s.patch(&format!("/v1/memories/{a}"), &json!([null, null]));
    assert_eq!(
        (not_an_object.status, not_an_object.code()),
        (422, "invalid_request")
    );
    let nested = s.post(
        "/v1/memories/semantic-search",
        &json!({"query": "x", "filters": [null, null]}),
    );
    assert_eq!(nested.status, 422, "{:?}", nested.body);
    let whole = s.post(
        "/v1/memories/semantic-search",
        &json!({"query": "x", "k": 5.0, "filters": {"created_before": 4102444800000.0}}),
    );
    assert_eq!(
        whole.status, 200,
        "integral floats are integers: {:?}",
        whole.body
    );
    assert_eq!(
        s.post("/v1/memories/batch-get", &json!({"memory_ids": []}))
            .status,
        422
    );
    let history = s.get(&format!("/v1/memories/{a}/history"));
    assert_eq!(
        history.body["versions"].as_array().expect("present").len(),
        2
    );

    let children = s.get(&format!(
        "/v1/memories/{pid}/children?sort_field=created_at&sort_order=asc&limit=10"
    ));
    assert_eq!(children.status, 200, "{:?}", children.body);
    let order: Vec<&str> = children
        .body
        .as_array()
        .expect("present")
        .iter()
        .map(|c| c["id"].as_str().expect("present"))
        .collect();
    assert_eq!(order.len(), 2);
    assert_eq!(
        s.get(&format!("/v1/memories/{pid}/children?sort_field=content"))
            .status,
        422
    );

    let reinforced = s.post(&format!("/v1/memories/{b}/reinforce"), &json!({}));
    assert_eq!(reinforced.status, 200, "{:?}", reinforced.body);
    assert_eq!(reinforced.body["reinforcements"], 1);
    let bad = s.post(
        &format!("/v1/memories/{b}/reinforce"),
        &json!({"reinforcement_factor": 1.0}),
    );
    assert_eq!(bad.status, 422);

    let rel = s.post(
        &format!("/v1/memories/{a}/relationships"),
        &json!({"target_id": b, "relationship_type": "precedes", "strength": 0.8}),
    );
    assert_eq!(rel.status, 200, "{:?}", rel.body);
    let related = s.get(&format!(
        "/v1/memories/{b}/related?relationship_type=precedes"
    ));
    assert_eq!(related.body[0]["direction"], "incoming");
    assert_eq!(related.body[0]["memory"]["id"], a.as_str());

    let found = s.post(
        "/v1/memories/search",
        &json!({"query": "API freeze", "limit": 2}),
    );
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.body[0]["memory"]["id"], a.as_str());
    let score = found.body[0]["score"].as_f64().expect("present");
    assert!(score > 0.0 && score <= 1.0);
    let filtered = s.post(
        "/v1/memories/semantic-search",
        &json!({"query": "release", "k": 5, "filters": {"tags": ["docs"], "session_id": null}}),
    );
    assert_eq!(filtered.status, 200, "{:?}", filtered.body);
    assert_eq!(filtered.body.as_array().expect("present").len(), 1);
    assert_eq!(filtered.body[0]["memory"]["id"], b.as_str());

    let group = s.post(
        "/v1/groups",
        &json!({"name": "release", "description": "2.0"}),
    );
    let gid = id(&group.body);
    let added = s.post(
        &format!("/v1/groups/{gid}/members"),
        &json!({"memory_id": a}),
    );
    assert_eq!(added.status, 200, "{:?}", added.body);
    let members = s.get(&format!("/v1/groups/{gid}/members"));
    assert_eq!(members.body["memories"][0]["id"], a.as_str());
    assert_eq!(members.body["group"]["name"], "release");

    let got = s.post(
        "/v1/memories/batch-get",
        &json!({"memory_ids": [b, "00000000-0000-0000-0000-000000000002", a]}),
    );
    assert_eq!(got.body["memories"][0]["id"], b.as_str());
    assert!(got.body["memories"][1].is_null());

    let sessions = s.get("/v1/sessions?user_id=user-42");
    assert_eq!(sessions.body[0]["id"], sid.as_str());
    let ended = s.post(&format!("/v1/sessions/{sid}/end"), &json!({}));
    assert!(ended.body["ended_at"].is_i64(), "{:?}", ended.body);
    assert_eq!(
        s.get(&format!("/v1/sessions/{sid}")).body["ended_at"],
        ended.body["ended_at"]
    );
    assert_eq!(
        s.get("/v1/sessions?active=true")
            .body
            .as_array()
            .expect("present")
            .len(),
        0
    );

    let breaker = s.get("/v1/circuit-breaker");
    assert_eq!(breaker.body["backend"], "edge");
    assert_eq!(breaker.body["state"], "closed");
    assert_eq!(s.post("/v1/circuit-breaker/reset", &json!({})).status, 200);

    let deleted = s.delete(&format!("/v1/memories/{pid}"));
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(deleted.body["deleted"], 3);
    assert_eq!(deleted.body["relationships"], 1);
    assert_eq!(s.get(&format!("/v1/memories/{a}")).status, 404);
}

#[test]
fn keys_bound_to_agents_never_see_each_others_memories() {
    let s = TestServer::with(|c| {
        c.api_keys = vec![ADMIN.to_owned()];
        c.agent_keys = [
            ("alpha".to_owned(), ALPHA.to_owned()),
            ("beta".to_owned(), BETA.to_owned()),
        ]
        .into();
    });
    let secret = s.send_as(
        "POST",
        "/v1/memories",
        Some(json!({"content": "Alpha's private note about the vendor contract", "memory_tier": "long"})),
        ALPHA,
    );
    assert_eq!(secret.status, 200, "{:?}", secret.body);
    assert_eq!(
        secret.body["agent_id"], "alpha",
        "the key's agent, not a request field"
    );
    let secret_id = id(&secret.body);
    let public = s.send_as(
        "POST",
        "/v1/memories",
        Some(json!({"content": "The vendor contract renews in March", "memory_tier": "long"})),
        ADMIN,
    );
    let public_id = id(&public.body);
    let forged = s.send_as(
        "POST",
        "/v1/memories",
        Some(json!({"content": "x", "agent_id": "alpha"})),
        BETA,
    );
    assert_eq!(forged.status, 403);

    let seen = s.send_as("GET", &format!("/v1/memories/{secret_id}"), None, BETA);
    assert_eq!((seen.status, seen.code()), (404, "not_found"));
    let nonexistent = s.send_as(
        "GET",
        "/v1/memories/00000000-0000-0000-0000-000000000003",
        None,
        BETA,
    );
    assert_eq!(
        seen.body["error"]["message"]
            .as_str()
            .expect("present")
            .replace(&secret_id, "ID"),
        nonexistent.body["error"]["message"]
            .as_str()
            .expect("present")
            .replace("00000000-0000-0000-0000-000000000003", "ID"),
        "another agent's memory looks exactly like a missing one"
    );
    let found = s.send_as(
        "POST",
        "/v1/memories/search",
        Some(json!({"query": "vendor contract", "limit": 10})),
        BETA,
    );
    let ids: Vec<&str> = found
        .body
        .as_array()
        .expect("present")
        .iter()
        .map(|h| h["memory"]["id"].as_str().expect("present"))
        .collect();
    assert_eq!(ids, [public_id.as_str()]);
    let batch = s.send_as(
        "POST",
        "/v1/memories/batch-get",
        Some(json!({"memory_ids": [secret_id, public_id]})),
        BETA,
    );
    assert!(batch.body["memories"][0].is_null());
    for path in [
        format!("/v1/memories/{secret_id}/history"),
        format!("/v1/memories/{secret_id}/related"),
        format!("/v1/memories/{secret_id}/children"),
    ] {
        assert_eq!(s.send_as("GET", &path, None, BETA).status, 404, "{path}");
    }
    for (path, body) in [
        (format!("/v1/memories/{secret_id}/reinforce"), json!({})),
        (
            format!("/v1/memories/{public_id}/relationships"),
            json!({"target_id": secret_id, "relationship_type": "about"}),
        ),
    ] {
        assert_eq!(
            s.send_as("POST", &path, Some(body), BETA).status,
            404,
            "{path}"
        );
    }
    // Beta reads the agentless memory but changes and deletes only its own.
    for (method, body) in [
        ("PATCH", Some(json!({"importance": 0.1}))),
        ("DELETE", None),
    ] {
        let public = s.send_as(
            method,
            &format!("/v1/memories/{public_id}"),
            body.clone(),
            BETA,
        );
        assert_eq!(
            (public.status, public.code()),
            (403, "forbidden"),
            "{method}"
        );
        let secret = s.send_as(method, &format!("/v1/memories/{secret_id}"), body, BETA);
        assert_eq!(secret.status, 404, "{method}");
    }
    let alpha_sees = s.send_as(
        "POST",
        "/v1/memories/search",
        Some(json!({"query": "vendor contract", "limit": 10})),
        ALPHA,
    );
    assert_eq!(alpha_sees.body.as_array().expect("present").len(), 2);
    assert_eq!(
        s.send_as("POST", "/v1/circuit-breaker/reset", Some(json!({})), ALPHA)
            .status,
        403
    );
}
