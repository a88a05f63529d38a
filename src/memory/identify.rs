//! What of an error message the embedding sees.
//!
//! The model reads at most 256 tokens, so a 60-frame traceback is embedded from its first
//! frames alone, and three tracebacks that differ only in their last line (the exception)
//! embed alike. For a message longer than [`WHOLE_CHARS`] characters and [`WHOLE_LINES`]
//! lines, engram embeds the lines that name the error instead (the last one, and the first
//! when an exception was raised while handling another); without such a line, the last
//! line. Stack frames are left out: measured with all-MiniLM-L6-v2, adding the first and
//! last frame to `TypeError: 'NoneType' object is not subscriptable` let the frames'
//! shared words outweigh the exception (a paraphrase, "tried to index into a value that
//! turned out to be null", then scored 0.114 against it and 0.144 against a
//! `ZeroDivisionError` with the same frames). The whole message is still keyword-indexed,
//! stored and returned.
//!
//! Identifiers written in CamelCase are split into words for the embedding
//! (`ZeroDivisionError` → `Zero Division Error`, `NoneType` → `None Type`): the model's
//! word pieces then carry their meaning (the paraphrase above scores 0.298 against the
//! split `TypeError` line and 0.286 against the split `ZeroDivisionError` one; unsplit,
//! 0.264 and 0.277, the wrong way round).

use std::sync::LazyLock;

use regex::Regex;

/// A message of at most this many characters is embedded whole.
pub const WHOLE_CHARS: usize = 600;
/// A message of at most this many non-empty lines is embedded whole.
pub const WHOLE_LINES: usize = 8;

/// A line that names an error: `KeyError: …`, `java.lang.IllegalStateException: …`,
/// `error[E0382]: …`, `Error: …`, `panic: …`, `thread 'main' panicked at …`, `fatal error: …`,
/// `Caused by: …`, `FAILED …`.
static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^\s*(?:
            [\w.$]*(?:Error|Exception|Exit|Interrupt|Fault|Failure|Warning)\b
          | (?i:error)(?:\[\w+\])?\s*:
          | (?i:fatal|panic|caused\s+by|failed)\b
          | thread\s+\S+\s+panicked\b
          | Uncaught\b
        )",
    )
    .expect("error line pattern")
});

/// A stack frame: Python `File "…", line N`, JavaScript/Java/C# `at …`, Go/gdb `#3 …` or
/// `goroutine`, Rust `N: …` backtrace lines and `--> file:line:col`.
static FRAME_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*(?:File\s+"|at\s+\S|#\d+\s|\d+:\s+\S|-->\s|goroutine\s+\d+)"#)
        .expect("frame line pattern")
});

/// Lower-case letter or digit followed by an upper-case letter, or an upper-case letter
/// followed by an upper-case one that starts a word (`HTTPError` → `HTTP Error`).
static CAMEL_BOUNDARY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([a-z0-9])([A-Z])|([A-Z])([A-Z][a-z])").expect("camel boundary pattern")
});

/// The lines of the error `message` that identify it: the message itself when short, else
/// the lines that name it (see the module documentation), one per line.
pub fn identifying_lines(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim_end)
        .filter(|l| !crate::text::is_blank(l))
        .collect();
    if message.chars().count() <= WHOLE_CHARS || lines.len() <= WHOLE_LINES {
        return message.to_owned();
    }
    let named: Vec<usize> = (0..lines.len())
        .filter(|&i| ERROR_LINE.is_match(lines[i]) && !FRAME_LINE.is_match(lines[i]))
        .collect();
    let picked = match (named.first(), named.last()) {
        (Some(&first), Some(&last)) if first != last => vec![last, first],
        (_, Some(&last)) => vec![last],
        _ => vec![lines.len() - 1],
    };
    picked
        .into_iter()
        .map(|i| lines[i].trim())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` with CamelCase identifiers split into words.
pub fn split_camel_case(text: &str) -> String {
    // Twice: a boundary's second letter may start the next one (`aBCd`).
    let once = CAMEL_BOUNDARY.replace_all(text, "$1$3 $2$4");
    CAMEL_BOUNDARY.replace_all(&once, "$1$3 $2$4").into_owned()
}

/// What the model embeds for the error `message`: its identifying lines
/// ([`identifying_lines`]), normalised ([`super::normalize_error`]), with CamelCase split
/// into words ([`split_camel_case`]; after normalisation, so paths are recognised whole).
pub fn identifying_text(message: &str) -> String {
    split_camel_case(&super::normalize_error(&identifying_lines(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python_traceback(frames: usize, last: &str) -> String {
        let mut text = String::from("Traceback (most recent call last):\n");
        for i in 0..frames {
            text.push_str(&format!(
                "  File \"/srv/app/layer{i}.py\", line {}, in handler_{i}\n    return next_layer_{i}(request)\n",
                10 + i
            ));
        }
        text.push_str(last);
        text
    }

    #[test]
    fn a_short_message_is_embedded_whole() {
        let message = "KeyError: 'tenant_slug'";
        assert_eq!(identifying_lines(message), message);
        let short = python_traceback(2, "ValueError: bad");
        assert_eq!(identifying_lines(&short), short);
    }

    #[test]
    fn a_long_traceback_is_embedded_from_its_exception() {
        let text = identifying_lines(&python_traceback(
            60,
            "TypeError: 'NoneType' object is not subscriptable",
        ));
        assert_eq!(text, "TypeError: 'NoneType' object is not subscriptable");
    }

    #[test]
    fn a_chained_exception_keeps_both_lines() {
        let mut message = String::from("TypeError: Cannot read properties of undefined\n");
        for i in 0..40 {
            message.push_str(&format!("    at fn{i} (/app/src/m{i}.js:{i}:7)\n"));
        }
        message.push_str("Caused by: Error: socket hang up\n    at end (/app/net.js:1:1)");
        assert_eq!(
            identifying_lines(&message),
            "Caused by: Error: socket hang up\nTypeError: Cannot read properties of undefined"
        );
    }

    #[test]
    fn without_a_named_line_the_last_line_stands_for_it() {
        let message = (0..30)
            .map(|i| format!("step {i} of the build printed something long enough"))
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(
            identifying_lines(&message),
            "step 29 of the build printed something long enough"
        );
    }

    #[test]
    fn camel_case_identifiers_become_words() {
        assert_eq!(
            split_camel_case("ZeroDivisionError: NoneType in HTTPError at getURLPath2Go"),
            "Zero Division Error: None Type in HTTP Error at get URL Path2 Go"
        );
        assert_eq!(
            split_camel_case("snake_case and lower"),
            "snake_case and lower"
        );
        assert_eq!(split_camel_case("aBCd"), "a B Cd");
    }
}
