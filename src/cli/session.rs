//! Where a command's memory work happens: in this process over the store, or, when an
//! `engram serve` holds the embedded data directory, at that server over HTTP (the lock file
//! names its address), so that commands run beside a server are served instead of refused.
//! Without a server, a command waits up to `--lock-timeout` for the process holding the
//! directory to let go (loading the model meanwhile), and then fails with exit 1.
//!
//! Both sides answer with the same types, so a command prints the same whichever side did
//! the work.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engram::Engram;
use engram::config::{Config, Overrides, StoreConfig};
use engram::episodes::{Episode, EpisodeLog, FailureReport};
use engram::extract::{Candidate, ConsensusResult, Learned, TaskContext};
use engram::knowledge::{KnowledgeInput, SeedOptions, SeedReport};
use engram::mcp::{ApiCall, RemoteApi};
use engram::memory::{
    CodePattern, ErrorInput, ErrorResolution, MemoryStats, Metrics, PatternInput, RecallOptions,
    Recalled, Solution, SolutionInput, Stored,
};
use engram::specialists::{
    Context, Initialised, OutcomeReport, RecordedSession, SessionInput, SpecialistSpec,
    SpecialistState, Verdict,
};
use engram::store::{DirLock, EdgeOptions, EdgeStore, Payload, PointId, Store, StoreError};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::args::Cli;
use super::{Failure, exit};

/// The memory a command works on.
pub enum Session {
    /// This process holds the store.
    Local(Engram),
    /// The `engram serve` holding the data directory does the work.
    Server(ServerClient),
}

/// Opens the memory `cli` names for one command: the server holding its data directory if
/// there is one, else the store itself (waiting for the directory up to the lock timeout).
/// The process is to exit when the command ends: the store's files stay in the page cache
/// for the next command (and its directory stays locked until the exit).
pub fn open(cli: &Cli) -> Result<Session, Failure> {
    open_config_warm(&cli.resolve_config()?, &[], Lifetime::OneCommand)
}

/// [`open`] for a command that will search the collections named `warm`: on the embedded
/// store they load while the model loads, instead of after it.
pub fn open_warm(cli: &Cli, warm: &[&str]) -> Result<Session, Failure> {
    open_config_warm(&cli.resolve_config()?, warm, Lifetime::OneCommand)
}

/// Opens the memory `config` names for a long-running process (`engram mcp`): dropping the
/// session closes the store and frees its directory.
pub fn open_config(config: &Config) -> Result<Session, Failure> {
    open_config_warm(config, &[], Lifetime::Process)
}

/// How long the process that opens a session lives on after it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lifetime {
    /// It exits when the command ends.
    OneCommand,
    /// It runs on and may open the store again.
    Process,
}

fn open_config_warm(
    config: &Config,
    warm: &[&str],
    lifetime: Lifetime,
) -> Result<Session, Failure> {
    let StoreConfig::Edge(dir) = &config.store else {
        return Ok(Session::Local(Engram::open(config)?));
    };
    if let Some(server) = server_for(config) {
        return Ok(Session::Server(server));
    }
    // The model loads on another thread while this one takes the directory: a command's
    // wall time is the longer of the two, not their sum.
    let loading = engram::load_model(config);
    let deadline = Instant::now() + config.lock_timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        // A process that ends with the command leaves the collections' files in the page
        // cache for the next command.
        let options = EdgeOptions {
            keep_cached_at_close: lifetime == Lifetime::OneCommand,
            ..EdgeOptions::default()
        };
        match EdgeStore::open(dir, options) {
            Ok(store) => {
                for name in warm {
                    // Best effort: a collection that fails to load fails again, with its
                    // error, when the command uses it.
                    if let Ok(Some(spec)) = store.stored_spec(name)
                        && let Err(error) = store.collection(&spec).and_then(|c| c.load())
                    {
                        tracing::debug!("could not load collection {name} early: {error}");
                    }
                }
                let embedder: Arc<dyn engram::embed::Embedder> =
                    Arc::new(engram::finish_loading(loading)?);
                if lifetime == Lifetime::OneCommand {
                    // Never freed: the process ends when the command does, and unmapping
                    // 90 MB of weights one page at a time would only delay its exit.
                    std::mem::forget(Arc::clone(&embedder));
                }
                return Ok(Session::Local(Engram::with(Store::Edge(store), embedder)?));
            }
            Err(StoreError::Locked { .. }) if Instant::now() < deadline => {
                if let Some(addr) = DirLock::server(dir) {
                    return Ok(Session::Server(ServerClient::new(addr, config)));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(StoreError::Locked { dir, holder, .. }) => {
                return Err(Failure::from(StoreError::Locked {
                    dir,
                    holder,
                    waited_ms: u64::try_from(config.lock_timeout.as_millis()).unwrap_or(u64::MAX),
                }));
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// The `engram serve` holding the embedded data directory `config` names, if one does.
pub fn server_for(config: &Config) -> Option<ServerClient> {
    match &config.store {
        StoreConfig::Edge(dir) => DirLock::server(dir).map(|addr| ServerClient::new(addr, config)),
        StoreConfig::Remote(_) => None,
    }
}

/// engram's HTTP API as the CLI uses it.
pub struct ServerClient {
    remote: RemoteApi,
}

impl ServerClient {
    fn new(addr: SocketAddr, config: &Config) -> Self {
        tracing::info!(
            "the data directory is held by engram serve at http://{addr}; sending the request there"
        );
        // The key the server wants: an admin key (ENGRAM_API_KEYS, else the config file's),
        // else a key bound to an agent (ENGRAM_AGENT_KEYS' `agent=key`, else the file's).
        // Only the keys are read here; clap has already refused the environment's bad
        // numbers before the configuration this call got was resolved.
        let env = Overrides::from_env().unwrap_or_default();
        let key = env
            .api_keys
            .and_then(|keys| keys.into_iter().next())
            .or_else(|| config.server.api_keys.first().cloned())
            .or_else(|| {
                env.agent_keys?
                    .iter()
                    .find_map(|entry| Some(entry.split_once('=')?.1.trim().to_owned()))
            })
            .or_else(|| config.server.agent_keys.values().next().cloned());
        Self {
            remote: RemoteApi::new(format!("http://{addr}"), key),
        }
    }

    /// The server as an API that MCP tools call.
    pub fn remote(&self) -> &RemoteApi {
        &self.remote
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, Failure> {
        let call = match (method, body) {
            ("GET", _) => ApiCall::get(path),
            ("DELETE", _) => ApiCall::delete(path),
            ("PUT", body) => ApiCall::put(path, body.unwrap_or(Value::Null)),
            (_, body) => ApiCall::post(path, body.unwrap_or(Value::Null)),
        };
        let base = self.remote.base();
        let answer = self.remote.call(&call).map_err(|failure| Failure {
            // The server's verdict decides the exit code: its 4xx are the caller's fault.
            code: if (400..500).contains(&failure.status) {
                exit::USAGE
            } else {
                exit::INTERNAL
            },
            error: anyhow::anyhow!(
                "{} ({}; {}) (from engram serve at {base})",
                failure.message,
                failure.code,
                failure.hint
            ),
        })?;
        serde_json::from_value(answer).map_err(|error| Failure {
            code: exit::INTERNAL,
            error: anyhow::anyhow!(
                "engram serve at {base} answered {path} with unexpected JSON: {error}"
            ),
        })
    }

    /// The server's address.
    pub fn base(&self) -> &str {
        self.remote.base()
    }

    /// Entries per collection, language and source, as the server counts them.
    pub fn stats(&self) -> Result<MemoryStats, Failure> {
        self.get("/v1/stats")
    }

    fn post<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<T, Failure> {
        self.call("POST", path, Some(body))
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        self.call("GET", path, None)
    }
}

fn recall_body(query: &str, options: &RecallOptions) -> Value {
    json!({
        "query": query,
        "limit": options.limit,
        "language": options.language.map(|l| l.name()),
        "tags": options.tags,
        "source": options.source,
        "min_success_rate": options.min_success_rate,
        "min_score": options.min_score,
    })
}

fn metrics(metrics: &Metrics) -> Value {
    serde_json::to_value(metrics).unwrap_or_else(|_| json!({}))
}

impl Session {
    /// Stores a code pattern.
    pub fn store_pattern(&self, input: PatternInput) -> Result<Stored, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.memory().store_pattern(input)?),
            Self::Server(server) => server.post(
                "/v1/patterns",
                json!({
                    "name": input.name,
                    "code": input.code,
                    "language": input.language.name(),
                    "context": input.context,
                    "pattern_type": input.pattern_type,
                    "tags": input.tags,
                    "source": input.source,
                    "metrics": metrics(&input.metrics),
                }),
            ),
        }
    }

    /// Stores a solution.
    pub fn store_solution(&self, input: SolutionInput) -> Result<Stored, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.memory().store_solution(input)?),
            Self::Server(server) => server.post(
                "/v1/solutions",
                json!({
                    "problem": input.problem,
                    "solution": input.solution,
                    "language": input.language.name(),
                    "context": input.context,
                    "tags": input.tags,
                    "source": input.source,
                    "metrics": metrics(&input.metrics),
                }),
            ),
        }
    }

    /// Stores an error resolution.
    pub fn store_error(&self, input: ErrorInput) -> Result<Stored, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.memory().store_error(input)?),
            Self::Server(server) => server.post(
                "/v1/errors",
                json!({
                    "message": input.message,
                    "resolution": input.resolution,
                    "success": input.success,
                    "context": input.context,
                    "language": input.language.name(),
                    "tags": input.tags,
                    "source": input.source,
                }),
            ),
        }
    }

    /// Adds custom knowledge.
    pub fn add_knowledge(&self, input: KnowledgeInput) -> Result<Stored, Failure> {
        match self {
            Self::Local(engram) => Ok(engram::knowledge::add_custom_knowledge(
                engram.memory(),
                input,
            )?),
            Self::Server(server) => server.post(
                "/v1/knowledge",
                json!({
                    "title": input.title,
                    "content": input.content,
                    "knowledge_type": input.category.name(),
                    "metadata": input.metadata,
                }),
            ),
        }
    }

    /// Code patterns matching `query`.
    pub fn recall_patterns(
        &self,
        query: &str,
        options: &RecallOptions,
    ) -> Result<Vec<Recalled<CodePattern>>, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.memory().recall_patterns(query, options)?),
            Self::Server(server) => server.post("/v1/patterns/recall", recall_body(query, options)),
        }
    }

    /// Solutions matching `query`.
    pub fn recall_solutions(
        &self,
        query: &str,
        options: &RecallOptions,
    ) -> Result<Vec<Recalled<Solution>>, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.memory().recall_solutions(query, options)?),
            Self::Server(server) => {
                server.post("/v1/solutions/recall", recall_body(query, options))
            }
        }
    }

    /// Error resolutions matching `query`.
    pub fn recall_errors(
        &self,
        query: &str,
        options: &RecallOptions,
    ) -> Result<Vec<Recalled<ErrorResolution>>, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.memory().recall_errors(query, options)?),
            Self::Server(server) => server.post("/v1/errors/recall", recall_body(query, options)),
        }
    }

    /// Learns from a consensus winner.
    pub fn learn(
        &self,
        consensus: &ConsensusResult,
        winner: &Candidate,
        task: &TaskContext,
    ) -> Result<Learned, Failure> {
        match self {
            Self::Local(engram) => Ok(engram::extract::learn::extract_from_consensus(
                engram.memory(),
                consensus,
                winner,
                task,
            )?),
            Self::Server(server) => server.post(
                "/v1/learn",
                json!({
                    "code": winner.code,
                    "language": winner.language,
                    "file_name": winner.file_name,
                    "task": task.description,
                    "tags": task.tags,
                    "metrics": metrics(&consensus.metrics),
                }),
            ),
        }
    }

    /// Seeds the knowledge base from the files of `dir`.
    pub fn seed(
        &self,
        dir: &std::path::Path,
        options: SeedOptions,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<SeedReport, Failure> {
        match self {
            Self::Local(engram) => Ok(engram::knowledge::seed(
                engram.memory(),
                dir,
                options,
                progress,
            )?),
            Self::Server(server) => {
                let files: Vec<Value> = engram::knowledge::read_folder(dir)?
                    .into_iter()
                    .map(|(path, bytes)| {
                        json!({"path": path, "content": String::from_utf8_lossy(&bytes)})
                    })
                    .collect();
                let mut report: SeedReport = server.post(
                    "/v1/knowledge/seed",
                    json!({"dry_run": options.dry_run, "prune": options.prune, "files": files}),
                )?;
                report.dir = dir.to_path_buf();
                Ok(report)
            }
        }
    }

    /// Starts an episode.
    pub fn start_episode(&self, task: &str, context: Payload) -> Result<PointId, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.episodes().start_episode(task, context)?),
            Self::Server(server) => {
                let started: Value =
                    server.post("/v1/episodes", json!({"task": task, "context": context}))?;
                serde_json::from_value(started["id"].clone()).map_err(|e| Failure {
                    code: exit::INTERNAL,
                    error: anyhow::anyhow!("engram serve returned no episode id: {e}"),
                })
            }
        }
    }

    /// Records an event.
    pub fn record_event(
        &self,
        id: PointId,
        event_type: &str,
        role: &str,
        data: Value,
    ) -> Result<u64, Failure> {
        match self {
            Self::Local(engram) => {
                Ok(engram.episodes().record_event(id, event_type, role, data)?)
            }
            Self::Server(server) => {
                let recorded: Value = server.post(
                    &format!("/v1/episodes/{id}/events"),
                    json!({"event_type": event_type, "agent_role": role, "data": data}),
                )?;
                recorded["sequence"].as_u64().ok_or_else(|| Failure {
                    code: exit::INTERNAL,
                    error: anyhow::anyhow!("engram serve returned no sequence number"),
                })
            }
        }
    }

    /// Ends an episode.
    pub fn end_episode(
        &self,
        id: PointId,
        success: bool,
        metrics_: Metrics,
    ) -> Result<Episode, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.episodes().end_episode(id, success, metrics_)?),
            Self::Server(server) => server.post(
                &format!("/v1/episodes/{id}/end"),
                json!({"success": success, "metrics": metrics(&metrics_)}),
            ),
        }
    }

    /// Abandons an episode.
    pub fn abandon_episode(&self, id: PointId, reason: &str) -> Result<Episode, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.episodes().abandon_episode(id, reason)?),
            Self::Server(server) => server.post(
                &format!("/v1/episodes/{id}/abandon"),
                json!({"reason": reason}),
            ),
        }
    }

    /// An episode with its events.
    pub fn get_episode(&self, id: PointId) -> Result<EpisodeLog, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.episodes().get_episode(id)?),
            Self::Server(server) => server.get(&format!("/v1/episodes/{id}")),
        }
    }

    /// The running episodes, oldest first.
    pub fn running_episodes(&self) -> Result<Vec<(PointId, Episode)>, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.episodes().running_episodes()?),
            Self::Server(server) => {
                #[derive(serde::Deserialize)]
                struct Running {
                    id: PointId,
                    episode: Episode,
                }
                let running: Vec<Running> = server.get("/v1/episodes")?;
                Ok(running.into_iter().map(|r| (r.id, r.episode)).collect())
            }
        }
    }

    /// Ended episodes like `task`.
    pub fn recall_episodes(
        &self,
        task: &str,
        limit: usize,
        success_only: bool,
        min_score: Option<f32>,
    ) -> Result<Vec<Recalled<Episode>>, Failure> {
        match self {
            Self::Local(engram) => {
                Ok(engram
                    .episodes()
                    .recall_episodes_above(task, limit, success_only, min_score)?)
            }
            Self::Server(server) => server.post(
                "/v1/episodes/recall",
                json!({
                    "task": task,
                    "limit": limit,
                    "success_only": success_only,
                    "min_score": min_score,
                }),
            ),
        }
    }

    /// Failure analysis.
    pub fn analyze_failures(&self, limit: usize) -> Result<FailureReport, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.episodes().analyze_failures(limit)?),
            Self::Server(server) => server.get(&format!("/v1/episodes/failures?limit={limit}")),
        }
    }
    /// Creates specialists.
    pub fn init_specialists(
        &self,
        specs: Vec<SpecialistSpec>,
    ) -> Result<Vec<Initialised>, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.specialists()?.init_specialists(&specs)?),
            Self::Server(server) => server.post("/v1/specialists", json!({"specialists": specs})),
        }
    }

    /// Specialists and their session counts, by name.
    pub fn list_specialists(&self) -> Result<Vec<(String, u64)>, Failure> {
        match self {
            Self::Local(engram) => {
                let specialists = engram.specialists()?;
                let mut listed = Vec::new();
                for id in specialists.list()? {
                    let n = specialists.session_count(&id)?;
                    listed.push((id, n));
                }
                Ok(listed)
            }
            Self::Server(server) => {
                #[derive(serde::Deserialize)]
                struct Listed {
                    id: String,
                    session_count: u64,
                }
                let listed: Vec<Listed> = server.get("/v1/specialists")?;
                Ok(listed
                    .into_iter()
                    .map(|l| (l.id, l.session_count))
                    .collect())
            }
        }
    }

    /// Records a specialist's session.
    pub fn record_session(
        &self,
        specialist: &str,
        input: SessionInput,
    ) -> Result<RecordedSession, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.specialists()?.record_session(specialist, input)?),
            Self::Server(server) => server.post(
                &format!("/v1/specialists/{}/sessions", path_segment(specialist)),
                json!({
                    "question": input.question,
                    "response": input.response,
                    "concerns": input.concerns,
                    "decision": input.decision,
                    "deliberation": input.deliberation,
                    "topics": input.topics,
                }),
            ),
        }
    }

    /// Records a deliberation's outcome.
    pub fn record_outcome(
        &self,
        deliberation: &str,
        verdict: Verdict,
        specialists: Option<&[String]>,
        outcome: Option<&str>,
    ) -> Result<OutcomeReport, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.specialists()?.record_outcome(
                deliberation,
                verdict,
                specialists,
                outcome,
            )?),
            Self::Server(server) => server.post(
                &format!("/v1/deliberations/{}/outcome", path_segment(deliberation)),
                json!({"verdict": verdict, "specialists": specialists, "outcome": outcome}),
            ),
        }
    }

    /// A specialist's state.
    pub fn specialist_state(&self, specialist: &str) -> Result<SpecialistState, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.specialists()?.state(specialist)?),
            Self::Server(server) => {
                server.get(&format!("/v1/specialists/{}", path_segment(specialist)))
            }
        }
    }

    /// A specialist's prompt context.
    pub fn specialist_context(&self, specialist: &str, budget: usize) -> Result<Context, Failure> {
        match self {
            Self::Local(engram) => Ok(engram.specialists()?.context(specialist, budget)?),
            Self::Server(server) => server.get(&format!(
                "/v1/specialists/{}/context?budget_chars={budget}",
                path_segment(specialist)
            )),
        }
    }
}

impl Session {
    /// An agent-memory call: `local` on the data directory, or `method path` with `body` on
    /// the server that holds it (the same shapes either way).
    pub fn agents<T: DeserializeOwned>(
        &self,
        local: impl FnOnce(&engram::agents::Agents) -> Result<T, engram::agents::AgentError>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, Failure> {
        match self {
            Self::Local(engram) => Ok(local(engram.agents()?)?),
            Self::Server(server) => match body {
                Some(body) if method == "POST" => server.post(path, body),
                _ => server.get(path),
            },
        }
    }

    /// A general-memory call: on the data directory, or the same through the server.
    pub fn memories<T: DeserializeOwned>(
        &self,
        local: impl FnOnce(&engram::memories::Memories) -> Result<T, engram::memories::MemoriesError>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, Failure> {
        match self {
            Self::Local(engram) => Ok(local(engram.memories()?)?),
            Self::Server(server) => server.call(method, path, body),
        }
    }
}

impl Session {
    /// A call on the whole memory (health, optimisation): on the data directory, or the
    /// same through the server.
    pub fn whole<T: DeserializeOwned, E>(
        &self,
        local: impl FnOnce(&Engram) -> Result<T, E>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, Failure>
    where
        Failure: From<E>,
    {
        match self {
            Self::Local(engram) => Ok(local(engram)?),
            Self::Server(server) => server.call(method, path, body),
        }
    }

    /// A swarm-memory call: on the data directory, or the same through the server.
    pub fn swarm<T: DeserializeOwned>(
        &self,
        local: impl FnOnce(&engram::swarm::Swarm) -> Result<T, engram::swarm::SwarmError>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, Failure> {
        match self {
            Self::Local(engram) => Ok(local(engram.swarm()?)?),
            Self::Server(server) => server.call(method, path, body),
        }
    }
}

/// `text` as one path segment, percent-encoded.
pub fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_bodies_name_every_option() {
        let options = RecallOptions {
            limit: 3,
            language: Some(engram::memory::Language::Python),
            tags: vec!["db".into()],
            source: Some("cli".into()),
            min_success_rate: Some(0.5),
            min_score: Some(0.25),
        };
        let body = recall_body("q", &options);
        assert_eq!(body["language"], "python");
        assert_eq!(body["limit"], 3);
        assert_eq!(body["tags"][0], "db");
        assert_eq!(body["min_success_rate"], 0.5);
        assert_eq!(body["min_score"], 0.25);
    }
}
