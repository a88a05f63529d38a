//! One seed file: TOML front matter between `+++` lines, then a Markdown body (see
//! `seeds/README.md`). Parsing checks everything and reports every problem with its line,
//! so one run shows all that is wrong in a folder.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::category::Category;
use crate::extract::{SourceLanguage, extract};
use crate::memory::{Language, MAX_CONTENT_CHARS, MAX_TITLE_CHARS};
use crate::text::check_label;

/// Largest seed file.
pub const MAX_SEED_BYTES: usize = MAX_CONTENT_CHARS;

/// Most tags on one entry (the entry's languages are added to them).
pub const MAX_SEED_TAGS: usize = 16;

/// Most languages on one entry.
pub const MAX_SEED_LANGUAGES: usize = 8;

const FENCE: &str = "+++";
const KEYS: [&str; 6] = ["title", "category", "languages", "summary", "tags", "error"];

/// Something wrong in a seed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, relative to the seed folder.
    pub file: String,
    /// The line (from 1) the problem is on.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// A fenced code block of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The fence's language word, lowercased (`python`, `sh`, …).
    pub language: String,
    /// The code.
    pub code: String,
    /// The line of the opening fence.
    pub line: usize,
}

/// A valid seed file.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedEntry {
    /// Its path relative to the seed folder, with `/` separators: what its id derives from.
    pub path: String,
    /// What it is.
    pub category: Category,
    /// Its title.
    pub title: String,
    /// Its one-sentence summary.
    pub summary: String,
    /// Its languages, the main one first.
    pub languages: Vec<Language>,
    /// Its labels.
    pub tags: Vec<String>,
    /// Common errors: the message as printed.
    pub error: Option<String>,
    /// The body.
    pub body: String,
    /// The body's prose, code blocks left out.
    pub prose: String,
    /// The body's code blocks, in order.
    pub code_blocks: Vec<CodeBlock>,
    /// Common errors: the `## Cause` section.
    pub cause: String,
    /// Common errors: the `## Resolution` section.
    pub resolution: String,
    /// SHA-256 of the file's bytes: an unchanged file is not stored again.
    pub hash: String,
}

/// Collects a file's problems.
struct Report<'a> {
    file: &'a str,
    problems: Vec<Problem>,
}

impl Report<'_> {
    fn add(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            message: message.into(),
        });
    }
}

/// Parses and checks one seed file; `path` is relative to the seed folder.
pub fn parse(path: &str, bytes: &[u8]) -> Result<SeedEntry, Vec<Problem>> {
    let mut report = Report {
        file: path,
        problems: Vec::new(),
    };
    if bytes.len() > MAX_SEED_BYTES {
        report.add(
            1,
            format!(
                "the file is {} bytes; seed files may have at most {MAX_SEED_BYTES}",
                bytes.len()
            ),
        );
        return Err(report.problems);
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => crate::text::canonical(text),
        Err(error) => {
            let line = 1 + bytes[..error.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            report.add(line, "the file is not valid UTF-8");
            return Err(report.problems);
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    if lines.first().map(|l| l.trim_end()) != Some(FENCE) {
        report.add(1, "the file must start with front matter: a line `+++`");
        return Err(report.problems);
    }
    let Some(close) = lines
        .iter()
        .skip(1)
        .position(|l| l.trim_end() == FENCE)
        .map(|i| i + 1)
    else {
        report.add(
            1,
            "the front matter opened here is never closed by a line `+++`",
        );
        return Err(report.problems);
    };
    let front = lines[1..close].join("\n");
    let body_first_line = close + 2;
    let body = lines[close + 1..].join("\n");

    let table = match front.parse::<toml::Table>() {
        Ok(table) => table,
        Err(error) => {
            let line = error.span().map_or(2, |span| {
                2 + front[..span.start.min(front.len())].matches('\n').count()
            });
            report.add(
                line,
                format!("broken front matter: {}", error.message().trim()),
            );
            return Err(report.problems);
        }
    };
    let key_line = |key: &str| {
        lines[1..close]
            .iter()
            .position(|l| {
                l.trim_start()
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map_or(1, |i| i + 2)
    };
    for key in table.keys() {
        if !KEYS.contains(&key.as_str()) {
            report.add(
                key_line(key),
                format!("unknown field `{key}`; fields: {}", KEYS.join(", ")),
            );
        }
    }
    let text_field = |key: &str, required: bool, report: &mut Report<'_>| -> Option<String> {
        match table.get(key) {
            None if required => {
                report.add(1, format!("missing required field `{key}`"));
                None
            }
            None => None,
            Some(toml::Value::String(value)) if crate::text::is_blank(value) => {
                report.add(key_line(key), format!("`{key}` is empty"));
                None
            }
            Some(toml::Value::String(value)) if value.chars().count() > MAX_TITLE_CHARS * 4 => {
                report.add(key_line(key), format!("`{key}` is too long"));
                None
            }
            Some(toml::Value::String(value)) => Some(value.trim().to_owned()),
            Some(_) => {
                report.add(key_line(key), format!("`{key}` must be a string"));
                None
            }
        }
    };
    let title = text_field("title", true, &mut report);
    let summary = text_field("summary", true, &mut report);
    let category_name = text_field("category", true, &mut report);
    let error = text_field("error", false, &mut report);
    let category = category_name.and_then(|name| match name.parse::<Category>() {
        Ok(category) => Some(category),
        Err(unknown) => {
            report.add(key_line("category"), unknown.to_string());
            None
        }
    });
    if let Some(title) = &title
        && title.chars().count() > MAX_TITLE_CHARS
    {
        report.add(
            key_line("title"),
            format!("`title` is longer than {MAX_TITLE_CHARS} characters"),
        );
    }
    let languages = string_list(&table, "languages", &key_line, &mut report, true)
        .into_iter()
        .filter_map(|name| match name.parse::<Language>() {
            Ok(language) => Some(language),
            Err(unknown) => {
                report.add(key_line("languages"), unknown.to_string());
                None
            }
        })
        .collect::<Vec<_>>();
    if languages.len() > MAX_SEED_LANGUAGES {
        report.add(
            key_line("languages"),
            format!(
                "{} languages; at most {MAX_SEED_LANGUAGES}",
                languages.len()
            ),
        );
    }
    let tags = string_list(&table, "tags", &key_line, &mut report, false);
    if tags.len() > MAX_SEED_TAGS {
        report.add(
            key_line("tags"),
            format!("{} tags; at most {MAX_SEED_TAGS}", tags.len()),
        );
    }
    for tag in &tags {
        if let Err(message) = check_label("tag", tag) {
            report.add(key_line("tags"), message);
        }
    }

    if body.trim().is_empty() {
        report.add(body_first_line.min(lines.len() + 1), "the body is empty");
    }
    let (prose, code_blocks) = split_code(&body, body_first_line, &mut report);
    for block in &code_blocks {
        check_code(block, &mut report);
    }

    let mut cause = String::new();
    let mut resolution = String::new();
    match category {
        Some(Category::CommonError) => {
            match &error {
                None if !table.contains_key("error") => report.add(
                    1,
                    "missing required field `error` (the message exactly as printed)",
                ),
                Some(message) if message.contains('\n') => {
                    report.add(key_line("error"), "`error` must be one line")
                }
                _ => {}
            }
            if languages.len() > 1 {
                report.add(
                    key_line("languages"),
                    "a common error names exactly one language",
                );
            }
            match sections(&body, body_first_line) {
                Ok((found_cause, found_resolution)) => {
                    cause = found_cause;
                    resolution = found_resolution;
                }
                Err((line, message)) => report.add(line, message),
            }
        }
        Some(Category::DesignPattern) => {
            let coded: Vec<Language> = code_blocks
                .iter()
                .filter_map(|b| b.language.parse::<Language>().ok())
                .collect();
            let mut distinct = coded.clone();
            distinct.sort();
            distinct.dedup();
            if distinct.len() < 2 {
                report.add(
                    body_first_line,
                    "a design pattern needs working code in at least two languages",
                );
            }
            for language in &languages {
                if !coded.contains(language) {
                    report.add(
                        key_line("languages"),
                        format!(
                            "`languages` lists {language} but no {language} code block follows"
                        ),
                    );
                }
            }
            if error.is_some() {
                report.add(key_line("error"), "`error` is for common errors only");
            }
        }
        Some(Category::BestPractice) if error.is_some() => {
            report.add(key_line("error"), "`error` is for common errors only");
        }
        Some(Category::BestPractice) | None => {}
    }

    if !report.problems.is_empty() {
        return Err(report.problems);
    }
    let (Some(title), Some(summary), Some(category)) = (title, summary, category) else {
        return Err(report.problems);
    };
    Ok(SeedEntry {
        path: path.to_owned(),
        category,
        title,
        summary,
        languages,
        tags,
        error,
        prose,
        code_blocks,
        cause,
        resolution,
        body: body.trim().to_owned(),
        hash: hex::encode(Sha256::digest(bytes)),
    })
}

/// The strings of a list field.
fn string_list(
    table: &toml::Table,
    key: &str,
    key_line: &dyn Fn(&str) -> usize,
    report: &mut Report<'_>,
    required: bool,
) -> Vec<String> {
    match table.get(key) {
        None if required => {
            report.add(1, format!("missing required field `{key}`"));
            Vec::new()
        }
        None => Vec::new(),
        Some(toml::Value::Array(items)) => {
            let mut names = Vec::new();
            for item in items {
                match item {
                    toml::Value::String(name) => names.push(name.trim().to_owned()),
                    _ => report.add(key_line(key), format!("`{key}` must list strings")),
                }
            }
            if required && names.is_empty() {
                report.add(key_line(key), format!("`{key}` is empty"));
            }
            names
        }
        Some(_) => {
            report.add(key_line(key), format!("`{key}` must be a list of strings"));
            Vec::new()
        }
    }
}

/// The body without its code blocks, and the code blocks.
fn split_code(body: &str, first_line: usize, report: &mut Report<'_>) -> (String, Vec<CodeBlock>) {
    let mut prose = Vec::new();
    let mut blocks = Vec::new();
    let mut open: Option<(String, usize, String, Vec<&str>)> = None;
    for (index, line) in body.lines().enumerate() {
        let number = first_line + index;
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(fence) = fence_of(trimmed) {
                    let language = trimmed[fence.len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    if language.is_empty() {
                        report.add(number, "a code block must name its language (```python)");
                    }
                    open = Some((fence, number, language, Vec::new()));
                } else {
                    prose.push(line);
                }
            }
            Some((fence, line_number, language, code)) => {
                if trimmed.starts_with(fence.as_str()) && trimmed.trim_end() == fence.as_str() {
                    blocks.push(CodeBlock {
                        language: std::mem::take(language),
                        code: code.join("\n"),
                        line: *line_number,
                    });
                    open = None;
                } else {
                    code.push(line);
                }
            }
        }
    }
    if let Some((_, line, _, _)) = open {
        report.add(line, "this code block is never closed");
    }
    (prose.join("\n").trim().to_owned(), blocks)
}

/// The fence a line opens with: three or more backticks or tildes.
fn fence_of(line: &str) -> Option<String> {
    let marker = line.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let run = line.chars().take_while(|c| *c == marker).count();
    (run >= 3).then(|| marker.to_string().repeat(run))
}

/// Code blocks in a language engram parses must parse without syntax errors.
fn check_code(block: &CodeBlock, report: &mut Report<'_>) {
    let Ok(language) = block.language.parse::<SourceLanguage>() else {
        return;
    };
    if block.code.trim().is_empty() {
        report.add(block.line, format!("the {language} code block is empty"));
        return;
    }
    match extract(&block.code, language) {
        Ok(extraction) if extraction.error_count == 0 => {}
        Ok(extraction) => {
            let line = block.line + extraction.first_error_line.unwrap_or(1);
            report.add(
                line,
                format!(
                    "the {language} code block opened on line {} does not parse ({} syntax \
                     errors, the first on this line)",
                    block.line, extraction.error_count
                ),
            );
        }
        Err(error) => report.add(block.line, error.to_string()),
    }
}

/// A common error's `## Cause` and `## Resolution` sections, or where and why they are
/// missing.
fn sections(body: &str, first_line: usize) -> Result<(String, String), (usize, String)> {
    let mut current: Option<&str> = None;
    let mut cause = Vec::new();
    let mut resolution = Vec::new();
    let mut seen = Vec::new();
    let mut in_code = false;
    for line in body.lines() {
        if fence_of(line.trim_start()).is_some() {
            in_code = !in_code;
        }
        if !in_code && let Some(heading) = line.strip_prefix("## ") {
            let heading = heading.trim().to_ascii_lowercase();
            current = match heading.as_str() {
                "cause" => Some("cause"),
                "resolution" => Some("resolution"),
                _ => None,
            };
            if let Some(section) = current {
                seen.push(section);
            }
            continue;
        }
        match current {
            Some("cause") => cause.push(line),
            Some("resolution") => resolution.push(line),
            _ => {}
        }
    }
    if seen != ["cause", "resolution"] {
        return Err((
            first_line,
            "a common error's body needs a `## Cause` section, then a `## Resolution` section"
                .to_owned(),
        ));
    }
    let cause = cause.join("\n").trim().to_owned();
    let resolution = resolution.join("\n").trim().to_owned();
    if cause.is_empty() || resolution.is_empty() {
        return Err((
            first_line,
            "the `## Cause` and `## Resolution` sections must not be empty".to_owned(),
        ));
    }
    Ok((cause, resolution))
}

/// A seed file's path relative to its folder, with `/` separators.
pub fn relative_path(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "+++
title = \"Retry with backoff\"
category = \"design_pattern\"
languages = [\"python\", \"go\"]
tags = [\"resilience\"]
summary = \"Retry after growing delays.\"
+++

Retry transient failures after growing delays.

```python
def retry(call):
    return call()
```

```go
package main

func retry(call func() error) error { return call() }
```
";

    /// The single problem `text` has, as (line, message).
    fn problem(text: &str) -> (usize, String) {
        let problems = parse("patterns/x.md", text.as_bytes()).expect_err("invalid");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].file, "patterns/x.md");
        (problems[0].line, problems[0].message.clone())
    }

    #[test]
    fn a_valid_file_parses_into_its_parts() {
        let entry = parse("patterns/x.md", GOOD.as_bytes()).expect("valid");
        assert_eq!(entry.category, Category::DesignPattern);
        assert_eq!(entry.languages, [Language::Python, Language::Go]);
        assert_eq!(entry.code_blocks.len(), 2);
        assert_eq!(entry.code_blocks[0].line, 11);
        assert_eq!(
            entry.prose,
            "Retry transient failures after growing delays."
        );
        assert_eq!(entry.hash.len(), 64);
    }

    #[test]
    fn each_problem_names_its_line() {
        let (line, message) =
            problem(&GOOD.replace("summary = \"Retry after growing delays.\"\n", ""));
        assert_eq!(line, 1);
        assert!(
            message.contains("missing required field `summary`"),
            "{message}"
        );

        let (line, message) = problem(&GOOD.replace("\"design_pattern\"", "\"recipe\""));
        assert_eq!(line, 3);
        assert!(message.contains("unknown category \"recipe\""), "{message}");

        let (line, message) = problem(&GOOD.replace(
            "[\"python\", \"go\"]",
            "[\"python\", \"golang\", \"cobol\"]",
        ));
        assert_eq!(line, 4);
        assert!(message.contains("unknown language \"cobol\""), "{message}");

        let (line, message) = problem(&GOOD.replace("backoff\"", "backoff"));
        assert_eq!(line, 2, "the unterminated string");
        assert!(message.starts_with("broken front matter"), "{message}");

        let (line, message) = problem(&GOOD.replace("    return call()", "    return call("));
        assert_eq!(line, 13, "the line of the first syntax error");
        assert!(
            message.contains("python code block opened on line 11 does not parse"),
            "{message}"
        );

        // An unnamed block also leaves Go without code: every consequence is reported.
        let problems =
            parse("patterns/x.md", GOOD.replace("```go", "```").as_bytes()).expect_err("invalid");
        assert!(
            problems
                .iter()
                .any(|p| p.line == 16 && p.message.contains("must name its language")),
            "{problems:?}"
        );

        let (line, message) = problem(&GOOD.replace("+++\n\nRetry", "\nRetry"));
        assert_eq!(line, 1);
        assert!(message.contains("never closed"), "{message}");

        let (line, message) = problem(
            "+++\ntitle = \"t\"\ncategory = \"best_practice\"\nlanguages = [\"text\"]\nsummary = \"s\"\n+++\n\n  \n",
        );
        assert_eq!(line, 7);
        assert!(message.contains("the body is empty"), "{message}");

        let (line, message) = problem(
            &GOOD
                .replace("author = ", "")
                .replace("tags =", "author = \"me\"\ntags ="),
        );
        assert_eq!(line, 5);
        assert!(message.contains("unknown field `author`"), "{message}");
    }

    #[test]
    fn category_rules_hold() {
        let one_language = GOOD.replace("[\"python\", \"go\"]", "[\"python\"]");
        let one_language = one_language.replace(
            "```go\npackage main\n\nfunc retry(call func() error) error { return call() }\n```\n",
            "",
        );
        let (_, message) = problem(&one_language);
        assert!(message.contains("at least two languages"), "{message}");

        let error = "+++
title = \"t\"
category = \"common_error\"
languages = [\"python\"]
summary = \"s\"
error = \"KeyError: 'id'\"
+++
## Resolution
Use get.
";
        let (line, message) = problem(error);
        assert_eq!(line, 8);
        assert!(message.contains("`## Cause` section"), "{message}");
        let fixed = error.replace("## Resolution", "## Cause\nA missing key.\n\n## Resolution");
        let entry = parse("errors/key.md", fixed.as_bytes()).expect("valid");
        assert_eq!(entry.cause, "A missing key.");
        assert_eq!(entry.resolution, "Use get.");
        let (_, message) = problem(&fixed.replace("error = \"KeyError: 'id'\"\n", ""));
        assert!(
            message.contains("missing required field `error`"),
            "{message}"
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_or_too_many_are_refused() {
        let problems = parse("x.md", b"+++\ntitle = \"caf\xe9\"\n").expect_err("latin-1");
        assert_eq!(problems[0].line, 2);
        assert!(problems[0].message.contains("UTF-8"));
        let big = vec![b'a'; MAX_SEED_BYTES + 1];
        assert!(
            parse("x.md", &big).expect_err("big")[0]
                .message
                .contains("at most")
        );
    }
}
