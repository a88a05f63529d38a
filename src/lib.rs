//! engram: a semantic memory engine for swarms of coding agents.
//!
//! Agents that win a consensus round, fix an error or finish a task teach engram; the next
//! round recalls those patterns, solutions, error resolutions and episodes by meaning. This
//! crate is the engine and the `engram` command.
//!
//! The foundation is [`embed`]: a local all-MiniLM-L6-v2 run by candle whose vectors match
//! sentence-transformers'.
//!
//! ```no_run
//! use engram::embed::{Embedder, EmbedderOptions, SentenceEmbedder, cosine};
//!
//! # fn main() -> engram::embed::Result<()> {
//! // Finds the model (installing it on first use) and verifies its checksums.
//! let embedder = SentenceEmbedder::from_env(&EmbedderOptions::new())?;
//! let vectors = embedder.embed_batch(&[
//!     "ModuleNotFoundError: No module named 'fastapi'",
//!     "pip install fastapi uvicorn",
//! ])?;
//! assert_eq!(vectors[0].len(), embedder.dimension());
//! println!("similarity {:.3}", cosine(&vectors[0], &vectors[1]));
//! # Ok(())
//! # }
//! ```

pub mod bench;
pub mod config;
pub mod embed;
mod engram;
pub mod memory;
pub mod paths;
pub mod store;

pub use config::Config;
pub use engram::{Engram, OpenError};
