//! General memory (design note 003): every method through the library and over HTTP,
//! decay and reinforcement as golden orderings at fixed clock times, compare-and-set
//! updates under contention, batches with invalid items, isolation between agents, and a
//! cascade delete killed half-way that finishes on the next start.

mod batch;
mod cascade;
mod cli;
mod decay;
mod http;
mod library;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use engram::memories::{Memories, Scoring};
use engram::store::Store;

use crate::common::shared_embedder;

/// 2026-01-01T00:00:00Z, where the clock of these tests starts.
pub const T0: i64 = 1_767_225_600_000;
pub const HOUR: i64 = 3_600_000;

/// General memory over a fresh embedded store, with a clock the test sets.
pub struct Library {
    pub memories: Memories,
    _store: Store,
    clock: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
}

impl Library {
    pub fn new() -> Self {
        Self::with(Scoring::default())
    }

    pub fn with(scoring: Scoring) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_edge(&dir.path().join("data")).expect("store");
        let clock = Arc::new(AtomicI64::new(T0));
        let read = Arc::clone(&clock);
        let memories = Memories::new(&store, Arc::clone(shared_embedder()) as _, scoring)
            .expect("memories")
            .with_clock(Arc::new(move || read.load(Ordering::SeqCst)));
        Self {
            memories,
            _store: store,
            clock,
            _dir: dir,
        }
    }

    /// Sets the clock to `T0 + hours`.
    pub fn at_hours(&self, hours: f64) {
        self.clock
            .store(T0 + (hours * HOUR as f64) as i64, Ordering::SeqCst);
    }
}
