//! What the extractor finds: patterns with their place in the source, their shape and how
//! complex they are.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use super::language::SourceLanguage;

/// What kind of construct a pattern is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PatternKind {
    /// A free function (nested ones included).
    Function,
    /// A function defined in a class, impl, trait or object literal, or a Go method.
    Method,
    /// A class.
    Class,
    /// A struct (Rust, Go).
    Struct,
    /// An enum (Rust, TypeScript).
    Enum,
    /// A trait (Rust).
    Trait,
    /// An interface (TypeScript, Go).
    Interface,
    /// An impl block (Rust).
    Impl,
    /// An error-handling construct; [`Pattern::handling`] says which.
    ErrorHandling,
    /// Concurrent code outside an async function: a Rust async block, a goroutine, a select.
    Async,
}

impl PatternKind {
    /// The snake_case name, as stored in `pattern_type`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Function => "function",
            Self::Method => "method",
            Self::Class => "class",
            Self::Struct => "struct",
            Self::Enum => "enum",
            Self::Trait => "trait",
            Self::Interface => "interface",
            Self::Impl => "impl",
            Self::ErrorHandling => "error_handling",
            Self::Async => "async",
        }
    }

    /// Whether this kind is a function or a method.
    pub fn is_callable(self) -> bool {
        matches!(self, Self::Function | Self::Method)
    }

    /// Whether this kind is a type-level container (class, struct, enum, trait, interface,
    /// impl).
    pub fn is_type(self) -> bool {
        matches!(
            self,
            Self::Class | Self::Struct | Self::Enum | Self::Trait | Self::Interface | Self::Impl
        )
    }
}

/// Which error-handling construct an [`PatternKind::ErrorHandling`] pattern is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Handling {
    /// Python `try` with `except` and/or `finally`.
    TryExcept,
    /// JavaScript / TypeScript `try` with `catch` and/or `finally`.
    TryCatch,
    /// Rust `?` propagation: one pattern per function, spanning it, with the count.
    QuestionMark,
    /// Rust `match` with `Ok(…)` / `Err(…)` arms.
    MatchResult,
    /// Go `if err != nil { … }`.
    IfErrNotNil,
}

impl Handling {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::TryExcept => "try_except",
            Self::TryCatch => "try_catch",
            Self::QuestionMark => "question_mark",
            Self::MatchResult => "match_result",
            Self::IfErrNotNil => "if_err_not_nil",
        }
    }
}

/// Where a pattern is: bytes are offsets into the source, lines and columns count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Span {
    /// First byte, in the source's one form ([`crate::text::canonical`]: LF line endings,
    /// no byte-order mark), which is the source itself unless it had CR line endings or a
    /// BOM.
    pub start_byte: usize,
    /// One past the last byte.
    pub end_byte: usize,
    /// First line.
    pub start_line: usize,
    /// First column (in bytes).
    pub start_column: usize,
    /// Last line.
    pub end_line: usize,
}

/// McCabe's rule of thumb: up to 5 decision paths is simple, beyond 10 asks for a split.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ComplexityClass {
    /// Cyclomatic complexity 1 to 5.
    Low,
    /// 6 to 10.
    Medium,
    /// Above 10.
    High,
}

impl ComplexityClass {
    /// The class of a cyclomatic complexity.
    pub fn of(cyclomatic: u32) -> Self {
        match cyclomatic {
            0..=5 => Self::Low,
            6..=10 => Self::Medium,
            _ => Self::High,
        }
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// One extracted construct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pattern {
    /// What it is.
    pub kind: PatternKind,
    /// Its name: the function's or type's, `impl Trait for Type` for impls, and for
    /// error-handling and async patterns the construct within its enclosing function
    /// (`try/except in load`).
    pub name: String,
    /// The enclosing class, impl, trait, interface or receiver type of a method; the
    /// enclosing function of an error-handling or async construct.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Functions: the declaration up to its body, whitespace collapsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Functions: each parameter as written (receivers and `self` included).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<String>,
    /// Decorators (Python, TypeScript) and attributes (Rust) written on it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decorators: Vec<String>,
    /// Whether it is async (`async def`, `async fn`, `async function`, async arrows).
    pub is_async: bool,
    /// Its docstring or doc comment, markers stripped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Types: how many methods it has (for Rust structs and enums and Go types: the methods
    /// of the file's impls or receivers of that type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method_count: Option<usize>,
    /// Error-handling patterns: which construct.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handling: Option<Handling>,
    /// Error-handling patterns: how many of the construct (the `?` count for
    /// [`Handling::QuestionMark`], otherwise 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurrences: Option<usize>,
    /// Where it is.
    pub span: Span,
    /// Cyclomatic complexity: 1 plus the decision points inside it.
    pub complexity: u32,
    /// The complexity's class.
    pub complexity_class: ComplexityClass,
    /// Hash of its syntax tree with identifiers, literals, comments and formatting
    /// abstracted away: the same structure written twice has the same fingerprint.
    pub fingerprint: String,
    /// Whether tree-sitter had to recover from syntax errors inside it.
    pub has_errors: bool,
    /// Where its source text is, decorators, attributes and the declaration holding it
    /// included (see [`Pattern::code_in`]).
    #[serde(skip)]
    pub code: Range<usize>,
}

impl Pattern {
    /// Its source text in `source`, the text it was extracted from in its canonical form
    /// ([`crate::text::canonical`]; the text itself for LF sources without a BOM).
    pub fn code_in<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.code.clone()).unwrap_or("")
    }
}

/// Everything extracted from one source text.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Extraction {
    /// The language it was parsed as.
    pub language: SourceLanguage,
    /// Its size in bytes.
    pub bytes: usize,
    /// The patterns, in source order.
    pub patterns: Vec<Pattern>,
    /// Syntax errors tree-sitter recovered from (error and missing nodes): partial code
    /// yields the patterns that parse and this count.
    pub error_count: usize,
    /// The line (from 1) of the first syntax error, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error_line: Option<usize>,
}

impl Extraction {
    /// The patterns of `kind`.
    pub fn of_kind(&self, kind: PatternKind) -> impl Iterator<Item = &Pattern> {
        self.patterns.iter().filter(move |p| p.kind == kind)
    }
}
