//! `engram extract FILE… [--language] [--json]`: what the pattern extractor finds in source
//! files. Needs neither the model nor the store.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use engram::extract::{Extraction, Pattern, PatternKind, SourceLanguage, extract};
use serde::Serialize;

use super::args::ExtractArgs;
use super::output::{Output, ellipsize};
use super::remember::read_content;
use super::{CliResult, Failure};

/// One file's extraction, as printed by `--json`.
#[derive(Debug, Serialize)]
struct FileExtraction {
    path: PathBuf,
    #[serde(flatten)]
    extraction: Extraction,
}

/// Extracts every file; a file that cannot be read or parsed is reported on stderr and the
/// others still run (exit 2 at the end).
pub fn run(args: &ExtractArgs, out: &mut Output) -> CliResult {
    let forced = source_language(args.language.as_deref())?;
    let mut done = Vec::new();
    let mut failed = 0;
    for path in &args.files {
        match extract_file(path, forced) {
            Ok(extraction) => done.push(FileExtraction {
                path: path.clone(),
                extraction,
            }),
            Err(failure) => {
                failed += 1;
                eprintln!("error: {}: {:#}", path.display(), failure.error);
            }
        }
    }
    if args.json {
        out.json(&done)?;
    } else {
        out.text(&listing(&done))?;
    }
    if failed > 0 {
        return Err(Failure::usage(format!(
            "{failed} of {} files could not be extracted",
            args.files.len()
        )));
    }
    Ok(())
}

/// The language `--language` names, if given.
pub(crate) fn source_language(name: Option<&str>) -> Result<Option<SourceLanguage>, Failure> {
    name.map(|name| {
        name.parse::<SourceLanguage>()
            .map_err(|e| Failure::usage(e.to_string()))
    })
    .transpose()
}

fn extract_file(path: &Path, forced: Option<SourceLanguage>) -> Result<Extraction, Failure> {
    let language = match forced {
        Some(language) => language,
        None if path == Path::new("-") => {
            return Err(Failure::usage("stdin has no extension: pass --language"));
        }
        None => SourceLanguage::from_path(path).map_err(|e| Failure::usage(e.to_string()))?,
    };
    let source = read_content(Some(path), "source")?;
    Ok(extract(&source, language)?)
}

/// The human listing: a header per file, a line per pattern.
fn listing(files: &[FileExtraction]) -> String {
    let mut text = String::new();
    for file in files {
        let e = &file.extraction;
        let _ = writeln!(
            text,
            "{} ({}, {} bytes): {} patterns, {} syntax errors",
            file.path.display(),
            e.language,
            e.bytes,
            e.patterns.len(),
            e.error_count
        );
        for pattern in &e.patterns {
            let lines = format!("{}-{}", pattern.span.start_line, pattern.span.end_line);
            let _ = writeln!(
                text,
                "  {lines:>11}  {:<14}  {}  [complexity {} {}]  {}",
                pattern.kind.name(),
                ellipsize(&describe(pattern), 70),
                pattern.complexity,
                pattern.complexity_class.name(),
                pattern.fingerprint
            );
        }
    }
    text
}

/// A pattern's name with what matters about it.
fn describe(pattern: &Pattern) -> String {
    let mut text = match (&pattern.owner, pattern.kind) {
        (Some(owner), PatternKind::Method) => format!("{owner}.{}", pattern.name),
        _ => pattern.name.clone(),
    };
    if pattern.kind.is_callable() {
        let _ = write!(text, "({})", pattern.parameters.join(", "));
    }
    if pattern.is_async {
        text.insert_str(0, "async ");
    }
    match pattern.method_count {
        Some(1) => text.push_str(", 1 method"),
        Some(methods) => {
            let _ = write!(text, ", {methods} methods");
        }
        None => {}
    }
    if let Some(count) = pattern.occurrences.filter(|n| *n > 1) {
        let _ = write!(text, " ×{count}");
    }
    text
}
