//! `engram seed` and `engram remember knowledge`, run as a user runs them.

use serde_json::Value;

use super::seeds_dir;
use crate::common::{engram_at, success_stdout as stdout_of};

#[test]
fn seed_prints_counts_per_category_then_recalls_from_the_knowledge_base() {
    let home = tempfile::tempdir().expect("tempdir");
    let seed = || {
        engram_at(home.path())
            .arg("seed")
            .arg(seeds_dir())
            .output()
            .expect("run")
    };
    let first = stdout_of(&seed());
    assert!(first.contains("patterns"), "{first}");
    assert!(first.contains("best practices"), "{first}");
    assert!(first.contains("common errors"), "{first}");
    assert!(first.contains("new, 0 updated, 0 unchanged"), "{first}");
    let second = stdout_of(&seed());
    assert!(second.contains("stored 0 entries"), "{second}");

    let output = engram_at(home.path())
        .args([
            "recall",
            "errors",
            "Cannot import fastapi",
            "--json",
            "-n",
            "1",
        ])
        .output()
        .expect("run");
    let found: Value = serde_json::from_str(&stdout_of(&output)).expect("json");
    assert_eq!(
        found[0]["record"]["error_message"],
        "ModuleNotFoundError: No module named 'fastapi'"
    );
    assert_eq!(found[0]["record"]["source"], "seed");

    let output = engram_at(home.path())
        .args(["seed", "--dry-run", "--json"])
        .arg(seeds_dir())
        .output()
        .expect("run");
    let report: Value = serde_json::from_str(&stdout_of(&output)).expect("json");
    assert_eq!(report["dry_run"], true);
    assert!(report["categories"]["common_error"]["unchanged"].as_u64() >= Some(40));
}

#[test]
fn an_invalid_seed_folder_is_reported_with_files_and_lines() {
    let home = tempfile::tempdir().expect("tempdir");
    let seeds = home.path().join("myseeds");
    std::fs::create_dir_all(&seeds).expect("mkdir");
    std::fs::write(
        seeds.join("a.md"),
        "+++\ntitle = \"A\"\ncategory = \"trick\"\nlanguages = [\"python\"]\nsummary = \"s\"\n+++\nbody\n",
    )
    .expect("write");
    std::fs::write(seeds.join("b.md"), "no front matter\n").expect("write");
    let output = engram_at(home.path())
        .arg("seed")
        .arg(&seeds)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(
        stderr.contains("2 problems in the seed files; nothing was stored"),
        "{stderr}"
    );
    assert!(
        stderr.contains("a.md:3: unknown category \"trick\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("b.md:1: the file must start with front matter"),
        "{stderr}"
    );
    assert!(
        !home.path().join("data").exists(),
        "nothing was opened or stored"
    );
}

#[test]
fn remember_knowledge_stores_custom_entries() {
    let home = tempfile::tempdir().expect("tempdir");
    let file = home.path().join("oauth.py");
    std::fs::write(
        &file,
        "def login(form):\n    return issue_token(authenticate(form))\n",
    )
    .expect("write");
    let output = engram_at(home.path())
        .args([
            "remember",
            "knowledge",
            "--type",
            "pattern",
            "--title",
            "OAuth2 password login",
            "--language",
            "python",
            "--metadata",
            r#"{"framework": "fastapi"}"#,
        ])
        .arg(&file)
        .output()
        .expect("run");
    assert!(stdout_of(&output).starts_with("remembered new design_pattern"));
    let output = engram_at(home.path())
        .args(["recall", "patterns", "oauth login", "--json", "-n", "1"])
        .output()
        .expect("run");
    let found: Value = serde_json::from_str(&stdout_of(&output)).expect("json");
    assert_eq!(found[0]["record"]["name"], "OAuth2 password login");
    assert!(
        found[0]["record"]["tags"]
            .as_array()
            .expect("tags")
            .contains(&Value::from("framework:fastapi"))
    );
}
