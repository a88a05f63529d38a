//! Error-message normalisation: the parts of a message that change from one occurrence of
//! the same error to the next (file paths, line and column numbers, memory addresses, other
//! numbers, the quoting of names) are replaced or removed, so that
//! `File "/home/a/app.py", line 12` and `File "/srv/b/app.py", line 80` read the same, and
//! `No module named 'fastapi'` shares the word `fastapi` with "Cannot import fastapi".
//!
//! The normalised text is what gets embedded and keyword-indexed and what content ids derive
//! from; the original message is stored alongside and returned.

use std::sync::LazyLock;

use regex::Regex;

struct Rule {
    pattern: Regex,
    replacement: &'static str,
}

fn rule(pattern: &str, replacement: &'static str) -> Rule {
    Rule {
        pattern: Regex::new(pattern)
            .unwrap_or_else(|e| panic!("normalisation rule {pattern}: {e}")),
        replacement,
    }
}

/// Applied in order; each sees the output of the previous ones.
static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // URLs before paths, so that their slashes are not read as one.
        rule(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\x22`)\]]+", "<url>"),
        // Windows paths: C:\dir\file.ext
        rule(r"\b[A-Za-z]:\\[^\s'\x22`:,()]+", "<path>"),
        // Unix paths with at least two components, or one with an extension:
        // /usr/lib/x.py, ./src/main.rs, ../a/b, ~/x/y, src/app/models.py
        rule(
            r"(?:~|\.{1,2})?(?:/[\w.@+-]+){2,}|(?:~|\.{1,2})/[\w.@+-]+|\b[\w.-]+(?:/[\w.@+-]+)+\.\w+\b",
            "<path>",
        ),
        // IPv4 addresses, with their port.
        rule(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "<ip>"),
        // Memory addresses and other hex literals.
        rule(r"\b0x[0-9a-fA-F]+\b", "<addr>"),
        // line 12, column 5, col 5, ln 3
        rule(
            r"(?i)\b(line|lines|column|col|ln|position|pos|offset)\s+\d+",
            "$1 <n>",
        ),
        // path:12:5 / path:12 after a replaced path
        rule(r"<path>(?::\d+){1,2}", "<path>"),
        // Any other number (integers, decimals, exponents), not inside identifiers.
        rule(r"(?:^|\b|-)\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b", "<n>"),
        // Quotes around a single name: 'fastapi', "user_id", `Option::unwrap()`.
        rule(r#"['"`‘’“”]([^'"`‘’“”\s]{1,200})['"`‘’“”]"#, "$1"),
        // Runs of whitespace.
        rule(r"\s+", " "),
    ]
});

/// The normalised form of an error message.
pub fn normalize_error(message: &str) -> String {
    let mut text = message.to_owned();
    for rule in RULES.iter() {
        text = rule
            .pattern
            .replace_all(&text, rule.replacement)
            .into_owned();
    }
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_error_from_other_places_normalises_alike() {
        let a = normalize_error(
            "Traceback (most recent call last):\n  File \"/home/ana/app/main.py\", line 12, in <module>\n    import fastapi\nModuleNotFoundError: No module named 'fastapi'",
        );
        let b = normalize_error(
            "Traceback (most recent call last):\n  File \"/srv/build/x/main.py\", line 80, in <module>\n    import fastapi\nModuleNotFoundError: No module named \"fastapi\"",
        );
        assert_eq!(a, b);
        assert!(a.contains("No module named fastapi"), "{a}");
        assert!(a.contains("line <n>"), "{a}");
    }

    #[test]
    fn paths_numbers_and_addresses_are_replaced() {
        assert_eq!(
            normalize_error("src/main.rs:42:7: error[E0308]: mismatched types"),
            "<path>: error[E0308]: mismatched types"
        );
        assert_eq!(
            normalize_error("Segmentation fault at 0x7ffd5e8c1a40 (core dumped)"),
            "Segmentation fault at <addr> (core dumped)"
        );
        assert_eq!(
            normalize_error("ConnectionRefusedError: [Errno 111] Connection refused"),
            "ConnectionRefusedError: [Errno <n>] Connection refused"
        );
        assert_eq!(
            normalize_error(r"FileNotFoundError: C:\Users\bo\data.csv not found"),
            "FileNotFoundError: <path> not found"
        );
        assert_eq!(
            normalize_error("open ./config/app.yaml: no such file or directory"),
            "open <path>: no such file or directory"
        );
        assert_eq!(
            normalize_error("connect to 10.0.3.17:5432 failed: Connection refused"),
            "connect to <ip> failed: Connection refused"
        );
        assert_eq!(
            normalize_error("GET https://api.example.com/v1/users?id=3 failed: 503"),
            "GET <url> failed: <n>"
        );
    }

    #[test]
    fn identifiers_with_digits_and_names_survive() {
        assert_eq!(
            normalize_error("KeyError: 'user_id2'"),
            "KeyError: user_id2"
        );
        assert_eq!(
            normalize_error(
                "thread 'main' panicked at 'called `Option::unwrap()` on a `None` value'"
            ),
            "thread main panicked at 'called Option::unwrap() on a None value'"
        );
        assert_eq!(normalize_error("utf8 base64 sha256"), "utf8 base64 sha256");
    }

    #[test]
    fn whitespace_collapses_and_empty_stays_empty() {
        assert_eq!(normalize_error("  a \n\t b  "), "a b");
        assert_eq!(normalize_error(""), "");
    }
}
