//! `engram episodes …` as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::engram_at;

fn engram(home: &Path) -> Command {
    engram_at(home)
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn run(home: &Path, args: &[&str]) -> Output {
    engram(home).args(args).output().expect("run")
}

#[test]
fn an_episode_lifecycle_through_the_cli() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let id = ok(run(
        h,
        &[
            "episodes",
            "start",
            "--task",
            "add pagination to the users endpoint",
            "--context",
            r#"{"repo": "api"}"#,
        ],
    ))
    .trim()
    .to_owned();
    assert_eq!(
        ok(run(
            h,
            &[
                "episodes", "event", &id, "--type", "generate", "--role", "coder"
            ]
        ))
        .trim(),
        "0"
    );
    assert_eq!(
        ok(run(
            h,
            &[
                "episodes",
                "event",
                &id,
                "--type",
                "test",
                "--role",
                "tester",
                "--data",
                r#"{"error": "AssertionError: expected 20 items, got 0"}"#
            ]
        ))
        .trim(),
        "1"
    );
    let running = ok(run(h, &["episodes", "show"]));
    assert!(running.contains(&id), "{running}");
    let shown = ok(run(h, &["episodes", "show", &id]));
    assert!(shown.contains("running (not ended"), "{shown}");
    assert!(
        shown.contains("generate") && shown.contains("tester"),
        "{shown}"
    );
    let ended = ok(run(
        h,
        &[
            "episodes",
            "end",
            &id,
            "--failure",
            "--metrics",
            r#"{"minutes": 12}"#,
        ],
    ));
    assert!(ended.contains("failed after 2 events"), "{ended}");
    assert!(
        ended.contains(
            "failure shown by test (tester): AssertionError: expected <n> items, got <n>"
        ),
        "{ended}"
    );
    let again = run(h, &["episodes", "end", &id, "--success"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already ended"));

    let other = ok(run(
        h,
        &["episodes", "start", "--task", "paginate the orders API"],
    ))
    .trim()
    .to_owned();
    ok(run(h, &["episodes", "end", &other, "--success"]));
    let recalled: Value = serde_json::from_str(&ok(run(
        h,
        &[
            "episodes",
            "recall",
            "pagination for an API endpoint",
            "--json",
        ],
    )))
    .expect("json");
    assert_eq!(recalled.as_array().expect("list").len(), 2);
    let successes: Value = serde_json::from_str(&ok(run(
        h,
        &[
            "episodes",
            "recall",
            "pagination for an API endpoint",
            "--success-only",
            "--json",
        ],
    )))
    .expect("json");
    assert_eq!(successes[0]["id"], Value::String(other.clone()));
    assert_eq!(successes.as_array().expect("list").len(), 1);

    let failures: Value =
        serde_json::from_str(&ok(run(h, &["episodes", "failures", "--json"]))).expect("json");
    assert_eq!(failures["failed_episodes"], 1);
    assert_eq!(failures["groups"][0]["failure"]["event_type"], "test");
    assert_eq!(
        failures["groups"][0]["examples"][0],
        Value::String(id.clone())
    );
    let shown: Value =
        serde_json::from_str(&ok(run(h, &["episodes", "show", &id, "--json"]))).expect("json");
    assert_eq!(shown["events"][1]["seq"], 1);
    assert_eq!(shown["episode"]["status"], "failed");
}

#[test]
fn bad_episode_commands_exit_2() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let id = ok(run(h, &["episodes", "start", "--task", "t"]))
        .trim()
        .to_owned();
    for (what, args) in [
        (
            "not a uuid",
            vec!["episodes", "event", "nope", "--type", "t", "--role", "r"],
        ),
        (
            "unknown episode",
            vec![
                "episodes",
                "event",
                "00000000-0000-0000-0000-000000000001",
                "--type",
                "t",
                "--role",
                "r",
            ],
        ),
        (
            "data not an object",
            vec![
                "episodes", "event", &id, "--type", "t", "--role", "r", "--data", "[1]",
            ],
        ),
        (
            "data not JSON",
            vec![
                "episodes", "event", &id, "--type", "t", "--role", "r", "--data", "{oops",
            ],
        ),
        ("empty task", vec!["episodes", "start", "--task", " "]),
        ("no outcome", vec!["episodes", "end", &id]),
    ] {
        let output = run(h, &args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(
        ok(run(
            h,
            &["episodes", "event", &id, "--type", "t", "--role", "r"]
        ))
        .trim(),
        "0"
    );
}
