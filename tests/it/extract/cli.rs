//! `engram extract` and `engram learn`, run as a user runs them.

use std::process::Output;

use serde_json::Value;

use super::fixture;
use crate::common::{engram_at, success_stdout as stdout_of};

fn usage_error(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8(output.stderr.clone()).expect("utf-8")
}

#[test]
fn extract_lists_patterns_as_text_and_json() {
    let home = tempfile::tempdir().expect("tempdir");
    let output = engram_at(home.path())
        .arg("extract")
        .arg(fixture::path("server.go"))
        .arg(fixture::path("ledger.rs"))
        .output()
        .expect("run");
    let text = stdout_of(&output);
    assert!(text.contains("server.go (go, "), "{text}");
    assert!(
        text.contains("method          Store.Get(s *Store, key string)"),
        "{text}"
    );
    assert!(text.contains("if err != nil in ServeHTTP"), "{text}");
    assert!(text.contains("impl fmt::Display for LedgerError"), "{text}");

    let output = engram_at(home.path())
        .args(["extract", "--json"])
        .arg(fixture::path("repository.ts"))
        .output()
        .expect("run");
    let files: Value = serde_json::from_str(&stdout_of(&output)).expect("json");
    let file = &files[0];
    assert_eq!(file["language"], "typescript");
    assert_eq!(file["error_count"], 0);
    let patterns = file["patterns"].as_array().expect("patterns");
    let find = patterns
        .iter()
        .find(|p| p["name"] == "find")
        .expect("find method");
    assert_eq!(find["kind"], "method");
    assert_eq!(find["owner"], "BaseRepository");
    assert_eq!(find["is_async"], true);
    assert_eq!(find["decorators"][0], "@Logged");
    assert_eq!(find["complexity_class"], "low");
    assert_eq!(find["span"]["start_line"], 28);
}

#[test]
fn extract_reports_bad_files_and_still_lists_the_good_ones() {
    let home = tempfile::tempdir().expect("tempdir");
    let java = home.path().join("Main.java");
    std::fs::write(&java, "class Main {}").expect("write");
    let latin1 = home.path().join("latin1.py");
    std::fs::write(&latin1, b"def caf\xe9():\n    pass\n").expect("write");
    let output = engram_at(home.path())
        .arg("extract")
        .arg(&java)
        .arg(&latin1)
        .arg(fixture::path("inventory.py"))
        .output()
        .expect("run");
    let stderr = usage_error(&output);
    assert!(stderr.contains("Main.java"), "{stderr}");
    assert!(
        stderr.contains("supported languages: python, rust, javascript, typescript, tsx, go"),
        "{stderr}"
    );
    assert!(stderr.contains("not valid UTF-8"), "{stderr}");
    assert!(stderr.contains("2 of 3 files"), "{stderr}");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(stdout.contains("Inventory.reserve"), "{stdout}");

    let output = engram_at(home.path())
        .args(["extract", "--language", "cobol"])
        .arg(&java)
        .output()
        .expect("run");
    assert!(usage_error(&output).contains("supported languages"));

    // An explicit language overrides the extension.
    let renamed = home.path().join("snippet.txt");
    std::fs::write(&renamed, "def f(x):\n    return x\n").expect("write");
    let output = engram_at(home.path())
        .args(["extract", "--json", "--language", "py"])
        .arg(&renamed)
        .output()
        .expect("run");
    let files: Value = serde_json::from_str(&stdout_of(&output)).expect("json");
    assert_eq!(files[0]["patterns"][0]["name"], "f");
}

#[test]
fn learn_stores_a_winner_and_reinforces_it_the_second_time() {
    let home = tempfile::tempdir().expect("tempdir");
    let learn = || {
        engram_at(home.path())
            .args([
                "learn",
                "--winner",
                fixture::path("cart.js").to_str().expect("path"),
                "--task",
                "shopping cart with discounts and checkout",
                "--metrics",
                r#"{"success_rate": 1.0, "votes": 3}"#,
                "--tags",
                "web,cart",
            ])
            .output()
            .expect("run")
    };
    let first = stdout_of(&learn());
    assert!(first.starts_with("learned "), "{first}");
    let learned: usize = first
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert!(learned >= 10, "{first}");
    let second = stdout_of(&learn());
    assert!(
        second.contains(&format!("0 new, {learned} reinforced")),
        "{second}"
    );

    let output = engram_at(home.path())
        .args([
            "recall",
            "patterns",
            "apply a discount code to an amount",
            "--json",
        ])
        .output()
        .expect("run");
    let found: Value = serde_json::from_str(&stdout_of(&output)).expect("json");
    let top = &found[0];
    assert_eq!(top["record"]["source"], "consensus");
    assert_eq!(top["record"]["seen_count"], 2);
    assert!(
        top["record"]["tags"]
            .as_array()
            .expect("tags")
            .contains(&Value::from("cart"))
    );

    let output = engram_at(home.path())
        .args(["learn", "--winner", "-", "--task", "x"])
        .output()
        .expect("run");
    assert!(usage_error(&output).contains("needs --language"));
    let output = engram_at(home.path())
        .args(["learn", "--winner", "Main.java", "--task", "x"])
        .output()
        .expect("run");
    assert!(usage_error(&output).contains("supported languages"));
}
