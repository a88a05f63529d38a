//! Learning from consensus winners: the winning candidate's patterns are extracted and stored
//! in `code_patterns` with the task's context and the round's success metrics. Entries are
//! keyed by structural fingerprint, so a structure already known is reinforced (one more
//! sighting, its success rate updated) instead of stored twice.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::ExtractError;
use super::extract;
use super::language::SourceLanguage;
use super::pattern::{Pattern, PatternKind};
use crate::memory::{
    CodePattern, Language, MAX_CONTENT_CHARS, MAX_TEXT_CHARS, Memory, MemoryError, Metrics,
    PatternInput, Recalled, Stored,
};

/// How many patterns [`suggest_patterns`] returns.
pub const SUGGESTIONS: usize = 5;

/// The `source` of every pattern learned from a consensus round.
pub const SOURCE: &str = "consensus";

/// Most tags a task may carry (each pattern adds its kind and complexity class to them).
pub const MAX_TASK_TAGS: usize = 28;

/// What a consensus round concluded about its winner.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsensusResult {
    /// The round's success metrics (`success_rate`, `votes`, `tests_passed`, `latency_ms`,
    /// …), stored with every pattern. `success_rate`, in `[0, 1]`, is the outcome each
    /// pattern is credited with; without it the winner counts as a success.
    pub metrics: Metrics,
}

/// The candidate that won.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Its code.
    pub code: String,
    /// Its language; when absent, the task's, then the file name's extension.
    pub language: Option<SourceLanguage>,
    /// The file it was written as, if any (for its extension).
    pub file_name: Option<String>,
}

impl Candidate {
    /// A candidate in a known language.
    pub fn new(code: impl Into<String>, language: SourceLanguage) -> Self {
        Self {
            code: code.into(),
            language: Some(language),
            file_name: None,
        }
    }
}

/// The task the round solved.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskContext {
    /// What was asked: stored as every pattern's context, and what later tasks are matched
    /// against.
    pub description: String,
    /// The task's language, if the candidate does not say.
    pub language: Option<SourceLanguage>,
    /// Labels added to every pattern.
    pub tags: Vec<String>,
}

impl TaskContext {
    /// A task with only a description.
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            language: None,
            tags: Vec::new(),
        }
    }
}

/// One pattern learned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LearnedPattern {
    /// What was extracted.
    pub pattern: Pattern,
    /// How it was stored: a new entry, or one more sighting of a known structure.
    pub stored: Stored,
}

/// What one winner taught.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Learned {
    /// The language the winner was parsed as.
    pub language: SourceLanguage,
    /// Syntax errors in the winner (its broken parts yield no patterns).
    pub error_count: usize,
    /// The patterns stored, in source order.
    pub patterns: Vec<LearnedPattern>,
    /// Patterns left out because their code exceeds the pattern size limit.
    pub skipped: usize,
}

impl Learned {
    /// Patterns stored for the first time.
    pub fn created(&self) -> usize {
        self.patterns.iter().filter(|p| p.stored.created).count()
    }

    /// Patterns whose structure was already known and got one more sighting.
    pub fn reinforced(&self) -> usize {
        self.patterns.len() - self.created()
    }
}

/// Why learning failed.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    /// The winner could not be parsed (unsupported language, too large, pathological).
    #[error(transparent)]
    Extract(#[from] ExtractError),
    /// The input is invalid, or storing failed.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

impl LearnError {
    /// Whether the caller can fix this by changing the request.
    pub fn is_caller_fault(&self) -> bool {
        match self {
            Self::Extract(error) => error.is_caller_fault(),
            Self::Memory(error) => error.is_caller_fault(),
        }
    }
}

/// `extract_from_consensus(consensus_result, winner, task_context)`: extracts the winner's
/// patterns and stores each in `code_patterns`, with the task as context, the round's
/// metrics and the pattern's complexity; every input is checked before anything is stored.
pub fn extract_from_consensus(
    memory: &Memory,
    consensus: &ConsensusResult,
    winner: &Candidate,
    task: &TaskContext,
) -> Result<Learned, LearnError> {
    extract_from_consensus_with_key(memory, consensus, winner, task, None)
}

/// [`extract_from_consensus`] with an idempotency key: learning the same winner again
/// with the same key (a retry) adds no sightings. Each extracted pattern is stored under a
/// key derived from `key` and its position in the winner.
pub fn extract_from_consensus_with_key(
    memory: &Memory,
    consensus: &ConsensusResult,
    winner: &Candidate,
    task: &TaskContext,
    key: Option<&str>,
) -> Result<Learned, LearnError> {
    let invalid = |message: String| LearnError::Memory(MemoryError::InvalidInput(message));
    if let Some(key) = key {
        crate::store::coord::idempotency::check_key(key).map_err(MemoryError::from)?;
    }
    if crate::text::is_blank(&winner.code) {
        return Err(invalid("the winner's code is empty".into()));
    }
    if crate::text::is_blank(&task.description) {
        return Err(invalid("the task description is empty".into()));
    }
    if task.tags.len() > MAX_TASK_TAGS {
        return Err(invalid(format!(
            "{} task tags; at most {MAX_TASK_TAGS}",
            task.tags.len()
        )));
    }
    let language = winner_language(winner, task)?;
    // The one form of the code (line endings, BOM), which the spans refer to.
    let source = crate::text::canonical(&winner.code);
    let extraction = extract(&source, language)?;
    let mut inputs = Vec::new();
    let mut skipped = 0;
    for pattern in extraction.patterns {
        let code = pattern.code_in(&source);
        if code.chars().count() > MAX_CONTENT_CHARS {
            skipped += 1;
            continue;
        }
        let input = pattern_input(&pattern, code, language.memory_language(), consensus, task);
        input.validate()?;
        inputs.push((pattern, input));
    }
    let mut patterns = Vec::with_capacity(inputs.len());
    for (position, (pattern, mut input)) in inputs.into_iter().enumerate() {
        input.idempotency_key = key.map(|key| {
            crate::store::PointId::from_content(&[key.as_bytes(), &position.to_le_bytes()])
                .to_string()
        });
        let stored = memory.store_pattern(input)?;
        patterns.push(LearnedPattern { pattern, stored });
    }
    Ok(Learned {
        language,
        error_count: extraction.error_count,
        patterns,
        skipped,
    })
}

/// `suggest_patterns(task_description, language)`: the five patterns most relevant to a
/// task, in `language` if given.
pub fn suggest_patterns(
    memory: &Memory,
    task_description: &str,
    language: Option<Language>,
) -> Result<Vec<Recalled<CodePattern>>, MemoryError> {
    memory.recall_similar_patterns(task_description, language, SUGGESTIONS)
}

/// The winner's language: its own, the task's, or its file name's extension.
fn winner_language(winner: &Candidate, task: &TaskContext) -> Result<SourceLanguage, LearnError> {
    if let Some(language) = winner.language.or(task.language) {
        return Ok(language);
    }
    match &winner.file_name {
        Some(name) => Ok(SourceLanguage::from_path(Path::new(name)).map_err(ExtractError::from)?),
        None => Err(LearnError::Memory(MemoryError::InvalidInput(format!(
            "the winner's language is unknown: give the candidate or the task a language \
             ({}), or a file name",
            SourceLanguage::supported()
        )))),
    }
}

/// How one extracted pattern is stored.
fn pattern_input(
    pattern: &Pattern,
    code: &str,
    language: Language,
    consensus: &ConsensusResult,
    task: &TaskContext,
) -> PatternInput {
    let name = match (&pattern.owner, pattern.kind) {
        (Some(owner), PatternKind::Method) => format!("{owner}.{}", pattern.name),
        _ => pattern.name.clone(),
    };
    let mut tags = vec![
        pattern.kind.name().to_owned(),
        format!("complexity:{}", pattern.complexity_class.name()),
    ];
    for tag in &task.tags {
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
    }
    let mut metrics = consensus.metrics.clone();
    metrics.insert(
        "cyclomatic_complexity".to_owned(),
        f64::from(pattern.complexity),
    );
    let mut context = task.description.trim().to_owned();
    if let Some(doc) = pattern
        .doc
        .as_ref()
        .filter(|doc| context.chars().count() + 1 + doc.chars().count() <= MAX_TEXT_CHARS)
    {
        context.push('\n');
        context.push_str(doc);
    }
    PatternInput {
        context,
        pattern_type: pattern.kind.name().to_owned(),
        tags,
        source: SOURCE.to_owned(),
        metrics,
        fingerprint: Some(pattern.fingerprint.clone()),
        ..PatternInput::new(name, code, language)
    }
}
