//! `engram remember` / `engram recall` / `engram stats`, run as a user runs them.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::{engram_at, success_stdout as ok};

fn engram(home: &Path) -> Command {
    engram_at(home)
}

fn run(command: &mut Command, stdin: Option<&[u8]>) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        input.write_all(bytes).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("wait")
}

#[test]
fn remember_and_recall_each_kind_through_the_cli() {
    let home = tempfile::tempdir().expect("tempdir");
    let code = home.path().join("auth.py");
    std::fs::write(&code, "def require_token(request):\n    token = request.headers['Authorization']\n    return verify_jwt(token)\n").expect("write");
    let stored = ok(&run(
        engram(home.path())
            .args([
                "remember",
                "pattern",
                "--name",
                "JWT bearer check",
                "--language",
                "py",
                "--tags",
                "auth,web",
                "--metrics",
                r#"{"success_rate": 0.9}"#,
            ])
            .arg(&code),
        None,
    ));
    assert!(stored.starts_with("remembered new pattern"), "{stored}");
    let again = ok(&run(
        engram(home.path())
            .args([
                "remember",
                "pattern",
                "--name",
                "JWT bearer check",
                "--language",
                "python",
            ])
            .arg(&code),
        None,
    ));
    assert!(again.contains("stored 2 times"), "{again}");

    ok(&run(
        engram(home.path()).args([
            "remember",
            "solution",
            "--problem",
            "uvicorn is missing so the FastAPI app will not start",
            "--language",
            "python",
        ]),
        Some(b"pip install 'uvicorn[standard]'\n"),
    ));
    ok(&run(
        engram(home.path()).args([
            "remember",
            "error",
            "--message",
            "ModuleNotFoundError: No module named 'fastapi'",
            "--resolution",
            "pip install fastapi uvicorn",
            "--context",
            "starting the API",
        ]),
        None,
    ));

    let patterns: Value = serde_json::from_str(&ok(&run(
        engram(home.path()).args([
            "recall",
            "patterns",
            "implement user authentication",
            "--json",
            "--language",
            "python",
        ]),
        None,
    )))
    .expect("json");
    assert_eq!(patterns[0]["record"]["name"], "JWT bearer check");
    assert_eq!(patterns[0]["record"]["seen_count"], 2);
    assert_eq!(
        patterns[0]["record"]["tags"],
        serde_json::json!(["auth", "web"])
    );
    assert!(patterns[0]["score"].as_f64().is_some());

    let solutions = ok(&run(
        engram(home.path()).args(["recall", "solutions", "fastapi server does not start"]),
        None,
    ));
    assert!(
        solutions.contains("uvicorn is missing") && solutions.contains("[python; stored 1×"),
        "{solutions}"
    );

    let errors = ok(&run(
        engram(home.path()).args(["recall", "errors", "Cannot import fastapi", "--limit", "1"]),
        None,
    ));
    assert!(errors.contains("No module named 'fastapi'"), "{errors}");
    assert!(errors.contains("pip install fastapi uvicorn"), "{errors}");

    let stats: Value = serde_json::from_str(&ok(&run(
        engram(home.path()).args(["stats", "--json"]),
        None,
    )))
    .expect("json");
    assert_eq!(stats["collections"][0]["collection"], "code_patterns");
    assert_eq!(stats["collections"][0]["entries"], 1);
    assert_eq!(stats["collections"][0]["by_language"]["python"], 1);
    assert_eq!(stats["collections"][1]["entries"], 1);
    assert_eq!(stats["collections"][2]["entries"], 1);
}

/// What is being tried, the arguments, and what stdin holds.
type BadCall<'a> = (&'a str, Vec<&'a str>, Option<&'a [u8]>);

#[test]
fn bad_cli_input_exits_2_and_stores_nothing() {
    let home = tempfile::tempdir().expect("tempdir");
    let latin1 = home.path().join("latin1.py");
    std::fs::write(&latin1, b"# caf\xe9\nx = 1\n").expect("write");
    let cases: Vec<BadCall<'_>> = vec![
        (
            "invalid UTF-8 file",
            vec![
                "remember",
                "pattern",
                "--name",
                "n",
                "--language",
                "python",
                latin1.to_str().expect("path"),
            ],
            None,
        ),
        (
            "unknown language",
            vec!["remember", "pattern", "--name", "n", "--language", "cobol"],
            Some(b"x"),
        ),
        (
            "empty code from stdin",
            vec!["remember", "pattern", "--name", "n", "--language", "python"],
            Some(b"   \n"),
        ),
        (
            "NaN metric",
            vec![
                "remember",
                "pattern",
                "--name",
                "n",
                "--language",
                "python",
                "--metrics",
                r#"{"success_rate": NaN}"#,
            ],
            Some(b"x = 1"),
        ),
        (
            "success rate above 1",
            vec![
                "remember",
                "pattern",
                "--name",
                "n",
                "--language",
                "python",
                "--metrics",
                r#"{"success_rate": 2}"#,
            ],
            Some(b"x = 1"),
        ),
        (
            "empty error message",
            vec!["remember", "error", "--message", "", "--resolution", "r"],
            None,
        ),
        (
            "limit 0",
            vec!["recall", "errors", "x", "--limit", "0"],
            None,
        ),
        (
            "min success out of range",
            vec!["recall", "errors", "x", "--min-success", "7"],
            None,
        ),
    ];
    for (what, args, stdin) in cases {
        let output = run(engram(home.path()).args(&args), stdin);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.stderr.is_empty(), "{what}: says why");
    }
    let latin1_error = run(
        engram(home.path())
            .args(["remember", "pattern", "--name", "n", "--language", "python"])
            .arg(&latin1),
        None,
    );
    assert!(
        String::from_utf8_lossy(&latin1_error.stderr)
            .contains("not valid UTF-8 (first bad byte at offset 5)")
    );
    let empty = ok(&run(
        engram(home.path()).args(["recall", "patterns", "anything"]),
        None,
    ));
    assert!(empty.contains("nothing recalled"), "{empty}");
    let stats: Value = serde_json::from_str(&ok(&run(
        engram(home.path()).args(["stats", "--json"]),
        None,
    )))
    .expect("json");
    for collection in stats["collections"].as_array().expect("collections") {
        assert_eq!(collection["entries"], 0, "{collection}");
    }
}

/// `--tags` lists mean the same to every command: `engram remember` and `engram recall`
/// trim items and drop empty ones alike.
#[test]
fn tag_lists_mean_the_same_to_remember_and_recall() {
    let home = tempfile::tempdir().expect("tempdir");
    ok(&run(
        engram(home.path()).args([
            "remember",
            "error",
            "--message",
            "KeyError: 'tenant_slug'",
            "--resolution",
            "seed the tenant table",
            "--tags",
            "ops, ticket/ES-12/3",
        ]),
        None,
    ));
    for tags in [
        "ops, ticket/ES-12/3",
        " ticket/ES-12/3",
        "ops,",
        "ops,,ticket/ES-12/3",
    ] {
        let found = ok(&run(
            engram(home.path()).args(["recall", "errors", "tenant_slug", "--tags", tags]),
            None,
        ));
        assert!(
            found.contains("seed the tenant table"),
            "--tags {tags:?}: {found}"
        );
    }
}

#[test]
fn real_world_input_through_the_cli() {
    let home = tempfile::tempdir().expect("tempdir");
    ok(&run(
        engram(home.path()).args([
            "remember",
            "error",
            "--message",
            "ModuleNotFoundError: No module named 'fastapi'",
            "--resolution",
            "pip install fastapi uvicorn",
        ]),
        None,
    ));
    // An unrelated query with --min-score: nothing relevant is an answer.
    let none = ok(&run(
        engram(home.path()).args([
            "recall",
            "errors",
            "how long should sourdough dough proof overnight",
            "--min-score",
            "0.3",
        ]),
        None,
    ));
    assert!(none.starts_with("nothing recalled"), "{none}");
    let json: Value = serde_json::from_str(&ok(&run(
        engram(home.path()).args([
            "recall",
            "errors",
            "how long should sourdough dough proof overnight",
            "--json",
        ]),
        None,
    )))
    .expect("json");
    assert!(
        json[0]["similarity"].as_f64().expect("similarity") < 0.25,
        "{json}"
    );

    // The same file with CRLF line endings is the same pattern.
    let lf = home.path().join("load.py");
    let crlf = home.path().join("load_windows.py");
    let code = "def load(path):\n    with open(path) as f:\n        return f.read()\n";
    std::fs::write(&lf, code).expect("write");
    std::fs::write(&crlf, code.replace('\n', "\r\n")).expect("write");
    for (file, expected) in [(&lf, "remembered new pattern"), (&crlf, "stored 2 times")] {
        let out = ok(&run(
            engram(home.path())
                .args([
                    "remember",
                    "pattern",
                    "--name",
                    "loader",
                    "--language",
                    "python",
                ])
                .arg(file),
            None,
        ));
        assert!(out.contains(expected), "{out}");
    }

    // A number the store cannot keep exactly is bad input.
    let big = run(
        engram(home.path()).args([
            "episodes",
            "start",
            "--task",
            "a task",
            "--context",
            r#"{"n": 184467440737095516150}"#,
        ]),
        None,
    );
    assert_eq!(big.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&big.stderr).contains("184467440737095516150"),
        "{}",
        String::from_utf8_lossy(&big.stderr)
    );

    // A data directory another process holds is not bad input: exit 1, saying who holds it.
    let _held = engram::store::Store::open_edge(&home.path().join("data")).expect("hold");
    let busy = run(
        engram(home.path()).args([
            "--lock-timeout",
            "0.2",
            "remember",
            "error",
            "--message",
            "KeyError: 'x'",
            "--resolution",
            "use .get",
        ]),
        None,
    );
    let stderr = String::from_utf8_lossy(&busy.stderr);
    assert_eq!(busy.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&std::process::id().to_string()), "{stderr}");
}
