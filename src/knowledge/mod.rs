//! The knowledge base: curated seed files (design patterns, best practices, common errors;
//! `seeds/` in the repository) stored into memory by [`seed`], and
//! [`add_custom_knowledge`] for entries of one's own.
//!
//! Seeding validates every file first and stores nothing if any is wrong. Seed entries are
//! keyed by their file's path, and carry the file's hash: seeding again stores nothing new,
//! an edited file replaces its one entry, and entries whose file is gone are reported (and
//! deleted on request).

mod category;
mod custom;
mod seed_file;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use category::{Category, UnknownCategory};
pub use custom::{KnowledgeInput, add_custom_knowledge, add_custom_knowledge_with_key};
pub use seed_file::{CodeBlock, MAX_SEED_BYTES, Problem, SeedEntry, parse};

use crate::memory::{
    CodePattern, EntryText, ErrorResolution, Memory, MemoryError, MemoryKind, Solution, Track,
    join, normalize_error,
};
use crate::store::{Condition, Filter, Payload, PointId};

/// The `source` of every seed entry.
pub const SEED_SOURCE: &str = "seed";

/// Entries embedded and stored per batch.
const BATCH: usize = 32;

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    /// Some seed files are invalid; nothing was stored.
    #[error("{} problems in the seed files; nothing was stored:\n{}", .0.len(), list(.0))]
    Invalid(Vec<Problem>),
    /// The seed folder could not be read.
    #[error("cannot read the seed folder {}: {message}", path.display())]
    Folder {
        /// The folder or file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Storing failed.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

impl KnowledgeError {
    /// Whether the caller can fix this (the files, the folder, the input).
    pub fn is_caller_fault(&self) -> bool {
        match self {
            Self::Invalid(_) | Self::Folder { .. } => true,
            Self::Memory(error) => error.is_caller_fault(),
        }
    }
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a seed run does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedOptions {
    /// Validate and report what would change, store nothing.
    pub dry_run: bool,
    /// Delete the entries whose seed file is gone.
    pub prune: bool,
}

/// What seeding found and did in one category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CategoryCounts {
    /// Seed files of this category.
    pub files: usize,
    /// Entries stored for the first time.
    pub added: usize,
    /// Entries whose file changed, stored again.
    pub updated: usize,
    /// Entries already stored from the same file content.
    pub unchanged: usize,
}

/// An entry whose seed file is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Removed {
    /// The path its file had.
    pub path: String,
    /// Its title.
    pub title: String,
    /// Whether it was deleted (`--prune`).
    pub deleted: bool,
}

/// The outcome of a seed run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeedReport {
    /// The folder seeded.
    #[schema(value_type = String)]
    pub dir: PathBuf,
    /// Whether nothing was stored on purpose.
    pub dry_run: bool,
    /// Counts per category (design_pattern, best_practice, common_error).
    pub categories: BTreeMap<Category, CategoryCounts>,
    /// Entries whose file is gone.
    pub removed: Vec<Removed>,
}

impl SeedReport {
    /// Entries stored by this run (added or updated).
    pub fn stored(&self) -> usize {
        self.categories.values().map(|c| c.added + c.updated).sum()
    }
}

/// A stored seed entry, as far as seeding needs to know it.
struct Existing {
    kind: MemoryKind,
    path: String,
    hash: String,
    title: String,
    created_at: Option<i64>,
}

/// Seeds `dir` into memory: validates every file (all problems reported at once), then
/// stores new and changed entries in batches, calling `progress(done, total)` as it goes.
pub fn seed(
    memory: &Memory,
    dir: &Path,
    options: SeedOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<SeedReport, KnowledgeError> {
    let entries = load_folder(dir)?;
    seed_entries(memory, dir, &entries, options, progress)
}

/// Seeds entries already read and checked (from [`load_folder`] or [`parse_files`]); `dir`
/// is what the report names as their folder.
pub fn seed_entries(
    memory: &Memory,
    dir: &Path,
    entries: &[SeedEntry],
    options: SeedOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<SeedReport, KnowledgeError> {
    let existing = existing_seeds(memory)?;
    let mut report = SeedReport {
        dir: dir.to_path_buf(),
        dry_run: options.dry_run,
        categories: Category::ALL
            .iter()
            .map(|c| (*c, CategoryCounts::default()))
            .collect(),
        removed: Vec::new(),
    };
    let mut to_store = Vec::new();
    // Entries whose file changed category: (id, the collection they leave).
    let mut moved = Vec::new();
    for entry in entries {
        let id = entry_id(&entry.path);
        let counts = report.categories.entry(entry.category).or_default();
        counts.files += 1;
        match existing.get(&id) {
            Some(old) if old.hash == entry.hash && old.kind == entry.category.memory_kind() => {
                counts.unchanged += 1;
            }
            Some(old) => {
                counts.updated += 1;
                if old.kind != entry.category.memory_kind() {
                    moved.push((id, old.kind));
                }
                to_store.push((id, entry, old.created_at));
            }
            None => {
                counts.added += 1;
                to_store.push((id, entry, None));
            }
        }
    }
    let current: std::collections::HashSet<PointId> =
        entries.iter().map(|e| entry_id(&e.path)).collect();
    let mut gone: Vec<(PointId, &Existing)> = existing
        .iter()
        .filter(|(id, _)| !current.contains(id))
        .map(|(id, old)| (*id, old))
        .collect();
    gone.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    let delete = options.prune && !options.dry_run;
    report.removed = gone
        .iter()
        .map(|(_, old)| Removed {
            path: old.path.clone(),
            title: old.title.clone(),
            deleted: delete,
        })
        .collect();
    if options.dry_run {
        return Ok(report);
    }
    let total = to_store.len();
    let now = chrono::Utc::now().timestamp();
    let mut done = 0;
    progress(done, total);
    for kind in [
        MemoryKind::CodePattern,
        MemoryKind::Solution,
        MemoryKind::Error,
    ] {
        let of_kind: Vec<_> = to_store
            .iter()
            .filter(|(_, entry, _)| entry.category.memory_kind() == kind)
            .collect();
        for batch in of_kind.chunks(BATCH) {
            let points = batch
                .iter()
                .map(|(id, entry, created_at)| {
                    let (text, payload) = seed_point(entry, now, *created_at)?;
                    Ok((*id, text, payload))
                })
                .collect::<Result<Vec<_>, MemoryError>>()?;
            memory.put(kind, points)?;
            done += batch.len();
            progress(done, total);
        }
    }
    for (id, kind) in moved {
        memory
            .collection(kind)
            .delete(&[id])
            .map_err(MemoryError::from)?;
    }
    if delete {
        for kind in MemoryKind::ALL {
            let ids: Vec<PointId> = gone
                .iter()
                .filter(|(_, old)| old.kind == kind)
                .map(|(id, _)| *id)
                .collect();
            if !ids.is_empty() {
                memory
                    .collection(kind)
                    .delete(&ids)
                    .map_err(MemoryError::from)?;
            }
        }
    }
    Ok(report)
}

/// Every seed file under `dir` (README.md files excepted), parsed and checked.
pub fn load_folder(dir: &Path) -> Result<Vec<SeedEntry>, KnowledgeError> {
    parse_files(&read_folder(dir)?)
}

/// Seed files given as (path relative to the seed folder, content), parsed and checked: all
/// problems at once, or every entry.
pub fn parse_files(files: &[(String, Vec<u8>)]) -> Result<Vec<SeedEntry>, KnowledgeError> {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (relative, bytes) in files {
        match parse(relative, bytes) {
            Ok(entry) => entries.push(entry),
            Err(found) => problems.extend(found),
        }
    }
    if !problems.is_empty() {
        return Err(KnowledgeError::Invalid(problems));
    }
    Ok(entries)
}

/// The seed files under `dir` (README.md files excepted) as (relative path, content), for
/// sending them to a server that seeds them.
pub fn read_folder(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, KnowledgeError> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let bytes = fs_err::read(&file).map_err(|e| KnowledgeError::Folder {
                path: file.clone(),
                message: e.to_string(),
            })?;
            Ok((seed_file::relative_path(dir, &file), bytes))
        })
        .collect()
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), KnowledgeError> {
    let folder_error = |e: std::io::Error| KnowledgeError::Folder {
        path: dir.to_path_buf(),
        message: e.to_string(),
    };
    for entry in fs_err::read_dir(dir).map_err(folder_error)? {
        let path = entry.map_err(folder_error)?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "md")
            && path.file_name().is_some_and(|n| n != "README.md")
        {
            files.push(path);
        }
    }
    Ok(())
}

/// A seed entry's id: from its path, so an edited file replaces its entry.
fn entry_id(path: &str) -> PointId {
    PointId::from_content(&[b"seed", path.as_bytes()])
}

/// The seed entries stored so far, by id.
fn existing_seeds(memory: &Memory) -> Result<BTreeMap<PointId, Existing>, MemoryError> {
    let filter = Filter::default().and(Condition::keyword("source", SEED_SOURCE));
    let mut found = BTreeMap::new();
    for kind in [
        MemoryKind::CodePattern,
        MemoryKind::Solution,
        MemoryKind::Error,
    ] {
        for record in memory.collection(kind).scroll_all(Some(&filter))? {
            let text = |field: &str| {
                record
                    .payload
                    .get(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let Some(path) = record.payload.get("seed_path").and_then(|v| v.as_str()) else {
                continue;
            };
            let title = match kind {
                MemoryKind::CodePattern => text("name"),
                MemoryKind::Solution => text("problem"),
                _ => text("error_message"),
            };
            found.insert(
                record.id,
                Existing {
                    kind,
                    path: path.to_owned(),
                    hash: text("seed_hash"),
                    title,
                    created_at: record.payload.get("created_at").and_then(|v| v.as_i64()),
                },
            );
        }
    }
    Ok(found)
}

/// The embedded text and the payload of a seed entry.
fn seed_point(
    entry: &SeedEntry,
    now: i64,
    created_at: Option<i64>,
) -> Result<(EntryText, Payload), MemoryError> {
    let mut track = Track::first(1.0, now);
    track.created_at = created_at.unwrap_or(now);
    let language = entry
        .languages
        .first()
        .copied()
        .unwrap_or(crate::memory::Language::Text);
    let mut tags = entry.tags.clone();
    for label in std::iter::once(entry.category.name().to_owned())
        .chain(entry.languages.iter().map(|l| l.name().to_owned()))
    {
        if !tags.contains(&label) {
            tags.push(label);
        }
    }
    let (text, record) = match entry.category {
        Category::DesignPattern => {
            let code = entry
                .code_blocks
                .iter()
                .map(|b| format!("```{}\n{}\n```", b.language, b.code))
                .collect::<Vec<_>>()
                .join("\n\n");
            let context = join(&[&entry.summary, &entry.prose]);
            let record = CodePattern {
                name: entry.title.clone(),
                code: code.clone(),
                language,
                context: context.clone(),
                pattern_type: entry.category.name().to_owned(),
                tags,
                source: SEED_SOURCE.to_owned(),
                metrics: Default::default(),
                fingerprint: None,
                track,
            };
            (
                EntryText::same(join(&[&entry.title, &context, &code])),
                to_map(&record)?,
            )
        }
        Category::BestPractice => {
            let record = Solution {
                problem: entry.title.clone(),
                solution: entry.body.clone(),
                language,
                context: entry.summary.clone(),
                tags,
                source: SEED_SOURCE.to_owned(),
                metrics: Default::default(),
                track,
            };
            (
                EntryText::same(join(&[&entry.title, &entry.summary, &entry.prose])),
                to_map(&record)?,
            )
        }
        Category::CommonError => {
            let message = entry.error.clone().unwrap_or_default();
            let normalized = normalize_error(&message);
            let record = ErrorResolution {
                error_message: message.clone(),
                normalized,
                context: entry.cause.clone(),
                resolution: entry.resolution.clone(),
                language,
                tags,
                source: SEED_SOURCE.to_owned(),
                track,
            };
            let text = EntryText::error(
                &message,
                &[&entry.title, &entry.summary, &normalize_error(&entry.cause)],
            );
            (text, to_map(&record)?)
        }
    };
    let mut payload = record;
    payload.insert("seed_path".into(), entry.path.clone().into());
    payload.insert("seed_hash".into(), entry.hash.clone().into());
    Ok((text, payload))
}

fn to_map<T: Serialize>(record: &T) -> Result<Payload, MemoryError> {
    match serde_json::to_value(record) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) | Err(_) => Err(MemoryError::InvalidInput(
            "a seed record does not serialise to a JSON object".into(),
        )),
    }
}
