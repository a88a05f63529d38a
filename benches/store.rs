//! Store speed on the embedded Qdrant Edge store in a temp dir: upsert throughput, and
//! search latency (dense, keyword, hybrid) at 10,000 and 100,000 points — criterion's
//! estimates, and beside them the p50 / p99 of 1,000 queries, since a tail is what callers
//! feel.
//!
//! Points are 384-d unit vectors clustered around 1,000 topics (the shape real embeddings
//! have) with 20-word texts drawn from a Zipf-distributed vocabulary; queries come from the
//! same distributions. Then the CoSQA functions embedded by engram's model, searched with
//! and without a one-field filter, with recall@10 against an exact search: the same vectors
//! `benches/peers/chroma.py` gives Chroma. `cargo bench --bench store` runs the full sizes;
//! under `cargo test` it runs a 2,000-point smoke version (and 300 CoSQA functions) so CI
//! proves it still works; `cargo bench --bench store -- cosqa` runs only the CoSQA part.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

#[path = "support/rng.rs"]
mod rng;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use engram::bench::Latency;
use engram::embed::{Embedder, EmbedderOptions, SentenceEmbedder};
use engram::store::{
    CollectionSpec, Condition, EdgeCollection, EdgeOptions, EdgeStore, FieldKind, Filter, Payload,
    Point, PointId, Query, SearchRequest,
};
use rng::Rng;

/// Points per upsert call.
const BATCH: usize = 1000;

/// Generates clustered vectors and Zipfian texts.
struct Generator {
    rng: Rng,
    centers: Vec<Vec<f32>>,
    vocabulary: Vec<String>,
    /// Cumulative Zipf weights over the vocabulary.
    cumulative: Vec<f64>,
}

fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

impl Generator {
    fn new() -> Self {
        let mut rng = Rng(0x5EED);
        let centers = (0..1000).map(|_| direction(&mut rng)).collect();
        let vocabulary: Vec<String> = (0..20_000).map(|i| format!("term{i}")).collect();
        let mut total = 0.0;
        let cumulative = (1..=vocabulary.len())
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Self {
            rng,
            centers,
            vocabulary,
            cumulative,
        }
    }

    fn vector(&mut self) -> Vec<f32> {
        let center = self.rng.below(self.centers.len());
        let noise = direction(&mut self.rng);
        normalize(
            self.centers[center]
                .iter()
                .zip(&noise)
                .map(|(c, n)| c + 0.8 * n)
                .collect(),
        )
    }

    fn text(&mut self, words: usize) -> String {
        let total = *self.cumulative.last().unwrap_or(&1.0);
        (0..words)
            .map(|_| {
                let x = self.rng.unit() * total;
                let i = self.cumulative.partition_point(|c| *c < x);
                self.vocabulary[i.min(self.vocabulary.len() - 1)].as_str()
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn points(&mut self, first: u128, count: usize) -> Vec<Point> {
        (0..count as u128)
            .map(|i| Point {
                id: PointId::from_u128(first + i),
                vector: self.vector(),
                text: self.text(20),
                payload: Payload::new(),
            })
            .collect()
    }

    fn queries(&mut self, count: usize) -> Vec<[Query; 3]> {
        (0..count)
            .map(|_| {
                let vector = self.vector();
                let text = self.text(6);
                [
                    Query::Dense(vector.clone()),
                    Query::Keyword(text.clone()),
                    Query::Hybrid { vector, text },
                ]
            })
            .collect()
    }
}

/// A random unit direction: normal coordinates (Box–Muller), normalised.
fn direction(rng: &mut Rng) -> Vec<f32> {
    let v = (0..384)
        .map(|_| {
            let (u1, u2) = (rng.unit().max(1e-12), rng.unit());
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
        })
        .collect();
    normalize(v)
}

const MODES: [&str; 3] = ["dense", "keyword", "hybrid"];

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    // `cargo bench --bench store -- cosqa`: only the CoSQA comparison.
    if std::env::args().any(|a| a == "cosqa") {
        cosqa(full);
        return;
    }
    let sizes: &[usize] = if full { &[10_000, 100_000] } else { &[2_000] };
    let query_count = if full { 1000 } else { 50 };
    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));

    upsert(&mut criterion);

    let mut table = Vec::new();
    for &size in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EdgeStore::open(dir.path(), EdgeOptions::default()).expect("open");
        let collection = store
            .collection(&CollectionSpec::new("bench", 384))
            .expect("collection");
        let mut generator = Generator::new();
        let mut upsert_time = Duration::ZERO;
        let mut next = 0;
        while next < size {
            let batch = generator.points(next as u128, BATCH.min(size - next));
            next += batch.len();
            let started = Instant::now();
            collection.upsert(batch).expect("upsert");
            upsert_time += started.elapsed();
        }
        let started = Instant::now();
        collection.optimize().expect("optimize");
        let optimize_time = started.elapsed();
        // Every point here has BM25 terms, which are always indexed: the rest is HNSW.
        let info = collection.info().expect("info");
        let in_hnsw = info.indexed_vectors.saturating_sub(info.points);
        let queries = generator.queries(query_count);

        let mut latencies = [Vec::new(), Vec::new(), Vec::new()];
        for query in &queries {
            for (slot, q) in latencies.iter_mut().zip(query) {
                let started = Instant::now();
                black_box(search(&collection, q));
                slot.push(started.elapsed());
            }
        }
        table.push((
            size,
            size as f64 / upsert_time.as_secs_f64(),
            optimize_time,
            in_hnsw,
            latencies.map(|l| Latency::of(&l)),
        ));

        let mut group = criterion.benchmark_group("store_search");
        for (m, mode) in MODES.iter().enumerate() {
            group.bench_function(BenchmarkId::new(*mode, size), |b| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % queries.len();
                    black_box(search(&collection, &queries[i][m]))
                });
            });
        }
        group.finish();
    }

    println!(
        "\n{:>8}  {:>12}  {:>10}  {:>8}  {:>21}  {:>21}  {:>21}",
        "points",
        "upsert pts/s",
        "optimize",
        "in HNSW",
        "dense p50 / p99",
        "keyword p50 / p99",
        "hybrid p50 / p99"
    );
    for (size, rate, optimize, in_hnsw, latencies) in table {
        let columns: Vec<String> = latencies
            .iter()
            .map(|l| format!("{:>8.3} / {:>7.3} ms", l.p50_ms, l.p99_ms))
            .collect();
        println!(
            "{:>8}  {:>12.0}  {:>8.1} s  {:>8}  {}  {}  {}",
            size,
            rate,
            optimize.as_secs_f64(),
            in_hnsw,
            columns[0],
            columns[1],
            columns[2]
        );
    }
    criterion.final_summary();
    cosqa(full);
}

/// Functions in one `bucket`: the metadata a filtered search restricts to (one of ten, as a
/// repository or project field would).
const BUCKETS: usize = 10;

/// The same vectors as `benches/peers/chroma.py` searches: the CoSQA functions and queries
/// embedded by engram's model. Ingests the functions (batches of 100, each with its `bucket`
/// in the payload, indexed), then searches top 10 for every query, unfiltered and with a
/// `bucket` filter, and scores recall@10 against an exact search of the same vectors. The
/// full run writes the vectors to `target/peers/cosqa-vectors.json` for the peers script.
fn cosqa(full: bool) {
    let data = engram::bench::default_dir();
    let corpus = match engram::bench::corpora(engram::bench::Dataset::Cosqa, &data) {
        Ok(mut corpora) => corpora.remove(0),
        Err(error) => {
            println!("\nCoSQA skipped: {error}");
            return;
        }
    };
    let (functions, queries) = if full { (usize::MAX, 500) } else { (300, 30) };
    let texts: Vec<&str> = corpus
        .documents
        .iter()
        .take(functions)
        .map(|d| d.text.as_str())
        .collect();
    let questions: Vec<&str> = corpus
        .questions
        .iter()
        .take(queries)
        .map(|q| q.text.as_str())
        .collect();
    let embedder = SentenceEmbedder::from_env(&EmbedderOptions::new()).expect("model");
    let started = Instant::now();
    let vectors = embedder.embed_batch(&texts).expect("embed functions");
    let query_vectors = embedder.embed_batch(&questions).expect("embed queries");
    println!(
        "\nCoSQA: {} functions and {} queries embedded in {:.1} s",
        vectors.len(),
        query_vectors.len(),
        started.elapsed().as_secs_f64()
    );
    if full {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers");
        fs_err::create_dir_all(&dir).expect("peers dir");
        let json = serde_json::json!({
            "model": "all-MiniLM-L6-v2 (engram)",
            "buckets": BUCKETS,
            "functions": vectors,
            "queries": query_vectors,
        });
        fs_err::write(dir.join("cosqa-vectors.json"), json.to_string()).expect("write vectors");
    }

    // The default (segments under 32 MB, like this one, searched exhaustively on the f32
    // vectors), and HNSW forced on by a 1 MB threshold, as a larger collection would have
    // it: with the int8 copy searched first (the default) and without.
    let hnsw = |scalar_quantization| EdgeOptions {
        index: engram::store::IndexOptions {
            exact_search_kb: 1_000,
            scalar_quantization,
            ..Default::default()
        },
        ..EdgeOptions::default()
    };
    for (label, options) in [
        ("exhaustive", EdgeOptions::default()),
        ("HNSW, int8 + rescoring", hnsw(true)),
        ("HNSW, f32 only", hnsw(false)),
    ] {
        cosqa_store(label, options, &vectors, &texts, &query_vectors);
    }
}

/// Ingests the CoSQA `vectors` into a fresh store with `options` and prints the search
/// latencies and recall@10 of `queries`, unfiltered and filtered by bucket.
fn cosqa_store(
    label: &str,
    options: EdgeOptions,
    vectors: &[Vec<f32>],
    texts: &[&str],
    queries: &[Vec<f32>],
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EdgeStore::open(dir.path(), options).expect("open");
    let collection = store
        .collection(&CollectionSpec::new("cosqa", 384).with_index("bucket", FieldKind::Integer))
        .expect("collection");
    let started = Instant::now();
    for (chunk, batch) in vectors.chunks(100).enumerate() {
        let points = batch
            .iter()
            .enumerate()
            .map(|(i, vector)| {
                let n = chunk * 100 + i;
                let mut payload = Payload::new();
                payload.insert("bucket".into(), serde_json::json!(n % BUCKETS));
                Point {
                    id: PointId::from_u128(n as u128),
                    vector: vector.clone(),
                    text: texts[n].to_owned(),
                    payload,
                }
            })
            .collect();
        collection.upsert(points).expect("upsert");
    }
    let inserts = vectors.len() as f64 / started.elapsed().as_secs_f64();
    collection.optimize().expect("optimize");
    let info = collection.info().expect("info");

    println!(
        "{label}: {} of {} dense vectors in HNSW; inserts {inserts:.0} points/s (batches of 100)",
        info.indexed_vectors.saturating_sub(info.points),
        info.points
    );
    println!("{:>12}  {:>21}  {:>9}", "search", "p50 / p99", "recall@10");
    for filtered in [false, true] {
        let requests: Vec<SearchRequest> = queries
            .iter()
            .enumerate()
            .map(|(q, vector)| {
                let request = SearchRequest::new(Query::Dense(vector.clone()), 10);
                if filtered {
                    request.with_filter(Filter::all([Condition::Integer {
                        field: "bucket".into(),
                        value: (q % BUCKETS) as i64,
                    }]))
                } else {
                    request
                }
            })
            .collect();
        // The searches back to back, then the exact answers: an exact search between two
        // timed ones would evict the collection's vectors from the caches.
        let mut latencies = Vec::new();
        let mut answers = Vec::new();
        for request in &requests {
            let started = Instant::now();
            let hits = collection.search(request).expect("search");
            latencies.push(started.elapsed());
            answers.push(hits);
        }
        let found: usize = answers
            .iter()
            .enumerate()
            .map(|(q, hits)| {
                let exact = exact_top10(vectors, &queries[q], filtered.then_some(q % BUCKETS));
                hits.iter()
                    .filter(|h| exact.iter().any(|&n| h.id == PointId::from_u128(n as u128)))
                    .count()
            })
            .sum();
        let latency = Latency::of(&latencies);
        println!(
            "{:>12}  {:>8.3} / {:>7.3} ms  {:>9.3}",
            if filtered { "filtered" } else { "unfiltered" },
            latency.p50_ms,
            latency.p99_ms,
            found as f64 / (10 * queries.len()) as f64
        );
    }
}

/// The exact top 10 by cosine (the vectors are unit length: dot product), optionally among
/// one bucket.
fn exact_top10(vectors: &[Vec<f32>], query: &[f32], bucket: Option<usize>) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = vectors
        .iter()
        .enumerate()
        .filter(|(n, _)| bucket.is_none_or(|b| n % BUCKETS == b))
        .map(|(n, v)| (v.iter().zip(query).map(|(a, b)| a * b).sum(), n))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(10).map(|(_, n)| n).collect()
}

fn search(collection: &EdgeCollection, query: &Query) -> usize {
    collection
        .search(&SearchRequest::new(query.clone(), 10))
        .expect("search")
        .len()
}

/// Upserting batches of 1,000 points into a collection that grows as it is measured (the
/// write path: the operation log, fdatasync, the segment).
fn upsert(criterion: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EdgeStore::open(dir.path(), EdgeOptions::default()).expect("open");
    let collection = store
        .collection(&CollectionSpec::new("upsert", 384))
        .expect("collection");
    let mut generator = Generator::new();
    let mut next = 0u128;
    let mut group = criterion.benchmark_group("store_upsert");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("points", BATCH), |b| {
        b.iter_batched(
            || {
                let batch = generator.points(next, BATCH);
                next += BATCH as u128;
                batch
            },
            |batch| collection.upsert(batch).expect("upsert"),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}
