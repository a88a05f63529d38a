//! The pattern extractor: tree-sitter parses Python, Rust, JavaScript, TypeScript (and TSX)
//! and Go; per-language queries in `queries/*.scm` pick out functions and methods, classes,
//! structs, enums, traits, interfaces and impl blocks, error-handling constructs and async
//! code; each comes with its span, cyclomatic complexity and a structural fingerprint.
//!
//! Broken or partial code yields the patterns that parse and a count of syntax errors, never
//! a panic; parsing has a time budget, so pathological input ends with an error.
//! [`learn`] stores what is extracted from consensus winners in memory.

mod definitions;
mod error;
mod grammar;
mod language;
pub mod learn;
mod pattern;
mod structure;
mod surroundings;
mod syntax;

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use tree_sitter::{ParseOptions, ParseState, Parser, Tree};

pub use error::ExtractError;
pub use language::{SourceLanguage, UnsupportedLanguage};
pub use learn::{Candidate, ConsensusResult, Learned, TaskContext};
pub use pattern::{ComplexityClass, Extraction, Handling, Pattern, PatternKind, Span};

use grammar::Grammar;

/// Largest source the extractor parses (tree-sitter addresses bytes with 32 bits; memory for
/// the tree grows with the source).
pub const MAX_SOURCE_BYTES: usize = 32 << 20;

/// Parsing time allowed: a fixed allowance plus one second per MB, ten times what valid code
/// takes at tree-sitter's slowest.
fn parse_budget(bytes: usize) -> Duration {
    Duration::from_secs(2) + Duration::from_micros(bytes as u64)
}

/// Extracts the patterns of `source`, parsed as `language`. Line endings and a byte-order
/// mark do not matter ([`crate::text::canonical`]): the same code saved with CRLF or lone CR
/// yields the same patterns, fingerprints, line numbers and byte spans, the spans counting
/// bytes of the canonical form (pass that form to [`Pattern::code_in`]).
pub fn extract(source: &str, language: SourceLanguage) -> Result<Extraction, ExtractError> {
    let source = &*crate::text::canonical(source);
    if source.len() > MAX_SOURCE_BYTES {
        return Err(ExtractError::TooLarge {
            bytes: source.len(),
            limit: MAX_SOURCE_BYTES,
        });
    }
    let grammar = Grammar::of(language)?;
    let tree = parse(grammar, source)?;
    let patterns = definitions::patterns(language, grammar, &tree, source);
    let (error_count, first_error_line) = syntax_errors(&tree);
    Ok(Extraction {
        language,
        bytes: source.len(),
        patterns,
        error_count,
        first_error_line,
    })
}

fn parse(grammar: &Grammar, source: &str) -> Result<Tree, ExtractError> {
    let mut parser = Parser::new();
    parser
        .set_language(&grammar.language)
        .map_err(|e| ExtractError::Grammar(e.to_string()))?;
    let budget = parse_budget(source.len());
    let started = Instant::now();
    let mut within_budget = |_: &ParseState| {
        if started.elapsed() > budget {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let bytes = source.as_bytes();
    let options = ParseOptions::new().progress_callback(&mut within_budget);
    parser
        .parse_with_options(
            &mut |offset, _| bytes.get(offset..).unwrap_or_default(),
            None,
            Some(options),
        )
        .ok_or(ExtractError::Timeout {
            bytes: source.len(),
            budget,
        })
}

/// Error and missing nodes (the syntax errors tree-sitter recovered from), and the line of
/// the first.
fn syntax_errors(tree: &Tree) -> (usize, Option<usize>) {
    let root = tree.root_node();
    if !root.has_error() {
        return (0, None);
    }
    let mut count = 0;
    let mut first_line = None;
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            count += 1;
            first_line.get_or_insert(node.start_position().row + 1);
        }
        if node.has_error() && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    (count, first_line)
}
