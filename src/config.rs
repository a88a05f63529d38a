//! Configuration: command-line flags > `ENGRAM_*` environment > `engram.toml` > defaults.
//!
//! The file is the one `--config` or `ENGRAM_CONFIG` names, else `./engram.toml`, else
//! `$ENGRAM_HOME/engram.toml`, if present. Unknown keys are an error, so a typo cannot
//! silently fall back to a default:
//!
//! ```toml
//! data_dir = "/var/lib/engram"      # the embedded store (default ~/.local/share/engram/data)
//!
//! [qdrant]                          # use a Qdrant server instead of the embedded store
//! url = "http://qdrant:6334"
//! api_key = "…"
//! namespace = "prod"                # collection prefix (default "engram")
//!
//! [model]
//! dir = "/opt/models/all-MiniLM-L6-v2"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::embed::ModelSources;
use crate::store::RemoteConfig;

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not valid, or has unknown keys.
    #[error("config file {}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    qdrant: Option<FileQdrant>,
    model: Option<FileModel>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQdrant {
    url: Option<String>,
    api_key: Option<String>,
    namespace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    dir: Option<PathBuf>,
}

/// Values given on the command line or in the environment; `None` defers to the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Config file to read instead of the default places.
    pub config_file: Option<PathBuf>,
    /// Data directory of the embedded store.
    pub data_dir: Option<PathBuf>,
    /// Qdrant server URL.
    pub qdrant_url: Option<String>,
    /// Qdrant API key.
    pub qdrant_api_key: Option<String>,
    /// Collection namespace on the server.
    pub namespace: Option<String>,
    /// Model folder.
    pub model_dir: Option<PathBuf>,
}

impl Overrides {
    /// The `ENGRAM_*` environment variables.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let text = |name: &str| var(name).map(|v| v.to_string_lossy().into_owned());
        Self {
            config_file: var("ENGRAM_CONFIG").map(PathBuf::from),
            data_dir: var("ENGRAM_DATA_DIR").map(PathBuf::from),
            qdrant_url: text("ENGRAM_QDRANT_URL"),
            qdrant_api_key: text("ENGRAM_QDRANT_API_KEY"),
            namespace: text("ENGRAM_NAMESPACE"),
            model_dir: var("ENGRAM_MODEL_DIR").map(PathBuf::from),
        }
    }
}

/// Where the memory lives.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreConfig {
    /// The embedded store in this data directory.
    Edge(PathBuf),
    /// A Qdrant server or cluster.
    Remote(RemoteConfig),
}

/// engram's resolved configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The store.
    pub store: StoreConfig,
    /// Where the model comes from.
    pub model: ModelSources,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
}

impl Config {
    /// The configuration the environment and the default file give.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::resolve(Overrides::from_env())
    }

    /// The configuration with `overrides` on top of the file and the defaults.
    pub fn resolve(overrides: Overrides) -> Result<Self, ConfigError> {
        let (file, path) = match overrides.config_file.clone() {
            Some(path) => (read_file(&path)?, Some(path)),
            None => match default_file() {
                Some(path) => (read_file(&path)?, Some(path)),
                None => (FileConfig::default(), None),
            },
        };
        let qdrant = file.qdrant.unwrap_or_default();
        let store = match overrides.qdrant_url.or(qdrant.url) {
            Some(url) => {
                let mut remote = RemoteConfig::new(url);
                remote.api_key = overrides.qdrant_api_key.or(qdrant.api_key);
                if let Some(namespace) = overrides.namespace.or(qdrant.namespace) {
                    remote.namespace = namespace;
                }
                StoreConfig::Remote(remote)
            }
            None => StoreConfig::Edge(
                overrides
                    .data_dir
                    .or(file.data_dir)
                    .unwrap_or_else(crate::paths::default_data_dir),
            ),
        };
        let mut model = ModelSources::from_env();
        if let Some(dir) = overrides.model_dir.or(file.model.and_then(|m| m.dir)) {
            model.explicit_dir = Some(dir);
        }
        Ok(Self {
            store,
            model,
            file: path,
        })
    }
}

fn default_file() -> Option<PathBuf> {
    [
        PathBuf::from("engram.toml"),
        crate::paths::engram_home().join("engram.toml"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = fs_err::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("engram.toml");
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn overrides_beat_the_file_which_beats_the_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "data_dir = \"/from/file\"\n[qdrant]\nnamespace = \"filens\"\n",
        );
        let from_file = Config::resolve(Overrides {
            config_file: Some(path.clone()),
            ..Overrides::default()
        })
        .expect("config");
        assert_eq!(from_file.store, StoreConfig::Edge("/from/file".into()));
        let flagged = Config::resolve(Overrides {
            config_file: Some(path.clone()),
            data_dir: Some("/from/flag".into()),
            ..Overrides::default()
        })
        .expect("config");
        assert_eq!(flagged.store, StoreConfig::Edge("/from/flag".into()));
        let remote = Config::resolve(Overrides {
            config_file: Some(path),
            qdrant_url: Some("http://q:6334".into()),
            ..Overrides::default()
        })
        .expect("config");
        let StoreConfig::Remote(remote) = remote.store else {
            panic!("a URL selects the server");
        };
        assert_eq!(remote.url, "http://q:6334");
        assert_eq!(
            remote.namespace, "filens",
            "the file fills what the flags leave open"
        );
    }

    #[test]
    fn unknown_keys_and_broken_files_are_errors_with_the_place() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "data_dri = \"/typo\"\n");
        let error = Config::resolve(Overrides {
            config_file: Some(path.clone()),
            ..Overrides::default()
        })
        .expect_err("typo");
        let text = error.to_string();
        assert!(
            text.contains("data_dri") && text.contains("engram.toml"),
            "{text}"
        );
        write(dir.path(), "[qdrant\nurl = 1\n");
        let error = Config::resolve(Overrides {
            config_file: Some(path),
            ..Overrides::default()
        })
        .expect_err("broken");
        assert!(error.to_string().contains("line 1"), "{error}");
        let missing = Config::resolve(Overrides {
            config_file: Some(dir.path().join("nope.toml")),
            ..Overrides::default()
        })
        .expect_err("missing");
        assert!(matches!(missing, ConfigError::Read { .. }));
    }
}
