//! `engram memories …` as an agent that shells out runs it: JSON out, on the data directory
//! and through the server that holds it.

use std::path::Path;

use serde_json::Value;

use crate::common::{engram_at, success_stdout};

fn run(home: &Path, args: &[&str]) -> Value {
    let output = engram_at(home).args(args).output().expect("run");
    serde_json::from_str(&success_stdout(&output)).expect("JSON out")
}

#[test]
fn add_search_history_and_delete_locally_and_through_the_server() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let parent = run(
        h,
        &[
            "memories",
            "add",
            "Release 2.0 plan",
            "--tier",
            "long",
            "--importance",
            "0.9",
        ],
    );
    let pid = parent["id"].as_str().expect("id").to_owned();
    let child = run(
        h,
        &[
            "memories",
            "add",
            "Freeze the API on Monday",
            "--tier",
            "medium",
            "--tag",
            "api",
            "--parent",
            &pid,
        ],
    );
    assert_eq!(child["parent_id"], pid.as_str());
    assert_eq!(child["tags"], serde_json::json!(["api"]));
    let found = run(
        h,
        &[
            "memories",
            "search",
            "when is the API frozen?",
            "--limit",
            "1",
        ],
    );
    assert_eq!(found[0]["memory"]["id"], child["id"]);
    let tagged = run(h, &["memories", "search", "release", "--tag", "api"]);
    assert_eq!(tagged.as_array().map(Vec::len), Some(1));
    assert_eq!(
        run(h, &["memories", "get", &pid])["content"],
        "Release 2.0 plan"
    );
    assert_eq!(
        run(h, &["memories", "history", &pid])["versions"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let refused = engram_at(h)
        .args(["memories", "add", "x", "--tier", "forever"])
        .output()
        .expect("run");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("short, medium or long"));

    // With a server holding the directory, the same commands go through it.
    let mut serve = engram_at(h);
    serve.args(["serve", "--listen", "127.0.0.1:0"]);
    let (mut server, _base, _log) = crate::common::serve(serve);
    let through = run(h, &["memories", "search", "API freeze", "--limit", "1"]);
    assert_eq!(through[0]["memory"]["id"], child["id"]);
    let deleted = run(h, &["memories", "delete", &pid]);
    assert_eq!(deleted["deleted"], 2, "{deleted}");
    let gone = engram_at(h)
        .args(["memories", "get", &pid])
        .output()
        .expect("run");
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("no memory"));
    server.kill().expect("stop");
    server.wait().expect("reaped");
}
