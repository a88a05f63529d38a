//! `engram bench`: retrieval quality on real data sets, through the same store and embedder
//! as production, so the figures are the product's own.

mod data;
mod error;
mod metrics;

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

pub use data::{Corpus, Document, Question, default_dir};
pub use error::BenchError;
pub use metrics::{RankTally, Scores, macro_average};

use crate::embed::Embedder;
use crate::store::{
    CollectionSpec, Fusion, Hit, Payload, Point, PointId, Query, SearchMode, SearchRequest, Store,
};

/// The data sets `engram bench` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dataset {
    /// CoSQA dev-500: web queries → Python functions (6,267).
    Cosqa,
    /// LoCoMo: questions → conversation turns, one collection per conversation.
    Locomo,
    /// pylint: emitted messages → the message's documentation.
    Errors,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The folder holding `cosqa/` and `locomo/`.
    pub data_dir: PathBuf,
    /// Search modes to evaluate.
    pub modes: Vec<SearchMode>,
    /// Also write, per question, the top 100 of each half with scores (JSON lines), for
    /// studying fusion.
    pub dump_candidates: Option<PathBuf>,
}

/// Scores of one mode.
#[derive(Debug, Clone, Serialize)]
pub struct ModeScores {
    /// The mode.
    pub mode: SearchMode,
    /// Its scores (macro-averaged over conversations for LoCoMo).
    pub scores: Scores,
}

/// The outcome of one data set.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The data set.
    pub dataset: Dataset,
    /// Documents stored.
    pub documents: usize,
    /// Questions asked (categories 1–4 for LoCoMo).
    pub questions: usize,
    /// Seconds spent embedding and storing the documents.
    pub ingest_seconds: f64,
    /// Scores per mode.
    pub modes: Vec<ModeScores>,
    /// LoCoMo's adversarial questions (category 5), reported apart as SOURCES.md asks.
    pub category_5: Vec<ModeScores>,
}

/// Candidates depth written by `dump_candidates`.
const DUMP_DEPTH: usize = 100;

/// Runs one data set against `store` with `embedder`; `progress` receives one line per step.
pub fn run(
    dataset: Dataset,
    store: &Store,
    embedder: &dyn Embedder,
    options: &BenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BenchReport, BenchError> {
    let corpora = match dataset {
        Dataset::Cosqa => vec![data::cosqa(&options.data_dir)?],
        Dataset::Locomo => data::locomo(&options.data_dir)?,
        Dataset::Errors => vec![data::errors(&options.data_dir)?],
    };
    let mut dump = match &options.dump_candidates {
        Some(path) => Some(std::io::BufWriter::new(
            fs_err::File::create(path).map_err(|source| BenchError::Output {
                path: path.clone(),
                source,
            })?,
        )),
        None => None,
    };
    let mut ingest_seconds = 0.0;
    let mut documents = 0;
    let mut main: Vec<Vec<Scores>> = vec![Vec::new(); options.modes.len()];
    let mut adversarial: Vec<Vec<Scores>> = vec![Vec::new(); options.modes.len()];
    let mut questions = 0;
    for corpus in &corpora {
        let started = Instant::now();
        let fusion = match dataset {
            Dataset::Cosqa => Fusion::CODE,
            Dataset::Locomo | Dataset::Errors => Fusion::TEXT,
        };
        let spec = CollectionSpec::new(&corpus.name, embedder.dimension()).with_fusion(fusion);
        store.drop_collection(&corpus.name)?;
        let collection = store.collection(&spec)?;
        for chunk in corpus.documents.chunks(256) {
            let texts: Vec<&str> = chunk.iter().map(|d| d.text.as_str()).collect();
            let vectors = embedder.embed_batch(&texts)?;
            let points = chunk
                .iter()
                .zip(vectors)
                .map(|(doc, vector)| {
                    let mut payload = Payload::new();
                    payload.insert("key".into(), doc.key.clone().into());
                    Point {
                        id: PointId::from_content(&[corpus.name.as_bytes(), doc.key.as_bytes()]),
                        vector,
                        text: doc.text.clone(),
                        payload,
                    }
                })
                .collect();
            collection.upsert(points)?;
            documents += chunk.len();
            progress(&format!("{}: stored {documents} documents", corpus.name));
        }
        collection.optimize()?;
        ingest_seconds += started.elapsed().as_secs_f64();

        let texts: Vec<&str> = corpus.questions.iter().map(|q| q.text.as_str()).collect();
        let vectors = embedder.embed_batch(&texts)?;
        let mut tallies = vec![RankTally::default(); options.modes.len()];
        let mut tallies_5 = vec![RankTally::default(); options.modes.len()];
        for (question, vector) in corpus.questions.iter().zip(&vectors) {
            if question.category == 5 {
                for (i, mode) in options.modes.iter().enumerate() {
                    let hits = search(&collection, *mode, vector, &question.text, 10)?;
                    tallies_5[i].record(&keys(&hits), &question.gold);
                }
                continue;
            }
            questions += 1;
            for (i, mode) in options.modes.iter().enumerate() {
                let hits = search(&collection, *mode, vector, &question.text, 10)?;
                tallies[i].record(&keys(&hits), &question.gold);
            }
            if let Some(out) = dump.as_mut() {
                let dense = search(
                    &collection,
                    SearchMode::Dense,
                    vector,
                    &question.text,
                    DUMP_DEPTH,
                )?;
                let keyword = search(
                    &collection,
                    SearchMode::Keyword,
                    vector,
                    &question.text,
                    DUMP_DEPTH,
                )?;
                let pairs = |hits: &[Hit]| -> Vec<(String, f32)> {
                    keys(hits)
                        .into_iter()
                        .map(str::to_owned)
                        .zip(hits.iter().map(|h| h.score))
                        .collect()
                };
                let line = serde_json::json!({
                    "corpus": corpus.name,
                    "question": question.text,
                    "gold": question.gold,
                    "dense": pairs(&dense),
                    "keyword": pairs(&keyword),
                });
                writeln!(out, "{line}").map_err(|source| BenchError::Output {
                    path: options.dump_candidates.clone().unwrap_or_default(),
                    source,
                })?;
            }
        }
        for (i, tally) in tallies.iter().enumerate() {
            main[i].push(tally.scores());
            if tallies_5[i].scores().queries > 0 {
                adversarial[i].push(tallies_5[i].scores());
            }
        }
        progress(&format!(
            "{}: asked {} questions",
            corpus.name,
            corpus.questions.len()
        ));
        drop(collection);
        store.drop_collection(&corpus.name)?;
    }
    let summarize = |runs: &[Vec<Scores>]| -> Vec<ModeScores> {
        options
            .modes
            .iter()
            .zip(runs)
            .filter(|(_, scores)| !scores.is_empty())
            .map(|(mode, scores)| ModeScores {
                mode: *mode,
                scores: macro_average(scores),
            })
            .collect()
    };
    Ok(BenchReport {
        dataset,
        documents,
        questions,
        ingest_seconds,
        modes: summarize(&main),
        category_5: summarize(&adversarial),
    })
}

fn search(
    collection: &crate::store::Collection,
    mode: SearchMode,
    vector: &[f32],
    text: &str,
    limit: usize,
) -> Result<Vec<Hit>, BenchError> {
    let query = match mode {
        SearchMode::Dense => Query::Dense(vector.to_vec()),
        SearchMode::Keyword => Query::Keyword(text.to_owned()),
        SearchMode::Hybrid => Query::Hybrid {
            vector: vector.to_vec(),
            text: text.to_owned(),
        },
    };
    Ok(collection.search(&SearchRequest::new(query, limit))?)
}

fn keys(hits: &[Hit]) -> Vec<&str> {
    hits.iter()
        .map(|h| h.payload.get("key").and_then(|k| k.as_str()).unwrap_or(""))
        .collect()
}
