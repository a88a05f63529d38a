//! Failure analysis over generated episodes whose failure causes are planted.

use std::collections::HashMap;

use engram::episodes::FailurePoint;
use engram::memory::Metrics;
use engram::store::Payload;
use serde_json::json;

use super::Fixture;

#[test]
fn analyze_failures_returns_the_planted_groups_and_counts() {
    let f = Fixture::new();
    // (failing step, role, error template with varying parts, how many)
    let planted = [
        (
            "test",
            "tester",
            Some(
                "Traceback (most recent call last):\n  File \"/work/{i}/test_api.py\", line {l}, in test_create\nAssertionError: expected 201, got {c}",
            ),
            18,
        ),
        (
            "build",
            "coder",
            Some("  File \"src/app_{i}.py\", line {l}\nSyntaxError: invalid syntax"),
            12,
        ),
        (
            "deploy",
            "ops",
            Some("ConnectionRefusedError: [Errno 111] Connection refused to 10.0.{i}.{l}:5432"),
            9,
        ),
        ("review", "judge", None, 7),
        (
            "generate",
            "coder",
            Some("RateLimitError: 429 Too Many Requests (retry after {l} s)"),
            5,
        ),
    ];
    let mut expected: HashMap<(String, String), usize> = HashMap::new();
    let mut n = 0usize;
    for (step, role, error, count) in planted {
        for i in 0..count {
            let id = f
                .episodes
                .start_episode(&format!("task {n}: build feature {i}"), Payload::new())
                .expect("start");
            f.episodes
                .record_event(id, "plan", "planner", json!({}))
                .expect("record");
            f.episodes
                .record_event(id, "generate", "coder", json!({"candidates": 3}))
                .expect("record");
            let data = match error {
                Some(template) => json!({"error": template
                    .replace("{i}", &(i * 7 + 3).to_string())
                    .replace("{l}", &(10 + i * 13).to_string())
                    .replace("{c}", &(500 + i % 3).to_string())}),
                None => json!({"verdict": "rejected"}),
            };
            f.episodes
                .record_event(id, step, role, data)
                .expect("record");
            if step != "review" {
                // Events after the failure do not hide it.
                f.episodes
                    .record_event(id, "notify", "bot", json!({"sent": true}))
                    .expect("record");
            }
            f.episodes
                .end_episode(id, false, Metrics::new())
                .expect("end");
            *expected
                .entry((step.to_owned(), role.to_owned()))
                .or_default() += 1;
            n += 1;
        }
    }
    // Successful episodes do not count.
    for i in 0..10 {
        let id = f
            .episodes
            .start_episode(&format!("easy task {i}"), Payload::new())
            .expect("start");
        f.episodes
            .record_event(id, "test", "tester", json!({"passed": 3}))
            .expect("record");
        f.episodes
            .end_episode(id, true, Metrics::new())
            .expect("end");
    }
    assert!(n >= 50, "{n} failed episodes");
    let report = f.episodes.analyze_failures(10).expect("analyze");
    assert_eq!(report.failed_episodes, n);
    assert_eq!(report.groups.len(), 5, "{report:#?}");
    let counts: Vec<usize> = report.groups.iter().map(|g| g.count).collect();
    assert_eq!(counts, vec![18, 12, 9, 7, 5], "ordered by count");
    for group in &report.groups {
        let FailurePoint {
            event_type,
            agent_role,
            signature,
        } = &group.failure;
        assert_eq!(
            expected[&(event_type.clone(), agent_role.clone())],
            group.count
        );
        assert!((group.share - group.count as f64 / n as f64).abs() < 1e-12);
        assert_eq!(group.examples.len(), group.count.min(5));
        match event_type.as_str() {
            "test" => assert_eq!(
                signature.as_deref(),
                Some("AssertionError: expected <n>, got <n>")
            ),
            "build" => assert_eq!(signature.as_deref(), Some("SyntaxError: invalid syntax")),
            "deploy" => assert_eq!(
                signature.as_deref(),
                Some("ConnectionRefusedError: [Errno 111] Connection refused to <ip>")
            ),
            "review" => assert_eq!(signature, &None),
            "generate" => assert_eq!(
                signature.as_deref(),
                Some("RateLimitError: 429 Too Many Requests (retry after <n> s)")
            ),
            other => panic!("unexpected group {other}"),
        }
        for example in &group.examples {
            let log = f.episodes.get_episode(*example).expect("example exists");
            assert_eq!(log.episode.failure.as_ref(), Some(&group.failure));
        }
    }
    assert_eq!(
        f.episodes
            .analyze_failures(2)
            .expect("top two")
            .groups
            .len(),
        2
    );
}

#[test]
fn failures_that_differ_in_their_error_class_number_are_two_groups() {
    let f = Fixture::new();
    let planted = [
        ("AxiosError: Request failed with status code 401", 4),
        ("AxiosError: Request failed with status code 503", 3),
        ("Process exited with code 137", 2),
        ("Process exited with code 1", 2),
    ];
    for (error, count) in planted {
        for i in 0..count {
            let id = f
                .episodes
                .start_episode(
                    &format!("call the billing API, attempt {i}"),
                    Payload::new(),
                )
                .expect("start");
            // The same error from another request id and port is the same group.
            f.episodes
                .record_event(
                    id,
                    "call",
                    "coder",
                    json!({"error": format!("{error} (request {} via localhost:{})", 1000 + i, 8000 + i)}),
                )
                .expect("record");
            f.episodes
                .end_episode(id, false, Metrics::new())
                .expect("end");
        }
    }
    let report = f.episodes.analyze_failures(10).expect("analyze");
    let groups: Vec<(Option<&str>, usize)> = report
        .groups
        .iter()
        .map(|g| (g.failure.signature.as_deref(), g.count))
        .collect();
    assert_eq!(groups.len(), 4, "{groups:#?}");
    for (error, count) in planted {
        assert!(
            groups
                .iter()
                .any(|(s, c)| s.is_some_and(|s| s.starts_with(error)) && *c == count),
            "{error}: {groups:#?}"
        );
    }
}
