//! Over HTTP: the `Idempotency-Key` header on write routes, leases and their error codes,
//! and two concurrent ends of one episode.

use serde_json::json;

use super::TestServer;

#[test]
fn an_idempotency_key_makes_a_retried_store_count_once() {
    let s = TestServer::start();
    let body = json!({"message": "KeyError: 'tenant_slug'", "resolution": "default the tenant"});
    let first = s.post_with("/v1/errors", &body, &[("Idempotency-Key", "store-1")]);
    assert_eq!(first.status, 200, "{:?}", first.body);
    let retry = s.post_with("/v1/errors", &body, &[("Idempotency-Key", "store-1")]);
    assert_eq!(
        retry.body, first.body,
        "the retry is answered like the first request"
    );
    let other = s.post_with("/v1/errors", &body, &[("Idempotency-Key", "store-2")]);
    assert_eq!(other.body["seen_count"], 2);
    let keyless = s.post("/v1/errors", &body);
    assert_eq!(keyless.body["seen_count"], 3);
    let found = s.post(
        "/v1/errors/recall",
        &json!({"query": "KeyError: 'tenant_slug'", "limit": 1}),
    );
    assert_eq!(found.body[0]["record"]["seen_count"], 3);
    // A quoted key (structured-field string) is the same key.
    let quoted = s.post_with("/v1/errors", &body, &[("Idempotency-Key", "\"store-1\"")]);
    assert_eq!(quoted.body, first.body);
}

#[test]
fn idempotent_episode_writes_happen_once() {
    let s = TestServer::start();
    let task = json!({"task": "migrate the billing schema"});
    let started = s.post_with("/v1/episodes", &task, &[("Idempotency-Key", "ep-1")]);
    let again = s.post_with("/v1/episodes", &task, &[("Idempotency-Key", "ep-1")]);
    assert_eq!(started.status, 200);
    assert_eq!(started.body["id"], again.body["id"], "one episode");
    let reused = s.post_with(
        "/v1/episodes",
        &json!({"task": "something else"}),
        &[("Idempotency-Key", "ep-1")],
    );
    assert_eq!(reused.status, 409);
    assert_eq!(reused.code(), "idempotency_key_reused");
    let id = started.body["id"].as_str().expect("id");
    let event = json!({"event_type": "test", "agent_role": "tester", "data": {"n": 1}});
    let events = format!("/v1/episodes/{id}/events");
    let first = s.post_with(&events, &event, &[("Idempotency-Key", "ev-1")]);
    let retry = s.post_with(&events, &event, &[("Idempotency-Key", "ev-1")]);
    assert_eq!(first.body["sequence"], 0);
    assert_eq!(retry.body["sequence"], 0, "the retry recorded nothing more");
    let next = s.post_with(&events, &event, &[("Idempotency-Key", "ev-2")]);
    assert_eq!(next.body["sequence"], 1);
    let end = json!({"success": true});
    let ended = s.post_with(
        &format!("/v1/episodes/{id}/end"),
        &end,
        &[("Idempotency-Key", "end-1")],
    );
    assert_eq!(ended.status, 200);
    let retried = s.post_with(
        &format!("/v1/episodes/{id}/end"),
        &end,
        &[("Idempotency-Key", "end-1")],
    );
    assert_eq!(retried.status, 200, "a retried end is not 'already ended'");
    assert_eq!(retried.body, ended.body);
    let log = s.get(&format!("/v1/episodes/{id}"));
    assert_eq!(log.body["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(log.body["episode"]["event_count"], 2);
}

#[test]
fn malformed_idempotency_keys_are_400() {
    let s = TestServer::start();
    let body = json!({"message": "E", "resolution": "R"});
    for key in ["", "has space", &"k".repeat(256)] {
        let answer = s.post_with("/v1/errors", &body, &[("Idempotency-Key", key)]);
        assert_eq!(answer.status, 400, "{key:?}: {:?}", answer.body);
        assert_eq!(answer.code(), "invalid_idempotency_key");
    }
    let twice = s.send(
        "POST",
        "/v1/errors",
        "application/json",
        body.to_string().as_bytes(),
        &[("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    );
    assert_eq!(twice.status, 400);
    let found = s.post("/v1/errors/recall", &json!({"query": "E"}));
    assert_eq!(
        found.body.as_array().map(Vec::len),
        Some(0),
        "nothing was stored"
    );
}

#[test]
fn two_concurrent_ends_of_one_episode_never_both_succeed() {
    let s = TestServer::start();
    for round in 0..5 {
        let started = s.post("/v1/episodes", &json!({"task": format!("round {round}")}));
        let id = started.body["id"].as_str().expect("id").to_owned();
        let path = format!("/v1/episodes/{id}/end");
        let answers: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = [true, false]
                .into_iter()
                .map(|success| {
                    let (s, path) = (&s, &path);
                    scope.spawn(move || s.post(path, &json!({"success": success})))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(
            statuses.iter().filter(|&&s| s == 200).count(),
            1,
            "round {round}: {statuses:?}"
        );
        let loser = answers.iter().find(|a| a.status != 200).expect("loser");
        assert_eq!(loser.status, 409);
        assert_eq!(loser.code(), "episode_ended");
        let winner = answers.iter().find(|a| a.status == 200).expect("winner");
        let stored = s.get(&format!("/v1/episodes/{id}"));
        assert_eq!(stored.body["episode"]["status"], winner.body["status"]);
    }
}

#[test]
fn leases_over_http_grant_refuse_fence_and_release() {
    let s = TestServer::start();
    let acquire = |owner: &str, wait_ms: u64| {
        s.post(
            "/v1/leases/deploy/acquire",
            &json!({"ttl_ms": 60_000, "wait_ms": wait_ms, "owner": owner}),
        )
    };
    let first = acquire("a", 0);
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["epoch"], 1);
    let busy = acquire("b", 0);
    assert_eq!(busy.status, 409);
    assert_eq!(busy.code(), "lease_held");
    assert!(
        busy.body["error"]["expires_in_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0)
    );
    assert!(
        busy.retry_after.is_some(),
        "Retry-After says when to come back"
    );
    let state = s.get("/v1/leases/deploy");
    assert_eq!(state.body["holders"][0]["owner"], "a");
    assert!(
        state.body["holders"][0].get("token").is_none(),
        "no token leaks"
    );
    let token = first.body["token"].clone();
    let wrote = s.put(
        "/v1/leases/deploy/value",
        &json!({"token": token, "epoch": 1, "value": {"version": "1.4.2"}}),
    );
    assert_eq!(wrote.status, 200, "{:?}", wrote.body);
    let forged = s.put(
        "/v1/leases/deploy/value",
        &json!({"token": "not-the-token", "epoch": 1, "value": {}}),
    );
    assert_eq!(forged.status, 409);
    assert_eq!(forged.code(), "lease_lost");
    let released = s.post(
        "/v1/leases/deploy/release",
        &json!({"token": token, "epoch": 1}),
    );
    assert_eq!(released.body["released"], true);
    let second = acquire("b", 0);
    assert_eq!(second.body["epoch"], 2);
    let stale = s.put(
        "/v1/leases/deploy/value",
        &json!({"token": token, "epoch": 1, "value": {}}),
    );
    assert_eq!(stale.status, 409, "a released holder cannot write");
    let value = s.get("/v1/leases/deploy/value");
    assert_eq!(value.body["value"], json!({"version": "1.4.2"}));
    assert_eq!(value.body["epoch"], 1);
    assert_eq!(s.get("/v1/leases/nobody").status, 404);
    let bad = s.post("/v1/leases/deploy/acquire", &json!({"ttl_ms": 1}));
    assert_eq!(bad.status, 422);
    let bad_mode = s.post(
        "/v1/leases/deploy/acquire",
        &json!({"ttl_ms": 1000, "mode": "sometimes"}),
    );
    assert_eq!(bad_mode.status, 422);
    // An idempotent acquire retried gets the same grant, not a second one.
    let keyed = s.post_with(
        "/v1/leases/other/acquire",
        &json!({"ttl_ms": 60_000}),
        &[("Idempotency-Key", "acq-1")],
    );
    let keyed_again = s.post_with(
        "/v1/leases/other/acquire",
        &json!({"ttl_ms": 60_000}),
        &[("Idempotency-Key", "acq-1")],
    );
    assert_eq!(keyed.status, 200);
    assert_eq!(keyed.body, keyed_again.body);
}
