//! Embedding throughput per precision path (portable f32, int8 where the CPU has AVX2, and
//! bf16 where it has AVX-512 BF16) at batch 1, 8 and 32: texts/s and tokens/s, the
//! arithmetic rate (the model's multiply-adds × 2 per second, whatever their precision) and
//! its fraction of the machine's measured peak for the kernel's instruction (none for int8,
//! which mixes two), then criterion's estimates of the same runs.
//!
//! Texts (from `../shared`): `queries`, the 500 CoSQA dev queries (short web queries, like
//! the ones agents send to recall); `mixed`, the 40 reference fixture texts, the 500 dev
//! queries and the 500 functions they ask for (long code), as the batch figure
//! asks; `functions`, those 500 functions alone. BENCHMARKS.md has the commands that run
//! sentence-transformers on the same texts.
//! Under `cargo test` a 16-text smoke version runs.

#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use engram::embed::{Embedder, EmbedderOptions, Kernel, Precision, SentenceEmbedder};

fn shared() -> PathBuf {
    std::env::var_os("ENGRAM_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error} (set ENGRAM_SHARED_DIR)", path.display()))
}

/// The dev queries, and the functions they ask for.
fn cosqa() -> (Vec<String>, Vec<String>) {
    let dev: Vec<serde_json::Value> = serde_json::from_str(&read(
        shared().join("data/cosqa/cosqa-retrieval-dev-500.json"),
    ))
    .expect("CoSQA dev JSON");
    let corpus: HashMap<String, u64> =
        serde_json::from_str(&read(shared().join("data/cosqa/code_idx_map.txt")))
            .expect("CoSQA corpus JSON");
    let by_index: HashMap<u64, String> = corpus.into_iter().map(|(code, i)| (i, code)).collect();
    let queries = dev
        .iter()
        .map(|row| row["doc"].as_str().expect("doc").to_owned())
        .collect();
    let functions = dev
        .iter()
        .filter_map(|row| by_index.get(&row["retrieval_idx"].as_u64()?).cloned())
        .collect();
    (queries, functions)
}

fn fixtures() -> Vec<String> {
    read(shared().join("fixtures/minilm-reference.jsonl"))
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("fixture line");
            row["text"].as_str().expect("text").to_owned()
        })
        .collect()
}

/// Floating-point operations of one forward pass over sequences of these lengths
/// (all-MiniLM-L6-v2: 6 layers, hidden 384, feed-forward 1536).
fn flops(lengths: &[usize]) -> f64 {
    let (layers, h, inner) = (6.0, 384.0, 1536.0);
    lengths
        .iter()
        .map(|&len| {
            let len = len as f64;
            let linear = 2.0 * (4.0 * h * h + 2.0 * h * inner) * len;
            let attention = 2.0 * 2.0 * len * len * h;
            layers * (linear + attention)
        })
        .sum()
}

/// The machine's peak arithmetic rate for `kernel`'s instructions, in GFLOP/s, measured:
/// every core runs a loop of independent multiply-adds (12 accumulators, no memory traffic)
/// with the instruction the kernel is built on (`vfmadd` on 8 f32 lanes, or 16 where the
/// CPU has AVX-512F, `vdpbf16ps` on 16 lanes × 2 products), so the clock the CPU really
/// runs at is in the figure.
fn measured_peak(kernel: Kernel, cores: usize) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        const ROUNDS: u64 = 20_000_000;
        let probe: fn() -> f64 = match kernel {
            Kernel::Bf16Avx512 if Kernel::bf16_available() => || {
                // SAFETY: AVX-512 BF16 was detected.
                unsafe { peak::bf16(ROUNDS) }
            },
            // The f32 tiles run in 512-bit registers where the CPU has AVX-512F.
            Kernel::F32Avx2 if std::arch::is_x86_feature_detected!("avx512f") => || {
                // SAFETY: AVX-512F was detected.
                unsafe { peak::f32_avx512(ROUNDS) }
            },
            Kernel::F32Avx2 if kernel.available() => || {
                // SAFETY: AVX2 and FMA were detected.
                unsafe { peak::f32(ROUNDS) }
            },
            _ => return None,
        };
        let started = Instant::now();
        let flops: f64 = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..cores).map(|_| scope.spawn(probe)).collect();
            workers.into_iter().map(|w| w.join().expect("probe")).sum()
        });
        Some(flops / started.elapsed().as_secs_f64() / 1e9)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (kernel, cores);
        None
    }
}

#[cfg(target_arch = "x86_64")]
mod peak {
    use std::arch::x86_64::*;
    use std::hint::black_box;

    /// `rounds` × 12 independent `vfmadd231ps ymm`; returns the FLOP done.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn f32(rounds: u64) -> f64 {
        let x = _mm256_set1_ps(black_box(0.999_999));
        let y = _mm256_set1_ps(black_box(1e-7));
        let mut acc = [_mm256_setzero_ps(); 12];
        for _ in 0..rounds {
            for a in acc.iter_mut() {
                *a = _mm256_fmadd_ps(*a, x, y);
            }
        }
        black_box(acc);
        (rounds * 12 * 8 * 2) as f64
    }

    /// `rounds` × 12 independent `vfmadd231ps zmm`; returns the FLOP done.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn f32_avx512(rounds: u64) -> f64 {
        let x = _mm512_set1_ps(black_box(0.999_999));
        let y = _mm512_set1_ps(black_box(1e-7));
        let mut acc = [_mm512_setzero_ps(); 12];
        for _ in 0..rounds {
            for a in acc.iter_mut() {
                *a = _mm512_fmadd_ps(*a, x, y);
            }
        }
        black_box(acc);
        (rounds * 12 * 16 * 2) as f64
    }

    /// `rounds` × 12 independent `vdpbf16ps zmm`; returns the FLOP done.
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub unsafe fn bf16(rounds: u64) -> f64 {
        // SAFETY: same-size reinterpretation of plain vectors.
        let x: __m512bh = unsafe { std::mem::transmute(_mm512_set1_epi16(black_box(0x3F80))) };
        let mut acc = [_mm512_setzero_ps(); 12];
        for _ in 0..rounds {
            for a in acc.iter_mut() {
                *a = _mm512_dpbf16_ps(*a, x, x);
            }
        }
        black_box(acc);
        (rounds * 12 * 16 * 2 * 2) as f64
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (queries, functions) = cosqa();
    let mut mixed = fixtures();
    mixed.extend(queries.iter().cloned());
    mixed.extend(functions.iter().cloned());
    let mut sets: Vec<(&str, Vec<String>)> = vec![
        ("queries", queries),
        ("mixed", mixed),
        ("functions", functions),
    ];
    if !full {
        for (_, texts) in &mut sets {
            texts.truncate(16);
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut peaks = Vec::new();
    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(if full { 15 } else { 1 }));
    let mut table = Vec::new();
    for precision in [Precision::F32, Precision::Int8, Precision::Bf16] {
        if precision == Precision::Bf16 && !Kernel::bf16_available() {
            println!("no AVX-512 BF16 on this CPU: bf16 skipped");
            continue;
        }
        if precision == Precision::Int8 && !Kernel::Int8Avx2.available() {
            println!("no AVX2 and FMA on this CPU: int8 skipped");
            continue;
        }
        for (set, texts) in &sets {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            for batch in [1usize, 8, 32] {
                // The long sets only at batch 32, the batch figure's setting.
                if *set != "queries" && batch != 32 {
                    continue;
                }
                let embedder = SentenceEmbedder::from_env(
                    &EmbedderOptions::new()
                        .with_batch_size(batch)
                        .with_precision(precision),
                )
                .expect("model");
                let kernel = embedder.kernel();
                let lengths: Vec<usize> = embedder
                    .tokenize(&refs)
                    .expect("tokenize")
                    .iter()
                    .map(Vec::len)
                    .collect();
                let tokens: usize = lengths.iter().sum();
                // Warm up (buffers, caches), then the best of three passes.
                black_box(embedder.embed_batch(&refs).expect("embed"));
                let best = (0..if full { 3 } else { 1 })
                    .map(|_| {
                        let started = Instant::now();
                        black_box(embedder.embed_batch(&refs).expect("embed"));
                        started.elapsed().as_secs_f64()
                    })
                    .fold(f64::MAX, f64::min);
                let gflops = flops(&lengths) / best / 1e9;
                let peak = match peaks.iter().find(|(k, _)| *k == kernel) {
                    Some((_, peak)) => *peak,
                    None => {
                        let peak = measured_peak(kernel, cores);
                        peaks.push((kernel, peak));
                        peak
                    }
                };
                table.push(format!(
                    "{:<12} {:<8} {:>5} {:>6} {:>8.1} {:>10.0} {:>9.1} {:>11}",
                    kernel.name(),
                    set,
                    batch,
                    refs.len(),
                    refs.len() as f64 / best,
                    tokens as f64 / best,
                    gflops,
                    peak.map_or("–".to_owned(), |p| format!("{:.0} %", 100.0 * gflops / p)),
                ));
                let mut group = criterion.benchmark_group(format!("embed_{}", kernel.name()));
                group.throughput(Throughput::Elements(refs.len() as u64));
                group.bench_with_input(
                    BenchmarkId::new(format!("{set}_batch"), batch),
                    &refs,
                    |b, refs| b.iter(|| black_box(embedder.embed_batch(refs).expect("embed"))),
                );
                group.finish();
            }
        }
    }
    println!("\nmeasured peak on {cores} cores (independent multiply-adds, no memory):");
    for (kernel, peak) in &peaks {
        let peak = peak.map_or("–".to_owned(), |p| format!("{p:.0} GFLOP/s"));
        println!("  {:<12} {peak} ({})", kernel.name(), kernel.instructions());
    }
    println!(
        "{:<12} {:<8} {:>5} {:>6} {:>8} {:>10} {:>9} {:>11}",
        "path", "texts", "batch", "count", "texts/s", "tokens/s", "GFLOP/s", "of peak"
    );
    for row in table {
        println!("{row}");
    }
    criterion.final_summary();
}
