//! Pattern extractor throughput (criterion, in MB/s per language): tree-sitter's parse
//! alone, and the whole extraction (parse, queries, names, docs, complexity, fingerprints)
//! side by side in one run. Under `cargo test` it runs a small smoke version.
//!
//! Corpora: Python is the CoSQA corpus (6,267 real functions, from `../shared/data`), Rust
//! is engram's own `src/`; JavaScript, TypeScript, TSX and Go are the golden files of
//! `tests/fixtures/extract` repeated. Each corpus is repeated to at least `TARGET` bytes.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use engram::extract::{SourceLanguage, extract};

/// Bytes per corpus in a full run.
const TARGET: usize = 4 << 20;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let target = if full { TARGET } else { 128 << 10 };
    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (language, corpus) in corpora(root) {
        let text = repeat_to(&corpus, target);
        let extraction = extract(&text, language).expect("extracts");
        eprintln!(
            "{}: {:.2} MB, {} patterns, {} parse errors",
            language.name(),
            text.len() as f64 / 1e6,
            extraction.patterns.len(),
            extraction.error_count
        );
        let mut group = criterion.benchmark_group(format!("extract_{}", language.name()));
        group.throughput(Throughput::BytesDecimal(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("parse", ""), &text, |b, text| {
            b.iter(|| parse_only(language, text));
        });
        group.bench_with_input(BenchmarkId::new("extract", ""), &text, |b, text| {
            b.iter(|| black_box(extract(text, language).expect("extracts")));
        });
        group.finish();
    }
    criterion.final_summary();
}

fn parse_only(language: SourceLanguage, text: &str) {
    let grammar = language.grammar();
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&grammar).expect("grammar");
    let tree = parser.parse(text, None).expect("tree");
    assert!(tree.root_node().end_byte() > 0);
}

fn corpora(root: &Path) -> Vec<(SourceLanguage, String)> {
    let shared = std::env::var_os("ENGRAM_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared"));
    let cosqa: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(shared.join("data/cosqa/code_idx_map.txt"))
            .expect("the CoSQA corpus in ../shared/data"),
    )
    .expect("CoSQA json");
    let python = cosqa.keys().cloned().collect::<Vec<_>>().join("\n\n\n");
    let mut rust = String::new();
    rust_sources(&root.join("src"), &mut rust);
    let fixture = |name: &str| {
        std::fs::read_to_string(root.join("tests/fixtures/extract").join(name)).expect("fixture")
    };
    vec![
        (SourceLanguage::Python, python),
        (SourceLanguage::Rust, rust),
        (SourceLanguage::Javascript, fixture("cart.js")),
        (SourceLanguage::Typescript, fixture("repository.ts")),
        (SourceLanguage::Tsx, fixture("profile.tsx")),
        (SourceLanguage::Go, fixture("server.go")),
    ]
}

fn rust_sources(dir: &Path, out: &mut String) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).expect("source"));
            out.push('\n');
        }
    }
}

fn repeat_to(text: &str, target: usize) -> String {
    let copies = target.div_ceil(text.len().max(1)).max(1);
    let joined = format!("{text}\n");
    joined.repeat(copies)
}
