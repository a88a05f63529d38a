//! `engram seed [DIR] [--dry-run] [--prune] [--json]`: load the knowledge base.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};

use engram::knowledge::{Category, SeedOptions, SeedReport, load_folder};

use super::args::{Cli, SeedArgs};
use super::output::Output;
use super::{CliResult, Failure, session};

/// Validates the seed files, stores what is new or changed and prints counts per category.
pub fn run(cli: &Cli, args: &SeedArgs, out: &mut Output) -> CliResult {
    let dir = seed_dir(args.dir.as_deref())?;
    // Validate before loading the model, so a broken file is reported at once.
    load_folder(&dir)?;
    let memory = session::open(cli)?;
    let options = SeedOptions {
        dry_run: args.dry_run,
        prune: args.prune,
    };
    let show_progress = !args.json && !cli.quiet && std::io::stderr().is_terminal();
    let mut progress = |done: usize, total: usize| {
        if show_progress && total > 0 {
            let width = 30;
            let filled = width * done / total;
            let mut stderr = std::io::stderr().lock();
            let _ = write!(
                stderr,
                "\rseeding [{}{}] {done}/{total}",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            if done == total {
                let _ = writeln!(stderr);
            }
        }
    };
    let report = memory.seed(&dir, options, &mut progress)?;
    if args.json {
        out.json(&report)?;
    } else {
        out.text(&summary(&report))?;
    }
    Ok(())
}

/// The folder to seed: the one given, else `./seeds`, else the seeds engram was built with.
fn seed_dir(given: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(dir) = given {
        if !dir.is_dir() {
            return Err(Failure::usage(format!(
                "the seed folder {} does not exist",
                dir.display()
            )));
        }
        return Ok(dir.to_path_buf());
    }
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    [PathBuf::from("seeds"), built_in]
        .into_iter()
        .find(|dir| dir.is_dir())
        .ok_or_else(|| {
            Failure::usage("no seed folder: ./seeds does not exist; pass the folder as DIR")
        })
}

fn summary(report: &SeedReport) -> String {
    let mut text = String::new();
    let verb = if report.dry_run {
        "would store"
    } else {
        "stored"
    };
    let _ = writeln!(
        text,
        "{} from {}: {verb} {} entries",
        if report.dry_run { "dry run" } else { "seeded" },
        report.dir.display(),
        report.stored()
    );
    for category in Category::ALL {
        if let Some(counts) = report.categories.get(&category) {
            let _ = writeln!(
                text,
                "  {:<15} {:>4} files: {} new, {} updated, {} unchanged",
                category.plural(),
                counts.files,
                counts.added,
                counts.updated,
                counts.unchanged
            );
        }
    }
    if !report.removed.is_empty() {
        let _ = writeln!(
            text,
            "{} entries have no seed file any more{}:",
            report.removed.len(),
            if report.removed.iter().any(|r| r.deleted) {
                " and were deleted"
            } else {
                " (delete them with --prune)"
            }
        );
        for removed in &report.removed {
            let _ = writeln!(text, "  {} ({})", removed.path, removed.title);
        }
    }
    text
}
