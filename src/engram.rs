//! The `Engram` facade: memory over a store and an embedder, opened from configuration,
//! with an async API for consensus engines.

use std::sync::Arc;

use crate::config::{Config, ConfigError, StoreConfig};
use crate::embed::{EmbedError, Embedder, EmbedderOptions, SentenceEmbedder};
use crate::memory::{
    CodePattern, ErrorInput, ErrorResolution, Language, Memory, MemoryError, MemoryStats, Metrics,
    PatternInput, RecallOptions, Recalled, Solution, SolutionInput, Stored,
};
use crate::store::{Store, StoreError};

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
}

/// engram: one memory, shared cheaply (`Clone` is a reference count).
///
/// Every method is async and runs its work (embedding, storage) on tokio's blocking pool, so
/// callers on an async runtime are never blocked. [`Engram::memory`] gives the same
/// operations as blocking calls.
#[derive(Debug, Clone)]
pub struct Engram {
    memory: Arc<Memory>,
}

impl Engram {
    /// Opens the store and loads the model that `config` names (blocking: call it once at
    /// start-up, or from `spawn_blocking`).
    pub fn open(config: &Config) -> Result<Self, OpenError> {
        let store = match &config.store {
            StoreConfig::Edge(dir) => Store::open_edge(dir)?,
            StoreConfig::Remote(remote) => Store::connect_remote(remote.clone())?,
        };
        let embedder =
            SentenceEmbedder::from_sources(config.model.clone(), &EmbedderOptions::new())?;
        Self::with(store, Arc::new(embedder))
    }

    /// Memory over an already opened store and embedder.
    pub fn with(store: Store, embedder: Arc<dyn Embedder>) -> Result<Self, OpenError> {
        Ok(Self {
            memory: Arc::new(Memory::new(store, embedder)?),
        })
    }

    /// The blocking API.
    pub fn memory(&self) -> &Memory {
        &self.memory
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
}
