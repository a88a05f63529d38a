//! engram: a semantic memory engine for swarms of coding agents.
//!
//! Agents that win a consensus round, fix an error or finish a task teach engram; the next
//! round recalls those patterns, solutions, error resolutions and episodes by meaning. This
//! crate is the engine and the `engram` command.
//!
//! [`Engram`] is the front door: memory (code patterns, solutions, error resolutions) over a
//! [`store`] (Qdrant Edge in process, or a Qdrant server) and an [`embed`]der (a local
//! all-MiniLM-L6-v2 run by candle, matching sentence-transformers).
//!
//! ```no_run
//! use engram::{Config, Engram};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let engram = Engram::open(&Config::from_env()?)?;
//! engram
//!     .store_error_resolution(
//!         "ModuleNotFoundError: No module named 'fastapi'",
//!         "starting the API server",
//!         "pip install fastapi uvicorn",
//!         true,
//!     )
//!     .await?;
//! let found = engram.recall_error_solutions("Cannot import fastapi", 3).await?;
//! assert_eq!(found[0].record.resolution, "pip install fastapi uvicorn");
//! # Ok(())
//! # }
//! ```

pub mod agents;
pub mod bench;
pub mod confidence;
pub mod config;
pub mod embed;
mod engram;
pub mod episodes;
pub mod extract;
pub mod health;
pub mod json_number;
pub mod knowledge;
pub mod mcp;
pub mod memories;
pub mod memory;
pub mod paths;
pub mod quota;
pub mod server;
pub mod specialists;
pub mod store;
pub mod swarm;
pub mod text;

pub use config::Config;
pub use engram::{Engram, OpenError, finish_loading, load_model, open_store};
