//! Learning from consensus winners, with the real model and Qdrant Edge in a temp dir:
//! patterns are stored with the task's context, a known structure is reinforced rather than
//! duplicated, suggestions find them by task, and bad input stores nothing.

use engram::extract::learn::{extract_from_consensus, suggest_patterns};
use engram::extract::{Candidate, ConsensusResult, SourceLanguage, TaskContext};
use engram::memory::{Language, MemoryKind, Metrics};

use super::fixture;
use crate::memory::Fixture;

fn count(f: &Fixture) -> usize {
    f.memory
        .collection(MemoryKind::CodePattern)
        .count(None)
        .expect("count")
}

fn consensus(rate: f64) -> ConsensusResult {
    ConsensusResult {
        metrics: Metrics::from([("success_rate".to_owned(), rate), ("votes".to_owned(), 4.0)]),
    }
}

/// The inventory file with every identifier of its own renamed and its layout changed.
fn renamed_inventory() -> String {
    let mut text = fixture::read("inventory.py");
    for (from, to) in [
        ("Inventory", "Warehouse"),
        ("Item", "Product"),
        ("inventory", "warehouse"),
        ("quantity", "amount"),
        ("reserve", "hold"),
        ("validate", "check"),
        ("price_with_tax", "gross_price"),
        ("sku", "code"),
        ("    ", "  "),
    ] {
        text = text.replace(from, to);
    }
    text
}

#[test]
fn a_winner_is_learned_once_and_reinforced_when_seen_again() {
    let f = Fixture::new();
    let task = TaskContext {
        tags: vec!["inventory".to_owned()],
        ..TaskContext::new("reserve stock for customer orders from a JSON inventory file")
    };
    let winner = Candidate::new(fixture::read("inventory.py"), SourceLanguage::Python);
    let first = extract_from_consensus(&f.memory, &consensus(1.0), &winner, &task).expect("learn");
    assert!(first.patterns.len() >= 8, "{:?}", first.patterns);
    assert_eq!(first.created(), first.patterns.len());
    assert_eq!(first.error_count, 0);
    assert_eq!(count(&f), first.patterns.len());

    // The same structure, renamed and reformatted, from a round that went less well.
    let again = Candidate::new(renamed_inventory(), SourceLanguage::Python);
    let second = extract_from_consensus(&f.memory, &consensus(0.5), &again, &task).expect("learn");
    assert_eq!(second.patterns.len(), first.patterns.len());
    assert_eq!(second.created(), 0, "every structure was known");
    assert_eq!(second.reinforced(), first.patterns.len());
    assert!(second.patterns.iter().all(|p| p.stored.seen_count == 2));
    assert_eq!(count(&f), first.patterns.len(), "nothing duplicated");

    let found = suggest_patterns(
        &f.memory,
        "reserve items of an order from stock",
        Some(Language::Python),
    )
    .expect("suggest");
    assert_eq!(found.len(), 5);
    let top = &found[0].record;
    assert_eq!(top.source, "consensus");
    assert!(top.context.contains("reserve stock"), "{top:?}");
    assert!(top.tags.contains(&"inventory".to_owned()));
    assert_eq!(top.track.seen_count, 2);
    assert!(
        (top.track.success_rate - 0.75).abs() < 1e-9,
        "mean of 1 and 0.5"
    );
    assert_eq!(top.metrics.get("votes"), Some(&4.0));
    assert!(top.metrics.contains_key("cyclomatic_complexity"));
    assert!(top.fingerprint.is_some());

    let rust_only =
        suggest_patterns(&f.memory, "reserve stock", Some(Language::Rust)).expect("suggest");
    assert!(rust_only.is_empty(), "no Rust patterns were learned");
}

#[test]
fn suggestions_prefer_the_task_that_taught_them() {
    let f = Fixture::new();
    for (name, language, task) in [
        (
            "ledger.rs",
            SourceLanguage::Rust,
            "transfer money between bank accounts",
        ),
        (
            "server.go",
            SourceLanguage::Go,
            "serve a key-value store over HTTP",
        ),
        (
            "cart.js",
            SourceLanguage::Javascript,
            "shopping cart checkout",
        ),
    ] {
        let winner = Candidate::new(fixture::read(name), language);
        extract_from_consensus(&f.memory, &consensus(1.0), &winner, &TaskContext::new(task))
            .expect("learn");
    }
    let found = suggest_patterns(&f.memory, "move funds from one account to another", None)
        .expect("suggest");
    assert_eq!(
        found[0].record.language,
        Language::Rust,
        "{:?}",
        found[0].record.name
    );
    let found =
        suggest_patterns(&f.memory, "HTTP handler for a key value store", None).expect("suggest");
    assert_eq!(
        found[0].record.language,
        Language::Go,
        "{:?}",
        found[0].record.name
    );
}

#[test]
fn bad_input_is_a_clear_error_and_stores_nothing() {
    let f = Fixture::new();
    let task = TaskContext::new("anything");
    let cases = [
        (
            Candidate::new("   ", SourceLanguage::Python),
            task.clone(),
            "code is empty",
        ),
        (
            Candidate::new("def f(): pass", SourceLanguage::Python),
            TaskContext::new(""),
            "description is empty",
        ),
        (
            Candidate {
                code: "class A {}".to_owned(),
                language: None,
                file_name: Some("A.java".to_owned()),
            },
            task.clone(),
            "supported languages: python, rust",
        ),
        (
            Candidate {
                code: "def f(): pass".to_owned(),
                language: None,
                file_name: None,
            },
            task.clone(),
            "language is unknown",
        ),
    ];
    for (winner, task, expected) in cases {
        let error =
            extract_from_consensus(&f.memory, &consensus(1.0), &winner, &task).expect_err(expected);
        assert!(error.to_string().contains(expected), "{error}");
        assert!(error.is_caller_fault());
    }
    let nan = ConsensusResult {
        metrics: Metrics::from([("success_rate".to_owned(), f64::NAN)]),
    };
    let winner = Candidate::new("def f():\n    return 1\n", SourceLanguage::Python);
    let error = extract_from_consensus(&f.memory, &nan, &winner, &task).expect_err("nan");
    assert!(error.to_string().contains("finite"), "{error}");
    assert_eq!(count(&f), 0);
}
