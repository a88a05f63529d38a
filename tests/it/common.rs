//! Fixtures shared by the integration tests.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use engram::embed::{
    ALL_MINILM_L6_V2, EmbedderOptions, ModelSources, Provisioner, SentenceEmbedder,
};

/// `../shared` beside the repository (override with `ENGRAM_SHARED_DIR`).
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("ENGRAM_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("fixtures").is_dir(),
        "the shared material is missing: expected {} (set ENGRAM_SHARED_DIR)",
        dir.display()
    );
    dir
}

/// The folder of a verified, installed copy of the default model, installing it first if
/// needed (the same path a user's first `engram` command takes).
pub fn installed_model_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let provisioner = Provisioner::new(ALL_MINILM_L6_V2, default_sources());
        provisioner
            .install(false)
            .unwrap_or_else(|error| panic!("the model could not be installed: {error}"))
            .dir
    })
}

/// The environment's sources, minus any explicit folder the developer may have set.
pub fn default_sources() -> ModelSources {
    ModelSources {
        explicit_dir: None,
        ..ModelSources::from_env()
    }
}

/// The default model with default options, loaded once for the whole test binary.
pub fn embedder() -> &'static SentenceEmbedder {
    shared_embedder()
}

/// The same embedder, shareable with a `Memory`.
pub fn shared_embedder() -> &'static Arc<SentenceEmbedder> {
    static EMBEDDER: OnceLock<Arc<SentenceEmbedder>> = OnceLock::new();
    EMBEDDER.get_or_init(|| {
        let sources = ModelSources {
            explicit_dir: Some(installed_model_dir().to_path_buf()),
            ..default_sources()
        };
        let files = Provisioner::new(ALL_MINILM_L6_V2, sources)
            .load()
            .unwrap_or_else(|error| panic!("the model could not be loaded: {error}"));
        Arc::new(
            SentenceEmbedder::load(ALL_MINILM_L6_V2.name, files, &EmbedderOptions::new())
                .unwrap_or_else(|error| panic!("the model could not be built: {error}")),
        )
    })
}

/// Sources that can provide nothing: an empty engram folder and Hugging Face cache in
/// `root`, a hub endpoint that refuses connections, and no Python.
pub fn unavailable_sources(root: &Path) -> ModelSources {
    ModelSources {
        explicit_dir: None,
        models_dir: root.join("models"),
        hf_cache_dir: Some(root.join("hf")),
        hub_endpoint: Some(refused_endpoint()),
        python: Some("/nonexistent/python3".into()),
    }
}

/// An http endpoint on loopback where nothing listens.
pub fn refused_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Copies the installed model into `dest` (hard links where possible, so tests stay cheap),
/// except the files in `copy_for_real`, which get their own bytes so they can be damaged.
pub fn clone_model(dest: &Path, copy_for_real: &[&str]) {
    let source = installed_model_dir();
    for file in ALL_MINILM_L6_V2.files {
        let from = source.join(file.path);
        let to = dest.join(file.path);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        if copy_for_real.contains(&file.path) || std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).expect("copy");
        }
    }
}

/// Lays out `model_dir`'s files as the Hugging Face cache does under `cache`.
pub fn make_hf_cache(cache: &Path) -> PathBuf {
    let repo = cache.join("models--sentence-transformers--all-MiniLM-L6-v2");
    let snapshot = repo
        .join("snapshots")
        .join("c9745ed1d9f207416be6d2e6f8de32d1f16199bf");
    clone_model(&snapshot, &[]);
    std::fs::create_dir_all(repo.join("refs")).expect("mkdir");
    std::fs::write(
        repo.join("refs").join("main"),
        "c9745ed1d9f207416be6d2e6f8de32d1f16199bf",
    )
    .expect("write ref");
    snapshot
}

/// The `engram` binary run in `home` with a clean environment: its data there, the
/// installed model, and no network source or server configured.
pub fn engram_at(home: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_engram"));
    command
        .current_dir(home)
        .env_remove("ENGRAM_CONFIG")
        .env_remove("ENGRAM_QDRANT_URL")
        .env_remove("ENGRAM_NAMESPACE")
        .env("ENGRAM_HOME", home)
        .env("ENGRAM_DATA_DIR", home.join("data"))
        .env("ENGRAM_MODEL_DIR", installed_model_dir())
        .env("HF_HOME", home.join("hf"))
        .env("HF_ENDPOINT", refused_endpoint())
        .env("ENGRAM_PYTHON", "");
    command
}

/// The stdout of a command that must have succeeded; its exit code and stderr otherwise.
pub fn success_stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// Starts `command` (an `engram serve … --listen 127.0.0.1:0`); returns the child, its base
/// URL and the rest of its log as it comes.
pub fn serve(
    mut command: std::process::Command,
) -> (
    std::process::Child,
    String,
    std::sync::mpsc::Receiver<String>,
) {
    use std::io::{BufRead, BufReader};
    if !command.get_envs().any(|(name, _)| name == "ENGRAM_LOG") {
        command.env("ENGRAM_LOG", "engram=info");
    }
    let mut child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn engram serve");
    let stderr = child.stderr.take().expect("stderr");
    let (found, url) = std::sync::mpsc::channel();
    let (log_tx, log) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(at) = line.find("http://127.0.0.1:") {
                let rest = &line[at..];
                let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
                let _ = found.send(rest[..end].to_owned());
                sent = true;
            }
            let _ = log_tx.send(line);
        }
    });
    let base = url
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the server announces its address");
    (child, base, log)
}

/// `memories` distinct memory texts from LoCoMo (its conversation turns, observations,
/// event and session summaries, then questions past the first `queries`) and its first
/// `queries` distinct questions as the queries.
pub fn locomo_texts(memories: usize, queries: usize) -> (Vec<String>, Vec<String>) {
    let path = shared_dir().join("data/locomo/locomo10.json");
    let samples: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("locomo")).expect("json");
    fn strings(value: &serde_json::Value, into: &mut Vec<String>) {
        match value {
            serde_json::Value::String(text) if text.chars().count() >= 20 => {
                into.push(text.clone())
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, into)),
            serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, into)),
            _ => {}
        }
    }
    let mut texts = Vec::new();
    for sample in &samples {
        let conversation = sample["conversation"].as_object().expect("conversation");
        for turns in conversation
            .values()
            .filter_map(serde_json::Value::as_array)
        {
            texts.extend(
                turns
                    .iter()
                    .filter_map(|t| t["text"].as_str().map(str::to_owned)),
            );
        }
    }
    for field in ["observation", "event_summary", "session_summary"] {
        for sample in &samples {
            strings(&sample[field], &mut texts);
        }
    }
    let mut questions = Vec::new();
    for sample in &samples {
        for qa in sample["qa"].as_array().into_iter().flatten() {
            questions.extend(qa["question"].as_str().map(str::to_owned));
        }
    }
    let mut seen = std::collections::HashSet::new();
    questions.retain(|q| seen.insert(q.clone()));
    let asked: Vec<String> = questions.drain(..queries).collect();
    texts.extend(questions);
    let mut seen: std::collections::HashSet<String> = asked.iter().cloned().collect();
    texts.retain(|t| !t.trim().is_empty() && seen.insert(t.clone()));
    texts.truncate(memories);
    assert_eq!(texts.len(), memories);
    (texts, asked)
}
