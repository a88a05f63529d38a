//! `engram specialists …` as a user runs it.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::{engram_at, success_stdout};

fn run(home: &Path, args: &[&str]) -> Output {
    engram_at(home).args(args).output().expect("run")
}

#[test]
fn a_council_round_through_the_cli() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let init = success_stdout(&run(
        h,
        &["specialists", "init", "crawdad=security,IoT", "gecko"],
    ));
    assert!(
        init.contains("crawdad") && init.contains("created"),
        "{init}"
    );
    let again = success_stdout(&run(h, &["specialists", "init", "crawdad"]));
    assert!(again.contains("exists (kept)"), "{again}");
    for (d, question, concern) in [
        (
            "a-1",
            "May the firmware update skip signature checks?",
            "security=unsigned firmware can be installed",
        ),
        (
            "a-2",
            "May the firmware updater skip checking signatures?",
            "security=firmware without a signature can be installed",
        ),
    ] {
        let recorded = success_stdout(&run(
            h,
            &[
                "specialists",
                "record",
                "crawdad",
                "--question",
                question,
                "--concern",
                concern,
                "--decision",
                "REVIEW REQUIRED",
                "--deliberation",
                d,
                "--topics",
                "firmware",
            ],
        ));
        assert!(
            recorded.contains(&format!("deliberation {d}")),
            "{recorded}"
        );
        if d == "a-2" {
            assert!(recorded.contains("repeats"), "{recorded}");
        }
    }
    let outcome = success_stdout(&run(h, &["specialists", "outcome", "a-1", "--validated"]));
    assert!(outcome.contains("1 concerns validated now"), "{outcome}");
    let context = success_stdout(&run(
        h,
        &["specialists", "context", "crawdad", "--budget", "300"],
    ));
    assert!(
        context.starts_with("[Your experience: 2 sessions. Recent topics: firmware, security, iot. Patterns learned: security concerns about firmware validated 1 of 1."),
        "{context}"
    );
    let shown: Value = serde_json::from_str(&success_stdout(&run(
        h,
        &["specialists", "show", "crawdad", "--json"],
    )))
    .expect("JSON");
    assert_eq!(shown["session_count"], 2);
    let listed = success_stdout(&run(h, &["specialists", "list"]));
    assert!(
        listed.contains("crawdad") && listed.contains("2 sessions"),
        "{listed}"
    );

    let unknown = run(h, &["specialists", "context", "nobody"]);
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let zero = run(h, &["specialists", "context", "crawdad", "--budget", "0"]);
    assert_eq!(zero.status.code(), Some(2));
}
