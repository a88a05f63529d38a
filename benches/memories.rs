//! General memory: `batch_add_memories` of 1,000 items against 1,000 single `add_memory`
//! calls, side by side (A B A B, each on a fresh embedded store; real sentences from the
//! LoCoMo conversations of `../shared/data`), then search latency (p50 / p99 of 300
//! `semantic_search` queries, k = 10, re-ranked by recency, importance and reinforcement)
//! over 5,000 memories (LoCoMo has 5,819 distinct turns). Under `cargo test` it runs a
//! 40-item smoke version.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

#[path = "support/rng.rs"]
mod rng;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engram::embed::{EmbedderOptions, SentenceEmbedder};
use engram::memories::{Memories, MemoryFilters, MemoryInput, Scoring, Tier};
use engram::store::Store;
use rng::Rng;

fn shared() -> PathBuf {
    std::env::var_os("ENGRAM_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Every turn of the LoCoMo conversations, at least 20 characters, each once.
fn turns() -> Vec<String> {
    let path = shared().join("data/locomo/locomo10.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set ENGRAM_SHARED_DIR)", path.display()));
    let data: Vec<serde_json::Value> = serde_json::from_str(&text).expect("LoCoMo JSON");
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for sample in &data {
        let Some(conversation) = sample["conversation"].as_object() else {
            continue;
        };
        for (_, turns) in conversation
            .iter()
            .filter(|(k, v)| k.starts_with("session_") && v.is_array())
        {
            for turn in turns.as_array().into_iter().flatten() {
                if let Some(text) = turn["text"].as_str()
                    && text.chars().count() >= 20
                    && seen.insert(text.to_owned())
                {
                    out.push(text.to_owned());
                }
            }
        }
    }
    out
}

fn input(text: &str, n: usize) -> MemoryInput {
    MemoryInput {
        memory_tier: Some([Tier::Short, Tier::Medium, Tier::Long][n % 3]),
        importance: Some((n % 10) as f64 / 10.0),
        tags: vec![format!("speaker-{}", n % 4)],
        ..MemoryInput::new(text)
    }
}

/// A fresh store in a temp dir: bind as `let (_dir, _store, memories)` so that the memories
/// drop first and the directory last.
fn fresh(embedder: &Arc<SentenceEmbedder>) -> (tempfile::TempDir, Store, Memories) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(dir.path()).expect("store");
    let memories =
        Memories::new(&store, Arc::clone(embedder) as _, Scoring::default()).expect("memories");
    (dir, store, memories)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (items, total, queries) = if full {
        (1000, 5000, 300)
    } else {
        (40, 200, 20)
    };
    let texts = turns();
    assert!(
        texts.len() >= total,
        "{} turns for {total} memories",
        texts.len()
    );
    let embedder = Arc::new(SentenceEmbedder::from_env(&EmbedderOptions::new()).expect("model"));
    let batch: Vec<&str> = texts.iter().take(items).map(String::as_str).collect();
    let mut singles = Vec::new();
    let mut batches = Vec::new();
    for round in 0..2 {
        let (_dir, _store, memories) = fresh(&embedder);
        let t = Instant::now();
        for (n, text) in batch.iter().enumerate() {
            memories.add_memory(input(text, n), None).expect("add");
        }
        singles.push(t.elapsed());
        let (_dir, _store, memories) = fresh(&embedder);
        let t = Instant::now();
        let added = memories
            .batch_add_memories(
                batch.iter().enumerate().map(|(n, t)| input(t, n)).collect(),
                None,
            )
            .expect("batch");
        batches.push(t.elapsed());
        assert_eq!(added.stored, items);
        println!(
            "round {round}: {items} single adds {:.2} s ({:.0}/s), one batch of {items} {:.2} s ({:.0}/s): {:.1}× faster",
            singles[round].as_secs_f64(),
            items as f64 / singles[round].as_secs_f64(),
            batches[round].as_secs_f64(),
            items as f64 / batches[round].as_secs_f64(),
            singles[round].as_secs_f64() / batches[round].as_secs_f64()
        );
    }

    let (_dir, _store, memories) = fresh(&embedder);
    let t = Instant::now();
    for (chunk, texts) in texts[..total].chunks(items).enumerate() {
        let inputs = texts
            .iter()
            .enumerate()
            .map(|(n, t)| input(t, chunk * items + n))
            .collect();
        memories.batch_add_memories(inputs, None).expect("batch");
    }
    println!(
        "{total} memories stored in batches of {items}: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (label, filters) in [
        ("no filter", MemoryFilters::default()),
        (
            "tier and tag filter",
            MemoryFilters {
                memory_tier: Some(Tier::Long),
                tags: vec!["speaker-1".into()],
                ..MemoryFilters::default()
            },
        ),
    ] {
        let mut latencies = Vec::with_capacity(queries);
        for _ in 0..queries {
            let query = &texts[rng.below(total)];
            let t = Instant::now();
            let hits = memories
                .semantic_search(None, query, 10, &filters)
                .expect("search");
            latencies.push(t.elapsed());
            assert!(!hits.is_empty());
        }
        latencies.sort();
        println!(
            "semantic_search k=10 over {total} ({label}): p50 {:.2} ms, p99 {:.2} ms ({queries} queries)",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
}
