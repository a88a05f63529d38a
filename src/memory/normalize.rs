//! Error-message normalisation: the parts of a message that change from one occurrence of
//! the same error to the next (file paths, line and column numbers, memory addresses, other
//! numbers, the quoting of names) are replaced or removed, so that
//! `File "/home/a/app.py", line 12` and `File "/srv/b/app.py", line 80` read the same, and
//! `No module named 'fastapi'` shares the word `fastapi` with "Cannot import fastapi".
//!
//! The normalised text is what gets embedded and keyword-indexed and what content ids derive
//! from; the original message is stored alongside and returned.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What a rule puts in place of a match.
enum Replacement {
    /// A fixed text (with `$1`-style group references).
    Text(&'static str),
    /// `<n>` (or `<addr>` for hex), unless the number names the error's class: see
    /// [`names_error_class`].
    Number(&'static str),
}

struct Rule {
    pattern: Regex,
    replacement: Replacement,
}

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("normalisation rule {pattern}: {e}"))
}

fn rule(pattern: &str, replacement: &'static str) -> Rule {
    Rule {
        pattern: compile(pattern),
        replacement: Replacement::Text(replacement),
    }
}

fn number_rule(pattern: &str, placeholder: &'static str) -> Rule {
    Rule {
        pattern: compile(pattern),
        replacement: Replacement::Number(placeholder),
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
        // Memory addresses and other hex literals (an HRESULT after "error code" stays).
        number_rule(r"\b0x[0-9a-fA-F]+\b", "<addr>"),
        // line 12, column 5, col 5, ln 3
        rule(
            r"(?i)\b(line|lines|column|col|ln|position|pos|offset)\s+\d+",
            "$1 <n>",
        ),
        // path:12:5 / path:12 after a replaced path
        rule(r"<path>(?::\d+){1,2}", "<path>"),
        // Any other number (integers, decimals, exponents), not inside identifiers, unless
        // it names the error's class (status 503, exit code 137, errno 13, ORA-00942).
        number_rule(r"(?:^|\b|-)\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b", "<n>"),
        // Quotes around a single name: 'fastapi', "user_id", `Option::unwrap()`.
        rule(r#"['"`‘’“”]([^'"`‘’“”\s]{1,200})['"`‘’“”]"#, "$1"),
        // Runs of whitespace.
        rule(r"\s+", " "),
    ]
});

/// Words after which a number is the error's class rather than an occurrence's detail:
/// HTTP status codes, process exit codes and signals, errno values, SQLSTATE and
/// vendor error codes (`status code 401`, `exited with code 137`, `killed by signal 9`,
/// `[Errno 13]`, `SQLSTATE 23505`, `ERROR 1045 (28000)`, `error code 0x80070005`).
static CLASS_CONTEXT: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?x)
        \b (?: (?i: status | status\s+code | http(?:/\d(?:\.\d)?)? | response\s+code | exit
              | exit\s+(?:code|status) | exited | exited\s+with | exited\s+with\s+(?:code|status)
              | return\s+code | returncode | rc | signal | errno | sqlstate | error\s+code
              | code | hresult | ntstatus )
          | ERROR | Error
          # MySQL: ERROR 1045 (28000), the SQLSTATE after the error number.
          | ERROR\s+\d+ )
        [\s:=\#\[(]*$",
    )
});

/// An HTTP reason phrase after a three-digit number (`404 Not Found`, `503 Service
/// Unavailable`; RFC 9110 section 15) makes it a status code.
static REASON_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\s+(?:OK|Created|Accepted|No Content|Moved Permanently|Found|See Other|Not Modified|Temporary Redirect|Permanent Redirect|Bad Request|Unauthorized|Payment Required|Forbidden|Not Found|Method Not Allowed|Not Acceptable|Proxy Authentication Required|Request Timeout|Conflict|Gone|Length Required|Precondition Failed|Content Too Large|Payload Too Large|URI Too Long|Unsupported Media Type|Range Not Satisfiable|Expectation Failed|Misdirected Request|Unprocessable Content|Unprocessable Entity|Locked|Failed Dependency|Too Early|Upgrade Required|Precondition Required|Too Many Requests|Request Header Fields Too Large|Unavailable For Legal Reasons|Internal Server Error|Not Implemented|Bad Gateway|Service Unavailable|Gateway Timeout|HTTP Version Not Supported|Insufficient Storage|Loop Detected|Network Authentication Required)\b",
    )
});

/// Whether the number matched at `start..end` of `text` names the error's class (see
/// [`CLASS_CONTEXT`] and [`REASON_PHRASE`]), or is part of a vendor code such as
/// `ORA-00942`.
fn names_error_class(text: &str, start: usize, end: usize) -> bool {
    let before = &text[..start];
    let matched = &text[start..end];
    let after = &text[end..];
    // ORA-00942, PLS-00201: the dash belongs to the code, not to a negative number.
    if let Some(digits) = matched.strip_prefix('-')
        && !digits.is_empty()
        && before.ends_with(|c: char| c.is_ascii_uppercase())
    {
        return true;
    }
    // Look back a few words only.
    let window_start = before.char_indices().rev().nth(32).map_or(0, |(i, _)| i);
    if CLASS_CONTEXT.is_match(&before[window_start..]) {
        return true;
    }
    let digits = matched.trim_start_matches('-');
    digits.len() == 3
        && matches!(digits.as_bytes()[0], b'1'..=b'5')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && REASON_PHRASE.is_match(after)
}

/// The normalised form of an error message.
pub fn normalize_error(message: &str) -> String {
    let mut text = message.to_owned();
    for rule in RULES.iter() {
        text = match rule.replacement {
            Replacement::Text(replacement) => {
                rule.pattern.replace_all(&text, replacement).into_owned()
            }
            Replacement::Number(placeholder) => rule
                .pattern
                .replace_all(&text, |caps: &Captures| {
                    let m = caps.get(0).expect("whole match");
                    if names_error_class(&text, m.start(), m.end()) {
                        m.as_str().to_owned()
                    } else {
                        placeholder.to_owned()
                    }
                })
                .into_owned(),
        };
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
            normalize_error("ConnectionRefusedError: [Errno 111] Connection refused on port 5432"),
            "ConnectionRefusedError: [Errno 111] Connection refused on port <n>"
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
    fn numbers_that_name_the_error_class_survive() {
        // Each pair: two errors that need different fixes must stay apart...
        for (a, b) in [
            (
                "AxiosError: Request failed with status code 401",
                "AxiosError: Request failed with status code 503",
            ),
            ("Process exited with code 137", "Process exited with code 1"),
            (
                "server answered 404 Not Found",
                "server answered 500 Internal Server Error",
            ),
            (
                "HTTP 403 while fetching the index",
                "HTTP 407 while fetching the index",
            ),
            (
                "upstream answered 429 Too Many Requests",
                "upstream answered 502 Bad Gateway",
            ),
            ("killed by signal 9", "killed by signal 15"),
            (
                "OSError: [Errno 28] No space left",
                "OSError: [Errno 13] No space left",
            ),
            (
                "ERROR 1045 (28000): Access denied",
                "ERROR 2002 (28000): Access denied",
            ),
            (
                "ORA-00942: table or view does not exist",
                "ORA-01017: table or view does not exist",
            ),
            ("pq: SQLSTATE 23505", "pq: SQLSTATE 42601"),
            ("exit status 2", "exit status 127"),
            ("error code 0x80070005", "error code 0x80004005"),
        ] {
            assert_ne!(normalize_error(a), normalize_error(b), "{a} / {b}");
            assert_eq!(
                normalize_error(a),
                a.replace(['\'', '"'], ""),
                "kept as is: {a}"
            );
        }
        // ...while ports, ids, counts, durations and addresses still vary freely.
        for (a, b) in [
            (
                "status code 401 from localhost:8080",
                "status code 401 from localhost:9090",
            ),
            ("job 5512 exited with code 1", "job 77 exited with code 1"),
            ("timeout after 30.5 seconds", "timeout after 12 seconds"),
            ("Segfault at 0x7ffd5e8c1a40", "Segfault at 0x55d1c0ffee00"),
            ("KeyError at request 5512", "KeyError at request 77"),
        ] {
            assert_eq!(normalize_error(a), normalize_error(b), "{a} / {b}");
        }
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
