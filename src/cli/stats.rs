//! `engram stats`: what memory holds. Works while another process holds the embedded store
//! (from the files alone), saying what it cannot count then and why.

use std::fmt::Write as _;

use engram::config::StoreConfig;
use engram::memory::MemoryStats;
use engram::store::{ClusterLayout, EdgeOptions, EdgeStore, Inspection, Store, StoreError};
use serde::Serialize;

use super::args::Cli;
use super::output::Output;
use super::{CliResult, session};

#[derive(Serialize)]
struct Report<'a> {
    store: String,
    #[serde(flatten)]
    stats: &'a MemoryStats,
}

/// Prints entries per collection, language and source: counted here, by the `engram serve`
/// that holds the embedded store, or, when another process holds it, from its files.
pub fn run(cli: &Cli, json: bool, out: &mut Output) -> CliResult {
    let config = cli.resolve_config()?;
    let (description, store) = match config.store.clone() {
        StoreConfig::Remote(remote) => (
            format!(
                "Qdrant server {} (namespace {})",
                remote.url, remote.namespace
            ),
            Store::connect_remote(remote)?,
        ),
        StoreConfig::Edge(dir) => match EdgeStore::open(&dir, EdgeOptions::default()) {
            Err(StoreError::Locked { .. }) if let Some(server) = session::server_for(&config) => {
                let stats = server.stats()?;
                let description = format!(
                    "Qdrant Edge at {}, counted by engram serve at {}",
                    dir.display(),
                    server.base()
                );
                return print(description, &stats, json, out);
            }
            Ok(store) => (
                format!("Qdrant Edge at {}", dir.display()),
                Store::Edge(store),
            ),
            Err(StoreError::Locked { .. }) => {
                let inspection = EdgeStore::inspect(&dir)?;
                return print_inspection(&inspection, json, out);
            }
            Err(error) => return Err(error.into()),
        },
    };
    let stats = MemoryStats::of_store(&store)?;
    print(description, &stats, json, out)
}

fn print(description: String, stats: &MemoryStats, json: bool, out: &mut Output) -> CliResult {
    if json {
        out.json(&Report {
            store: description,
            stats,
        })?;
        return Ok(());
    }
    let mut text = format!("store  {description}\n\n");
    let _ = writeln!(
        text,
        "{:<14} {:>8} {:>10}  {:<32} by source",
        "collection", "entries", "disk", "by language"
    );
    for c in &stats.collections {
        let _ = writeln!(
            text,
            "{:<14} {:>8} {:>10}  {:<32} {}",
            c.collection,
            c.entries,
            c.disk_bytes.map(human_bytes).unwrap_or_else(|| "-".into()),
            counts(&c.by_language),
            counts(&c.by_source)
        );
    }
    layouts(
        stats
            .collections
            .iter()
            .filter_map(|c| c.layout.as_ref().map(|l| (c.collection.as_str(), l))),
        &mut text,
    );
    out.text(&text)?;
    Ok(())
}

/// The shards and replicas of each collection on a Qdrant server, and what differs from
/// what this engram asks of new collections (nothing for the embedded store).
pub(super) fn layouts<'a>(
    collections: impl Iterator<Item = (&'a str, &'a ClusterLayout)>,
    text: &mut String,
) {
    let mut header = true;
    for (name, layout) in collections {
        if header {
            let _ = writeln!(
                text,
                "\nlayout (write ordering {}, read consistency {})\n{:<24} {:>6} {:>12} {:>6} {:>15}  differs",
                layout.write_ordering,
                layout.read_consistency,
                "collection",
                "shards",
                "replication",
                "nodes",
                "active replicas"
            );
            header = false;
        }
        let active: u32 = layout.shards.iter().map(|s| s.active).sum();
        let placed: u32 = layout.shards.iter().map(|s| s.replicas).sum();
        let _ = writeln!(
            text,
            "{:<24} {:>6} {:>12} {:>6} {:>15}  {}",
            name,
            layout.shard_number,
            layout.replication_factor,
            layout.peers,
            format!("{active} of {placed}"),
            if layout.differs.is_empty() {
                "-".to_owned()
            } else {
                layout.differs.join("; ")
            }
        );
    }
}

fn counts(map: &std::collections::BTreeMap<String, usize>) -> String {
    if map.is_empty() {
        return "-".to_owned();
    }
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_inspection(inspection: &Inspection, json: bool, out: &mut Output) -> CliResult {
    if json {
        out.json(inspection)?;
        return Ok(());
    }
    let mut text = format!(
        "store  Qdrant Edge at {}\n       in use by {}: entry counts need the store itself, so \
         ask that process or stop it; sizes on disk:\n\n",
        inspection.dir.display(),
        inspection.holder.as_deref().unwrap_or("another process")
    );
    let _ = writeln!(
        text,
        "{:<28} {:>10} {:>10}",
        "collection", "dimension", "disk"
    );
    for c in &inspection.collections {
        let _ = writeln!(
            text,
            "{:<28} {:>10} {:>10}",
            c.name,
            c.spec
                .as_ref()
                .map(|s| s.dimension.to_string())
                .unwrap_or_else(|| "?".into()),
            human_bytes(c.disk_bytes)
        );
    }
    out.text(&text)?;
    Ok(())
}

/// `1.5 MB`-style sizes.
pub(super) fn human_bytes(bytes: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 KB");
        assert_eq!(human_bytes(74_000_000), "74.0 MB");
    }
}
