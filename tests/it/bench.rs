//! `engram bench` on a slice of CoSQA: the real model and a real Edge store, every figure of
//! the report filled in and consistent, the chart drawn.

use std::collections::BTreeMap;
use std::path::Path;

use engram::bench::{self, BenchOptions, Dataset, Phase};
use engram::store::{SearchMode, Store};

use crate::common::{embedder, shared_dir};

/// Writes a CoSQA-shaped folder with the first `queries` dev queries, their gold functions,
/// and other functions up to `documents`.
pub fn cosqa_slice(dir: &Path, queries: usize, documents: usize) {
    let source = shared_dir().join("data/cosqa");
    let map: BTreeMap<String, u64> = serde_json::from_str(
        &std::fs::read_to_string(source.join("code_idx_map.txt")).expect("CoSQA corpus"),
    )
    .expect("corpus JSON");
    let dev: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(source.join("cosqa-retrieval-dev-500.json")).expect("dev"),
    )
    .expect("dev JSON");
    let dev: Vec<serde_json::Value> = dev.into_iter().take(queries).collect();
    let gold: Vec<u64> = dev
        .iter()
        .map(|q| q["retrieval_idx"].as_u64().expect("retrieval_idx"))
        .collect();
    let mut kept: BTreeMap<String, u64> = map
        .iter()
        .filter(|(_, idx)| gold.contains(idx))
        .map(|(code, idx)| (code.clone(), *idx))
        .collect();
    for (code, idx) in &map {
        if kept.len() >= documents {
            break;
        }
        kept.entry(code.clone()).or_insert(*idx);
    }
    let out = dir.join("cosqa");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(
        out.join("code_idx_map.txt"),
        serde_json::to_string(&kept).expect("json"),
    )
    .expect("write corpus");
    std::fs::write(
        out.join("cosqa-retrieval-dev-500.json"),
        serde_json::to_string(&dev).expect("json"),
    )
    .expect("write dev");
}

#[test]
fn a_cosqa_slice_reports_quality_latency_memory_and_draws_the_chart() {
    let data = tempfile::tempdir().expect("tempdir");
    cosqa_slice(data.path(), 20, 200);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(dir.path()).expect("store");
    let options = BenchOptions {
        data_dir: data.path().to_path_buf(),
        modes: vec![SearchMode::Dense, SearchMode::Keyword, SearchMode::Hybrid],
        dump_candidates: None,
    };
    let mut last = BTreeMap::new();
    let mut progress = |phase: Phase, done: usize, total: usize| {
        assert!(done <= total, "{phase:?}: {done} of {total}");
        last.insert(format!("{phase:?}"), (done, total));
    };
    let report =
        bench::run(Dataset::Cosqa, &store, embedder(), &options, &mut progress).expect("bench");

    assert_eq!(report.documents, 200);
    assert_eq!(report.questions, 20);
    assert_eq!(last["Ingest"], (200, 200));
    // One embedding and three searches per question.
    assert_eq!(last["Query"], (80, 80));
    assert!(report.ingest_seconds > 0.0);
    assert!((report.ingest_per_second - 200.0 / report.ingest_seconds).abs() < 1e-6);
    assert_eq!(report.modes.len(), 3);
    for mode in &report.modes {
        let s = mode.scores;
        assert_eq!(s.queries, 20);
        assert!(s.recall_at_1 <= s.recall_at_5 && s.recall_at_5 <= s.recall_at_10);
        assert!(s.mrr_at_10 >= s.recall_at_1 && s.mrr_at_10 <= s.recall_at_10);
        assert_eq!(mode.search.samples, 20);
        assert!(mode.search.p50_ms > 0.0);
        assert!(
            mode.search.p50_ms <= mode.search.p95_ms && mode.search.p95_ms <= mode.search.p99_ms
        );
        match mode.mode {
            SearchMode::Keyword => {
                assert!(mode.embed.is_none(), "BM25 embeds nothing");
                assert_eq!(mode.total, mode.search);
            }
            SearchMode::Dense | SearchMode::Hybrid => {
                let embed = mode.embed.expect("embedding timed");
                assert_eq!(embed.samples, 20);
                assert!(embed.p50_ms > 0.0);
                // Each total is its query's embedding plus its search.
                let sum = embed.mean_ms + mode.search.mean_ms;
                assert!((mode.total.mean_ms - sum).abs() < 1e-6 * sum.max(1.0));
            }
        }
        if cfg!(target_os = "linux") {
            let peak = mode.peak_rss_bytes.expect("peak memory on Linux");
            assert!(
                peak > 50 << 20,
                "the model alone is ~90 MB resident: {peak}"
            );
        }
    }
    // With 200 candidates, MiniLM finds most of the 20 answers; a broken pipeline does not.
    assert!(
        report.modes[0].scores.recall_at_10 >= 0.8,
        "dense {:?}",
        report.modes[0].scores
    );

    let chart = dir.path().join("chart.svg");
    bench::draw_chart(&report, &chart).expect("chart");
    let svg = std::fs::read_to_string(&chart).expect("svg");
    assert!(svg.starts_with("<svg"), "an SVG document");
    for label in ["dense", "bm25", "hybrid", "R@10", "MRR@10", "p99", "cosqa"] {
        assert!(svg.contains(label), "the chart names {label}");
    }
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["modes"][2]["mode"], "hybrid");
    assert!(json["modes"][1]["embed"].is_null());
    assert!(json["modes"][0]["total"]["p99_ms"].as_f64().expect("p99") > 0.0);
}

#[test]
fn a_missing_data_set_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(&dir.path().join("store")).expect("store");
    let options = BenchOptions {
        data_dir: dir.path().join("nowhere"),
        modes: vec![SearchMode::Dense],
        dump_candidates: None,
    };
    let error = bench::run(
        Dataset::Locomo,
        &store,
        embedder(),
        &options,
        &mut |_, _, _| {},
    )
    .expect_err("no data");
    let message = error.to_string();
    assert!(
        message.contains("nowhere") && message.contains("--data"),
        "{message}"
    );
}
