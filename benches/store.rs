//! Store speed on the embedded Qdrant Edge store in a temp dir: upsert throughput, and
//! search latency (dense, keyword, hybrid) at 10,000 and 100,000 points — criterion's
//! estimates, and beside them the p50 / p99 of 1,000 queries, since a tail is what callers
//! feel.
//!
//! Points are 384-d unit vectors clustered around 1,000 topics (the shape real embeddings
//! have) with 20-word texts drawn from a Zipf-distributed vocabulary; queries come from the
//! same distributions. `cargo bench --bench store` runs the full sizes; under `cargo test` it
//! runs a 2,000-point smoke version so CI proves it still works.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

#[path = "support/rng.rs"]
mod rng;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use engram::bench::Latency;
use engram::store::{
    CollectionSpec, EdgeCollection, EdgeOptions, EdgeStore, Payload, Point, PointId, Query,
    SearchRequest,
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
