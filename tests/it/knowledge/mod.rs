//! The knowledge base: `seeds/` seeded into a temp store with the real model; recall
//! quality, idempotency, validation.

mod recall;
mod seeding;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use engram::knowledge::{SeedOptions, SeedReport, seed};
use engram::memory::Memory;
use engram::store::Store;

use crate::common::shared_embedder;

/// The repository's seed folder.
pub fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
}

/// A memory over a fresh store in a temp dir.
pub fn fresh_memory(dir: &Path) -> Memory {
    let store = Store::open_edge(&dir.join("data")).expect("store");
    Memory::new(store, Arc::clone(shared_embedder()) as _).expect("memory")
}

/// Seeds `dir` into `memory` with `options`.
pub fn seed_with(memory: &Memory, dir: &Path, options: SeedOptions) -> SeedReport {
    seed(memory, dir, options, &mut |_, _| {}).expect("seed")
}

/// `seeds/` seeded into a fresh store.
pub struct Seeded {
    pub memory: Memory,
    pub report: SeedReport,
    /// Keeps the store's folder alive as long as the memory.
    _dir: tempfile::TempDir,
}

impl Seeded {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let memory = fresh_memory(dir.path());
        let report = seed_with(&memory, &seeds_dir(), SeedOptions::default());
        Self {
            memory,
            report,
            _dir: dir,
        }
    }
}

mod cli;
mod custom;
