//! Embedding throughput (texts/s) at batch 1 and batch 32 on a fixed text set: the first 256
//! queries of CoSQA dev-500 (`../shared/data/cosqa`), short web queries like the ones agents
//! send to recall. BENCHMARKS.md has the commands that compare them with sentence-transformers
//! on the same texts.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engram::embed::{Embedder, EmbedderOptions, SentenceEmbedder};

/// How many CoSQA dev queries the benchmark embeds.
const TEXTS: usize = 256;

fn queries() -> Vec<String> {
    let shared = std::env::var_os("ENGRAM_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = shared.join("data/cosqa/cosqa-retrieval-dev-500.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error} (set ENGRAM_SHARED_DIR)", path.display()));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("CoSQA dev JSON");
    rows.iter()
        .take(TEXTS)
        .map(|row| row["doc"].as_str().expect("doc").to_owned())
        .collect()
}

fn embed(c: &mut Criterion) {
    let texts = queries();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut group = c.benchmark_group("embed");
    group.throughput(Throughput::Elements(refs.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for batch_size in [1usize, 32] {
        let embedder =
            SentenceEmbedder::from_env(&EmbedderOptions::new().with_batch_size(batch_size))
                .expect("model");
        let tokens: usize = embedder
            .tokenize(&refs)
            .expect("tokenize")
            .iter()
            .map(Vec::len)
            .sum();
        eprintln!(
            "{} texts, {:.1} tokens per text on average",
            refs.len(),
            tokens as f64 / refs.len() as f64
        );
        group.bench_with_input(
            BenchmarkId::new("cosqa_queries_batch", batch_size),
            &refs,
            |b, refs| b.iter(|| black_box(embedder.embed_batch(refs).expect("embed"))),
        );
    }
    group.finish();
}

criterion_group!(benches, embed);
criterion_main!(benches);
