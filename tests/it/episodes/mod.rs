//! Episodic memory: lifecycle, crash safety, failure analysis and bad input, through the
//! library and the CLI.

mod analysis;
mod cli;
mod crash;
mod lifecycle;

use std::sync::Arc;

use engram::episodes::Episodes;
use engram::store::Store;

use crate::common::shared_embedder;

/// Episodic memory over a fresh embedded store in a temp dir.
pub struct Fixture {
    pub store: Store,
    pub episodes: Episodes,
    /// Kept for the fixture's lifetime: the store lives in it.
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_edge(&dir.path().join("data")).expect("store");
        let episodes = Episodes::new(&store, Arc::clone(shared_embedder()) as _).expect("episodes");
        Self {
            store,
            episodes,
            _dir: dir,
        }
    }

    /// Points in the two episode collections.
    pub fn counts(&self) -> (usize, usize) {
        let count = |name: &str| {
            self.store
                .open_existing(name)
                .expect("open")
                .map(|c| c.count(None).expect("count"))
                .unwrap_or(0)
        };
        (count("experiences"), count("episode_events"))
    }
}
