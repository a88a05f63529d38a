//! The `engram` binary, run as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

use engram::embed::{Embedder, ModelSpec, cosine};
use serde_json::Value;

use crate::common::{clone_model, embedder, installed_model_dir, refused_endpoint};

/// `engram` with a clean environment: only what the test sets decides where the model is.
fn engram(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_engram"));
    command
        .env_remove("ENGRAM_MODEL_DIR")
        .env_remove("ENGRAM_DATA_DIR")
        .env_remove("ENGRAM_QDRANT_URL")
        .env_remove("ENGRAM_QDRANT_API_KEY")
        .env_remove("ENGRAM_NAMESPACE")
        .env_remove("HF_HUB_CACHE")
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("ENGRAM_EMBED_PRECISION")
        .env("ENGRAM_HOME", home)
        .env("HF_HOME", home.join("hf"))
        .env("HF_ENDPOINT", refused_endpoint())
        .env("ENGRAM_PYTHON", "/nonexistent/python3");
    command
}

/// `engram` that finds the installed model through `--model-dir`.
fn engram_with_model(home: &Path) -> Command {
    let mut command = engram(home);
    command.arg("--model-dir").arg(installed_model_dir());
    command
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}, stderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

#[test]
fn embed_json_gives_vectors_and_similarities_that_match_the_library() {
    let home = tempfile::tempdir().expect("tempdir");
    let texts = [
        "ModuleNotFoundError: No module named 'fastapi'",
        "Cannot import fastapi",
        "Singleton pattern: a class with exactly one shared instance",
    ];
    let output = engram_with_model(home.path())
        .arg("embed")
        .args(texts)
        .arg("--json")
        .output()
        .expect("run");
    let report = stdout_json(&output);
    assert_eq!(report["model"], "all-MiniLM-L6-v2");
    assert_eq!(report["dimension"], 384);
    let library = embedder().embed_batch(&texts).expect("embed");
    let items = report["texts"].as_array().expect("texts");
    assert_eq!(items.len(), 3);
    for (item, expected) in items.iter().zip(&library) {
        let vector: Vec<f32> = serde_json::from_value(item["embedding"].clone()).expect("vector");
        assert_eq!(vector.len(), 384);
        assert!(cosine(&vector, expected) > 0.99999);
    }
    assert_eq!(items[0]["tokens"], 16);
    let similarity: Vec<Vec<f32>> =
        serde_json::from_value(report["similarity"].clone()).expect("matrix");
    for i in 0..3 {
        assert!((similarity[i][i] - 1.0).abs() < 1e-5);
        for j in 0..3 {
            assert_eq!(similarity[i][j], similarity[j][i]);
            assert!((similarity[i][j] - cosine(&library[i], &library[j])).abs() < 1e-5);
        }
    }
    assert!(
        similarity[0][1] > similarity[0][2] + 0.3,
        "the two fastapi errors are closer than the singleton: {similarity:?}"
    );
}

#[test]
fn embed_reads_texts_from_stdin_and_prints_a_table() {
    use std::io::Write;
    let home = tempfile::tempdir().expect("tempdir");
    let mut child = engram_with_model(home.path())
        .args(["embed", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"first line\nsecond line\n")
        .expect("write");
    let output = child.wait_with_output().expect("wait");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("utf-8");
    assert!(text.contains("384 dimensions · 2 texts"), "{text}");
    assert!(
        text.contains("first line") && text.contains("second line"),
        "{text}"
    );
    assert!(text.contains("cosine similarity"), "{text}");
}

#[test]
fn a_missing_model_exits_3_and_lists_every_source() {
    let home = tempfile::tempdir().expect("tempdir");
    let output = engram(home.path())
        .args(["embed", "hello"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in [
        "engram model folder",
        "Hugging Face cache",
        "Hugging Face hub",
        "pip package",
        "engram model install",
    ] {
        assert!(stderr.contains(needle), "missing {needle:?} in:\n{stderr}");
    }
    assert!(output.stdout.is_empty());
}

#[test]
fn a_corrupt_model_exits_3_naming_the_checksum_and_the_fix() {
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home.path().join("models").join("all-MiniLM-L6-v2");
    clone_model(&dir, &[ModelSpec::WEIGHTS]);
    let weights = dir.join(ModelSpec::WEIGHTS);
    let mut bytes = std::fs::read(&weights).expect("read");
    bytes.truncate(bytes.len() - 1000);
    std::fs::write(&weights, bytes).expect("write");
    let output = engram(home.path())
        .args(["embed", "hello"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("failed its sha256 check"), "{stderr}");
    assert!(
        stderr.contains("53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
        "{stderr}"
    );
    assert!(stderr.contains("engram model install --force"), "{stderr}");

    let info = engram(home.path())
        .args(["model", "info", "--json"])
        .output()
        .expect("run");
    let info = stdout_json(&info);
    assert_eq!(info["in_use"], Value::Null);
    assert!(
        info["sources"][0]["status"]
            .as_str()
            .is_some_and(|s| s.contains("sha256")),
        "{info}"
    );
}

#[test]
fn model_info_shows_the_folder_in_use_and_its_shape() {
    let home = tempfile::tempdir().expect("tempdir");
    let output = engram_with_model(home.path())
        .args(["model", "info", "--json"])
        .output()
        .expect("run");
    let info = stdout_json(&output);
    assert_eq!(info["model"], "all-MiniLM-L6-v2");
    assert_eq!(info["in_use"]["source"], "explicit");
    assert_eq!(
        info["in_use"]["location"],
        installed_model_dir().display().to_string()
    );
    assert_eq!(info["config"]["dimension"], 384);
    assert_eq!(info["config"]["layers"], 6);
    let fastest = if engram::embed::Kernel::bf16_available() {
        "bf16-avx512"
    } else if engram::embed::Kernel::Int8Avx2.available() {
        "int8-avx2"
    } else {
        engram::embed::Kernel::f32_best().name()
    };
    assert_eq!(info["kernel"], fastest);
    // Which instructions run it: AVX-512 wherever the CPU has it.
    let instructions = info["instructions"].as_str().expect("instructions named");
    #[cfg(target_arch = "x86_64")]
    assert_eq!(
        instructions.contains("AVX-512"),
        std::arch::is_x86_feature_detected!("avx512f"),
        "{instructions}"
    );
    assert!(!instructions.is_empty());

    // The precision setting is honoured, and a wrong one is reported, not ignored.
    let forced = engram_with_model(home.path())
        .args(["model", "info", "--json"])
        .env("ENGRAM_EMBED_PRECISION", "f32")
        .output()
        .expect("run");
    assert_eq!(
        stdout_json(&forced)["kernel"],
        engram::embed::Kernel::f32_best().name()
    );
    let wrong = engram_with_model(home.path())
        .args(["embed", "some text"])
        .env("ENGRAM_EMBED_PRECISION", "int4")
        .output()
        .expect("run");
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains("unknown precision"), "{stderr}");
}

#[test]
fn model_install_copies_from_the_hugging_face_cache_then_reports_it_is_there() {
    let home = tempfile::tempdir().expect("tempdir");
    crate::common::make_hf_cache(&home.path().join("hf").join("hub"));
    let first = engram(home.path())
        .args(["model", "install", "--json"])
        .output()
        .expect("run");
    let first = stdout_json(&first);
    assert_eq!(first["changed"], true);
    assert_eq!(first["source"], "hf_cache");
    let second = engram(home.path())
        .args(["model", "install"])
        .output()
        .expect("run");
    assert!(second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stdout).contains("already installed"),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
}

#[test]
fn bad_flags_exit_2() {
    let home = tempfile::tempdir().expect("tempdir");
    let output = engram(home.path())
        .args(["embed", "x", "--batch-size", "0"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let output = engram(home.path()).args(["embed"]).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_closed_stdout_is_not_an_error() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut child = engram_with_model(home.path())
        .args(["embed", "a", "b", "c", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn stats_counts_entries_and_still_answers_while_another_process_holds_the_store() {
    use engram::memory::Memory;
    use engram::store::Store;
    let home = tempfile::tempdir().expect("tempdir");
    let data = home.path().join("data");
    {
        let store = Store::open_edge(&data).expect("open");
        let memory = Memory::new(
            store,
            std::sync::Arc::clone(crate::common::shared_embedder()) as _,
        )
        .expect("memory");
        for (message, resolution) in [
            ("KeyError: 'a'", "use get"),
            ("IndexError: list index out of range", "check the length"),
        ] {
            memory
                .store_error_resolution(message, "", resolution, true)
                .expect("store");
        }
    }
    let free = engram(home.path())
        .args(["stats", "--json", "--data-dir"])
        .arg(&data)
        .output()
        .expect("run");
    let report = stdout_json(&free);
    assert_eq!(report["collections"][2]["collection"], "errors");
    assert_eq!(report["collections"][2]["entries"], 2);
    assert_eq!(report["collections"][2]["by_source"]["api"], 2);
    assert_eq!(report["collections"][0]["entries"], 0);

    let _held = Store::open_edge(&data).expect("this process holds the store now");
    let busy = engram(home.path())
        .args(["stats", "--data-dir"])
        .arg(&data)
        .output()
        .expect("run");
    assert!(
        busy.status.success(),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );
    let text = String::from_utf8_lossy(&busy.stdout);
    assert!(
        text.contains(&format!("in use by pid {}", std::process::id())),
        "{text}"
    );
    assert!(
        text.contains("errors") && text.contains("code_patterns"),
        "{text}"
    );
}

#[test]
fn bench_prints_the_table_and_writes_json_and_chart() {
    let home = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    crate::bench::cosqa_slice(data.path(), 10, 60);
    let json = home.path().join("report.json");
    let chart = home.path().join("report.svg");
    let output = engram_with_model(home.path())
        .args(["bench", "cosqa", "--mode", "all", "--data"])
        .arg(data.path())
        .arg("--json")
        .arg(&json)
        .arg("--plot")
        .arg(&chart)
        .output()
        .expect("run engram");
    assert!(
        output.status.success(),
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("cosqa · 60 documents · 10 questions"),
        "{table}"
    );
    for row in ["dense ", "bm25 ", "hybrid ", "search p50/p95/p99 ms"] {
        assert!(table.contains(row), "{row} in\n{table}");
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written")).expect("JSON");
    assert_eq!(report["modes"].as_array().map(Vec::len), Some(3));
    assert_eq!(report["documents"], 60);
    let svg = std::fs::read_to_string(&chart).expect("chart written");
    assert!(svg.starts_with("<svg") && svg.contains("hybrid"));

    // A folder without the data set: a clear error, nothing written.
    let missing = home.path().join("missing.json");
    let output = engram_with_model(home.path())
        .args(["bench", "cosqa", "--data"])
        .arg(home.path().join("nowhere"))
        .arg("--json")
        .arg(&missing)
        .output()
        .expect("run engram");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nowhere") && stderr.contains("--data"),
        "{stderr}"
    );
    assert!(!missing.exists());
}

#[test]
fn snapshot_create_verify_and_restore_and_a_refused_migration() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let c = tempfile::tempdir().expect("tempdir");
    let run = |home: &Path, args: &[&str]| {
        engram_with_model(home)
            .env("ENGRAM_DATA_DIR", home.join("data"))
            .args(args)
            .output()
            .expect("run")
    };
    let added = stdout_json(&run(
        a.path(),
        &[
            "memories",
            "add",
            "The nightly build needs 16 GB of RAM",
            "--tier",
            "long",
        ],
    ));
    let file = a.path().join("store.snapshot");
    let file_arg = file.to_str().expect("utf-8 path");
    let created = stdout_json(&run(a.path(), &["snapshot", "create", file_arg, "--json"]));
    let memories = created["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .find(|c| c["name"] == "memories")
        .expect("memories");
    assert_eq!(memories["points"], 1);
    assert!(!a.path().join("store.snapshot.partial").exists());
    let verified = stdout_json(&run(a.path(), &["snapshot", "verify", file_arg, "--json"]));
    assert_eq!(verified["sha256"], created["sha256"]);
    assert_eq!(verified["bytes"], created["bytes"]);

    let restored = run(b.path(), &["snapshot", "restore", file_arg]);
    let text = String::from_utf8_lossy(&restored.stdout);
    assert!(
        restored.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(text.contains("restored into Qdrant Edge at"), "{text}");
    let found = stdout_json(&run(
        b.path(),
        &[
            "memories",
            "search",
            "how much memory does the build need",
            "--limit",
            "1",
        ],
    ));
    assert_eq!(found[0]["memory"]["id"], added["id"]);
    // Again into the store that now holds it: refused, exit 2.
    let again = run(b.path(), &["snapshot", "restore", file_arg]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // One digit of a stored vector changed (the file stays valid JSON lines): refused with
    // the checksum, exit 2, nothing written.
    let mut bytes = std::fs::read(&file).expect("read");
    let vector = b"\"vector\":[";
    let start = bytes
        .windows(vector.len())
        .position(|w| w == vector)
        .expect("a point's vector")
        + vector.len();
    let at = start
        + bytes[start..]
            .iter()
            .position(u8::is_ascii_digit)
            .expect("a digit");
    bytes[at] = if bytes[at] == b'9' {
        b'8'
    } else {
        bytes[at] + 1
    };
    let damaged = c.path().join("damaged.snapshot");
    std::fs::write(&damaged, &bytes).expect("write");
    let refused = run(
        c.path(),
        &["snapshot", "restore", damaged.to_str().expect("utf-8")],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("checksum mismatch") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    let collections = c.path().join("data/collections");
    assert!(
        !collections.exists()
            || std::fs::read_dir(&collections)
                .expect("dir")
                .next()
                .is_none(),
        "no collection was created"
    );

    // A migration to a server that is not there fails, naming it.
    let migrated = run(a.path(), &["migrate", "--to", &refused_endpoint()]);
    let stderr = String::from_utf8_lossy(&migrated.stderr);
    assert!(!migrated.status.success(), "{stderr}");
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
}
