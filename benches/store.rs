//! Store speed: upsert throughput and search latency (p50 / p99; dense, keyword, hybrid) at
//! 10,000 and 100,000 points, on the embedded Qdrant Edge store in a temp dir.
//!
//! Points are 384-d unit vectors clustered around 1,000 topics (the shape real embeddings
//! have) with 20-word texts drawn from a Zipf-distributed vocabulary; queries come from the
//! same distributions. `cargo bench --bench store` runs the full sizes; under `cargo test` it
//! runs a 2,000-point smoke version so CI proves it still works.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::time::{Duration, Instant};

use engram::store::{
    CollectionSpec, EdgeOptions, EdgeStore, Payload, Point, PointId, Query, SearchRequest,
};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f32 {
        let (u1, u2) = (self.unit().max(1e-12), self.unit());
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }

    fn direction(&mut self, dim: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dim).map(|_| self.normal()).collect();
        normalize(v)
    }
}

fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Generates clustered vectors and Zipfian texts.
struct Generator {
    rng: Rng,
    centers: Vec<Vec<f32>>,
    vocabulary: Vec<String>,
    /// Cumulative Zipf weights over the vocabulary.
    cumulative: Vec<f64>,
}

impl Generator {
    fn new() -> Self {
        let mut rng = Rng(0x5EED);
        let centers = (0..1000).map(|_| rng.direction(384)).collect();
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
        let center = self.rng.next() as usize % self.centers.len();
        let noise = self.rng.direction(384);
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
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full { &[10_000, 100_000] } else { &[2_000] };
    let queries = if full { 1000 } else { 50 };
    println!(
        "{:>8}  {:>12}  {:>10}  {:>8}  {:>21}  {:>21}  {:>21}",
        "points",
        "upsert pts/s",
        "optimize",
        "in HNSW",
        "dense p50 / p99",
        "keyword p50 / p99",
        "hybrid p50 / p99"
    );
    for &size in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = EdgeStore::open(dir.path(), EdgeOptions::default()).expect("open");
        let collection = store
            .collection(&CollectionSpec::new("bench", 384))
            .expect("collection");
        let mut generator = Generator::new();
        let mut upsert_time = Duration::ZERO;
        let mut next = 0u128;
        while (next as usize) < size {
            let batch: Vec<Point> = (0..1000u128.min(size as u128 - next))
                .map(|i| Point {
                    id: PointId::from_u128(next + i),
                    vector: generator.vector(),
                    text: generator.text(20),
                    payload: Payload::new(),
                })
                .collect();
            next += batch.len() as u128;
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
        let mut latencies = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..queries {
            let vector = generator.vector();
            let text = generator.text(6);
            let requests = [
                Query::Dense(vector.clone()),
                Query::Keyword(text.clone()),
                Query::Hybrid { vector, text },
            ];
            for (slot, query) in latencies.iter_mut().zip(requests) {
                let started = Instant::now();
                let hits = collection
                    .search(&SearchRequest::new(query, 10))
                    .expect("search");
                slot.push(started.elapsed());
                std::hint::black_box(hits);
            }
        }
        let columns: Vec<String> = latencies
            .iter_mut()
            .map(|l| {
                l.sort();
                format!(
                    "{:>8.3} / {:>7.3} ms",
                    percentile(l, 0.5).as_secs_f64() * 1e3,
                    percentile(l, 0.99).as_secs_f64() * 1e3
                )
            })
            .collect();
        println!(
            "{:>8}  {:>12.0}  {:>8.1} s  {:>8}  {}  {}  {}",
            size,
            size as f64 / upsert_time.as_secs_f64(),
            optimize_time.as_secs_f64(),
            in_hnsw,
            columns[0],
            columns[1],
            columns[2]
        );
    }
}
