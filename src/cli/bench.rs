//! `engram bench cosqa|locomo`: retrieval quality per search mode.

use std::fmt::Write as _;

use engram::bench::{self, BenchOptions, BenchReport, Dataset};
use engram::config::StoreConfig;
use engram::embed::{EmbedderOptions, SentenceEmbedder};
use engram::store::{SearchMode, Store};

use super::args::{BenchArgs, BenchMode, BenchSet, Cli};
use super::output::Output;
use super::{CliResult, Failure};

/// Runs the benchmark and prints (and optionally writes) its report.
pub fn run(cli: &Cli, args: &BenchArgs, out: &mut Output) -> CliResult {
    let modes = match args.mode {
        BenchMode::Dense => vec![SearchMode::Dense],
        BenchMode::Bm25 => vec![SearchMode::Keyword],
        BenchMode::Hybrid => vec![SearchMode::Hybrid],
        BenchMode::All => vec![SearchMode::Dense, SearchMode::Keyword, SearchMode::Hybrid],
    };
    let options = BenchOptions {
        data_dir: args.data.clone().unwrap_or_else(bench::default_dir),
        modes,
        dump_candidates: args.dump_candidates.clone(),
    };
    let dataset = match args.set {
        BenchSet::Cosqa => Dataset::Cosqa,
        BenchSet::Locomo => Dataset::Locomo,
        BenchSet::Errors => Dataset::Errors,
    };
    let config = cli.resolve_config()?;
    let embedder = SentenceEmbedder::from_sources(config.model.clone(), &EmbedderOptions::new())?;
    let scratch = std::env::temp_dir().join(format!("engram-bench-{}", std::process::id()));
    // The embedded store runs in a scratch directory, never the user's own; on a server,
    // the benchmark gets its own namespace.
    let remote = match config.store {
        StoreConfig::Remote(mut remote) => {
            remote.namespace = format!("{}-bench", remote.namespace);
            Some(remote)
        }
        StoreConfig::Edge(_) => None,
    };
    let store = match remote.clone() {
        Some(config) => Store::connect_remote(config)?,
        None => Store::open_edge(&scratch)?,
    };
    let mut progress = |line: &str| tracing::info!("{line}");
    let report = bench::run(dataset, &store, &embedder, &options, &mut progress);
    drop(store);
    if remote.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    let report = report?;
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| Failure {
            code: super::exit::INTERNAL,
            error: e.into(),
        })?;
        fs_err::write(path, text + "\n")?;
    }
    out.text(&render(&report))?;
    Ok(())
}

fn mode_name(mode: SearchMode) -> &'static str {
    match mode {
        SearchMode::Dense => "dense",
        SearchMode::Keyword => "bm25",
        SearchMode::Hybrid => "hybrid",
    }
}

fn render(report: &BenchReport) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{:?} · {} documents · {} questions · ingest {:.1} s ({:.0} documents/s)",
        report.dataset,
        report.documents,
        report.questions,
        report.ingest_seconds,
        report.documents as f64 / report.ingest_seconds.max(1e-9)
    );
    let table = |text: &mut String, title: &str, rows: &[bench::ModeScores]| {
        let _ = writeln!(text, "\n{title}");
        let _ = writeln!(
            text,
            "{:<8} {:>6} {:>6} {:>6} {:>7}",
            "mode", "R@1", "R@5", "R@10", "MRR@10"
        );
        for row in rows {
            let s = row.scores;
            let _ = writeln!(
                text,
                "{:<8} {:>6.3} {:>6.3} {:>6.3} {:>7.3}",
                mode_name(row.mode),
                s.recall_at_1,
                s.recall_at_5,
                s.recall_at_10,
                s.mrr_at_10
            );
        }
    };
    let title = match report.dataset {
        Dataset::Cosqa => "query → function",
        Dataset::Locomo => "question → turn, categories 1–4, macro-average of the conversations",
        Dataset::Errors => "emitted message → message documentation",
    };
    table(&mut text, title, &report.modes);
    if !report.category_5.is_empty() {
        table(
            &mut text,
            "category 5 (adversarial), apart",
            &report.category_5,
        );
    }
    text
}
