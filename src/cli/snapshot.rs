//! `engram snapshot create|verify|restore`: the store to and from one checksummed file
//! ([`engram::store::snapshot`]).

use std::fmt::Write as _;

use engram::config::StoreConfig;
use engram::store::snapshot::{self, Summary};

use super::CliResult;
use super::args::{Cli, SnapshotCommand};
use super::output::Output;
use super::stats::human_bytes;

/// Runs one snapshot command.
pub fn run(cli: &Cli, command: &SnapshotCommand, out: &mut Output) -> CliResult {
    match command {
        SnapshotCommand::Create { file, json } => {
            let config = cli.resolve_config()?;
            let store = engram::open_store(&config)?;
            let summary = snapshot::create(&store, file, &describe(&config.store))?;
            print("wrote", file, &summary, *json, out)
        }
        SnapshotCommand::Verify { file, json } => {
            let summary = snapshot::verify(file)?;
            print("intact", file, &summary, *json, out)
        }
        SnapshotCommand::Restore { file, json } => {
            let config = cli.resolve_config()?;
            let store = engram::open_store(&config)?;
            let summary = snapshot::restore(&store, file)?;
            store.flush()?;
            let into = format!("restored into {}:", describe(&config.store));
            print(&into, file, &summary, *json, out)
        }
    }
}

/// The store, as a snapshot's header and the messages name it.
fn describe(store: &StoreConfig) -> String {
    match store {
        StoreConfig::Edge(dir) => format!("Qdrant Edge at {}", dir.display()),
        StoreConfig::Remote(remote) => format!(
            "Qdrant server {} (namespace {})",
            remote.url, remote.namespace
        ),
    }
}

fn print(
    verb: &str,
    file: &std::path::Path,
    summary: &Summary,
    json: bool,
    out: &mut Output,
) -> CliResult {
    if json {
        out.json(summary)?;
        return Ok(());
    }
    let mut text = format!(
        "{verb} {} ({}, format {}, sha256 {})\nsnapshot of {} taken {}\n\n",
        file.display(),
        human_bytes(summary.bytes),
        summary.version,
        summary.sha256,
        summary.source,
        summary.created_at
    );
    let _ = writeln!(text, "{:<24} {:>8}  sha256", "collection", "points");
    for c in &summary.collections {
        let _ = writeln!(text, "{:<24} {:>8}  {}", c.name, c.points, c.sha256);
    }
    let _ = writeln!(
        text,
        "{:<24} {:>8}",
        format!("{} collections", summary.collections.len()),
        summary.points
    );
    out.text(&text)?;
    Ok(())
}
