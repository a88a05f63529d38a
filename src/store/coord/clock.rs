//! A hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks and
//! Consistent Snapshots in Globally Distributed Databases", 2014): timestamps that follow
//! wall time but never go backwards and never repeat within a process, so that several
//! engram servers order their writes without trusting their clocks alone (DESIGN.md,
//! coordination rule 7).
//!
//! A timestamp is one `u64`: Unix milliseconds in the high 48 bits, a logical counter in the
//! low 16. `now` returns `max(wall, last + 1)`; `observe` moves the clock past a timestamp
//! read from another server, so that whatever this server writes next is ordered after it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Bits of the logical counter.
const LOGICAL_BITS: u32 = 16;

/// A hybrid-logical-clock timestamp. Stored in payloads as a JSON integer (it fits in i64
/// until the year 10889).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hlc(u64);

impl Hlc {
    /// The timestamp whose bits are `raw` (as stored).
    pub fn from_raw(raw: u64) -> Self {
        Self(raw)
    }

    /// The stored form.
    pub fn raw(self) -> u64 {
        self.0
    }

    /// The wall-clock part: Unix milliseconds.
    pub fn millis(self) -> i64 {
        (self.0 >> LOGICAL_BITS) as i64
    }

    /// The first timestamp of Unix millisecond `millis`.
    pub fn at_millis(millis: i64) -> Self {
        Self((millis.max(0) as u64) << LOGICAL_BITS)
    }
}

impl std::fmt::Display for Hlc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}",
            self.millis(),
            self.0 & ((1 << LOGICAL_BITS) - 1)
        )
    }
}

/// A process's hybrid logical clock.
#[derive(Debug, Default)]
pub struct HybridClock {
    last: AtomicU64,
}

impl HybridClock {
    /// A clock that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A timestamp later than every one this clock returned or observed, and not earlier
    /// than the wall clock.
    pub fn now(&self) -> Hlc {
        let wall = Hlc::at_millis(chrono::Utc::now().timestamp_millis()).0;
        let previous = self
            .last
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
                Some(wall.max(last + 1))
            })
            .unwrap_or_else(|last| last);
        Hlc(wall.max(previous + 1))
    }

    /// Moves the clock past `seen` (a timestamp read from another server's write), so that
    /// the next `now` orders after it.
    pub fn observe(&self, seen: Hlc) {
        self.last.fetch_max(seen.0, Ordering::AcqRel);
    }
}

/// The clock of this process, shared by every store it opens.
pub fn clock() -> &'static HybridClock {
    static CLOCK: OnceLock<HybridClock> = OnceLock::new();
    CLOCK.get_or_init(HybridClock::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_grow_strictly_and_follow_the_wall_clock() {
        let clock = HybridClock::new();
        let wall = chrono::Utc::now().timestamp_millis();
        let mut last = clock.now();
        assert!((last.millis() - wall).abs() < 1000);
        for _ in 0..100_000 {
            let next = clock.now();
            assert!(next > last);
            last = next;
        }
    }

    #[test]
    fn observing_a_later_timestamp_orders_the_next_one_after_it() {
        let clock = HybridClock::new();
        let ahead = Hlc::at_millis(chrono::Utc::now().timestamp_millis() + 60_000);
        clock.observe(ahead);
        let next = clock.now();
        assert!(next > ahead);
        assert_eq!(
            next.millis(),
            ahead.millis(),
            "the logical part moved, not the wall time"
        );
        // An older timestamp changes nothing.
        clock.observe(Hlc::at_millis(0));
        assert!(clock.now() > next);
    }

    #[test]
    fn threads_never_get_the_same_timestamp() {
        let clock = std::sync::Arc::new(HybridClock::new());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let clock = std::sync::Arc::clone(&clock);
                std::thread::spawn(move || (0..20_000).map(|_| clock.now()).collect::<Vec<_>>())
            })
            .collect();
        let mut all: Vec<Hlc> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread"))
            .collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n);
    }
}
