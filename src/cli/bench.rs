//! `engram bench cosqa|locomo|errors`: retrieval quality, latency and memory per search
//! mode, as a table, JSON and a chart.

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressStyle};

use engram::bench::{self, BenchOptions, BenchReport, Dataset, Latency, Phase};
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
    let show_progress = !cli.quiet && std::io::stderr().is_terminal();
    let mut bars = ProgressBars::new(show_progress);
    let mut progress = |phase: Phase, done: usize, total: usize| bars.update(phase, done, total);
    let report = bench::run(dataset, &store, &embedder, &options, &mut progress);
    bars.finish();
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
    if let Some(path) = &args.plot {
        bench::draw_chart(&report, path)?;
    }
    out.text(&render(&report))?;
    Ok(())
}

/// One progress bar per phase on stderr, when it is a terminal.
struct ProgressBars {
    enabled: bool,
    ingest: Option<ProgressBar>,
    query: Option<ProgressBar>,
}

impl ProgressBars {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ingest: None,
            query: None,
        }
    }

    fn update(&mut self, phase: Phase, done: usize, total: usize) {
        if !self.enabled {
            return;
        }
        let (slot, label) = match phase {
            Phase::Ingest => (&mut self.ingest, "ingest"),
            Phase::Query => (&mut self.query, "query "),
        };
        let bar = slot.get_or_insert_with(|| {
            let bar = ProgressBar::new(total as u64);
            let style =
                ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(label);
            bar
        });
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        if done >= total {
            bar.finish();
        }
    }

    fn finish(&mut self) {
        for bar in [&self.ingest, &self.query].into_iter().flatten() {
            bar.finish();
        }
    }
}

fn megabytes(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "–".to_owned(), |b| format!("{:.0} MB", b as f64 / 1e6))
}

fn render(report: &BenchReport) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} · {} documents · {} questions · ingest {:.1} s ({:.0} documents/s, peak {})",
        report.dataset.name(),
        report.documents,
        report.questions,
        report.ingest_seconds,
        report.ingest_per_second,
        megabytes(report.ingest_peak_rss_bytes),
    );
    let title = match report.dataset {
        Dataset::Cosqa => "query → function",
        Dataset::Locomo => "question → turn, categories 1–4, macro-average of the conversations",
        Dataset::Errors => "emitted message → message documentation",
    };
    let _ = writeln!(text, "\n{title}");
    let _ = writeln!(
        text,
        "{:<8} {:>6} {:>6} {:>6} {:>7}   {:>22} {:>22} {:>22} {:>8}",
        "mode",
        "R@1",
        "R@5",
        "R@10",
        "MRR@10",
        "embed p50/p95/p99 ms",
        "search p50/p95/p99 ms",
        "total p50/p95/p99 ms",
        "peak"
    );
    let triple = |l: &Latency| format!("{:.2} / {:.2} / {:.2}", l.p50_ms, l.p95_ms, l.p99_ms);
    for row in &report.modes {
        let s = row.scores;
        let _ = writeln!(
            text,
            "{:<8} {:>6.3} {:>6.3} {:>6.3} {:>7.3}   {:>22} {:>22} {:>22} {:>8}",
            bench::mode_name(row.mode),
            s.recall_at_1,
            s.recall_at_5,
            s.recall_at_10,
            s.mrr_at_10,
            row.embed.as_ref().map_or_else(|| "–".to_owned(), triple),
            triple(&row.search),
            triple(&row.total),
            megabytes(row.peak_rss_bytes),
        );
    }
    if !report.category_5.is_empty() {
        let _ = writeln!(text, "\ncategory 5 (adversarial), apart");
        let _ = writeln!(
            text,
            "{:<8} {:>6} {:>6} {:>6} {:>7}",
            "mode", "R@1", "R@5", "R@10", "MRR@10"
        );
        for row in &report.category_5 {
            let s = row.scores;
            let _ = writeln!(
                text,
                "{:<8} {:>6.3} {:>6.3} {:>6.3} {:>7.3}",
                bench::mode_name(row.mode),
                s.recall_at_1,
                s.recall_at_5,
                s.recall_at_10,
                s.mrr_at_10
            );
        }
    }
    text
}
