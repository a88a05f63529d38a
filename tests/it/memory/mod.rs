//! Memory: the four collections through the library API, the async facade and the CLI.

mod api;
mod cli;
mod normalisation;
mod real_world;

use std::sync::Arc;

use engram::memory::Memory;
use engram::store::Store;

use crate::common::shared_embedder;

/// A memory over a fresh embedded store in a temp dir, with the real model.
pub struct Fixture {
    pub memory: Memory,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_edge(&dir.path().join("data")).expect("store");
        let memory = Memory::new(store, Arc::clone(shared_embedder()) as _).expect("memory");
        Self { memory, dir }
    }
}
