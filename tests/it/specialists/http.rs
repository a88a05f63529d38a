//! `/v1/specialists` and `/v1/deliberations`: the same memory over HTTP, keys bound to a
//! specialist, and bad input.

use serde_json::json;

use crate::server::TestServer;

const ADMIN: &str = "admin-key-0123456789abcdef";
const CRAWDAD: &str = "crawdad-key-0123456789abcdef";

fn server() -> TestServer {
    TestServer::with(|c| {
        c.api_keys = vec![ADMIN.to_owned()];
        c.agent_keys = [("crawdad".to_owned(), CRAWDAD.to_owned())].into();
    })
}

#[test]
fn a_council_round_over_http() {
    let s = server();
    let council = json!({"specialists": [
        {"id": "crawdad", "topics": ["security", "IoT"]},
        {"id": "gecko", "topics": ["performance"]},
    ]});
    let init = s.post("/v1/specialists", &council);
    assert_eq!(init.status, 200, "{:?}", init.body);
    assert_eq!(
        init.body,
        json!([{"id": "crawdad", "created": true}, {"id": "gecko", "created": true}])
    );
    let again = s.post("/v1/specialists", &council);
    assert_eq!(again.body[0]["created"], false);

    let first = s.post(
        "/v1/specialists/crawdad/sessions",
        &json!({
            "question": "May the firmware update skip signature checks?",
            "response": "No. [CONCERN] unsigned firmware",
            "concerns": [{"text": "unsigned firmware can be installed", "kind": "security"}],
            "decision": "REVIEW REQUIRED",
            "deliberation": "audit-1",
        }),
    );
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(first.body["session_count"], 1);
    assert_eq!(first.body["concerns"][0]["repeat_of"], json!(null));
    let second = s.post(
        "/v1/specialists/crawdad/sessions",
        &json!({
            "question": "May the firmware updater skip checking signatures?",
            "concerns": [{"text": "firmware without a signature can be installed", "kind": "security"}],
            "deliberation": "audit-2",
        }),
    );
    assert_eq!(second.body["session_count"], 2);
    let repeat = &second.body["concerns"][0]["repeat_of"];
    assert_eq!(repeat["deliberation"], "audit-1", "{:?}", second.body);
    assert_eq!(repeat["verdict"], json!(null));

    let outcome = s.post(
        "/v1/deliberations/audit-1/outcome",
        &json!({"verdict": "validated", "outcome": "REVIEW REQUIRED"}),
    );
    assert_eq!(outcome.status, 200, "{:?}", outcome.body);
    assert_eq!(outcome.body["marked"], 1);
    let conflict = s.post(
        "/v1/deliberations/audit-1/outcome",
        &json!({"verdict": "dismissed"}),
    );
    assert_eq!(
        (conflict.status, conflict.code()),
        (409, "verdict_conflict")
    );

    let state = s.get("/v1/specialists/crawdad");
    assert_eq!(state.status, 200);
    assert_eq!(state.body["session_count"], 2);
    assert_eq!(state.body["patterns"][0]["validated"], 1);
    let context = s.get("/v1/specialists/crawdad/context?budget_chars=400");
    assert_eq!(context.status, 200, "{:?}", context.body);
    let text = context.body["text"].as_str().expect("text");
    assert!(text.starts_with("[Your experience: 2 sessions."), "{text}");
    assert!(
        text.contains("Patterns learned: security concerns about"),
        "{text}"
    );
    assert!(text.chars().count() <= 400);

    // A retry with an Idempotency-Key and no deliberation is one session.
    let body = json!({"question": "Should the gateway rate-limit per device?"});
    let keyed = s.post_with(
        "/v1/specialists/gecko/sessions",
        &body,
        &[("Idempotency-Key", "g-1")],
    );
    let retried = s.post_with(
        "/v1/specialists/gecko/sessions",
        &body,
        &[("Idempotency-Key", "g-1")],
    );
    assert_eq!(keyed.body["id"], retried.body["id"]);
    assert_eq!(retried.body["replayed"], true);
    assert_eq!(s.get("/v1/specialists/gecko").body["session_count"], 1);
}

#[test]
fn a_key_bound_to_a_specialist_acts_only_as_it() {
    let s = server();
    let init = s.post(
        "/v1/specialists",
        &json!({"specialists": [{"id": "crawdad"}, {"id": "gecko"}]}),
    );
    assert_eq!(init.status, 200);
    let bound = |method: &str, path: &str, body: Option<serde_json::Value>| {
        s.send_as(method, path, body, CRAWDAD)
    };
    let own = bound(
        "POST",
        "/v1/specialists/crawdad/sessions",
        Some(json!({"question": "Is the MQTT broker open to the internet?"})),
    );
    assert_eq!(own.status, 200, "{:?}", own.body);
    let deliberation = own.body["deliberation"].as_str().expect("id").to_owned();
    assert_eq!(bound("GET", "/v1/specialists/crawdad", None).status, 200);
    assert_eq!(
        bound("GET", "/v1/specialists/crawdad/context", None).status,
        200
    );
    for (method, path, body) in [
        (
            "POST",
            "/v1/specialists/gecko/sessions",
            Some(json!({"question": "Is it fast?"})),
        ),
        ("GET", "/v1/specialists/gecko", None),
        ("GET", "/v1/specialists/gecko/context", None),
        (
            "POST",
            "/v1/specialists",
            Some(json!({"specialists": [{"id": "mole"}]})),
        ),
        (
            "POST",
            &format!("/v1/deliberations/{deliberation}/outcome") as &str,
            Some(json!({"verdict": "validated"})),
        ),
    ] {
        let refused = bound(method, path, body);
        assert_eq!(
            (refused.status, refused.code()),
            (403, "forbidden"),
            "{method} {path}"
        );
    }
    let listed = bound("GET", "/v1/specialists", None);
    assert_eq!(listed.body, json!([{"id": "crawdad", "session_count": 1}]));
    assert_eq!(
        s.get("/v1/specialists").body.as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn bad_input_over_http() {
    let s = server();
    s.post(
        "/v1/specialists",
        &json!({"specialists": [{"id": "gecko"}]}),
    );
    let unknown = s.post(
        "/v1/specialists/nobody/sessions",
        &json!({"question": "Anything?"}),
    );
    assert_eq!((unknown.status, unknown.code()), (404, "not_found"));
    assert_eq!(s.get("/v1/specialists/nobody").status, 404);
    assert_eq!(s.get("/v1/specialists/nobody/context").status, 404);
    let unknown_deliberation = s.post(
        "/v1/deliberations/none/outcome",
        &json!({"verdict": "validated"}),
    );
    assert_eq!(unknown_deliberation.status, 404);
    let empty = s.post("/v1/specialists/gecko/sessions", &json!({"question": " "}));
    assert_eq!((empty.status, empty.code()), (422, "invalid_request"));
    let zero = s.get("/v1/specialists/gecko/context?budget_chars=0");
    assert_eq!((zero.status, zero.code()), (422, "invalid_request"));
    let verdict = s.post("/v1/deliberations/x/outcome", &json!({"verdict": "maybe"}));
    assert_eq!(verdict.status, 422);
    let no_list = s.post("/v1/specialists", &json!({"specialists": []}));
    assert_eq!(no_list.status, 422);

    // A 1 MB response is kept truncated, as the document says.
    let big = s.post(
        "/v1/specialists/gecko/sessions",
        &json!({"question": "Can one cache entry hold a megabyte?", "response": "x".repeat(1 << 20)}),
    );
    assert_eq!(big.status, 200, "{:?}", big.body["error"]);
    assert_eq!(big.body["response_truncated"], true);
    assert_eq!(big.body["response_chars"], 1 << 20);
    assert_eq!(s.get("/v1/specialists/gecko").body["session_count"], 1);
}
