//! `engram recall patterns|solutions|errors QUERY`.

use std::fmt::Write as _;

use engram::memory::{MemoryKind, RecallOptions, Recalled, Track};
use serde::Serialize;

use super::args::{Cli, RecallArgs, RecallKind};
use super::output::{Output, ellipsize};
use super::remember::language_of;
use super::{CliResult, session};

/// One line of the human listing.
struct Line<'a> {
    title: &'a str,
    language: String,
    snippet: &'a str,
    track: &'a Track,
}

/// Recalls and prints the best matches.
pub fn run(cli: &Cli, args: &RecallArgs, out: &mut Output) -> CliResult {
    let options = RecallOptions {
        limit: args.limit,
        language: args.language.as_deref().map(language_of).transpose()?,
        tags: super::remember::tag_list(&args.tags),
        source: args.source.clone(),
        min_success_rate: args.min_success,
        min_score: args.min_score,
    };
    let collection = match args.kind {
        RecallKind::Patterns => MemoryKind::CodePattern,
        RecallKind::Solutions => MemoryKind::Solution,
        RecallKind::Errors => MemoryKind::Error,
    }
    .collection();
    let memory = session::open_warm(cli, &[collection])?;
    match args.kind {
        RecallKind::Patterns => {
            let found = memory.recall_patterns(&args.query, &options)?;
            emit(out, args.json, &found, |r| Line {
                title: &r.name,
                language: r.language.to_string(),
                snippet: &r.code,
                track: &r.track,
            })
        }
        RecallKind::Solutions => {
            let found = memory.recall_solutions(&args.query, &options)?;
            emit(out, args.json, &found, |r| Line {
                title: &r.problem,
                language: r.language.to_string(),
                snippet: &r.solution,
                track: &r.track,
            })
        }
        RecallKind::Errors => {
            let found = memory.recall_errors(&args.query, &options)?;
            emit(out, args.json, &found, |r| Line {
                title: &r.error_message,
                language: r.language.to_string(),
                snippet: &r.resolution,
                track: &r.track,
            })
        }
    }
}

fn emit<T: Serialize>(
    out: &mut Output,
    json: bool,
    found: &[Recalled<T>],
    line: impl Fn(&T) -> Line<'_>,
) -> CliResult {
    if json {
        out.json(&found)?;
        return Ok(());
    }
    if found.is_empty() {
        out.text("nothing recalled: memory holds nothing that matches\n")?;
        return Ok(());
    }
    let mut text = String::new();
    for (rank, item) in found.iter().enumerate() {
        let line = line(&item.record);
        let _ = writeln!(
            text,
            "{:>2}. {:.3}  {}  [{}; stored {}×, {:.0}% success]",
            rank + 1,
            item.similarity,
            ellipsize(line.title, 70),
            line.language,
            line.track.seen_count,
            line.track.success_rate * 100.0
        );
        for snippet_line in line
            .snippet
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(4)
        {
            let _ = writeln!(text, "      {}", ellipsize(snippet_line, 96));
        }
    }
    out.text(&text)?;
    Ok(())
}
