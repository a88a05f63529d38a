//! End-to-end recall at 100,000 stored memories: embedding the query (all-MiniLM-L6-v2, one
//! text, as a recall does) and the hybrid search of a collection shaped like engram's own
//! memory collections (`MemoryKind::Solution`'s schema and fusion).
//!
//! The 100,000 documents are the real sets of `../shared/data` (the 6,267 CoSQA functions,
//! LoCoMo's turns, pylint's message documentation and emitted messages) topped up with
//! generated text: sentences from a word-bigram chain trained on the real natural-language
//! texts. Queries are real: the CoSQA dev queries and LoCoMo questions.
//!
//! It prints the per-query distributions (p50 / p95 / p99 of embedding, dense search, hybrid
//! search and embedding + hybrid search, after one untimed pass over the queries), then
//! criterion measures the same operations. The
//! documents' vectors are cached under `target/engram-bench-cache/` (keyed by the texts'
//! SHA-256), so only the first run embeds them (~5 minutes on 2 cores). Under `cargo test` a
//! 300-document smoke version runs.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

#[path = "support/rng.rs"]
mod rng;

use std::collections::HashMap;
use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use engram::bench::{Dataset, Latency, corpora, rss};
use engram::embed::{Embedder, EmbedderOptions, SentenceEmbedder};
use engram::memory::MemoryKind;
use engram::store::{EdgeOptions, EdgeStore, Payload, Point, PointId, Query, SearchRequest};
use rng::Rng;
use sha2::{Digest, Sha256};

/// What a top-10 recall asks the store for (memory fetches three candidates per result to
/// rerank by success).
const LIMIT: usize = 30;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (size, query_count) = if full { (100_000, 1000) } else { (300, 20) };
    let shared = std::env::var_os("ENGRAM_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let data = shared.join("data");
    let (documents, queries) = texts(&data, size, query_count);
    let embedder = SentenceEmbedder::from_env(&EmbedderOptions::new()).expect("model");

    let started = Instant::now();
    let vectors = if full {
        cached_vectors(&embedder, &documents)
    } else {
        embed_all(&embedder, &documents)
    };
    let embed_seconds = started.elapsed().as_secs_f64();

    rss::reset_peak();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EdgeStore::open(dir.path(), EdgeOptions::default()).expect("open");
    let collection = store
        .collection(&MemoryKind::Solution.spec(embedder.dimension()))
        .expect("collection");
    let started = Instant::now();
    let mut points: Vec<Point> = Vec::with_capacity(1000);
    for (i, (text, vector)) in documents.iter().zip(vectors).enumerate() {
        let mut payload = Payload::new();
        payload.insert("source".into(), "bench".into());
        points.push(Point {
            id: PointId::from_u128(i as u128),
            vector,
            text: text.clone(),
            payload,
        });
        if points.len() == 1000 {
            collection
                .upsert(std::mem::take(&mut points))
                .expect("upsert");
        }
    }
    collection.upsert(points).expect("upsert");
    // Optimise until the optimiser has nothing left to do: the segments a store holding
    // 100,000 memories settles into (merged, large ones with an HNSW graph), not whatever
    // one pass left after a burst of writes.
    let mut rounds = 0;
    while collection.optimize().expect("optimize") && rounds < 20 {
        rounds += 1;
    }
    let store_seconds = started.elapsed().as_secs_f64();
    let store_peak = rss::peak_bytes();
    let info = collection.info().expect("info");
    assert_eq!(info.points, documents.len(), "every document stored");
    // Every point has BM25 terms, which are always indexed: the rest is HNSW.
    let in_hnsw = info.indexed_vectors.saturating_sub(info.points);

    // One untimed pass first: the store's files are memory-mapped, and the first touch of
    // each page is a fault, not a search; a running engram answers from warm pages.
    for query in &queries {
        let vector = embedder.embed(query).expect("embed");
        let hybrid = Query::Hybrid {
            vector,
            text: query.clone(),
        };
        black_box(
            collection
                .search(&SearchRequest::new(hybrid, LIMIT))
                .expect("search"),
        );
    }
    rss::reset_peak();
    let mut embed = Vec::new();
    let mut dense = Vec::new();
    let mut hybrid = Vec::new();
    let mut end_to_end = Vec::new();
    for query in &queries {
        let started = Instant::now();
        let vector = embedder.embed(query).expect("embed");
        let embedded = started.elapsed();
        let started = Instant::now();
        let hits = collection
            .search(&SearchRequest::new(
                Query::Hybrid {
                    vector: vector.clone(),
                    text: query.clone(),
                },
                LIMIT,
            ))
            .expect("hybrid search");
        let searched = started.elapsed();
        assert!(
            !hits.is_empty(),
            "a hybrid search over {size} finds something"
        );
        let started = Instant::now();
        black_box(
            collection
                .search(&SearchRequest::new(Query::Dense(vector), LIMIT))
                .expect("dense search"),
        );
        dense.push(started.elapsed());
        embed.push(embedded);
        hybrid.push(searched);
        end_to_end.push(embedded + searched);
    }
    let query_peak = rss::peak_bytes();

    let mb = |b: Option<u64>| b.map_or("–".to_owned(), |b| format!("{:.0} MB", b as f64 / 1e6));
    println!(
        "\n{} documents: vectors in {embed_seconds:.1} s{}, stored and indexed in \
         {store_seconds:.1} s ({:.0} points/s, peak {}; {} optimiser passes, {in_hnsw} \
         vectors in HNSW graphs, the rest searched exhaustively); {} queries (peak {})",
        documents.len(),
        if full {
            " (from the cache after the first run)"
        } else {
            ""
        },
        documents.len() as f64 / store_seconds,
        mb(store_peak),
        rounds + 1,
        queries.len(),
        mb(query_peak),
    );
    println!(
        "{:<26} {:>9} {:>9} {:>9} {:>9}",
        "per query", "p50 ms", "p95 ms", "p99 ms", "mean ms"
    );
    for (name, timings) in [
        ("embed", &embed),
        ("dense search", &dense),
        ("hybrid search", &hybrid),
        ("embed + hybrid search", &end_to_end),
    ] {
        let l = Latency::of(timings);
        println!(
            "{name:<26} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
            l.p50_ms, l.p95_ms, l.p99_ms, l.mean_ms
        );
    }

    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    let vectors: Vec<Vec<f32>> = queries
        .iter()
        .map(|q| embedder.embed(q).expect("embed"))
        .collect();
    let mut group = criterion.benchmark_group("recall");
    group.bench_function(BenchmarkId::new("embed_and_hybrid_search", size), |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % queries.len();
            let vector = embedder.embed(&queries[i]).expect("embed");
            let query = Query::Hybrid {
                vector,
                text: queries[i].clone(),
            };
            black_box(collection.search(&SearchRequest::new(query, LIMIT)))
        });
    });
    for (name, hybrid) in [("hybrid_search", true), ("dense_search", false)] {
        group.bench_function(BenchmarkId::new(name, size), |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % queries.len();
                let query = if hybrid {
                    Query::Hybrid {
                        vector: vectors[i].clone(),
                        text: queries[i].clone(),
                    }
                } else {
                    Query::Dense(vectors[i].clone())
                };
                black_box(collection.search(&SearchRequest::new(query, LIMIT)))
            });
        });
    }
    group.finish();
    criterion.final_summary();
}

/// `size` documents (real first, then generated) and `query_count` real queries.
fn texts(data: &Path, size: usize, query_count: usize) -> (Vec<String>, Vec<String>) {
    let mut real = Vec::new();
    let mut natural = Vec::new();
    let mut questions = Vec::new();
    for dataset in [Dataset::Cosqa, Dataset::Locomo, Dataset::Errors] {
        for corpus in corpora(dataset, data).expect("the data sets in ../shared/data") {
            for document in corpus.documents {
                if dataset == Dataset::Locomo {
                    natural.push(document.text.clone());
                }
                real.push(document.text);
            }
            for question in corpus.questions {
                if dataset == Dataset::Errors {
                    // Emitted messages are memories here (what agents store), not queries.
                    real.push(question.text.clone());
                    natural.push(question.text);
                } else {
                    questions.push((dataset, question.text));
                }
            }
        }
    }
    // Interleave CoSQA queries and LoCoMo questions.
    let (cosqa, locomo): (Vec<_>, Vec<_>) = questions
        .into_iter()
        .partition(|(dataset, _)| *dataset == Dataset::Cosqa);
    let queries: Vec<String> = cosqa
        .into_iter()
        .zip(locomo)
        .flat_map(|((_, a), (_, b))| [a, b])
        .take(query_count)
        .collect();
    if real.len() >= size {
        // The smoke version: an even sample of the real texts.
        let step = real.len() / size;
        let documents = real.into_iter().step_by(step.max(1)).take(size).collect();
        return (documents, queries);
    }
    let chain = Chain::train(&natural);
    let mut rng = Rng(0xC0FFEE);
    let mut documents = real;
    while documents.len() < size {
        let words = 8 + rng.below(33);
        documents.push(chain.sentence(&mut rng, words));
    }
    (documents, queries)
}

/// A word-bigram chain: each word's observed successors.
struct Chain {
    starts: Vec<String>,
    next: HashMap<String, Vec<String>>,
}

impl Chain {
    fn train(texts: &[String]) -> Self {
        let mut starts = Vec::new();
        let mut next: HashMap<String, Vec<String>> = HashMap::new();
        for text in texts {
            let words: Vec<&str> = text.split_whitespace().collect();
            if let Some(first) = words.first() {
                starts.push((*first).to_owned());
            }
            for pair in words.windows(2) {
                next.entry(pair[0].to_owned())
                    .or_default()
                    .push(pair[1].to_owned());
            }
        }
        Self { starts, next }
    }

    fn sentence(&self, rng: &mut Rng, words: usize) -> String {
        let mut word = &self.starts[rng.below(self.starts.len())];
        let mut out = word.clone();
        for _ in 1..words {
            word = match self.next.get(word) {
                Some(successors) => &successors[rng.below(successors.len())],
                None => &self.starts[rng.below(self.starts.len())],
            };
            out.push(' ');
            out.push_str(word);
        }
        out
    }
}

fn embed_all(embedder: &SentenceEmbedder, texts: &[String]) -> Vec<Vec<f32>> {
    let mut vectors = Vec::with_capacity(texts.len());
    for (n, chunk) in texts.chunks(1024).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        vectors.extend(embedder.embed_batch(&refs).expect("embed"));
        if n % 10 == 9 {
            eprintln!("embedded {} of {}", vectors.len(), texts.len());
        }
    }
    vectors
}

/// The documents' vectors from the cache, or embedded and cached.
fn cached_vectors(embedder: &SentenceEmbedder, texts: &[String]) -> Vec<Vec<f32>> {
    let mut hash = Sha256::new();
    for text in texts {
        hash.update((text.len() as u64).to_le_bytes());
        hash.update(text.as_bytes());
    }
    let key: String = hash
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let dimension = embedder.dimension();
    // target/<profile>/deps/recall-… → target/engram-bench-cache
    let cache_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("engram-bench-cache")))
        .unwrap_or_else(|| std::env::temp_dir().join("engram-bench-cache"));
    let path = cache_dir.join(format!("recall-{}-{key}.f32", texts.len()));
    if let Ok(mut file) = std::fs::File::open(&path) {
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_ok() && bytes.len() == texts.len() * dimension * 4 {
            eprintln!("vectors from {}", path.display());
            return bytes
                .chunks_exact(dimension * 4)
                .map(|row| {
                    row.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect()
                })
                .collect();
        }
    }
    eprintln!("embedding {} documents (cached afterwards)", texts.len());
    let vectors = embed_all(embedder, texts);
    let bytes: Vec<u8> = vectors
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let written = std::fs::create_dir_all(&cache_dir).and_then(|()| {
        let mut file = std::fs::File::create(&path)?;
        file.write_all(&bytes)
    });
    if let Err(error) = written {
        eprintln!("cannot cache vectors at {}: {error}", path.display());
    }
    vectors
}
