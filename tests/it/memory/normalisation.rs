//! Error recall among real distractors: pylint's 441 documented messages (each with a real
//! emitted message and the fixed code as resolution) plus the errors below; every query is a
//! paraphrase or the same error with other names, paths, lines and numbers, and must recall
//! its own resolution first.

use std::collections::HashMap;

use engram::memory::{ErrorInput, Language};
use serde::Deserialize;

use super::Fixture;
use crate::common::shared_dir;

#[derive(Deserialize)]
struct PylintDoc {
    message_id: String,
    files: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct PylintMessage {
    message_id: String,
    message: String,
}

/// (stored message, resolution, language, queries that must recall it first)
const CASES: &[(&str, &str, Language, &[&str])] = &[
    (
        "ModuleNotFoundError: No module named 'fastapi'",
        "pip install fastapi uvicorn",
        Language::Python,
        &[
            "Cannot import fastapi",
            "No module named fastapi found",
            "Traceback (most recent call last):\n  File \"/opt/svc/api.py\", line 7, in <module>\n    from fastapi import FastAPI\nModuleNotFoundError: No module named 'fastapi'",
        ],
    ),
    (
        "TypeError: 'NoneType' object is not subscriptable",
        "the lookup returned None: check the result before indexing it",
        Language::Python,
        &[
            "File \"/srv/app/handlers.py\", line 88, in get_user\nTypeError: 'NoneType' object is not subscriptable",
        ],
    ),
    (
        "KeyError: 'user_id'",
        "read the key with dict.get and handle the missing case",
        Language::Python,
        &["KeyError: 'session_id'"],
    ),
    (
        "ConnectionRefusedError: [Errno 111] Connection refused",
        "the database is not running: start postgres and check the port",
        Language::Python,
        &["connection refused when connecting to localhost:5432"],
    ),
    (
        "RecursionError: maximum recursion depth exceeded in comparison",
        "turn the recursion into a loop or raise sys.setrecursionlimit",
        Language::Python,
        &["RecursionError: maximum recursion depth exceeded while calling a Python object"],
    ),
    (
        "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
        "the file is not UTF-8: open it with the right encoding (latin-1) or errors='replace'",
        Language::Python,
        &[
            "UnicodeDecodeError: 'utf-8' codec can't decode byte 0x92 in position 2811: invalid start byte",
        ],
    ),
    (
        "PermissionError: [Errno 13] Permission denied: '/var/log/app.log'",
        "run as a user that can write the log directory or log to a writable path",
        Language::Python,
        &["PermissionError: [Errno 13] Permission denied: '/home/deploy/cache/index.db'"],
    ),
    (
        "OSError: [Errno 28] No space left on device",
        "free disk space: clear old build artefacts and docker images",
        Language::Python,
        &["ran out of disk space: no space left on device while writing the checkpoint"],
    ),
    (
        "error[E0382]: borrow of moved value: `config`\n --> src/main.rs:14:20",
        "clone the value before moving it, or borrow it (&config) instead of moving",
        Language::Rust,
        &["error[E0382]: borrow of moved value: `settings`\n --> src/server/mod.rs:88:9"],
    ),
    (
        "thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/main.rs:10:5",
        "handle the None case with match or ? instead of unwrap",
        Language::Rust,
        &[
            "thread 'worker-3' panicked at 'called `Option::unwrap()` on a `None` value', crates/db/src/pool.rs:211:37",
        ],
    ),
    (
        "TypeError: Cannot read properties of undefined (reading 'map')",
        "the array is undefined until the fetch resolves: default it to [] before mapping",
        Language::Javascript,
        &["TypeError: Cannot read properties of undefined (reading 'length')"],
    ),
    (
        "Error: listen EADDRINUSE: address already in use :::3000",
        "another process holds the port: stop it (lsof -i :3000) or pick another port",
        Language::Javascript,
        &["Error: listen EADDRINUSE: address already in use 0.0.0.0:8080"],
    ),
    (
        "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x48f3a2]",
        "a pointer was nil: check the error returned before using the value",
        Language::Go,
        &[
            "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x2 addr=0x18 pc=0x6b1c44]",
        ],
    ),
    (
        "fatal error: all goroutines are asleep - deadlock!",
        "a channel send has no receiver: buffer the channel or start the receiver first",
        Language::Go,
        &["every goroutine is blocked: deadlock, all goroutines asleep"],
    ),
    (
        "asyncio.exceptions.TimeoutError",
        "raise the client timeout and retry with backoff",
        Language::Python,
        &["asyncio TimeoutError while awaiting the HTTP response"],
    ),
];

#[test]
fn real_errors_are_recalled_first_among_pylint_distractors() {
    let f = Fixture::new();
    let data = shared_dir().join("data/errors");
    // One real emitted message per documented pylint message.
    let mut first_message: HashMap<String, String> = HashMap::new();
    for line in std::fs::read_to_string(data.join("pylint_functional_messages.jsonl"))
        .expect("messages")
        .lines()
    {
        let m: PylintMessage = serde_json::from_str(line).expect("message");
        first_message.entry(m.message_id).or_insert(m.message);
    }
    let mut distractors = 0;
    for line in std::fs::read_to_string(data.join("pylint_message_docs.jsonl"))
        .expect("docs")
        .lines()
    {
        let doc: PylintDoc = serde_json::from_str(line).expect("doc");
        let message = first_message
            .get(&doc.message_id)
            .cloned()
            .unwrap_or_else(|| doc.message_id.replace('-', " "));
        let fixed: Vec<&str> = doc
            .files
            .iter()
            .filter(|(name, code)| name.starts_with("good") && !code.trim().is_empty())
            .map(|(_, code)| code.as_str())
            .collect();
        let resolution = if fixed.is_empty() {
            format!("see pylint's documentation of {}", doc.message_id)
        } else {
            fixed.join("\n")
        };
        f.memory
            .store_error(ErrorInput {
                language: Language::Python,
                source: "pylint".into(),
                context: doc.message_id.clone(),
                ..ErrorInput::new(message, resolution, true)
            })
            .expect("store distractor");
        distractors += 1;
    }
    assert_eq!(distractors, 441);
    let mut ids = Vec::new();
    for (message, resolution, language, _) in CASES {
        let stored = f
            .memory
            .store_error(ErrorInput {
                language: *language,
                ..ErrorInput::new(*message, *resolution, true)
            })
            .expect("store");
        ids.push(stored.id);
    }
    let mut failures = Vec::new();
    let mut queries = 0;
    for ((message, _, _, paraphrases), id) in CASES.iter().zip(&ids) {
        for query in *paraphrases {
            queries += 1;
            let found = f.memory.recall_error_solutions(query, 3).expect("recall");
            if found.first().map(|r| r.id) != Some(*id) {
                failures.push(format!(
                    "{query:?} should recall {message:?}, got {:?}",
                    found
                        .iter()
                        .map(|r| &r.record.error_message)
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(queries >= 12, "fastapi twice plus at least ten more");
    assert!(
        failures.is_empty(),
        "{} of {queries} missed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
