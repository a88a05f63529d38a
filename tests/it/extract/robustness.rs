//! Robustness: truncated files, random bytes, random mutations, a 5 MB file and deeply
//! nested code all end without a panic, within the parser's time budget; partial code
//! yields the patterns that parse and an error count.
//!
//! The random cases are a bounded fuzz run: a fixed seed and a fixed number of cases, so CI
//! time is bounded and a failure reproduces.

use std::time::{Duration, Instant};

use engram::extract::{ExtractError, Extraction, PatternKind, SourceLanguage, extract};

use super::fixture;

/// A hang guard, far above what any case takes: the extractor's own parse budget is 2 s
/// plus 1 s per MB, and extraction after the parse is linear.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// A small deterministic generator (xorshift64*), so the fuzz cases reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn guarded(source: &str, language: SourceLanguage) -> Result<Extraction, ExtractError> {
    let started = Instant::now();
    let result = extract(source, language);
    assert!(
        started.elapsed() < HANG_GUARD,
        "{language}: {} bytes took {:?}",
        source.len(),
        started.elapsed()
    );
    result
}

fn extracts(source: &str, language: SourceLanguage) -> Extraction {
    guarded(source, language).unwrap_or_else(|e| panic!("{language}: {} bytes: {e}", source.len()))
}

/// The longest prefix of `text` at most `len` bytes long that ends on a char boundary.
fn prefix(text: &str, len: usize) -> &str {
    let mut end = len.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[test]
fn truncated_files_yield_what_parses_and_count_the_errors() {
    for (language, name) in fixture::ALL {
        let source = fixture::read(name);
        let full = extracts(&source, language);
        assert_eq!(full.error_count, 0, "{name} parses cleanly");
        let mut cut = 0;
        while cut < source.len() {
            let text = prefix(&source, cut);
            let partial = extracts(text, language);
            for pattern in &partial.patterns {
                assert!(
                    pattern.span.start_byte <= pattern.span.end_byte
                        && pattern.span.end_byte <= text.len(),
                    "{name} cut at {cut}: {pattern:?}"
                );
            }
            cut += 53;
        }
    }
    // Cut inside the last function of the Python file: everything before it still comes out.
    let source = fixture::read("inventory.py");
    let cut = source.find("return round(").expect("last function body");
    let partial = extracts(
        &source[..cut + "return round(pri".len()],
        SourceLanguage::Python,
    );
    assert!(partial.error_count > 0, "the cut leaves an error");
    for expected in ["Item", "Inventory", "from_file", "reserve", "validate"] {
        assert!(
            partial.patterns.iter().any(|p| p.name == expected),
            "{expected} is still extracted: {:?}",
            partial.patterns.iter().map(|p| &p.name).collect::<Vec<_>>()
        );
    }
}

#[test]
fn random_bytes_and_mutations_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for language in SourceLanguage::ALL {
        for _ in 0..150 {
            let len = rng.below(4096);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let text = String::from_utf8_lossy(&bytes);
            extracts(&text, language);
        }
    }
    for (language, name) in fixture::ALL {
        let source = fixture::read(name).into_bytes();
        for _ in 0..150 {
            let mut mutated = source.clone();
            for _ in 0..1 + rng.below(20) {
                let at = rng.below(mutated.len());
                match rng.below(3) {
                    0 => {
                        mutated.remove(at);
                    }
                    1 => mutated.insert(at, b"{}()[]:;,\"'`\n\t #\\/*"[rng.below(19)]),
                    _ => {
                        let end = (at + rng.below(200)).min(mutated.len());
                        mutated.drain(at..end);
                    }
                }
            }
            extracts(&String::from_utf8_lossy(&mutated), language);
        }
    }
}

#[test]
fn a_five_megabyte_file_is_extracted_whole() {
    for (language, name) in [
        (SourceLanguage::Python, "inventory.py"),
        (SourceLanguage::Rust, "ledger.rs"),
        (SourceLanguage::Typescript, "repository.ts"),
    ] {
        let one = fixture::read(name);
        let per_copy = extracts(&one, language).patterns.len();
        let copies = (5 << 20) / one.len() + 1;
        let big = one.repeat(copies);
        assert!(big.len() >= 5 << 20);
        let extraction = extracts(&big, language);
        assert_eq!(extraction.error_count, 0, "{name}");
        assert_eq!(extraction.patterns.len(), per_copy * copies, "{name}");
    }
}

#[test]
fn deeply_nested_code_does_not_overflow_the_stack() {
    // Deep enough that anything quadratic in the nesting (tree-sitter's `Node::parent` walks
    // down from the root) would run for minutes.
    let depth = 5_000;
    let cases = [
        (
            SourceLanguage::Python,
            format!(
                "x = {}1{}\n",
                "(".repeat(depth * 10),
                ")".repeat(depth * 10)
            ),
        ),
        (
            SourceLanguage::Javascript,
            format!(
                "function f() {{ return {}1{}; }}\n",
                "[".repeat(depth * 10),
                "]".repeat(depth * 10)
            ),
        ),
        (
            SourceLanguage::Rust,
            format!(
                "fn f() {{ {} }}\n",
                "{".repeat(depth * 10) + &"}".repeat(depth * 10)
            ),
        ),
        (
            SourceLanguage::Go,
            format!(
                "package p\nfunc f() {{ {} }}\n",
                "if x {".repeat(depth) + &"}".repeat(depth)
            ),
        ),
        (
            SourceLanguage::Javascript,
            "const f = () => {".repeat(depth) + &"};".repeat(depth),
        ),
        (
            SourceLanguage::Python,
            (0..300)
                .map(|level| format!("{}def f{level}():\n", " ".repeat(level)))
                .collect::<String>()
                + &" ".repeat(300)
                + "pass\n",
        ),
        // Unbalanced: all openers, no closers.
        (SourceLanguage::Typescript, "{(".repeat(depth * 10)),
    ];
    for (language, source) in cases {
        let started = Instant::now();
        let extraction = extracts(&source, language);
        eprintln!(
            "{language}: {} nested bytes in {:?}",
            source.len(),
            started.elapsed()
        );
        if source.contains("def f299") {
            assert_eq!(
                extraction.of_kind(PatternKind::Function).count(),
                300,
                "every nested def"
            );
        }
        if source.starts_with("const f = () => {") {
            assert_eq!(
                extraction.of_kind(PatternKind::Function).count(),
                depth,
                "every nested arrow function"
            );
        }
    }
}

#[test]
fn oversized_input_is_a_clear_error() {
    let big = "x".repeat(engram::extract::MAX_SOURCE_BYTES + 1);
    let error = extract(&big, SourceLanguage::Python).expect_err("too large");
    assert!(error.to_string().contains("at most"), "{error}");
    assert!(error.is_caller_fault());
}
