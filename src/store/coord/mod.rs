//! Coordination: what lets several engram servers share one store without losing an
//! update (DESIGN.md, "Milestone 2", coordination rules), on both backends alike.
//!
//! - [`versioned`]: create-if-absent, compare-and-set on a record's version, conditional
//!   delete and "raise only if larger", each confirmed by reading back; a lost race is a
//!   [`crate::store::StoreError::Conflict`] carrying the current version.
//! - [`lease`]: shared and exclusive leases with a time to live and a fencing epoch, and
//!   writes guarded by them.
//! - [`idempotency`]: keys that make a retried write count once.
//! - [`clock`]: the hybrid logical clock that orders writes across servers.
//!
//! Counters are not kept here: a count is a set of append-only observations, counted
//! exactly with [`crate::store::Collection::count`] and
//! [`crate::store::Collection::facet`] (see `memory/observations.rs`). No code in engram
//! reads a number, changes it and writes it back.

pub mod clock;
pub mod idempotency;
pub mod lease;
pub mod versioned;

pub use clock::{Hlc, HybridClock, clock};
pub use idempotency::{Attempt, IdempotencyKeys};
pub use lease::{Acquire, Fence, GuardedValue, LapsedHolder, Lease, LeaseMode, LeaseState, Leases};
pub use versioned::{Versioned, version_of};
