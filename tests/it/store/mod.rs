//! The store: one conformance suite over both backends, durability under SIGKILL, and the
//! one-writer lock.

mod conformance;
mod durability;
mod reference;
mod remote;
