//! `engram stats`: what the store holds. Works while another process holds the embedded
//! store (from the files alone), saying what it cannot count then and why.

use std::fmt::Write as _;

use engram::store::{CollectionInfo, EdgeOptions, EdgeStore, Inspection, Store, StoreError};
use serde::Serialize;

use super::CliResult;
use super::args::{Cli, StoreTarget};
use super::output::Output;

#[derive(Serialize)]
struct Report<'a> {
    store: String,
    collections: &'a [CollectionInfo],
}

/// Prints per-collection counts, or, for an embedded store another process holds, what its
/// files show.
pub fn run(cli: &Cli, json: bool, out: &mut Output) -> CliResult {
    let (description, store) = match cli.store_target() {
        StoreTarget::Remote(config) => (
            format!(
                "Qdrant server {} (namespace {})",
                config.url, config.namespace
            ),
            Store::connect_remote(config)?,
        ),
        StoreTarget::Edge(dir) => match EdgeStore::open(&dir, EdgeOptions::default()) {
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
    let collections = store.stats()?;
    if json {
        out.json(&Report {
            store: description,
            collections: &collections,
        })?;
        return Ok(());
    }
    let mut text = format!("store  {description}\n\n");
    let _ = writeln!(
        text,
        "{:<28} {:>10} {:>10} {:>9} {:>10}",
        "collection", "points", "indexed", "segments", "disk"
    );
    for c in &collections {
        let _ = writeln!(
            text,
            "{:<28} {:>10} {:>10} {:>9} {:>10}",
            c.name,
            c.points,
            c.indexed_vectors,
            c.segments,
            c.disk_bytes.map(human_bytes).unwrap_or_else(|| "-".into())
        );
    }
    if collections.is_empty() {
        let _ = writeln!(text, "(no collections yet)");
    }
    out.text(&text)?;
    Ok(())
}

fn print_inspection(inspection: &Inspection, json: bool, out: &mut Output) -> CliResult {
    if json {
        out.json(inspection)?;
        return Ok(());
    }
    let mut text = format!(
        "store  Qdrant Edge at {}\n       in use by {}: point counts need the store itself, so \
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
fn human_bytes(bytes: u64) -> String {
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
