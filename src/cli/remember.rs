//! `engram remember pattern|solution|error`.

use std::io::Read;
use std::path::Path;

use engram::knowledge::{Category, KnowledgeInput};
use engram::memory::{ErrorInput, Language, Metrics, PatternInput, SolutionInput, Stored};

use super::args::{Cli, EntryArgs, KnowledgeKind, RememberCommand};
use super::output::Output;
use super::{CliResult, Failure, session};

/// Stores one entry and says whether it was new or seen again.
pub fn run(cli: &Cli, what: &RememberCommand, out: &mut Output) -> CliResult {
    let memory = session::open(cli)?;
    let (kind, stored) = match what {
        RememberCommand::Pattern {
            name,
            language,
            pattern_type,
            metrics,
            file,
            entry,
        } => {
            let input = PatternInput {
                context: entry.context.clone(),
                pattern_type: pattern_type.clone(),
                tags: tags(entry),
                source: entry.source.clone(),
                metrics: parse_metrics(metrics.as_deref())?,
                ..PatternInput::new(
                    name,
                    read_content(file.as_deref(), "code")?,
                    language_of(language)?,
                )
            };
            ("pattern", memory.store_pattern(input)?)
        }
        RememberCommand::Solution {
            problem,
            language,
            metrics,
            file,
            entry,
        } => {
            let input = SolutionInput {
                language: language_of(language)?,
                context: entry.context.clone(),
                tags: tags(entry),
                source: entry.source.clone(),
                metrics: parse_metrics(metrics.as_deref())?,
                ..SolutionInput::new(problem, read_content(file.as_deref(), "solution")?)
            };
            ("solution", memory.store_solution(input)?)
        }
        RememberCommand::Knowledge {
            title,
            kind,
            language,
            metadata,
            file,
            entry,
        } => {
            let mut fields = match metadata.as_deref() {
                None => serde_json::Map::new(),
                Some(json) => super::parse_json(
                    json,
                    "--metadata",
                    "a JSON object, e.g. '{\"framework\": \"fastapi\"}'",
                )?,
            };
            if let Some(language) = language {
                fields.insert("language".into(), language.clone().into());
            }
            let mut all_tags = tags(entry);
            if let Some(serde_json::Value::Array(given)) = fields.remove("tags") {
                all_tags.extend(given.iter().filter_map(|t| t.as_str().map(str::to_owned)));
            }
            fields.insert("tags".into(), all_tags.into());
            fields.insert("source".into(), entry.source.clone().into());
            if !entry.context.is_empty() {
                fields.insert("context".into(), entry.context.clone().into());
            }
            let category = match kind {
                KnowledgeKind::Pattern => Category::DesignPattern,
                KnowledgeKind::Practice => Category::BestPractice,
                KnowledgeKind::Error => Category::CommonError,
            };
            let input = KnowledgeInput {
                title: title.clone(),
                content: read_content(file.as_deref(), "content")?,
                category,
                metadata: fields,
            };
            (category.name(), memory.add_knowledge(input)?)
        }
        RememberCommand::Error {
            message,
            resolution,
            failed,
            language,
            file,
            entry,
        } => {
            let resolution = match resolution {
                Some(text) => text.clone(),
                None => read_content(file.as_deref(), "resolution")?,
            };
            let input = ErrorInput {
                context: entry.context.clone(),
                language: language_of(language)?,
                tags: tags(entry),
                source: entry.source.clone(),
                ..ErrorInput::new(message, resolution, !failed)
            };
            ("error resolution", memory.store_error(input)?)
        }
    };
    out.text(&describe(kind, &stored))?;
    Ok(())
}

fn describe(kind: &str, stored: &Stored) -> String {
    if stored.created {
        format!("remembered new {kind} {}\n", stored.id)
    } else {
        format!(
            "updated {kind} {} (stored {} times)\n",
            stored.id, stored.seen_count
        )
    }
}

fn tags(entry: &EntryArgs) -> Vec<String> {
    tag_list(&entry.tags)
}

/// The tags of a comma-separated `--tags` list, the same for every command (store, learn,
/// recall): empty items (`ops,` or `ops,,db`) are dropped, the others take their one form
/// ([`engram::text::label`]: surrounding spaces trimmed, case kept).
pub(crate) fn tag_list(given: &[String]) -> Vec<String> {
    let given: Vec<String> = given
        .iter()
        .filter(|t| !engram::text::is_blank(t))
        .cloned()
        .collect();
    engram::text::labels(&given)
}

pub(crate) fn language_of(name: &str) -> Result<Language, Failure> {
    name.parse::<Language>()
        .map_err(|error| Failure::usage(error.to_string()))
}

pub(crate) fn parse_metrics(json: Option<&str>) -> Result<Metrics, Failure> {
    let Some(json) = json else {
        return Ok(Metrics::new());
    };
    super::parse_json(
        json,
        "--metrics",
        "a JSON object of numbers, e.g. '{\"success_rate\": 0.9}'",
    )
}

/// The content of `file`, or of stdin for `-` or no file; must be UTF-8.
pub(crate) fn read_content(file: Option<&Path>, what: &str) -> Result<String, Failure> {
    let (bytes, origin) = match file {
        Some(path) if path != Path::new("-") => (
            fs_err::read(path).map_err(|e| Failure::usage(e.to_string()))?,
            path.display().to_string(),
        ),
        _ => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::usage(format!("reading the {what} from stdin: {e}")))?;
            (bytes, "stdin".to_owned())
        }
    };
    String::from_utf8(bytes).map_err(|error| {
        Failure::usage(format!(
            "the {what} in {origin} is not valid UTF-8 (first bad byte at offset {})",
            error.utf8_error().valid_up_to()
        ))
    })
}
