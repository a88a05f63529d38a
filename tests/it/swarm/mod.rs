//! Swarm memory (design note 004): keys with expiry under an injected clock, the three
//! conflict policies, locks — a property test with many clients and random pauses, and
//! fencing of a holder that lapsed — the event feed read by cursor, task outcomes and the
//! strategies they recommend, and the agent-state helpers.

mod cli;
mod conflicts;
mod events;
mod health;
mod http;
mod keys;
mod locks;
mod outcomes;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use engram::store::Store;
use engram::swarm::{ConflictPolicy, Put, Swarm, SwarmSettings};
use serde_json::Value;

use crate::common::shared_embedder;

/// 2026-01-01T00:00:00Z, where the clock of these tests starts.
pub const T0: i64 = 1_767_225_600_000;
pub const HOUR: i64 = 3_600_000;

/// Swarm memory over a fresh embedded store, with a clock the test sets.
pub struct Fixture {
    pub swarm: Swarm,
    _store: Store,
    clock: Arc<AtomicI64>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with(SwarmSettings::default())
    }

    pub fn with(settings: SwarmSettings) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_edge(&dir.path().join("data")).expect("store");
        let clock = Arc::new(AtomicI64::new(T0));
        let read = Arc::clone(&clock);
        let swarm = Swarm::new(&store, Arc::clone(shared_embedder()) as _, settings)
            .expect("swarm")
            .with_clock(Arc::new(move || read.load(Ordering::SeqCst)));
        Self {
            swarm,
            _store: store,
            clock,
            _dir: dir,
        }
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }
}

/// A write of `value` under `key` with `policy`, nothing else set.
pub fn put(key: &str, value: Value, policy: ConflictPolicy) -> Put {
    Put {
        key: key.to_owned(),
        value,
        policy,
        expected_version: None,
        ttl_ms: None,
        lock: None,
    }
}
