//! What counts as text: one rule for every text field, label and tag engram takes, on every
//! route and command, and the JSON Schema patterns that tell clients the same.
//!
//! A text is blank when it holds nothing but invisible characters: Unicode `White_Space`
//! (what Rust's `char::is_whitespace` matches) and the `Default_Ignorable_Code_Point`
//! characters of the Basic Multilingual Plane (zero-width spaces and joiners, the byte-order
//! mark, soft hyphen, variation selectors, bidirectional controls). Required texts must not
//! be blank. Labels (sources, types, roles, tags, metric names) are 1 to 64 characters,
//! without control characters, and not blank. Lengths count characters (Unicode scalar
//! values), as JSON Schema's `maxLength` does.

/// Longest name or title (characters).
pub const MAX_TITLE_CHARS: usize = 1 << 10;
/// Longest code, solution or resolution (characters).
pub const MAX_CONTENT_CHARS: usize = 256 << 10;
/// Longest error message, problem, task, context or query (characters).
pub const MAX_TEXT_CHARS: usize = 64 << 10;
/// Longest label (characters).
pub const MAX_LABEL_CHARS: usize = 64;

/// The invisible characters, as inclusive ranges: White_Space, then the BMP's
/// Default_Ignorable_Code_Point (Unicode 15.1, `DerivedCoreProperties.txt`).
const INVISIBLE: &[(char, char)] = &[
    ('\u{0009}', '\u{000d}'),
    ('\u{0020}', '\u{0020}'),
    ('\u{0085}', '\u{0085}'),
    ('\u{00a0}', '\u{00a0}'),
    ('\u{00ad}', '\u{00ad}'),
    ('\u{034f}', '\u{034f}'),
    ('\u{061c}', '\u{061c}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180b}', '\u{180f}'),
    ('\u{2000}', '\u{200f}'),
    ('\u{2028}', '\u{202f}'),
    ('\u{205f}', '\u{206f}'),
    ('\u{3000}', '\u{3000}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{fe00}', '\u{fe0f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{fff0}', '\u{fff8}'),
];

/// A JSON Schema (ECMA-262) pattern that a non-blank text matches: it contains a visible
/// character. The same class as [`is_invisible`], spelled with `\uXXXX` escapes, which
/// ECMA-262, Python's `re` and Rust's `regex` read alike.
pub const VISIBLE_PATTERN: &str = "[^\\u0009-\\u000d\\u0020\\u0085\\u00a0\\u00ad\\u034f\\u061c\\u115f-\\u1160\\u1680\\u17b4-\\u17b5\\u180b-\\u180f\\u2000-\\u200f\\u2028-\\u202f\\u205f-\\u206f\\u3000\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0\\ufff0-\\ufff8]";

/// A JSON Schema pattern that a label matches: no control character (Unicode `Cc`), and a
/// visible one.
pub const LABEL_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u00ad\\u034f\\u061c\\u115f-\\u1160\\u1680\\u17b4-\\u17b5\\u180b-\\u180f\\u2000-\\u200f\\u2028-\\u202f\\u205f-\\u206f\\u3000\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0\\ufff0-\\ufff8][^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// Whether `c` counts as nothing (whitespace or default-ignorable).
pub fn is_invisible(c: char) -> bool {
    INVISIBLE
        .iter()
        .any(|&(low, high)| (low..=high).contains(&c))
}

/// Whether `text` holds nothing visible.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(is_invisible)
}

/// A required text: not blank, at most `max` characters.
pub fn check_required(field: &str, value: &str, max: usize) -> Result<(), String> {
    if is_blank(value) {
        return Err(format!("{field} is empty"));
    }
    check_optional(field, value, max)
}

/// An optional text: at most `max` characters (it may be empty).
pub fn check_optional(field: &str, value: &str, max: usize) -> Result<(), String> {
    let chars = value.chars().count();
    if chars > max {
        return Err(format!(
            "{field} is {chars} characters; the limit is {max} characters"
        ));
    }
    Ok(())
}

/// The one form of a text whatever byte-level variant it arrived in: CRLF and lone CR line
/// endings become LF, and a leading byte-order mark is dropped. Everything engram derives
/// from stored text (ids, fingerprints, signatures, line numbers) reads this form, so the
/// same source saved on Windows or classic Mac OS is the same entry.
pub fn canonical(text: &str) -> std::borrow::Cow<'_, str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.contains('\r') {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
}

/// [`canonical`], in place.
pub fn canonicalize(text: &mut String) {
    if let std::borrow::Cow::Owned(owned) = canonical(text) {
        *text = owned;
    } else if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
}

/// A label's one form, the same at store and at filter time on every entry point: without
/// the invisible characters around it (whitespace, zero-width spaces, the byte-order mark).
/// Case is kept, and labels compare exactly: `DB` and `db` are two tags.
pub fn label(value: &str) -> &str {
    value.trim_matches(is_invisible)
}

/// Labels in their one form ([`label`]), each once, in the order first given.
pub fn labels(values: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values
        .iter()
        .map(|value| label(value))
        .filter(|value| seen.insert(*value))
        .map(str::to_owned)
        .collect()
}

/// A label: a source, pattern type, tag, event type, agent role or metric name.
pub fn check_label(field: &str, value: &str) -> Result<(), String> {
    if is_blank(value)
        || value.chars().count() > MAX_LABEL_CHARS
        || value.chars().any(char::is_control)
    {
        return Err(format!(
            "{field} {value:?} must be 1 to {MAX_LABEL_CHARS} characters with something \
             visible and no control characters"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_the_byte_order_mark_have_one_form() {
        let unix = "def f():\n    return 1\n";
        for variant in [
            "def f():\r\n    return 1\r\n",
            "def f():\r    return 1\r",
            "\u{feff}def f():\n    return 1\n",
            "\u{feff}def f():\r\n    return 1\r",
        ] {
            assert_eq!(canonical(variant), unix, "{variant:?}");
            let mut owned = variant.to_owned();
            canonicalize(&mut owned);
            assert_eq!(owned, unix);
        }
        assert!(matches!(canonical(unix), std::borrow::Cow::Borrowed(_)));
        assert_eq!(canonical("a\r\n\r\nb"), "a\n\nb", "blank lines stay");
    }

    #[test]
    fn the_patterns_say_what_the_checks_do_for_every_bmp_character() {
        let visible = regex::Regex::new(VISIBLE_PATTERN).expect("visible pattern");
        let label = regex::Regex::new(LABEL_PATTERN).expect("label pattern");
        for code in 0u32..=0xffff {
            let Some(c) = char::from_u32(code) else {
                continue; // surrogates
            };
            let text = c.to_string();
            assert_eq!(
                visible.is_match(&text),
                !is_blank(&text),
                "U+{code:04X} visible"
            );
            assert_eq!(
                label.is_match(&text),
                check_label("l", &text).is_ok(),
                "U+{code:04X} as a label"
            );
            let padded = format!(" {c} x");
            assert_eq!(
                label.is_match(&padded),
                check_label("l", &padded).is_ok(),
                "U+{code:04X} inside a label"
            );
        }
    }

    #[test]
    fn invisible_text_is_blank_and_limits_count_characters() {
        for blank in [
            "",
            " ",
            "\u{200b}\u{200b}",
            "\u{feff}",
            "\u{2060}\t\n",
            "\u{00a0}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
            assert!(check_required("x", blank, 10).is_err());
            assert!(check_label("x", blank).is_err());
        }
        assert!(!is_blank("\u{200b}a"));
        assert!(
            check_required("x", &"é".repeat(10), 10).is_ok(),
            "characters, not bytes"
        );
        assert!(check_required("x", &"é".repeat(11), 10).is_err());
        assert!(check_label("tag", "ticket/ES-12/3").is_ok());
        assert!(check_label("tag", "a\u{0007}b").is_err());
        assert!(check_label("tag", &"t".repeat(65)).is_err());
        assert!(check_label("tag", &"ü".repeat(64)).is_ok());
        assert!(check_optional("x", "", 0).is_ok());
    }
}
