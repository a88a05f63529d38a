//! `engram migrate --to URL`: the embedded data directory into a Qdrant server
//! ([`engram::store::migrate`]).

use std::fmt::Write as _;

use engram::config::StoreConfig;
use engram::store::Store;
use engram::store::migrate::{Migrated, migrate};

use super::args::Cli;
use super::output::Output;
use super::{CliResult, Failure};

/// Copies every collection of the data directory to the server at `to`, verified.
pub fn run(cli: &Cli, to: &str, json: bool, out: &mut Output) -> CliResult {
    let mut source_overrides = cli.overrides();
    source_overrides.qdrant_url = None;
    let source_config = engram::Config::resolve(source_overrides)?;
    let StoreConfig::Edge(dir) = &source_config.store else {
        return Err(Failure::usage(
            "engram migrate moves the embedded data directory, but the configuration names a \
             Qdrant server (engram.toml's [qdrant] url); remove it for the migration",
        ));
    };
    let mut target_overrides = cli.overrides();
    target_overrides.qdrant_url = Some(to.to_owned());
    let target_config = engram::Config::resolve(target_overrides)?;
    let StoreConfig::Remote(remote) = &target_config.store else {
        return Err(Failure::usage(format!(
            "--to {to:?} does not name a Qdrant server"
        )));
    };
    let source = engram::open_store(&source_config)?;
    let target = Store::connect_remote(remote.clone())?;
    let mut log = |m: &Migrated| {
        if !json {
            let state = if m.copied { "copied" } else { "already whole" };
            tracing::info!("{}: {} points, {state}", m.name, m.points);
        }
    };
    let migrated = migrate(&source, &target, &mut log)?;
    if json {
        out.json(&migrated)?;
        return Ok(());
    }
    let mut text = format!(
        "migrated Qdrant Edge at {} to Qdrant server {} (namespace {}); every collection \
         verified by count and sha256\n\n",
        dir.display(),
        remote.url,
        remote.namespace
    );
    let _ = writeln!(
        text,
        "{:<24} {:>8}  {:<13}  sha256",
        "collection", "points", ""
    );
    for m in &migrated {
        let state = if m.copied { "copied" } else { "already whole" };
        let _ = writeln!(
            text,
            "{:<24} {:>8}  {state:<13}  {}",
            m.name, m.points, m.sha256
        );
    }
    let _ = writeln!(
        text,
        "\nnext: run engram with --qdrant-url {} (or ENGRAM_QDRANT_URL){}",
        remote.url,
        if remote.namespace == "engram" {
            String::new()
        } else {
            format!(" and --namespace {}", remote.namespace)
        }
    );
    out.text(&text)?;
    Ok(())
}
