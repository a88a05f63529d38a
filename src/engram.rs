//! The `Engram` facade: memory over a store and an embedder, opened from configuration,
//! with an async API for consensus engines.

use std::sync::Arc;

use crate::agents::{AgentError, Agents};
use crate::config::{Config, ConfigError, StoreConfig};
use crate::embed::{
    BatchLimits, BatchingEmbedder, EmbedError, Embedder, EmbedderOptions, SentenceEmbedder,
};
use crate::episodes::{Episode, EpisodeError, EpisodeLog, Episodes, FailureReport};
use crate::extract::learn::{self, LearnError};
use crate::extract::{Candidate, ConsensusResult, Learned, TaskContext};
use crate::knowledge::{self, KnowledgeError, KnowledgeInput, SeedOptions, SeedReport};
use crate::memories::{Memories, MemoriesError, Scoring};
use crate::memory::{
    CodePattern, ErrorInput, ErrorResolution, Language, Memory, MemoryError, MemoryStats, Metrics,
    PatternInput, RecallOptions, Recalled, Solution, SolutionInput, Stored,
};
use crate::quota::{QuotaError, QuotaSettings, Quotas};
use crate::specialists::{
    Context, Initialised, OutcomeReport, RecordedSession, SessionInput, SpecialistError,
    SpecialistSpec, SpecialistState, Specialists, Verdict,
};
use crate::store::coord::Leases;
use crate::store::{Payload, PointId, Store, StoreError};
use crate::swarm::{Swarm, SwarmError, SwarmSettings};

/// Starts loading the model that `config` names on a thread of its own, so that the caller
/// can open the store meanwhile; [`finish_loading`] waits for it.
pub fn load_model(
    config: &Config,
) -> std::thread::JoinHandle<Result<SentenceEmbedder, EmbedError>> {
    let sources = config.model.clone();
    std::thread::spawn(move || SentenceEmbedder::from_sources(sources, &EmbedderOptions::new()))
}

/// The model [`load_model`] loaded.
pub fn finish_loading(
    loading: std::thread::JoinHandle<Result<SentenceEmbedder, EmbedError>>,
) -> Result<SentenceEmbedder, EmbedError> {
    loading.join().unwrap_or_else(|_| {
        Err(EmbedError::InvalidOption(
            "loading the model panicked".into(),
        ))
    })
}

/// Why engram could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The model is missing, corrupt or could not load.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The store could not open (held by another process, unreachable server, …).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The memory collections could not open.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// The episode collections could not open.
    #[error(transparent)]
    Episodes(#[from] EpisodeError),
}

/// engram: one memory, shared cheaply (`Clone` is a reference count).
///
/// Every method is async and runs its work (embedding, storage) on tokio's blocking pool, so
/// callers on an async runtime are never blocked. [`Engram::memory`] gives the same
/// operations as blocking calls.
#[derive(Clone)]
pub struct Engram {
    memory: Arc<Memory>,
    episodes: Arc<Episodes>,
    leases: Arc<Leases>,
    embedder: Arc<dyn Embedder>,
    /// Opened on first use, so that commands that never touch specialists never open
    /// their collections.
    specialists: Arc<std::sync::OnceLock<Specialists>>,
    /// Opened on first use, like specialists.
    agents: Arc<std::sync::OnceLock<Agents>>,
    /// Opened on first use, like specialists.
    memories: Arc<std::sync::OnceLock<Memories>>,
    /// General memory's scoring (`[memories]` of the configuration).
    scoring: Scoring,
    /// Opened on first use, like specialists.
    swarm: Arc<std::sync::OnceLock<Swarm>>,
    /// Swarm memory's settings (`[swarm]` of the configuration).
    swarm_settings: SwarmSettings,
    /// Per-agent quotas (`[quotas]` of the configuration).
    quotas: Arc<Quotas>,
}

impl std::fmt::Debug for Engram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engram")
            .field("memory", &self.memory)
            .field("episodes", &self.episodes)
            .finish_non_exhaustive()
    }
}

impl Engram {
    /// Loads the model and opens the store that `config` names (blocking: call it once at
    /// start-up, or from `spawn_blocking`). An embedded store that another process holds is
    /// waited for up to `config.lock_timeout`. The model loads on another thread while the
    /// store opens.
    ///
    /// Concurrent embedding calls are batched ([`BatchingEmbedder`] with its default
    /// limits: up to 32 texts, 2 ms), which is what a server under many clients needs.
    pub fn open(config: &Config) -> Result<Self, OpenError> {
        let loading = load_model(config);
        let store = open_store(config);
        let embedder = finish_loading(loading)?;
        let batching = BatchingEmbedder::new(Arc::new(embedder), BatchLimits::default())?;
        Ok(Self::with(store?, Arc::new(batching))?
            .with_scoring(config.memories.clone())
            .with_swarm_settings(config.swarm.clone())
            .with_quotas(config.quotas.clone()))
    }

    /// The same engram with swarm memory's retention set by `settings` (before its first
    /// use).
    pub fn with_swarm_settings(mut self, settings: SwarmSettings) -> Self {
        self.swarm_settings = settings;
        self
    }

    /// The same engram with per-agent quotas `settings`.
    pub fn with_quotas(mut self, settings: QuotaSettings) -> Self {
        self.quotas = Arc::new(Quotas::new(settings));
        self
    }

    /// The per-agent quotas.
    pub fn quotas(&self) -> &Quotas {
        &self.quotas
    }

    /// Refuses a write by `agent` once it has used up a quota ([`Quotas::admit`]).
    pub fn admit(&self, agent: &str) -> Result<(), QuotaError> {
        self.quotas.admit(self.memory.store(), agent)
    }

    /// The same engram with general memory scored by `scoring` (before its first use).
    pub fn with_scoring(mut self, scoring: Scoring) -> Self {
        self.scoring = scoring;
        self
    }

    /// Memory over an already opened store and embedder.
    pub fn with(store: Store, embedder: Arc<dyn Embedder>) -> Result<Self, OpenError> {
        let episodes = Episodes::new(&store, Arc::clone(&embedder))?;
        let leases = Leases::open(&store)?;
        Ok(Self {
            memory: Arc::new(Memory::new(store, Arc::clone(&embedder))?),
            episodes: Arc::new(episodes),
            leases: Arc::new(leases),
            embedder,
            specialists: Arc::new(std::sync::OnceLock::new()),
            agents: Arc::new(std::sync::OnceLock::new()),
            memories: Arc::new(std::sync::OnceLock::new()),
            scoring: Scoring::default(),
            swarm: Arc::new(std::sync::OnceLock::new()),
            swarm_settings: SwarmSettings::default(),
            quotas: Arc::new(Quotas::new(QuotaSettings::default())),
        })
    }

    /// The blocking API of specialist memory (its collections open on the first call).
    pub fn specialists(&self) -> Result<&Specialists, SpecialistError> {
        if let Some(specialists) = self.specialists.get() {
            return Ok(specialists);
        }
        let opened = Specialists::new(self.memory.store(), Arc::clone(&self.embedder))?;
        // Two first calls at once both open the (idempotent) collections; one is kept.
        let _ = self.specialists.set(opened);
        self.specialists
            .get()
            .ok_or_else(|| SpecialistError::Task("specialist memory did not open".into()))
    }

    /// The blocking API of agent memory (its collections open, and interrupted promotions
    /// finish, on the first call).
    pub fn agents(&self) -> Result<&Agents, AgentError> {
        if let Some(agents) = self.agents.get() {
            return Ok(agents);
        }
        let opened = Agents::new(self.memory.store(), Arc::clone(&self.embedder))?;
        let _ = self.agents.set(opened);
        self.agents
            .get()
            .ok_or_else(|| AgentError::Task("agent memory did not open".into()))
    }

    /// The blocking API of general memory (its collections open, and interrupted deletes
    /// finish, on the first call).
    pub fn memories(&self) -> Result<&Memories, MemoriesError> {
        if let Some(memories) = self.memories.get() {
            return Ok(memories);
        }
        let opened = Memories::new(
            self.memory.store(),
            Arc::clone(&self.embedder),
            self.scoring.clone(),
        )?;
        let _ = self.memories.set(opened);
        self.memories
            .get()
            .ok_or_else(|| MemoriesError::Task("general memory did not open".into()))
    }

    /// The blocking API of swarm memory (its collections open on the first call).
    pub fn swarm(&self) -> Result<&Swarm, SwarmError> {
        if let Some(swarm) = self.swarm.get() {
            return Ok(swarm);
        }
        let opened = Swarm::new(
            self.memory.store(),
            Arc::clone(&self.embedder),
            self.swarm_settings.clone(),
        )?;
        let _ = self.swarm.set(opened);
        self.swarm
            .get()
            .ok_or_else(|| SwarmError::Task("swarm memory did not open".into()))
    }

    async fn specialist<T, F>(&self, work: F) -> Result<T, SpecialistError>
    where
        T: Send + 'static,
        F: FnOnce(&Specialists) -> Result<T, SpecialistError> + Send + 'static,
    {
        let engram = self.clone();
        tokio::task::spawn_blocking(move || work(engram.specialists()?))
            .await
            .map_err(|e| SpecialistError::Task(e.to_string()))?
    }

    /// `init_specialists([{id, topics}])`: creates the missing ones; idempotent.
    pub async fn init_specialists(
        &self,
        specs: Vec<SpecialistSpec>,
    ) -> Result<Vec<Initialised>, SpecialistError> {
        self.specialist(move |s| s.init_specialists(&specs)).await
    }

    /// `record_session(specialist, question, response, concerns, decision)`.
    pub async fn record_session(
        &self,
        specialist: &str,
        input: SessionInput,
    ) -> Result<RecordedSession, SpecialistError> {
        let specialist = specialist.to_owned();
        self.specialist(move |s| s.record_session(&specialist, input))
            .await
    }

    /// `record_outcome(deliberation, verdict)` for every specialist of the deliberation.
    pub async fn record_outcome(
        &self,
        deliberation: &str,
        verdict: Verdict,
    ) -> Result<OutcomeReport, SpecialistError> {
        let deliberation = deliberation.to_owned();
        self.specialist(move |s| s.record_outcome(&deliberation, verdict, None, None))
            .await
    }

    /// A specialist's state.
    pub async fn specialist_state(
        &self,
        specialist: &str,
    ) -> Result<SpecialistState, SpecialistError> {
        let specialist = specialist.to_owned();
        self.specialist(move |s| s.state(&specialist)).await
    }

    /// `context(specialist, budget_chars)`: the prompt context.
    pub async fn specialist_context(
        &self,
        specialist: &str,
        budget_chars: usize,
    ) -> Result<Context, SpecialistError> {
        let specialist = specialist.to_owned();
        self.specialist(move |s| s.context(&specialist, budget_chars))
            .await
    }

    /// Leases (named locks with fencing) shared by every engram on this store.
    pub fn leases(&self) -> &Leases {
        &self.leases
    }

    /// The blocking API of the memory collections.
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// The blocking API of episodic memory.
    pub fn episodes(&self) -> &Episodes {
        &self.episodes
    }

    async fn episodic<T, F>(&self, work: F) -> Result<T, EpisodeError>
    where
        T: Send + 'static,
        F: FnOnce(&Episodes) -> Result<T, EpisodeError> + Send + 'static,
    {
        let episodes = Arc::clone(&self.episodes);
        tokio::task::spawn_blocking(move || work(&episodes))
            .await
            .map_err(|e| EpisodeError::Task(e.to_string()))?
    }

    /// `start_episode(task, context) → id`.
    pub async fn start_episode(
        &self,
        task: &str,
        context: Payload,
    ) -> Result<PointId, EpisodeError> {
        let task = task.to_owned();
        self.episodic(move |e| e.start_episode(&task, context))
            .await
    }

    /// [`Engram::start_episode`] with an idempotency key (a retry returns the same episode).
    pub async fn start_episode_with_key(
        &self,
        task: &str,
        context: Payload,
        key: Option<String>,
    ) -> Result<PointId, EpisodeError> {
        let task = task.to_owned();
        self.episodic(move |e| e.start_episode_with_key(&task, context, key.as_deref()))
            .await
    }

    /// [`Engram::record_event`] with an idempotency key (a retry records nothing more and
    /// returns the first call's sequence number).
    pub async fn record_event_with_key(
        &self,
        id: PointId,
        event_type: &str,
        agent_role: &str,
        data: serde_json::Value,
        key: Option<String>,
    ) -> Result<u64, EpisodeError> {
        let (event_type, agent_role) = (event_type.to_owned(), agent_role.to_owned());
        self.episodic(move |e| {
            e.record_event_with_key(id, &event_type, &agent_role, data, key.as_deref())
        })
        .await
    }

    /// `record_event(id, event_type, agent_role, data)` → the event's sequence number.
    pub async fn record_event(
        &self,
        id: PointId,
        event_type: &str,
        agent_role: &str,
        data: serde_json::Value,
    ) -> Result<u64, EpisodeError> {
        let (event_type, agent_role) = (event_type.to_owned(), agent_role.to_owned());
        self.episodic(move |e| e.record_event(id, &event_type, &agent_role, data))
            .await
    }

    /// `end_episode(id, success, metrics)`.
    pub async fn end_episode(
        &self,
        id: PointId,
        success: bool,
        metrics: Metrics,
    ) -> Result<Episode, EpisodeError> {
        self.episodic(move |e| e.end_episode(id, success, metrics))
            .await
    }

    /// [`Engram::end_episode`] with an idempotency key (a retry gets the ended episode).
    pub async fn end_episode_with_key(
        &self,
        id: PointId,
        success: bool,
        metrics: Metrics,
        key: Option<String>,
    ) -> Result<Episode, EpisodeError> {
        self.episodic(move |e| e.end_episode_with_key(id, success, metrics, key.as_deref()))
            .await
    }

    /// `get_episode(id)`: the episode and its events in order.
    pub async fn get_episode(&self, id: PointId) -> Result<EpisodeLog, EpisodeError> {
        self.episodic(move |e| e.get_episode(id)).await
    }

    /// `recall_similar_episodes(task_description, n, success_only)`.
    pub async fn recall_similar_episodes(
        &self,
        task_description: &str,
        n: usize,
        success_only: bool,
    ) -> Result<Vec<Recalled<Episode>>, EpisodeError> {
        let task = task_description.to_owned();
        self.episodic(move |e| e.recall_similar_episodes(&task, n, success_only))
            .await
    }

    /// `analyze_failures(limit)`.
    pub async fn analyze_failures(&self, limit: usize) -> Result<FailureReport, EpisodeError> {
        self.episodic(move |e| e.analyze_failures(limit)).await
    }

    async fn blocking<T, F>(&self, work: F) -> Result<T, MemoryError>
    where
        T: Send + 'static,
        F: FnOnce(&Memory) -> Result<T, MemoryError> + Send + 'static,
    {
        let memory = Arc::clone(&self.memory);
        tokio::task::spawn_blocking(move || work(&memory))
            .await
            .map_err(|e| MemoryError::Task(e.to_string()))?
    }

    /// Stores a code pattern (see [`Memory::store_pattern`]).
    pub async fn store_pattern(&self, input: PatternInput) -> Result<Stored, MemoryError> {
        self.blocking(move |m| m.store_pattern(input)).await
    }

    /// `store_code_pattern(name, code, language, context, success_metrics)`.
    pub async fn store_code_pattern(
        &self,
        name: &str,
        code: &str,
        language: Language,
        context: &str,
        success_metrics: Metrics,
    ) -> Result<Stored, MemoryError> {
        let input = PatternInput {
            context: context.to_owned(),
            metrics: success_metrics,
            ..PatternInput::new(name, code, language)
        };
        self.store_pattern(input).await
    }

    /// Code patterns matching `description` (see [`Memory::recall_patterns`]).
    pub async fn recall_patterns(
        &self,
        description: &str,
        options: RecallOptions,
    ) -> Result<Vec<Recalled<CodePattern>>, MemoryError> {
        let description = description.to_owned();
        self.blocking(move |m| m.recall_patterns(&description, &options))
            .await
    }

    /// `recall_similar_patterns(description, language, n)`.
    pub async fn recall_similar_patterns(
        &self,
        description: &str,
        language: Option<Language>,
        n: usize,
    ) -> Result<Vec<Recalled<CodePattern>>, MemoryError> {
        let options = RecallOptions {
            language,
            ..RecallOptions::top(n)
        };
        self.recall_patterns(description, options).await
    }

    /// Stores a solution (see [`Memory::store_solution`]).
    pub async fn store_solution(&self, input: SolutionInput) -> Result<Stored, MemoryError> {
        self.blocking(move |m| m.store_solution(input)).await
    }

    /// `recall_solutions(problem, n)`.
    pub async fn recall_solutions(
        &self,
        problem: &str,
        n: usize,
    ) -> Result<Vec<Recalled<Solution>>, MemoryError> {
        let problem = problem.to_owned();
        self.blocking(move |m| m.recall_solutions(&problem, &RecallOptions::top(n)))
            .await
    }

    /// Stores an error resolution (see [`Memory::store_error`]).
    pub async fn store_error(&self, input: ErrorInput) -> Result<Stored, MemoryError> {
        self.blocking(move |m| m.store_error(input)).await
    }

    /// `store_error_resolution(error_message, context, resolution, success)`.
    pub async fn store_error_resolution(
        &self,
        error_message: &str,
        context: &str,
        resolution: &str,
        success: bool,
    ) -> Result<Stored, MemoryError> {
        let input = ErrorInput {
            context: context.to_owned(),
            ..ErrorInput::new(error_message, resolution, success)
        };
        self.store_error(input).await
    }

    /// `recall_error_solutions(error_message, n)`.
    pub async fn recall_error_solutions(
        &self,
        error_message: &str,
        n: usize,
    ) -> Result<Vec<Recalled<ErrorResolution>>, MemoryError> {
        let message = error_message.to_owned();
        self.blocking(move |m| m.recall_error_solutions(&message, n))
            .await
    }

    /// `stats()`: entries per collection, language and source; disk use.
    pub async fn stats(&self) -> Result<MemoryStats, MemoryError> {
        self.blocking(Memory::stats).await
    }

    /// `extract_from_consensus(consensus_result, winner, task_context)`: stores the winner's
    /// patterns (see [`learn::extract_from_consensus`]).
    pub async fn extract_from_consensus(
        &self,
        consensus: ConsensusResult,
        winner: Candidate,
        task: TaskContext,
    ) -> Result<Learned, LearnError> {
        let memory = Arc::clone(&self.memory);
        tokio::task::spawn_blocking(move || {
            learn::extract_from_consensus(&memory, &consensus, &winner, &task)
        })
        .await
        .map_err(|e| LearnError::Memory(MemoryError::Task(e.to_string())))?
    }

    /// `add_custom_knowledge(title, content, knowledge_type, metadata)` (see
    /// [`knowledge::add_custom_knowledge`]).
    pub async fn add_custom_knowledge(&self, input: KnowledgeInput) -> Result<Stored, MemoryError> {
        self.blocking(move |m| knowledge::add_custom_knowledge(m, input))
            .await
    }

    /// Seeds the knowledge base from `dir` (see [`knowledge::seed`]).
    pub async fn seed(
        &self,
        dir: std::path::PathBuf,
        options: SeedOptions,
    ) -> Result<SeedReport, KnowledgeError> {
        let memory = Arc::clone(&self.memory);
        tokio::task::spawn_blocking(move || knowledge::seed(&memory, &dir, options, &mut |_, _| {}))
            .await
            .map_err(|e| KnowledgeError::Memory(MemoryError::Task(e.to_string())))?
    }

    /// `suggest_patterns(task_description, language)`: the five most relevant patterns.
    pub async fn suggest_patterns(
        &self,
        task_description: &str,
        language: Option<Language>,
    ) -> Result<Vec<Recalled<CodePattern>>, MemoryError> {
        let task = task_description.to_owned();
        self.blocking(move |m| learn::suggest_patterns(m, &task, language))
            .await
    }
}

/// The store `config` names; an embedded one is waited for up to `config.lock_timeout`.
pub fn open_store(config: &Config) -> Result<Store, StoreError> {
    match &config.store {
        StoreConfig::Edge(dir) => Store::open_edge_waiting(dir, config.lock_timeout),
        StoreConfig::Remote(remote) => Store::connect_remote(remote.clone()),
    }
}
