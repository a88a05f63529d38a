//! `engram swarm …` as an agent that shells out runs it: JSON out, on the data directory
//! and through the server that holds it, with the same answers and exit codes.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{engram_at, success_stdout};

fn run(home: &Path, args: &[&str]) -> Value {
    let output = engram_at(home).args(args).output().expect("run");
    serde_json::from_str(&success_stdout(&output)).expect("JSON out")
}

fn exit_code(home: &Path, args: &[&str]) -> Option<i32> {
    engram_at(home)
        .args(args)
        .output()
        .expect("run")
        .status
        .code()
}

#[test]
fn put_get_list_delete_and_events_locally_and_through_the_server() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let created = run(h, &["swarm", "put", "swarm/prod/plan", r#"{"step": 1}"#]);
    assert_eq!(created["entry"]["version"], 1);
    // A second create is a conflict: exit 2, nothing written.
    assert_eq!(
        exit_code(h, &["swarm", "put", "swarm/prod/plan", r#"{"step": 9}"#]),
        Some(2)
    );
    let merged = run(
        h,
        &[
            "swarm",
            "put",
            "swarm/prod/plan",
            r#"{"owner": "planner"}"#,
            "--policy",
            "merge",
        ],
    );
    assert_eq!(
        merged["entry"]["value"],
        json!({"step": 1, "owner": "planner"})
    );
    assert_eq!(
        exit_code(h, &["swarm", "put", "swarm/prod/plan", "not json"]),
        Some(2)
    );
    assert_eq!(exit_code(h, &["swarm", "get", "swarm/prod/none"]), Some(2));

    // With a server holding the directory, the same commands go through it.
    let mut serve = engram_at(h);
    serve.args(["serve", "--listen", "127.0.0.1:0"]);
    let (mut server, _base, _log) = crate::common::serve(serve);
    let read = run(h, &["swarm", "get", "swarm/prod/plan"]);
    assert_eq!(read["version"], 2);
    let updated = run(
        h,
        &[
            "swarm",
            "put",
            "swarm/prod/plan",
            r#"{"step": 2}"#,
            "--expected-version",
            "2",
        ],
    );
    assert_eq!(updated["entry"]["version"], 3);
    assert_eq!(exit_code(h, &["swarm", "get", "swarm/prod/none"]), Some(2));
    let page = run(h, &["swarm", "list", "swarm/prod", "-l", "10"]);
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(1));
    let deleted = run(
        h,
        &[
            "swarm",
            "delete",
            "swarm/prod/plan",
            "--expected-version",
            "3",
        ],
    );
    assert_eq!(deleted["deleted"], true);
    let events = run(h, &["swarm", "events", "--prefix", "swarm/prod"]);
    assert_eq!(events["cursor"], 4);
    assert_eq!(events["events"][3]["data"]["deleted"], true);
    server.kill().expect("stop");
    server.wait().expect("reaped");
}

#[test]
fn outcomes_a_strategy_and_insights_locally_and_through_the_server() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let recorded = run(
        h,
        &[
            "swarm",
            "outcome",
            "data_processing",
            "--agent",
            "w1",
            "--agent",
            "w2",
            "--seconds",
            "90",
            "--context",
            r#"{"data_size": "large"}"#,
        ],
    );
    assert_eq!(recorded["strategy"], "2-agent");
    assert_eq!(recorded["success"], true);
    // NaN seconds and a context that is not an object are refused: exit 2.
    for bad in [["--seconds", "NaN"], ["--context", "[1]"]] {
        let mut args = vec!["swarm", "outcome", "data_processing", "--agent", "w1"];
        args.extend(bad);
        if bad[0] == "--context" {
            args.extend(["--seconds", "1"]);
        }
        assert_eq!(exit_code(h, &args), Some(2), "{args:?}");
    }

    let mut serve = engram_at(h);
    serve.args(["serve", "--listen", "127.0.0.1:0"]);
    let (mut server, _base, _log) = crate::common::serve(serve);
    run(
        h,
        &[
            "swarm",
            "outcome",
            "data_processing",
            "--agent",
            "w1",
            "--failed",
            "--seconds",
            "300",
            "--context",
            r#"{"data_size": "large"}"#,
        ],
    );
    let best = run(
        h,
        &["swarm", "strategy", r#"{"task_type": "data_processing"}"#],
    );
    assert_eq!(best["considered"], 2);
    assert_eq!(best["strategy"]["strategy"], "2-agent");
    assert_eq!(best["alternatives"][0]["strategy"], "1-agent");
    let failing = run(h, &["swarm", "insights", "failure"]);
    assert_eq!(failing[0]["subject"], "1-agent");
    assert_eq!(exit_code(h, &["swarm", "insights", "telepathy"]), Some(2));
    server.kill().expect("stop");
    server.wait().expect("reaped");
}

#[test]
fn health_and_optimize_locally_and_through_the_server() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    // The live key first: a process's first write sweeps what has expired.
    run(h, &["swarm", "put", "swarm/prod/plan", r#"{"step": 1}"#]);
    run(
        h,
        &[
            "swarm",
            "put",
            "session/run-1/scratch",
            r#""x""#,
            "--ttl-ms",
            "1",
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    let report = run(h, &["health", "--json"]);
    assert_eq!(report["overall_health"], "needs_attention");
    assert_eq!(report["swarm"]["expired"], 1);
    assert_eq!(report["swarm"]["live"], 1);

    // Without --apply: a plan, and nothing changes.
    let plan = run(h, &["optimize", "--json"]);
    assert_eq!(plan["applied"], false);
    assert_eq!(plan["plan"]["steps"][0]["action"], "sweep_expired_keys");
    assert_eq!(plan["plan"]["steps"][0]["items"], 1);
    assert_eq!(run(h, &["health", "--json"])["swarm"]["expired"], 1);

    // Through the server that holds the directory, the same commands.
    let mut serve = engram_at(h);
    serve.args(["serve", "--listen", "127.0.0.1:0"]);
    let (mut server, _base, _log) = crate::common::serve(serve);
    let applied = run(h, &["optimize", "--apply", "--json"]);
    assert_eq!(applied["applied"], true);
    assert_eq!(applied["optimizations_applied"][0]["done"], 1);
    let text = engram_at(h).args(["health"]).output().expect("run");
    let text = success_stdout(&text);
    assert!(text.starts_with("overall  healthy"), "{text}");
    assert_eq!(run(h, &["swarm", "get", "swarm/prod/plan"])["version"], 1);
    server.kill().expect("stop");
    server.wait().expect("reaped");
}
