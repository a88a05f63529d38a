//! Malformed requests: each gets its documented 4xx and a JSON error with a stable code, and
//! none of them changes what the store holds.

use engram::memory::MemoryKind;
use serde_json::json;

use super::TestServer;

/// (what, path, content type, body, status, code)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    Vec<u8>,
    u16,
    &'static str,
);

fn j(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

const JSON: &str = "application/json";
const UNKNOWN_EPISODE: &str = "/v1/episodes/00000000-0000-0000-0000-00000000abcd/events";

fn cases() -> Vec<Case> {
    let pattern = |extra: serde_json::Value| {
        let mut body = json!({"name": "n", "code": "def f(): pass", "language": "python"});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        j(body)
    };
    let deep = format!(
        "{{\"task\": \"t\", \"context\": {{\"a\": {}1{}}}}}",
        "[".repeat(1000),
        "]".repeat(1000)
    );
    vec![
        (
            "truncated JSON",
            "/v1/patterns",
            JSON,
            b"{\"name\": ".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "empty body",
            "/v1/patterns",
            JSON,
            Vec::new(),
            400,
            "invalid_json",
        ),
        (
            "invalid UTF-8",
            "/v1/patterns",
            JSON,
            b"{\"name\": \"\xff\xfe\", \"code\": \"c\", \"language\": \"python\"}".to_vec(),
            400,
            "invalid_json",
        ),
        (
            "deeply nested JSON",
            "/v1/episodes",
            JSON,
            deep.into_bytes(),
            400,
            "invalid_json",
        ),
        (
            "an array, not an object",
            "/v1/patterns",
            JSON,
            j(json!([1, 2])),
            422,
            "invalid_request",
        ),
        (
            "null body",
            "/v1/patterns/recall",
            JSON,
            j(json!(null)),
            422,
            "invalid_request",
        ),
        (
            "name is a number",
            "/v1/patterns",
            JSON,
            pattern(json!({"name": 5})),
            422,
            "invalid_request",
        ),
        (
            "missing code",
            "/v1/patterns",
            JSON,
            j(json!({"name": "n", "language": "python"})),
            422,
            "invalid_request",
        ),
        (
            "unknown field",
            "/v1/patterns",
            JSON,
            pattern(json!({"colour": "red"})),
            422,
            "invalid_request",
        ),
        (
            "unknown language",
            "/v1/patterns",
            JSON,
            pattern(json!({"language": "cobol"})),
            422,
            "invalid_request",
        ),
        (
            "blank name",
            "/v1/patterns",
            JSON,
            pattern(json!({"name": "   "})),
            422,
            "invalid_request",
        ),
        (
            "code over 256 KiB",
            "/v1/patterns",
            JSON,
            pattern(json!({"code": "x".repeat(300 << 10)})),
            422,
            "invalid_request",
        ),
        (
            "tags not a list",
            "/v1/patterns",
            JSON,
            pattern(json!({"tags": "a,b"})),
            422,
            "invalid_request",
        ),
        (
            "40 tags",
            "/v1/patterns",
            JSON,
            pattern(json!({"tags": (0..40).map(|i| format!("t{i}")).collect::<Vec<_>>()})),
            422,
            "invalid_request",
        ),
        (
            "success_rate 1.5",
            "/v1/patterns",
            JSON,
            pattern(json!({"metrics": {"success_rate": 1.5}})),
            422,
            "invalid_request",
        ),
        (
            "a metric that is text",
            "/v1/patterns",
            JSON,
            pattern(json!({"metrics": {"latency": "fast"}})),
            422,
            "invalid_request",
        ),
        (
            "text/plain body",
            "/v1/patterns",
            "text/plain",
            pattern(json!({})),
            415,
            "unsupported_media_type",
        ),
        (
            "negative limit",
            "/v1/patterns/recall",
            JSON,
            j(json!({"query": "q", "limit": -1})),
            422,
            "invalid_request",
        ),
        (
            "limit 10^9",
            "/v1/patterns/recall",
            JSON,
            j(json!({"query": "q", "limit": 1_000_000_000})),
            422,
            "invalid_request",
        ),
        (
            "limit 0",
            "/v1/solutions/recall",
            JSON,
            j(json!({"query": "q", "limit": 0})),
            422,
            "invalid_request",
        ),
        (
            "min_success_rate 2",
            "/v1/errors/recall",
            JSON,
            j(json!({"query": "q", "min_success_rate": 2.0})),
            422,
            "invalid_request",
        ),
        (
            "empty query",
            "/v1/errors/recall",
            JSON,
            j(json!({"query": ""})),
            422,
            "invalid_request",
        ),
        (
            "query over 64 KiB",
            "/v1/solutions/recall",
            JSON,
            j(json!({"query": "q".repeat(100 << 10)})),
            422,
            "invalid_request",
        ),
        (
            "error without resolution",
            "/v1/errors",
            JSON,
            j(json!({"message": "E"})),
            422,
            "invalid_request",
        ),
        (
            "success is a string",
            "/v1/errors",
            JSON,
            j(json!({"message": "E", "resolution": "r", "success": "yes"})),
            422,
            "invalid_request",
        ),
        (
            "blank task",
            "/v1/episodes",
            JSON,
            j(json!({"task": " "})),
            422,
            "invalid_request",
        ),
        (
            "context is a list",
            "/v1/episodes",
            JSON,
            j(json!({"task": "t", "context": [1]})),
            422,
            "invalid_request",
        ),
        (
            "event for a malformed id",
            "/v1/episodes/xyz/events",
            JSON,
            j(json!({"event_type": "a", "agent_role": "b"})),
            400,
            "invalid_id",
        ),
        (
            "event for an unknown episode",
            UNKNOWN_EPISODE,
            JSON,
            j(json!({"event_type": "a", "agent_role": "b"})),
            404,
            "not_found",
        ),
        (
            "extract with code null",
            "/v1/extract",
            JSON,
            j(json!({"code": null, "language": "python"})),
            422,
            "invalid_request",
        ),
        (
            "unknown knowledge type",
            "/v1/knowledge",
            JSON,
            j(json!({"title": "t", "content": "c", "knowledge_type": "recipe"})),
            422,
            "invalid_request",
        ),
        (
            "learn without a task",
            "/v1/learn",
            JSON,
            j(json!({"code": "def f(): pass", "language": "python"})),
            422,
            "invalid_request",
        ),
        (
            "an integer the store cannot keep (beyond i64)",
            "/v1/episodes",
            JSON,
            br#"{"task": "t", "context": {"n": 184467440737095516150}}"#.to_vec(),
            422,
            "invalid_request",
        ),
        (
            "u64::MAX in event data",
            UNKNOWN_EPISODE,
            JSON,
            br#"{"event_type": "e", "agent_role": "r", "data": {"n": 18446744073709551615}}"#
                .to_vec(),
            422,
            "invalid_request",
        ),
        (
            "a decimal with more digits than a double keeps",
            "/v1/patterns",
            JSON,
            br#"{"name": "n", "code": "c", "language": "python", "metrics": {"latency": 3.14159265358979323846264}}"#
                .to_vec(),
            422,
            "invalid_request",
        ),
        (
            "min_score above 1",
            "/v1/errors/recall",
            JSON,
            j(json!({"query": "KeyError", "min_score": 1.5})),
            422,
            "invalid_request",
        ),
        (
            "learn in an unknown language",
            "/v1/learn",
            JSON,
            j(json!({"code": "x", "language": "cobol", "task": "t"})),
            422,
            "unsupported_language",
        ),
    ]
}

fn counts(s: &TestServer) -> Vec<usize> {
    let memory = s.engram.memory();
    MemoryKind::ALL
        .iter()
        .map(|k| memory.collection(*k).count(None).expect("count"))
        .collect()
}

#[test]
fn malformed_requests_get_their_4xx_and_change_nothing() {
    let s = TestServer::start();
    let before = counts(&s);
    let cases = cases();
    assert!(cases.len() + 1 >= 25);
    let mut wrong = Vec::new();
    for (what, path, content_type, body, status, code) in &cases {
        let answer = s.post_raw(path, content_type, body);
        if answer.status != *status || answer.code() != *code {
            wrong.push(format!(
                "{what}: expected {status} {code}, got {} {:?}",
                answer.status, answer.body
            ));
        }
        assert!(
            answer.body["error"]["message"].is_string() && answer.body["error"]["hint"].is_string(),
            "{what}: {:?}",
            answer.body
        );
    }
    let oversized = s.post_oversized("/v1/patterns", 3 << 20);
    if (oversized.status, oversized.code()) != (413, "body_too_large") {
        wrong.push(format!(
            "body over the limit: got {} {:?}",
            oversized.status, oversized.body
        ));
    }
    for (what, path, status) in [
        (
            "negative failures limit",
            "/v1/episodes/failures?limit=-3",
            422,
        ),
        (
            "failures limit 10^9",
            "/v1/episodes/failures?limit=1000000000",
            422,
        ),
        (
            "unknown query parameter",
            "/v1/episodes/failures?lmit=3",
            422,
        ),
    ] {
        let answer = s.get(path);
        if answer.status != status {
            wrong.push(format!(
                "{what}: expected {status}, got {} {:?}",
                answer.status, answer.body
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(counts(&s), before, "nothing was stored");
    assert_eq!(
        s.get("/v1/episodes").body,
        json!([]),
        "no episode was started"
    );
}
