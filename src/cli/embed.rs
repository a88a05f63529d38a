//! `engram embed TEXT…`: look at vectors and how similar texts are.

use std::fmt::Write as _;
use std::io::BufRead;

use engram::embed::{Embedder, EmbedderOptions, SentenceEmbedder, cosine};
use serde::Serialize;

use super::args::{Cli, EmbedArgs};
use super::output::{Output, ellipsize};
use super::{CliResult, Failure};

#[derive(Serialize)]
struct Embedded<'a> {
    text: &'a str,
    tokens: usize,
    embedding: &'a [f32],
}

#[derive(Serialize)]
struct Report<'a> {
    model: &'a str,
    dimension: usize,
    texts: Vec<Embedded<'a>>,
    /// `similarity[i][j]` is the cosine similarity of texts i and j.
    similarity: Vec<Vec<f32>>,
}

/// Embeds the texts of `args` and prints them with their pairwise similarities.
pub fn run(cli: &Cli, args: &EmbedArgs, out: &mut Output) -> CliResult {
    let texts = read_texts(&args.texts)?;
    let options = EmbedderOptions::new()
        .with_batch_size(usize::from(args.batch_size))
        .with_threads(args.threads.map(usize::from));
    let embedder = SentenceEmbedder::from_sources(cli.resolve_config()?.model, &options)?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed_batch(&refs)?;
    let tokens = embedder.tokenize(&refs)?;
    let similarity: Vec<Vec<f32>> = vectors
        .iter()
        .map(|a| vectors.iter().map(|b| cosine(a, b)).collect())
        .collect();
    let report = Report {
        model: embedder.name(),
        dimension: embedder.dimension(),
        texts: refs
            .iter()
            .zip(&vectors)
            .zip(&tokens)
            .map(|((text, embedding), ids)| Embedded {
                text,
                tokens: ids.len(),
                embedding,
            })
            .collect(),
        similarity,
    };
    if args.json {
        out.json(&report)?;
    } else {
        out.text(&render(&report, embedder.max_seq_length()))?;
    }
    Ok(())
}

/// The texts from the command line, with `-` replaced by the lines of stdin.
fn read_texts(args: &[String]) -> Result<Vec<String>, Failure> {
    let mut texts = Vec::new();
    for arg in args {
        if arg == "-" {
            for (n, line) in std::io::stdin().lock().lines().enumerate() {
                let line =
                    line.map_err(|error| Failure::usage(format!("stdin line {}: {error}", n + 1)))?;
                texts.push(line);
            }
        } else {
            texts.push(arg.clone());
        }
    }
    if texts.is_empty() {
        return Err(Failure::usage("no texts to embed (stdin was empty)"));
    }
    Ok(texts)
}

fn render(report: &Report<'_>, max_tokens: usize) -> String {
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} · {} dimensions · {} text{}",
        report.model,
        report.dimension,
        report.texts.len(),
        if report.texts.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(text);
    let _ = writeln!(text, "{:>3}  {:>6}  {:<42}  vector", "#", "tokens", "text");
    for (i, item) in report.texts.iter().enumerate() {
        let head: Vec<String> = item
            .embedding
            .iter()
            .take(4)
            .map(|x| format!("{x:+.4}"))
            .collect();
        let truncated = if item.tokens >= max_tokens { "*" } else { " " };
        let _ = writeln!(
            text,
            "{:>3}  {:>5}{truncated}  {:<42}  [{}, …]",
            i + 1,
            item.tokens,
            ellipsize(item.text, 42),
            head.join(", ")
        );
    }
    if report.texts.iter().any(|t| t.tokens >= max_tokens) {
        let _ = writeln!(text, "     * truncated to {max_tokens} tokens");
    }
    if report.texts.len() > 1 {
        let _ = writeln!(text);
        let _ = writeln!(text, "cosine similarity");
        let _ = write!(text, "{:>5}", "");
        for j in 0..report.texts.len() {
            let _ = write!(text, "{:>7}", j + 1);
        }
        let _ = writeln!(text);
        for (i, row) in report.similarity.iter().enumerate() {
            let _ = write!(text, "{:>5}", i + 1);
            for value in row {
                let _ = write!(text, "{value:>7.3}");
            }
            let _ = writeln!(text);
        }
    }
    text
}
