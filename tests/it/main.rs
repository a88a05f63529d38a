//! engram's integration tests, compiled as one binary so the suite links once.
//!
//! They use the real model, installed on first use like any engram command does.

mod agents;
mod bench;
mod cli;
mod common;
mod episodes;
mod extract;
mod knowledge;
mod memories;
mod memory;
mod parity;
mod provision;
mod scale_out;
mod server;
mod specialists;
mod store;
mod swarm;
