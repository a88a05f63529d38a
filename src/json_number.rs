//! JSON numbers engram keeps exactly, and the ones it refuses.
//!
//! A JSON number is stored as a 64-bit signed integer when it is an integer literal, and as
//! an IEEE 754 double otherwise, on both backends (Qdrant's payload has exactly these two
//! number types). A literal that neither holds exactly would change silently on the way in
//! (`184467440737095516150` read back as `1.844674407370955e20`), so it is refused with the
//! literal named: any number outside `−2⁶³ ..= 2⁶³ − 1`, whatever its spelling (`1e30` too:
//! JSON Schema counts it an integer, and this way the rule and the OpenAPI document's
//! `minimum` / `maximum` say the same), and decimal literals (with a point or an exponent)
//! whose value is not the double they parse to (more digits than a double carries, such
//! as `3.14159265358979323846`). `0.1`, which a double holds only approximately but prints
//! back the same, is kept and reads back as `0.1`.

/// Why a JSON text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the number {literal} cannot be stored exactly: numbers must lie within \
     -9223372036854775808..=9223372036854775807, decimals within a double's 15-17 \
     significant digits; send it as a string to keep every digit"
)]
pub struct InexactNumber {
    /// The literal as sent (at most 64 characters of it).
    pub literal: String,
}

/// Checks every number literal of the JSON text `json` (which may be invalid JSON: only
/// literals outside strings are looked at).
pub fn check_exact(json: &str) -> Result<(), InexactNumber> {
    let bytes = json.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let literal = &json[start..i];
                if !is_exact(literal) {
                    return Err(InexactNumber {
                        literal: literal.chars().take(64).collect(),
                    });
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Whether `literal` is stored as the number it says.
fn is_exact(literal: &str) -> bool {
    if !literal.contains(['.', 'e', 'E']) {
        // An integer literal: kept as i64 or refused (also when serde_json would read a
        // u64 above i64::MAX, which the Qdrant server cannot hold).
        return literal.parse::<i64>().is_ok();
    }
    let Ok(value) = literal.parse::<f64>() else {
        return false;
    };
    // 2⁶³, exactly representable as a double; every double beyond it is an integer.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    (-TWO_63..TWO_63).contains(&value) && decimal(literal) == decimal(&format!("{value:e}"))
}

/// A decimal literal as (negative, significant digits without leading or trailing zeros,
/// exponent of the first digit); zero is `(false, "", 0)`.
fn decimal(literal: &str) -> (bool, String, i64) {
    let (negative, rest) = match literal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, literal),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], rest[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (rest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = whole.chars().chain(fraction.chars()).collect();
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits.trim_matches('0').to_owned();
    if significant.is_empty() {
        return (false, String::new(), 0);
    }
    // The first significant digit's power of ten.
    let first = whole.len() as i64 - 1 - leading as i64 + exponent;
    (negative, significant, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_beyond_i64_are_refused_and_named() {
        let error = check_exact(r#"{"n": 184467440737095516150}"#).expect_err("too big");
        assert_eq!(error.literal, "184467440737095516150");
        assert!(
            check_exact(r#"{"n": 18446744073709551615}"#).is_err(),
            "u64::MAX"
        );
        assert!(
            check_exact(r#"{"n": 9223372036854775808}"#).is_err(),
            "i64::MAX + 1"
        );
        assert!(check_exact(r#"{"n": -9223372036854775809}"#).is_err());
        assert!(check_exact(r#"{"n": 9223372036854775807, "m": -9223372036854775808}"#).is_ok());
    }

    #[test]
    fn decimals_must_be_the_double_they_parse_to() {
        for kept in [
            "0.1", "1e18", "-2.5E-3", "9.2e18", "-9.2e18", "0.0", "-0", "100.50", "5.0", "5e0",
            "1.5e-300",
        ] {
            assert!(check_exact(&format!("[{kept}]")).is_ok(), "{kept}");
        }
        for changed in [
            "3.14159265358979323846",
            "0.12345678901234567891",
            "1e400",
            "184467440737095516150.0",
            // Beyond i64 whatever the spelling (JSON Schema counts these integers).
            "1e30",
            "9.7272005302028730e306",
            "1.8446744073709552e19",
            "-9.3e18",
        ] {
            assert!(check_exact(&format!("[{changed}]")).is_err(), "{changed}");
        }
    }

    #[test]
    fn digits_inside_strings_are_not_numbers() {
        assert!(
            check_exact(r#"{"id": "184467440737095516150", "q": "a \" 99999999999999999999"}"#)
                .is_ok()
        );
        assert!(check_exact(r#"{"a\\": 99999999999999999999}"#).is_err());
    }
}
