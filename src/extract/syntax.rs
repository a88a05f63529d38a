//! What the extractor needs to know of each grammar beyond its queries: which nodes are
//! decision points (cyclomatic complexity), which are literals and comments (abstracted away
//! by fingerprints), which delimit functions.

use tree_sitter::Node;

use super::language::SourceLanguage;

/// The grammar-specific node kinds of one language.
#[derive(Debug)]
pub(super) struct Syntax {
    /// Nodes that add one path through the code.
    decisions: &'static [&'static str],
    /// Binary operators that add one path (short-circuit operators).
    branching_operators: &'static [&'static str],
    /// Literal nodes: their value is not structure.
    literals: &'static [&'static str],
    /// Comment nodes.
    comments: &'static [&'static str],
    /// Nodes that start a new function body (for finding a construct's enclosing function).
    pub(super) functions: &'static [&'static str],
}

const PYTHON: Syntax = Syntax {
    decisions: &[
        "if_statement",
        "elif_clause",
        "for_statement",
        "while_statement",
        "except_clause",
        "conditional_expression",
        "boolean_operator",
        "for_in_clause",
        "if_clause",
        "case_clause",
    ],
    branching_operators: &[],
    literals: &[
        "string",
        "concatenated_string",
        "integer",
        "float",
        "true",
        "false",
        "none",
    ],
    comments: &["comment", "line_continuation"],
    functions: &["function_definition"],
};

const RUST: Syntax = Syntax {
    decisions: &[
        "if_expression",
        "while_expression",
        "for_expression",
        "try_expression",
    ],
    branching_operators: &["&&", "||"],
    literals: &[
        "string_literal",
        "raw_string_literal",
        "char_literal",
        "integer_literal",
        "float_literal",
        "boolean_literal",
        "negative_literal",
    ],
    comments: &["line_comment", "block_comment"],
    functions: &["function_item", "closure_expression"],
};

const JAVASCRIPT: Syntax = Syntax {
    decisions: &[
        "if_statement",
        "for_statement",
        "for_in_statement",
        "while_statement",
        "do_statement",
        "switch_case",
        "catch_clause",
        "ternary_expression",
    ],
    branching_operators: &["&&", "||", "??"],
    literals: &[
        "string",
        "template_string",
        "number",
        "regex",
        "true",
        "false",
        "null",
        "undefined",
    ],
    comments: &["comment", "html_comment"],
    functions: &[
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "generator_function",
        "arrow_function",
        "method_definition",
    ],
};

const GO: Syntax = Syntax {
    decisions: &[
        "if_statement",
        "for_statement",
        "expression_case",
        "type_case",
        "communication_case",
    ],
    branching_operators: &["&&", "||"],
    literals: &[
        "interpreted_string_literal",
        "raw_string_literal",
        "int_literal",
        "float_literal",
        "imaginary_literal",
        "rune_literal",
        "true",
        "false",
    ],
    comments: &["comment"],
    functions: &["function_declaration", "method_declaration", "func_literal"],
};

/// Punctuation that formatters add or drop (trailing commas, optional semicolons, Go's
/// newline terminators) without changing structure.
const FORMATTING: &[&str] = &[",", ";", "\n", "(", ")", "[", "]", "{", "}"];

/// Nodes that only group (optional parentheses): their children count, they do not.
const GROUPING: &[&str] = &["parenthesized_expression"];

/// How a node takes part in a fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Left out with everything under it (comments, formatting punctuation).
    Skip,
    /// One abstract token, nothing under it (identifiers, literals).
    Leaf(&'static str),
    /// Left out itself, its children taken (optional grouping).
    Transparent,
    /// Its kind, then its children.
    Structure,
}

impl Syntax {
    /// The tables of `language`.
    pub(super) fn of(language: SourceLanguage) -> &'static Syntax {
        match language {
            SourceLanguage::Python => &PYTHON,
            SourceLanguage::Rust => &RUST,
            SourceLanguage::Javascript | SourceLanguage::Typescript | SourceLanguage::Tsx => {
                &JAVASCRIPT
            }
            SourceLanguage::Go => &GO,
        }
    }

    /// How `node` takes part in a fingerprint.
    pub(super) fn role(&self, node: Node<'_>) -> Role {
        let kind = node.kind();
        if !node.is_named() {
            return if FORMATTING.contains(&kind) {
                Role::Skip
            } else {
                Role::Structure
            };
        }
        if self.comments.contains(&kind) {
            Role::Skip
        } else if kind.contains("identifier") {
            Role::Leaf("id")
        } else if self.literals.contains(&kind) {
            Role::Leaf("lit")
        } else if GROUPING.contains(&kind) {
            Role::Transparent
        } else {
            Role::Structure
        }
    }

    /// Whether `node` is a comment.
    pub(super) fn is_comment(&self, node: Node<'_>) -> bool {
        self.comments.contains(&node.kind())
    }

    /// The paths `node` adds to the code it is in.
    pub(super) fn decisions(&self, node: Node<'_>) -> u32 {
        let kind = node.kind();
        if self.decisions.contains(&kind) {
            return 1;
        }
        match kind {
            // A match with n arms is n - 1 decisions.
            "match_block" => {
                let mut cursor = node.walk();
                let arms = node
                    .named_children(&mut cursor)
                    .filter(|c| c.kind() == "match_arm")
                    .count();
                u32::try_from(arms.saturating_sub(1)).unwrap_or(u32::MAX)
            }
            "binary_expression" if !self.branching_operators.is_empty() => node
                .child_by_field_name("operator")
                .is_some_and(|op| self.branching_operators.contains(&op.kind()))
                .into(),
            _ => 0,
        }
    }
}
