//! `engram learn --winner FILE --task TEXT`: store what a consensus winner teaches.

use std::fmt::Write as _;
use std::path::Path;

use engram::extract::{Candidate, ConsensusResult, SourceLanguage, TaskContext};

use super::args::{Cli, LearnArgs};
use super::extract::source_language;
use super::output::{Output, ellipsize};
use super::remember::{parse_metrics, read_content};
use super::{CliResult, Failure, session};

/// Extracts the winner's patterns and stores them.
pub fn run(cli: &Cli, args: &LearnArgs, out: &mut Output) -> CliResult {
    let language = source_language(args.language.as_deref())?;
    let reads_stdin = args.winner == Path::new("-");
    if language.is_none() {
        if reads_stdin {
            return Err(Failure::usage("a winner on stdin needs --language"));
        }
        // Fail on an unknown extension before loading the model.
        SourceLanguage::from_path(&args.winner).map_err(|e| Failure::usage(e.to_string()))?;
    }
    let winner = Candidate {
        code: read_content(Some(&args.winner), "winner")?,
        language,
        file_name: (!reads_stdin).then(|| args.winner.display().to_string()),
    };
    let consensus = ConsensusResult {
        metrics: parse_metrics(args.metrics.as_deref())?,
    };
    let task = TaskContext {
        description: args.task.clone(),
        language: None,
        tags: super::remember::tag_list(&args.tags),
    };
    let learned = session::open(cli)?.learn(&consensus, &winner, &task)?;
    if args.json {
        out.json(&learned)?;
        return Ok(());
    }
    let mut text = format!(
        "learned {} patterns from {} ({}): {} new, {} reinforced; {} syntax errors",
        learned.patterns.len(),
        args.winner.display(),
        learned.language,
        learned.created(),
        learned.reinforced(),
        learned.error_count
    );
    if learned.skipped > 0 {
        let _ = write!(text, "; {} too large to store", learned.skipped);
    }
    text.push('\n');
    for item in &learned.patterns {
        let _ = writeln!(
            text,
            "  {:<8} {:<14} {}  (seen {}×)",
            if item.stored.created { "new" } else { "known" },
            item.pattern.kind.name(),
            ellipsize(&item.pattern.name, 60),
            item.stored.seen_count
        );
    }
    out.text(&text)?;
    Ok(())
}
