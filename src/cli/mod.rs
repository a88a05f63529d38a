//! The command line: parse flags into a validated configuration, run one command, map its
//! outcome to an exit code.

mod agents;
mod args;
mod bench;
mod embed;
mod episodes;
mod extract;
mod health;
mod learn;
mod mcp;
mod memories;
mod migrate;
mod model;
mod output;
mod recall;
mod remember;
mod seed;
mod serve;
mod session;
mod snapshot;
mod specialists;
mod stats;
mod swarm;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, ModelCommand};
use engram::embed::EmbedError;
use output::Output;

/// Exit codes, documented in `--help` and the README.
pub(crate) mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// engram's own fault: a bug or an unexpected failure.
    pub const INTERNAL: u8 = 1;
    /// The command line or its input is wrong.
    pub const USAGE: u8 = 2;
    /// The model is missing, corrupt or unreadable; the message says how to fix it.
    pub const MODEL: u8 = 3;
}

/// JSON given with `flag` on the command line; not JSON of the right shape, or a number the
/// store cannot keep exactly ([`engram::json_number`]), is a usage error (exit 2) whose
/// message ends with `hint`.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    json: &str,
    flag: &str,
    hint: &str,
) -> Result<T, Failure> {
    let value = serde_json::from_str(json)
        .map_err(|e| Failure::usage(format!("{flag} is not {hint}: {e}")))?;
    engram::json_number::check_exact(json).map_err(|e| Failure::usage(format!("{flag}: {e}")))?;
    Ok(value)
}

/// An error together with the exit code it deserves.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    /// A usage error (exit 2) when the caller is at fault, an internal one (exit 1) when not.
    fn classified(caller_fault: bool, error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: if caller_fault {
                exit::USAGE
            } else {
                exit::INTERNAL
            },
            error: error.into(),
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: exit::USAGE,
            error: anyhow::anyhow!(message.into()),
        }
    }
}

impl From<EmbedError> for Failure {
    fn from(error: EmbedError) -> Self {
        let code = match &error {
            EmbedError::ModelUnavailable { .. }
            | EmbedError::Checksum { .. }
            | EmbedError::MissingFile { .. }
            | EmbedError::Io { .. }
            | EmbedError::InvalidConfig { .. } => exit::MODEL,
            EmbedError::InvalidOption(_) => exit::USAGE,
            EmbedError::Tokenizer { .. } | EmbedError::Inference(_) => exit::INTERNAL,
        };
        Self {
            code,
            error: error.into(),
        }
    }
}

impl From<engram::bench::BenchError> for Failure {
    fn from(error: engram::bench::BenchError) -> Self {
        use engram::bench::BenchError;
        match error {
            BenchError::Embed(error) => error.into(),
            BenchError::Data { .. } => Self {
                code: exit::USAGE,
                error: error.into(),
            },
            BenchError::Store(store) if store.is_caller_fault() => Self {
                code: exit::USAGE,
                error: store.into(),
            },
            BenchError::Store(_) | BenchError::Output { .. } => Self {
                code: exit::INTERNAL,
                error: error.into(),
            },
        }
    }
}

impl From<engram::store::StoreError> for Failure {
    fn from(error: engram::store::StoreError) -> Self {
        Self::classified(error.is_caller_fault(), error)
    }
}

impl From<engram::store::snapshot::SnapshotError> for Failure {
    fn from(error: engram::store::snapshot::SnapshotError) -> Self {
        use engram::store::snapshot::SnapshotError;
        let caller_fault = match &error {
            SnapshotError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            ),
            SnapshotError::Mismatch { .. } => false,
            SnapshotError::Corrupt { .. }
            | SnapshotError::Version { .. }
            | SnapshotError::NotEmpty(_) => true,
            SnapshotError::Store(store) => store.is_caller_fault(),
        };
        Self::classified(caller_fault, error)
    }
}

impl From<engram::store::migrate::MigrateError> for Failure {
    fn from(error: engram::store::migrate::MigrateError) -> Self {
        use engram::store::migrate::MigrateError;
        let caller_fault = match &error {
            MigrateError::Mismatch { .. } => false,
            MigrateError::Store(store) => store.is_caller_fault(),
        };
        Self::classified(caller_fault, error)
    }
}

impl From<engram::config::ConfigError> for Failure {
    fn from(error: engram::config::ConfigError) -> Self {
        Self {
            code: exit::USAGE,
            error: error.into(),
        }
    }
}

impl From<engram::memory::MemoryError> for Failure {
    fn from(error: engram::memory::MemoryError) -> Self {
        use engram::memory::MemoryError;
        match error {
            MemoryError::Embed(error) => error.into(),
            MemoryError::Store(error) => error.into(),
            other => Self::classified(other.is_caller_fault(), other),
        }
    }
}

impl From<engram::episodes::EpisodeError> for Failure {
    fn from(error: engram::episodes::EpisodeError) -> Self {
        use engram::episodes::EpisodeError;
        match error {
            EpisodeError::Embed(error) => error.into(),
            EpisodeError::Store(error) => error.into(),
            other => Self::classified(other.is_caller_fault(), other),
        }
    }
}

impl From<engram::agents::AgentError> for Failure {
    fn from(error: engram::agents::AgentError) -> Self {
        use engram::agents::AgentError;
        match error {
            AgentError::Embed(error) => error.into(),
            AgentError::Store(error) => error.into(),
            other => Self::classified(other.is_caller_fault(), other),
        }
    }
}

impl From<engram::memories::MemoriesError> for Failure {
    fn from(error: engram::memories::MemoriesError) -> Self {
        use engram::memories::MemoriesError;
        match error {
            MemoriesError::Embed(error) => error.into(),
            MemoriesError::Store(error) => error.into(),
            other => Self::classified(other.is_caller_fault(), other),
        }
    }
}

impl From<engram::swarm::SwarmError> for Failure {
    fn from(error: engram::swarm::SwarmError) -> Self {
        use engram::swarm::SwarmError;
        match error {
            SwarmError::Store(error) => error.into(),
            other => Self::classified(other.is_caller_fault(), other),
        }
    }
}

impl From<engram::health::HealthError> for Failure {
    fn from(error: engram::health::HealthError) -> Self {
        use engram::health::HealthError;
        match error {
            HealthError::Store(error) => error.into(),
            HealthError::Swarm(error) => error.into(),
            HealthError::Memories(error) => error.into(),
        }
    }
}

impl From<engram::specialists::SpecialistError> for Failure {
    fn from(error: engram::specialists::SpecialistError) -> Self {
        use engram::specialists::SpecialistError;
        match error {
            SpecialistError::Embed(error) => error.into(),
            SpecialistError::Store(error) => error.into(),
            other => Self::classified(other.is_caller_fault(), other),
        }
    }
}

impl From<engram::extract::ExtractError> for Failure {
    fn from(error: engram::extract::ExtractError) -> Self {
        Self::classified(error.is_caller_fault(), error)
    }
}

impl From<engram::extract::learn::LearnError> for Failure {
    fn from(error: engram::extract::learn::LearnError) -> Self {
        use engram::extract::learn::LearnError;
        match error {
            LearnError::Extract(error) => error.into(),
            LearnError::Memory(error) => error.into(),
        }
    }
}

impl From<engram::knowledge::KnowledgeError> for Failure {
    fn from(error: engram::knowledge::KnowledgeError) -> Self {
        use engram::knowledge::KnowledgeError;
        match error {
            KnowledgeError::Memory(error) => error.into(),
            other => Self::classified(other.is_caller_fault(), other),
        }
    }
}

impl From<engram::OpenError> for Failure {
    fn from(error: engram::OpenError) -> Self {
        use engram::OpenError;
        match error {
            OpenError::Config(error) => error.into(),
            OpenError::Embed(error) => error.into(),
            OpenError::Store(error) => error.into(),
            OpenError::Memory(error) => error.into(),
            OpenError::Episodes(error) => error.into(),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Self {
            code: exit::INTERNAL,
            error: error.into(),
        }
    }
}

pub(crate) type CliResult = Result<(), Failure>;

/// Parses the command line, runs it and returns the exit code.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.quiet);
    let mut out = Output::stdout();
    let result = match &cli.command {
        Command::Model { command } => match command {
            ModelCommand::Install { force, json } => cli
                .resolve_config()
                .map_err(Failure::from)
                .and_then(|config| model::install(&config.model, *force, *json, &mut out)),
            ModelCommand::Info { json } => cli
                .resolve_config()
                .map_err(Failure::from)
                .and_then(|config| model::info(&config.model, *json, &mut out)),
        },
        Command::Remember { what } => remember::run(&cli, what, &mut out),
        Command::Recall(args) => recall::run(&cli, args, &mut out),
        Command::Serve(args) => serve::run(&cli, args),
        Command::Mcp(args) => mcp::run(&cli, args),
        Command::Seed(args) => seed::run(&cli, args, &mut out),
        Command::Extract(args) => extract::run(args, &mut out),
        Command::Learn(args) => learn::run(&cli, args, &mut out),
        Command::Episodes { command } => episodes::run(&cli, command, &mut out),
        Command::Agents { command } => agents::run(&cli, command, &mut out),
        Command::Specialists { command } => specialists::run(&cli, command, &mut out),
        Command::Memories { command } => memories::run(&cli, command, &mut out),
        Command::Swarm { command } => swarm::run(&cli, command, &mut out),
        Command::Embed(args) => embed::run(&cli, args, &mut out),
        Command::Bench(args) => bench::run(&cli, args, &mut out),
        Command::Migrate { to, json } => migrate::run(&cli, to, *json, &mut out),
        Command::Snapshot { command } => snapshot::run(&cli, command, &mut out),
        Command::Stats { json } => stats::run(&cli, *json, &mut out),
        Command::Health { json } => health::report(&cli, *json, &mut out),
        Command::Optimize { apply, json } => health::optimize(&cli, *apply, *json, &mut out),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) if output::is_broken_pipe(&failure.error) => ExitCode::from(exit::OK),
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

fn init_logging(quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet { "engram=warn" } else { "engram=info" };
    let filter = EnvFilter::try_from_env("ENGRAM_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
}
