//! `engram agents …` as a user (or an agent that shells out) runs it: JSON out, on the
//! data directory.

use std::path::Path;

use serde_json::Value;

use crate::common::{engram_at, success_stdout};

fn run(home: &Path, args: &[&str]) -> Value {
    let output = engram_at(home).args(args).output().expect("run");
    serde_json::from_str(&success_stdout(&output)).expect("JSON out")
}

#[test]
fn learn_promote_and_route_through_the_cli() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let learned = run(
        h,
        &[
            "agents",
            "learn",
            "coder",
            "Clear requirements reduce debugging time",
            "--confidence",
            "0.95",
        ],
    );
    assert_eq!(learned["scope"], "private");
    let id = learned["id"].as_str().expect("id").to_owned();
    assert_eq!(
        run(h, &["agents", "private", "coder"])[0]["id"],
        id.as_str()
    );
    let recalled = run(h, &["agents", "recall", "tester", "how to debug less?"]);
    assert_eq!(
        recalled,
        Value::Array(Vec::new()),
        "another agent sees nothing private"
    );
    let report = run(
        h,
        &[
            "agents",
            "pollinate",
            "coder",
            "tester",
            "--threshold",
            "0.9",
        ],
    );
    assert_eq!(report["promoted"]["coder"], 1);
    assert_eq!(
        run(h, &["agents", "recall", "tester", "how to debug less?"])[0]["id"],
        id.as_str()
    );
    assert_eq!(
        run(h, &["agents", "history", &id])["promoted_by"],
        "cross-pollination"
    );
    assert_eq!(
        run(h, &["agents", "shared"]).as_array().map(Vec::len),
        Some(1)
    );
    run(h, &["agents", "interact", "coder", "development"]);
    run(
        h,
        &["agents", "interact", "tester", "development", "--failed"],
    );
    let best = run(h, &["agents", "best", "development", "tester", "coder"]);
    assert_eq!(best["best"], "coder");
    assert_eq!(run(h, &["agents", "expertise", "coder"])[0]["score"], 1.0);
    let refused = engram_at(h)
        .args(["agents", "learn", "coder", "x", "--confidence", "NaN"])
        .output()
        .expect("run");
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("confidence"), "{message}");
}
