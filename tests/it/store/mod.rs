//! The store: one conformance suite over both backends, durability under SIGKILL, and the
//! one-writer lock.

#[macro_use]
mod fixture;
mod conformance;
mod coordination;
mod durability;
mod migrate;
pub mod reference;
mod remote;
mod snapshot;
