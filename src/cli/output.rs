//! Writing results to stdout, where a closed pipe (`engram … | head`) is not an error.

use std::io::{self, Write};

/// Buffered stdout.
pub struct Output {
    out: io::BufWriter<io::Stdout>,
}

impl Output {
    /// Standard output.
    pub fn stdout() -> Self {
        Self {
            out: io::BufWriter::new(io::stdout()),
        }
    }

    /// Writes `value` as pretty JSON followed by a newline.
    pub fn json<T: serde::Serialize>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.out, value)?;
        writeln!(self.out)?;
        self.out.flush()
    }

    /// Writes `text` as it is.
    pub fn text(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}

/// Whether `error` is stdout being closed by its reader.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<io::Error>())
        .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// `text` on one line (control characters as spaces, trailing space trimmed), cut to
/// `width` characters with an ellipsis.
pub fn ellipsize(text: &str, width: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim_end();
    if flat.chars().count() <= width {
        return flat.to_owned();
    }
    let mut cut: String = flat.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsize_flattens_and_cuts() {
        assert_eq!(ellipsize("a\tb\nc", 10), "a b c");
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(ellipsize("数据库连接超时", 3), "数据…");
        assert_eq!(ellipsize("x  \n", 10), "x");
    }
}
