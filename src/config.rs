//! Configuration: command-line flags > `ENGRAM_*` environment > `engram.toml` > defaults.
//!
//! The file is the one `--config` or `ENGRAM_CONFIG` names, else `./engram.toml`, else
//! `$ENGRAM_HOME/engram.toml`, if present. Unknown keys are an error, so a typo cannot
//! silently fall back to a default:
//!
//! ```toml
//! data_dir = "/var/lib/engram"      # the embedded store (default ~/.local/share/engram/data)
//! lock_timeout_secs = 10            # how long to wait for a data directory another process
//!                                   # holds (default 10; 0 fails at once)
//!
//! [qdrant]                          # use a Qdrant server instead of the embedded store
//! url = "http://qdrant:6334"        # or every node's URL, comma-separated
//! api_key = "…"
//! namespace = "prod"                # collection prefix (default "engram")
//! replication_factor = 2            # copies of each shard of new collections (default 2:
//!                                   # one node can be lost; a single node keeps one copy)
//! write_consistency_factor = 1      # replicas that acknowledge a write (default: the server's)
//! shard_number = 3                  # shards of new collections (default: the server's,
//!                                   # one per node)
//! write_ordering = "medium"         # medium (default), strong or weak
//! read_consistency = 1              # a number of replicas (default 1), majority, all or quorum
//!
//! [model]
//! dir = "/opt/models/all-MiniLM-L6-v2"
//!
//! [server]                          # engram serve
//! listen = "0.0.0.0:7437"           # default 127.0.0.1:7437
//! api_keys = ["…"]                  # admin keys; some key is required unless on loopback
//! agent_keys = { "coder-1" = "…" }  # keys bound to an agent: MCP calls made with one act
//!                                   # as that agent (ENGRAM_AGENT_KEYS="coder-1=…,…")
//! agent_workspaces = { "coder-1" = "acme" }  # an agent's key works only in this workspace
//!                                   # of agent memory (ENGRAM_AGENT_WORKSPACES="coder-1=acme")
//! body_limit_bytes = 2097152        # largest request body (default 2 MiB)
//! request_timeout_secs = 30         # per request (default 30)
//! max_in_flight = 64                # requests worked on at once; more get 503 (default 64)
//! seeds_dir = "/opt/engram/seeds"   # what POST /v1/knowledge/seed loads
//!
//! [memories]                        # general memory's retrieval score (memories/scoring.rs)
//! relevance_weight = 1.0            # weights of the four parts (defaults 1, 0.5, 0.5, 0.25)
//! recency_weight = 0.5
//! importance_weight = 0.5
//! reinforcement_weight = 0.25
//! short_half_life_hours = 6         # recency half-life per tier (defaults 6, 168, 2160)
//! medium_half_life_hours = 168
//! long_half_life_hours = 2160
//! short_ttl_hours = 24              # a short-term memory expires this long after its last
//!                                   # touch unless reinforced or promoted (default 24)
//!
//! [swarm]                           # swarm memory (swarm/)
//! retention_hours = { session = 24, neural = 720 }  # per category: an entry expires this
//!                                   # long after its last write (default: session = 24)
//!
//! [quotas]                          # per agent, for keys bound to one (quota.rs); unset:
//! entries_per_agent = 100000        # unlimited. Records an agent owns (memories, swarm
//! bytes_per_agent = 1073741824      # entries, learnings, interactions) and their bytes
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::embed::ModelSources;
use crate::store::{ReadConsistency, RemoteConfig, WriteOrdering};

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
    lock_timeout_secs: Option<f64>,
    qdrant: Option<FileQdrant>,
    model: Option<FileModel>,
    server: Option<FileServer>,
    memories: Option<crate::memories::Scoring>,
    swarm: Option<crate::swarm::SwarmSettings>,
    quotas: Option<crate::quota::QuotaSettings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQdrant {
    url: Option<String>,
    api_key: Option<String>,
    namespace: Option<String>,
    replication_factor: Option<u32>,
    write_consistency_factor: Option<u32>,
    shard_number: Option<u32>,
    write_ordering: Option<String>,
    read_consistency: Option<TextOrNumber>,
}

/// A setting given as text or as a number (`read_consistency = 1` or `"majority"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TextOrNumber {
    Text(String),
    Number(u64),
}

impl TextOrNumber {
    fn into_text(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServer {
    listen: Option<String>,
    api_keys: Option<Vec<String>>,
    agent_keys: Option<BTreeMap<String, String>>,
    agent_workspaces: Option<BTreeMap<String, String>>,
    body_limit_bytes: Option<usize>,
    request_timeout_secs: Option<u64>,
    max_in_flight: Option<usize>,
    seeds_dir: Option<PathBuf>,
}

/// How `engram serve` listens and protects itself.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Admin bearer keys; some key (admin or agent) is required unless `listen` is a
    /// loopback address.
    pub api_keys: Vec<String>,
    /// Bearer keys bound to an agent, by agent name: a caller with one is that agent.
    pub agent_keys: BTreeMap<String, String>,
    /// The workspace an agent's key is bound to, by agent name: that key may use agent
    /// memory only in this workspace. Agents not listed may use any.
    pub agent_workspaces: BTreeMap<String, String>,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Requests worked on at once; more are refused with 503 and `Retry-After`.
    pub max_in_flight: usize,
    /// The folder `POST /v1/knowledge/seed` loads (default: the seeds engram was built with).
    pub seeds_dir: Option<PathBuf>,
}

impl ServerConfig {
    /// Whether callers must send a key (admin or agent-bound).
    pub fn requires_keys(&self) -> bool {
        !self.api_keys.is_empty() || !self.agent_keys.is_empty()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
            api_keys: Vec::new(),
            agent_keys: BTreeMap::new(),
            agent_workspaces: BTreeMap::new(),
            body_limit_bytes: 2 << 20,
            request_timeout: Duration::from_secs(30),
            max_in_flight: 64,
            seeds_dir: None,
        }
    }
}

/// engram serve's default port.
pub const DEFAULT_PORT: u16 = 7437;

/// Values given on the command line or in the environment; `None` defers to the file.
#[derive(Debug, Clone, Default, PartialEq)]
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
    /// `engram serve`'s listen address.
    pub listen: Option<String>,
    /// `engram serve`'s API keys.
    pub api_keys: Option<Vec<String>>,
    /// `engram serve`'s agent-bound keys, as `agent=key` entries.
    pub agent_keys: Option<Vec<String>>,
    /// `engram serve`'s agent workspaces, as `agent=workspace` entries.
    pub agent_workspaces: Option<Vec<String>>,
    /// Seconds to wait for a data directory another process holds.
    pub lock_timeout_secs: Option<f64>,
    /// Replication factor of new collections on a Qdrant cluster.
    pub replication_factor: Option<u32>,
    /// Write consistency factor of new collections on a Qdrant cluster.
    pub write_consistency_factor: Option<u32>,
    /// Shards of new collections on a Qdrant cluster.
    pub shard_number: Option<u32>,
    /// How writes are ordered among replicas (`strong`, `medium`, `weak`).
    pub write_ordering: Option<String>,
    /// How many replicas answer a point read (`majority`, `all`, `quorum`, or a number).
    pub read_consistency: Option<String>,
}

impl Overrides {
    /// The `ENGRAM_*` environment variables. A number that does not parse (say
    /// `ENGRAM_LOCK_TIMEOUT=ten`) is an error naming the variable, not a silent default.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var_os(name))
    }

    /// [`Overrides::from_env`] over any source of variables (`var` gives a variable's value,
    /// if set); empty values count as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let text = |name: &str| var(name).map(|v| v.to_string_lossy().into_owned());
        fn number<T: std::str::FromStr>(
            text: &dyn Fn(&str) -> Option<String>,
            name: &str,
            what: &str,
        ) -> Result<Option<T>, ConfigError> {
            text(name)
                .map(|text| {
                    text.trim().parse().map_err(|_| ConfigError::Invalid {
                        path: PathBuf::from("(environment)"),
                        message: format!("{name}={text:?} is not {what}"),
                    })
                })
                .transpose()
        }
        let count = "a whole number";
        Ok(Self {
            config_file: var("ENGRAM_CONFIG").map(PathBuf::from),
            data_dir: var("ENGRAM_DATA_DIR").map(PathBuf::from),
            qdrant_url: text("ENGRAM_QDRANT_URL"),
            qdrant_api_key: text("ENGRAM_QDRANT_API_KEY"),
            namespace: text("ENGRAM_NAMESPACE"),
            model_dir: var("ENGRAM_MODEL_DIR").map(PathBuf::from),
            listen: text("ENGRAM_LISTEN"),
            api_keys: text("ENGRAM_API_KEYS").map(|keys| split_keys(&keys)),
            agent_keys: text("ENGRAM_AGENT_KEYS").map(|keys| split_keys(&keys)),
            agent_workspaces: text("ENGRAM_AGENT_WORKSPACES").map(|w| split_keys(&w)),
            lock_timeout_secs: number(&text, "ENGRAM_LOCK_TIMEOUT", "a number of seconds")?,
            replication_factor: number(&text, "ENGRAM_QDRANT_REPLICATION_FACTOR", count)?,
            write_consistency_factor: number(
                &text,
                "ENGRAM_QDRANT_WRITE_CONSISTENCY_FACTOR",
                count,
            )?,
            shard_number: number(&text, "ENGRAM_QDRANT_SHARD_NUMBER", count)?,
            write_ordering: text("ENGRAM_QDRANT_WRITE_ORDERING"),
            read_consistency: text("ENGRAM_QDRANT_READ_CONSISTENCY"),
        })
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
    /// `engram serve`'s settings.
    pub server: ServerConfig,
    /// How long opening the embedded store waits for a data directory that another process
    /// holds (default 10 s, like SQLite's busy timeout); then it fails.
    pub lock_timeout: Duration,
    /// General memory's retrieval score and short-term expiry (`[memories]`).
    pub memories: crate::memories::Scoring,
    /// Swarm memory's retention per category (`[swarm]`).
    pub swarm: crate::swarm::SwarmSettings,
    /// Per-agent quotas (`[quotas]`).
    pub quotas: crate::quota::QuotaSettings,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
}

/// Default of [`Config::lock_timeout`].
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// `agent=workspace` entries (ENGRAM_AGENT_WORKSPACES) by agent.
fn parse_agent_workspaces(entries: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut bound = BTreeMap::new();
    for entry in entries {
        let Some((agent, workspace)) = entry.split_once('=') else {
            return Err(format!(
                "agent workspace entry {entry:?} is not agent=workspace"
            ));
        };
        let agent = crate::text::label(agent).to_owned();
        if bound
            .insert(agent.clone(), workspace.trim().to_owned())
            .is_some()
        {
            return Err(format!(
                "agent {agent:?} is bound to more than one workspace"
            ));
        }
    }
    Ok(bound)
}

/// `agent=key` entries (ENGRAM_AGENT_KEYS) by agent; the agent name ends at the first `=`.
fn parse_agent_keys(entries: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut keys = BTreeMap::new();
    for entry in entries {
        let Some((agent, key)) = entry.split_once('=') else {
            return Err(format!(
                "agent key entry {:?} is not agent=key",
                entry.chars().take(12).collect::<String>()
            ));
        };
        let agent = crate::text::label(agent).to_owned();
        if keys.insert(agent.clone(), key.trim().to_owned()).is_some() {
            return Err(format!("agent {agent:?} has more than one key"));
        }
    }
    Ok(keys)
}

/// API keys given as one comma-separated string.
pub fn split_keys(keys: &str) -> Vec<String> {
    keys.split(',')
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect()
}

impl Config {
    /// The configuration the environment and the default file give.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::resolve(Overrides::from_env()?)
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
        let invalid = |message: String| ConfigError::Invalid {
            path: path
                .clone()
                .unwrap_or_else(|| PathBuf::from("(flags and environment)")),
            message,
        };
        let qdrant = file.qdrant.unwrap_or_default();
        let write_ordering = overrides
            .write_ordering
            .or(qdrant.write_ordering)
            .map(|text| text.parse::<WriteOrdering>())
            .transpose()
            .map_err(invalid)?;
        let read_consistency = overrides
            .read_consistency
            .or(qdrant.read_consistency.map(TextOrNumber::into_text))
            .map(|text| text.parse::<ReadConsistency>())
            .transpose()
            .map_err(invalid)?;
        let store = match overrides.qdrant_url.or(qdrant.url) {
            Some(url) => {
                let mut remote = RemoteConfig::new(url);
                remote.api_key = overrides.qdrant_api_key.or(qdrant.api_key);
                if let Some(namespace) = overrides.namespace.or(qdrant.namespace) {
                    remote.namespace = namespace;
                }
                if let Some(factor) = overrides.replication_factor.or(qdrant.replication_factor) {
                    remote.replication_factor = factor;
                }
                remote.write_consistency_factor = overrides
                    .write_consistency_factor
                    .or(qdrant.write_consistency_factor);
                remote.shard_number = overrides.shard_number.or(qdrant.shard_number);
                for (what, value) in [
                    ("replication factor", Some(remote.replication_factor)),
                    ("write consistency factor", remote.write_consistency_factor),
                    ("shard number", remote.shard_number),
                ] {
                    if value == Some(0) {
                        return Err(invalid(format!("the {what} must be 1 or more, not 0")));
                    }
                }
                if let Some(ordering) = write_ordering {
                    remote.write_ordering = ordering;
                }
                if let Some(consistency) = read_consistency {
                    remote.read_consistency = consistency;
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
        let lock_timeout = match overrides.lock_timeout_secs.or(file.lock_timeout_secs) {
            Some(secs) if secs.is_finite() && (0.0..=3600.0).contains(&secs) => {
                Duration::from_secs_f64(secs)
            }
            Some(secs) => {
                return Err(invalid(format!(
                    "lock timeout {secs} s must be a number of seconds from 0 to 3600"
                )));
            }
            None => DEFAULT_LOCK_TIMEOUT,
        };
        let server = server_config(
            file.server.unwrap_or_default(),
            overrides.listen,
            overrides.api_keys,
            overrides.agent_keys,
            overrides.agent_workspaces,
        )
        .map_err(invalid)?;
        let memories = file.memories.unwrap_or_default();
        memories.validate().map_err(invalid)?;
        let swarm = file.swarm.unwrap_or_default();
        swarm.validate().map_err(invalid)?;
        let quotas = file.quotas.unwrap_or_default();
        quotas.validate().map_err(invalid)?;
        Ok(Self {
            store,
            model,
            server,
            lock_timeout,
            memories,
            swarm,
            quotas,
            file: path,
        })
    }
}

fn server_config(
    file: FileServer,
    listen: Option<String>,
    api_keys: Option<Vec<String>>,
    agent_keys: Option<Vec<String>>,
    agent_workspaces: Option<Vec<String>>,
) -> Result<ServerConfig, String> {
    let defaults = ServerConfig::default();
    let listen = match listen.or(file.listen) {
        Some(text) => parse_listen(&text)?,
        None => defaults.listen,
    };
    let positive = |name: &str, value: Option<usize>, default: usize| match value {
        Some(0) => Err(format!("server.{name} must be at least 1")),
        Some(value) => Ok(value),
        None => Ok(default),
    };
    let timeout = match file.request_timeout_secs {
        Some(0) => return Err("server.request_timeout_secs must be at least 1".into()),
        Some(secs) => Duration::from_secs(secs),
        None => defaults.request_timeout,
    };
    let api_keys = api_keys.or(file.api_keys).unwrap_or_default();
    let agent_keys = match agent_keys {
        Some(entries) => parse_agent_keys(&entries)?,
        None => file.agent_keys.unwrap_or_default(),
    };
    let every_key = api_keys.iter().chain(agent_keys.values());
    if let Some(short) = every_key.clone().find(|k| k.len() < MIN_API_KEY_LEN) {
        return Err(format!(
            "an API key of {} characters is too short to be a secret; use at least {MIN_API_KEY_LEN}",
            short.len()
        ));
    }
    for (agent, key) in &agent_keys {
        crate::text::check_label("an agent key's agent", agent)?;
        if every_key.clone().filter(|k| *k == key).count() > 1 {
            return Err(format!(
                "agent {agent:?}'s key is given more than once: one key names one caller"
            ));
        }
    }
    let agent_workspaces = match agent_workspaces {
        Some(entries) => parse_agent_workspaces(&entries)?,
        None => file.agent_workspaces.unwrap_or_default(),
    };
    let mut checked_workspaces = BTreeMap::new();
    for (agent, workspace) in agent_workspaces {
        let agent = crate::text::label(&agent).to_owned();
        let workspace = crate::text::label(&workspace).to_owned();
        crate::text::check_label("an agent workspace's workspace", &workspace)?;
        if !agent_keys.contains_key(&agent) {
            return Err(format!(
                "agent_workspaces binds agent {agent:?}, which has no agent key"
            ));
        }
        checked_workspaces.insert(agent, workspace);
    }
    Ok(ServerConfig {
        listen,
        api_keys,
        agent_keys,
        agent_workspaces: checked_workspaces,
        body_limit_bytes: positive(
            "body_limit_bytes",
            file.body_limit_bytes,
            defaults.body_limit_bytes,
        )?,
        request_timeout: timeout,
        max_in_flight: positive("max_in_flight", file.max_in_flight, defaults.max_in_flight)?,
        seeds_dir: file.seeds_dir,
    })
}

/// Shortest API key accepted.
pub const MIN_API_KEY_LEN: usize = 16;

/// `host:port`, `:port` or a bare port (loopback).
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(port) = text.trim_start_matches(':').parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        format!("listen address {text:?} is not host:port (e.g. 127.0.0.1:{DEFAULT_PORT} or 0.0.0.0:{DEFAULT_PORT})")
    })
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
    fn environment_numbers_that_do_not_parse_are_errors_naming_the_variable() {
        let from = |pairs: &[(&str, &str)]| {
            let vars: BTreeMap<String, OsString> = pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), OsString::from(value)))
                .collect();
            Overrides::from_vars(|name| vars.get(name).cloned())
        };
        let parsed = from(&[
            ("ENGRAM_LOCK_TIMEOUT", " 2.5 "),
            ("ENGRAM_QDRANT_SHARD_NUMBER", "3"),
            ("ENGRAM_QDRANT_REPLICATION_FACTOR", ""),
        ])
        .expect("valid numbers");
        assert_eq!(parsed.lock_timeout_secs, Some(2.5));
        assert_eq!(parsed.shard_number, Some(3));
        assert_eq!(parsed.replication_factor, None, "empty is unset");
        for (name, value) in [
            ("ENGRAM_LOCK_TIMEOUT", "ten"),
            ("ENGRAM_QDRANT_REPLICATION_FACTOR", "two"),
            ("ENGRAM_QDRANT_WRITE_CONSISTENCY_FACTOR", "1.5"),
            ("ENGRAM_QDRANT_SHARD_NUMBER", "-1"),
        ] {
            let error = from(&[(name, value)]).expect_err("not a number");
            let message = error.to_string();
            assert!(
                message.contains(name) && message.contains(value),
                "{message}"
            );
        }
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
    fn server_settings_come_from_flags_then_the_file_and_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "[server]\nlisten = \"0.0.0.0:9000\"\napi_keys = [\"file-key-0123456789\"]\nmax_in_flight = 8\n",
        );
        let resolve = |overrides: Overrides| {
            Config::resolve(Overrides {
                config_file: Some(path.clone()),
                ..overrides
            })
        };
        let config = resolve(Overrides::default()).expect("config");
        assert_eq!(config.server.listen, "0.0.0.0:9000".parse().expect("addr"));
        assert_eq!(config.server.api_keys, ["file-key-0123456789"]);
        assert_eq!(config.server.max_in_flight, 8);
        assert_eq!(config.server.body_limit_bytes, 2 << 20);
        let config = resolve(Overrides {
            listen: Some(":8080".into()),
            api_keys: Some(split_keys("flag-key-0123456789, other-key-0123456789")),
            ..Overrides::default()
        })
        .expect("config");
        assert_eq!(
            config.server.listen,
            "127.0.0.1:8080".parse().expect("addr")
        );
        assert_eq!(config.server.api_keys.len(), 2);
        for (listen, keys, expected) in [
            ("localhost", None, "not host:port"),
            ("127.0.0.1:1", Some(vec!["short".to_owned()]), "too short"),
        ] {
            let error = resolve(Overrides {
                listen: Some(listen.into()),
                api_keys: keys,
                ..Overrides::default()
            })
            .expect_err(expected);
            assert!(error.to_string().contains(expected), "{error}");
        }
        write(dir.path(), "[server]\nmax_in_flight = 0\n");
        let error = resolve(Overrides::default()).expect_err("zero");
        assert!(error.to_string().contains("at least 1"), "{error}");
    }

    #[test]
    fn agent_keys_come_from_the_file_or_the_environment_and_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "[server]\nagent_keys = { \"coder-1\" = \"coder-key-0123456789\" }\n",
        );
        let resolve = |agent_keys: Option<&str>| {
            Config::resolve(Overrides {
                config_file: Some(path.clone()),
                agent_keys: agent_keys.map(split_keys),
                ..Overrides::default()
            })
        };
        let config = resolve(None).expect("config");
        assert_eq!(
            config.server.agent_keys,
            BTreeMap::from([("coder-1".to_owned(), "coder-key-0123456789".to_owned())])
        );
        assert!(config.server.requires_keys() && config.server.api_keys.is_empty());
        // The agent name ends at the first `=`; a key may hold more.
        let config = resolve(Some(
            " reviewer =rev-key-0123456789==, tester=test-key-0123456789",
        ))
        .expect("config");
        assert_eq!(
            config.server.agent_keys,
            BTreeMap::from([
                ("reviewer".to_owned(), "rev-key-0123456789==".to_owned()),
                ("tester".to_owned(), "test-key-0123456789".to_owned()),
            ])
        );
        for (entries, expected) in [
            ("no-equals-sign-0123456789", "not agent=key"),
            ("a=short", "too short"),
            ("=key-without-agent-0123", "agent"),
            (
                "a=same-key-0123456789,b=same-key-0123456789",
                "more than once",
            ),
            (
                "a=key-one-0123456789,a=key-two-0123456789",
                "more than one key",
            ),
        ] {
            let error = resolve(Some(entries)).expect_err(expected);
            assert!(error.to_string().contains(expected), "{entries}: {error}");
        }
        assert!(!ServerConfig::default().requires_keys());
    }

    #[test]
    fn agent_workspaces_bind_keyed_agents_and_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "[server]\nagent_keys = { \"coder-1\" = \"coder-key-0123456789\" }\n\
             agent_workspaces = { \"coder-1\" = \"acme\" }\n",
        );
        let resolve = |workspaces: Option<&str>| {
            Config::resolve(Overrides {
                config_file: Some(path.clone()),
                agent_workspaces: workspaces.map(split_keys),
                ..Overrides::default()
            })
        };
        let config = resolve(None).expect("config");
        assert_eq!(
            config.server.agent_workspaces,
            BTreeMap::from([("coder-1".to_owned(), "acme".to_owned())])
        );
        let config = resolve(Some(" coder-1 = globex ")).expect("config");
        assert_eq!(config.server.agent_workspaces["coder-1"], "globex");
        for (entries, expected) in [
            ("coder-1", "not agent=workspace"),
            ("stranger=acme", "has no agent key"),
            ("coder-1=", "workspace"),
            ("coder-1=a,coder-1=b", "more than one workspace"),
        ] {
            let error = resolve(Some(entries)).expect_err(expected);
            assert!(error.to_string().contains(expected), "{entries}: {error}");
        }
    }

    #[test]
    fn cluster_settings_come_from_the_file_and_the_flags_and_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "lock_timeout_secs = 2.5\n[qdrant]\nurl = \"http://q:6334\"\nreplication_factor = 3\nread_consistency = 1\nwrite_ordering = \"medium\"\n",
        );
        let resolve = |overrides: Overrides| {
            Config::resolve(Overrides {
                config_file: Some(path.clone()),
                ..overrides
            })
        };
        let config = resolve(Overrides::default()).expect("config");
        assert_eq!(config.lock_timeout, Duration::from_millis(2500));
        let StoreConfig::Remote(remote) = config.store else {
            panic!("remote");
        };
        assert_eq!(remote.replication_factor, 3);
        assert_eq!(remote.read_consistency, ReadConsistency::Replicas(1));
        assert_eq!(remote.write_ordering, WriteOrdering::Medium);
        let flagged = resolve(Overrides {
            replication_factor: Some(1),
            write_ordering: Some("strong".into()),
            read_consistency: Some("majority".into()),
            lock_timeout_secs: Some(0.0),
            ..Overrides::default()
        })
        .expect("config");
        assert_eq!(flagged.lock_timeout, Duration::ZERO);
        let StoreConfig::Remote(remote) = flagged.store else {
            panic!("remote");
        };
        assert_eq!(remote.read_consistency, ReadConsistency::Majority);
        assert_eq!(remote.write_ordering, WriteOrdering::Strong);
        assert_eq!(remote.replication_factor, 1);
        for (overrides, expected) in [
            (
                Overrides {
                    shard_number: Some(0),
                    ..Overrides::default()
                },
                "shard number must be 1 or more",
            ),
            (
                Overrides {
                    write_ordering: Some("eventually".into()),
                    ..Overrides::default()
                },
                "weak, medium, strong",
            ),
            (
                Overrides {
                    read_consistency: Some("0".into()),
                    ..Overrides::default()
                },
                "majority",
            ),
            (
                Overrides {
                    lock_timeout_secs: Some(f64::NAN),
                    ..Overrides::default()
                },
                "seconds",
            ),
        ] {
            let error = resolve(overrides).expect_err(expected);
            assert!(error.to_string().contains(expected), "{error}");
        }
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
