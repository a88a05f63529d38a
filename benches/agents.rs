//! Agent memory at the size: 20 agents × 500 private learnings (real sentences: the
//! LoCoMo conversations of `../shared/data`, split into sentences), then cross-pollination
//! runs (3 promotions per agent, then everything at least 0.75 confident) and recall by
//! meaning over the shared pool plus the agent's own learnings (p50 / p99 of 500 queries,
//! each also writing its exposures). On the embedded store in a temp dir. Under
//! `cargo test` it runs a 3 × 20 smoke version.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

#[path = "support/rng.rs"]
mod rng;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engram::agents::{Agents, LearningInput, PollinationOptions};
use engram::embed::{Embedder, EmbedderOptions, SentenceEmbedder};
use engram::store::Store;
use rng::Rng;

fn shared() -> PathBuf {
    std::env::var_os("ENGRAM_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// Distinct sentences of at least 30 characters from the LoCoMo conversations.
fn sentences() -> Vec<String> {
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
        let mut sessions: Vec<_> = conversation
            .iter()
            .filter(|(k, v)| k.starts_with("session_") && v.is_array())
            .collect();
        sessions.sort_by_key(|(k, _)| (*k).clone());
        for (_, turns) in sessions {
            for turn in turns.as_array().into_iter().flatten() {
                let Some(text) = turn["text"].as_str() else {
                    continue;
                };
                for sentence in text.split_inclusive(['.', '!', '?']) {
                    let sentence = sentence.trim();
                    if sentence.chars().count() >= 30 && seen.insert(sentence.to_owned()) {
                        out.push(sentence.to_owned());
                    }
                }
            }
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize].as_secs_f64() * 1e3
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (agent_count, per_agent, queries) = if full { (20, 500, 500) } else { (3, 20, 20) };
    let texts = sentences();
    assert!(
        texts.len() >= agent_count * per_agent,
        "{} sentences for {} learnings",
        texts.len(),
        agent_count * per_agent
    );
    let embedder = Arc::new(SentenceEmbedder::from_env(&EmbedderOptions::new()).expect("model"));
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(dir.path()).expect("store");
    let memory = Agents::new(&store, Arc::clone(&embedder) as _).expect("agents");
    let agents: Vec<String> = (0..agent_count).map(|a| format!("agent-{a:02}")).collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let started = Instant::now();
    for (n, text) in texts.iter().take(agent_count * per_agent).enumerate() {
        // Confidence uniform in [0.5, 1): about half are at least 0.75.
        let confidence = 0.5 + 0.5 * rng.unit();
        memory
            .add_learning(
                &agents[n % agent_count],
                LearningInput::new(text.clone(), "conversation").confidence(confidence),
                None,
            )
            .expect("add");
    }
    let adding = started.elapsed();
    let total = agent_count * per_agent;
    println!(
        "{agent_count} agents × {per_agent} learnings: added in {:.1} s ({:.0} learnings/s, each embedded and durable)",
        adding.as_secs_f64(),
        total as f64 / adding.as_secs_f64()
    );
    let mut shared = 0;
    for (label, max) in [("3 per agent", 3), ("all at least 0.75", per_agent)] {
        let started = Instant::now();
        let report = memory
            .run_cross_pollination(
                None,
                &agents,
                PollinationOptions {
                    confidence_threshold: 0.75,
                    max_promotions_per_agent: max,
                },
            )
            .expect("cross-pollination");
        let took = started.elapsed();
        let promoted: usize = report.promoted.values().sum();
        let merged: usize = report.merged.values().sum();
        shared += promoted - merged;
        println!(
            "cross-pollination ({label}): {promoted} promoted ({merged} merged into near-duplicates) in {:.2} s ({:.1} ms per promotion)",
            took.as_secs_f64(),
            took.as_secs_f64() * 1e3 / promoted.max(1) as f64
        );
    }
    let pool = shared;
    let mut latencies = Vec::with_capacity(queries);
    for q in 0..queries {
        let query = &texts[rng.below(total)];
        let agent = &agents[q % agent_count];
        let t = Instant::now();
        let hits = memory.recall(agent, None, query, 10, None).expect("recall");
        latencies.push(t.elapsed());
        assert!(!hits.is_empty());
    }
    latencies.sort();
    // What of it is the query's embedding (the same queries again).
    let mut embedding = Vec::with_capacity(queries);
    for _ in 0..queries {
        let query = &texts[rng.below(total)];
        let t = Instant::now();
        std::hint::black_box(embedder.embed(query).expect("embed"));
        embedding.push(t.elapsed());
    }
    embedding.sort();
    println!(
        "recall k=10 over the pool ({pool} shared) and the agent's own ~{per_agent}: p50 {:.2} ms, p99 {:.2} ms ({queries} queries, exposures written); of which embedding the query p50 {:.2} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&embedding, 0.5)
    );
    // A page of the pool for nobody (an admin) and for an agent (100 exposures written).
    for viewer in [None, Some(agents[0].as_str())] {
        let mut pages = Vec::with_capacity(50);
        for _ in 0..50 {
            let t = Instant::now();
            let page = memory
                .get_shared_learnings("default", viewer, 100)
                .expect("pool");
            pages.push(t.elapsed());
            assert_eq!(page.len(), 100.min(pool));
        }
        pages.sort();
        println!(
            "a page of 100 shared learnings {}: p50 {:.2} ms, p99 {:.2} ms",
            if viewer.is_some() {
                "for an agent (exposures written)"
            } else {
                "for an admin (nothing written)"
            },
            percentile(&pages, 0.5),
            percentile(&pages, 0.99)
        );
    }
}
