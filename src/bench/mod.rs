//! `engram bench`: retrieval quality on real data sets, through the same store and embedder
//! as production, so the figures are the product's own.

mod chart;
mod data;
mod error;
mod latency;
mod metrics;
pub mod rss;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

pub use chart::{draw_chart, mode_name};
pub use data::{Corpus, Document, Question, default_dir};
pub use error::BenchError;
pub use latency::Latency;
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

impl Dataset {
    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cosqa => "cosqa",
            Self::Locomo => "locomo",
            Self::Errors => "errors",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The folder holding `cosqa/`, `locomo/` and `errors/`.
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

/// Quality and cost of one search mode.
#[derive(Debug, Clone, Serialize)]
pub struct ModeReport {
    /// The mode.
    pub mode: SearchMode,
    /// Recall and MRR (macro-averaged over conversations for LoCoMo).
    pub scores: Scores,
    /// Embedding each query alone, as a recall does; `None` for BM25, which needs no vector.
    pub embed: Option<Latency>,
    /// The store's search alone.
    pub search: Latency,
    /// Embedding plus search, per query: what a caller waits for.
    pub total: Latency,
    /// Peak resident memory of the process while this mode's queries ran.
    pub peak_rss_bytes: Option<u64>,
}

/// The outcome of one data set.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The data set.
    pub dataset: Dataset,
    /// Documents stored.
    pub documents: usize,
    /// Questions scored (categories 1–4 for LoCoMo); latencies count every query asked.
    pub questions: usize,
    /// Seconds spent embedding, storing and indexing the documents (shared by the modes).
    pub ingest_seconds: f64,
    /// Documents per second over that time.
    pub ingest_per_second: f64,
    /// Peak resident memory of the process while ingesting.
    pub ingest_peak_rss_bytes: Option<u64>,
    /// One report per mode.
    pub modes: Vec<ModeReport>,
    /// LoCoMo's adversarial questions (category 5), reported apart as SOURCES.md asks.
    pub category_5: Vec<ModeScores>,
}

/// The stage a progress report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Embedding and storing documents; counts documents.
    Ingest,
    /// Embedding queries and searching; counts steps (one embedding and one search per mode
    /// for each query).
    Query,
}

/// Candidates depth written by `dump_candidates`.
const DUMP_DEPTH: usize = 100;

/// Documents embedded and stored per batch.
const INGEST_BATCH: usize = 256;

/// The corpora of `dataset` read from `data_dir`: one for CoSQA and the errors, one per
/// conversation for LoCoMo.
pub fn corpora(dataset: Dataset, data_dir: &std::path::Path) -> Result<Vec<Corpus>, BenchError> {
    Ok(match dataset {
        Dataset::Cosqa => vec![data::cosqa(data_dir)?],
        Dataset::Locomo => data::locomo(data_dir)?,
        Dataset::Errors => vec![data::errors(data_dir)?],
    })
}

/// Runs one data set against `store` with `embedder`; `progress(phase, done, total)` is
/// called as work completes.
pub fn run(
    dataset: Dataset,
    store: &Store,
    embedder: &dyn Embedder,
    options: &BenchOptions,
    progress: &mut dyn FnMut(Phase, usize, usize),
) -> Result<BenchReport, BenchError> {
    let corpora = corpora(dataset, &options.data_dir)?;
    let fusion = match dataset {
        Dataset::Cosqa => Fusion::CODE,
        Dataset::Locomo | Dataset::Errors => Fusion::TEXT,
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
    let modes = &options.modes;
    let needs_vectors = modes.iter().any(|m| *m != SearchMode::Keyword) || dump.is_some();
    let total_documents: usize = corpora.iter().map(|c| c.documents.len()).sum();
    let steps_per_query = modes.len() + usize::from(needs_vectors);
    let total_steps: usize =
        corpora.iter().map(|c| c.questions.len()).sum::<usize>() * steps_per_query;

    let mut ingest_seconds = 0.0;
    let mut ingest_peak: Option<u64> = None;
    let mut documents = 0;
    let mut steps = 0;
    let mut questions = 0;
    let mut main: Vec<Vec<Scores>> = vec![Vec::new(); modes.len()];
    let mut adversarial: Vec<Vec<Scores>> = vec![Vec::new(); modes.len()];
    let mut embed_times: Vec<Duration> = Vec::new();
    let mut search_times: Vec<Vec<Duration>> = vec![Vec::new(); modes.len()];
    let mut total_times: Vec<Vec<Duration>> = vec![Vec::new(); modes.len()];
    let mut peaks: Vec<Option<u64>> = vec![None; modes.len()];
    progress(Phase::Ingest, 0, total_documents);
    for corpus in &corpora {
        rss::reset_peak();
        let started = Instant::now();
        let spec = CollectionSpec::new(&corpus.name, embedder.dimension()).with_fusion(fusion);
        store.drop_collection(&corpus.name)?;
        let collection = store.collection(&spec)?;
        for chunk in corpus.documents.chunks(INGEST_BATCH) {
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
            progress(Phase::Ingest, documents, total_documents);
        }
        collection.optimize()?;
        ingest_seconds += started.elapsed().as_secs_f64();
        ingest_peak = max_option(ingest_peak, rss::peak_bytes());

        // Each query embedded alone, as a recall embeds it.
        let mut vectors = Vec::with_capacity(corpus.questions.len());
        let mut corpus_embed_times = Vec::with_capacity(corpus.questions.len());
        if needs_vectors {
            for question in &corpus.questions {
                let started = Instant::now();
                vectors.push(embedder.embed(&question.text)?);
                corpus_embed_times.push(started.elapsed());
                steps += 1;
                progress(Phase::Query, steps, total_steps);
            }
        } else {
            vectors.resize(corpus.questions.len(), Vec::new());
            corpus_embed_times.resize(corpus.questions.len(), Duration::ZERO);
        }
        for (i, mode) in modes.iter().enumerate() {
            rss::reset_peak();
            let mut tally = RankTally::default();
            let mut tally_5 = RankTally::default();
            for ((question, vector), embedded) in corpus
                .questions
                .iter()
                .zip(&vectors)
                .zip(&corpus_embed_times)
            {
                let started = Instant::now();
                let hits = search(&collection, *mode, vector, &question.text, 10)?;
                let searched = started.elapsed();
                search_times[i].push(searched);
                let embedded = match mode {
                    SearchMode::Keyword => Duration::ZERO,
                    SearchMode::Dense | SearchMode::Hybrid => *embedded,
                };
                total_times[i].push(embedded + searched);
                if question.category == 5 {
                    tally_5.record(&keys(&hits), &question.gold);
                } else {
                    tally.record(&keys(&hits), &question.gold);
                }
                steps += 1;
                progress(Phase::Query, steps, total_steps);
            }
            peaks[i] = max_option(peaks[i], rss::peak_bytes());
            main[i].push(tally.scores());
            if tally_5.scores().queries > 0 {
                adversarial[i].push(tally_5.scores());
            }
        }
        questions += corpus.questions.iter().filter(|q| q.category != 5).count();
        if needs_vectors {
            embed_times.extend(corpus_embed_times);
        }
        if let Some(out) = dump.as_mut() {
            let path = options.dump_candidates.clone().unwrap_or_default();
            dump_candidates(out, &path, corpus, &collection, &vectors)?;
        }
        drop(collection);
        store.drop_collection(&corpus.name)?;
    }
    let reports = modes
        .iter()
        .enumerate()
        .map(|(i, mode)| ModeReport {
            mode: *mode,
            scores: macro_average(&main[i]),
            embed: (*mode != SearchMode::Keyword).then(|| Latency::of(&embed_times)),
            search: Latency::of(&search_times[i]),
            total: Latency::of(&total_times[i]),
            peak_rss_bytes: peaks[i],
        })
        .collect();
    let category_5 = modes
        .iter()
        .zip(&adversarial)
        .filter(|(_, scores)| !scores.is_empty())
        .map(|(mode, scores)| ModeScores {
            mode: *mode,
            scores: macro_average(scores),
        })
        .collect();
    Ok(BenchReport {
        dataset,
        documents,
        questions,
        ingest_seconds,
        ingest_per_second: documents as f64 / ingest_seconds.max(1e-9),
        ingest_peak_rss_bytes: ingest_peak,
        modes: reports,
        category_5,
    })
}

fn max_option(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Writes each scored question's top `DUMP_DEPTH` dense and BM25 candidates, and for every
/// candidate of either half its cosine with the question (from the stored vector) and its
/// keyword coverage (see [`crate::store::keyword_coverage`]).
fn dump_candidates(
    out: &mut impl Write,
    path: &std::path::Path,
    corpus: &Corpus,
    collection: &crate::store::Collection,
    vectors: &[Vec<f32>],
) -> Result<(), BenchError> {
    let encoder = crate::store::KeywordEncoder::new(&Default::default())?;
    let texts: std::collections::HashMap<&str, &str> = corpus
        .documents
        .iter()
        .map(|d| (d.key.as_str(), d.text.as_str()))
        .collect();
    for (question, vector) in corpus.questions.iter().zip(vectors) {
        if question.category == 5 {
            continue;
        }
        let dense = search(
            collection,
            SearchMode::Dense,
            vector,
            &question.text,
            DUMP_DEPTH,
        )?;
        let keyword = search(
            collection,
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
        let mut ids: Vec<PointId> = dense.iter().chain(&keyword).map(|h| h.id).collect();
        ids.sort();
        ids.dedup();
        let query_terms = encoder.query(&question.text);
        let candidates: serde_json::Map<String, serde_json::Value> = collection
            .get(&ids, true)?
            .into_iter()
            .map(|record| {
                let key = record
                    .payload
                    .get("key")
                    .and_then(|k| k.as_str())
                    .unwrap_or("")
                    .to_owned();
                let cosine: f32 = record
                    .vector
                    .as_deref()
                    .map_or(0.0, |v| v.iter().zip(vector).map(|(a, b)| a * b).sum());
                let text = texts.get(key.as_str()).copied().unwrap_or("");
                let coverage =
                    crate::store::keyword_coverage(&query_terms, &encoder.document(text));
                (key, serde_json::json!([cosine, coverage]))
            })
            .collect();
        let line = serde_json::json!({
            "corpus": corpus.name,
            "question": question.text,
            "gold": question.gold,
            "dense": pairs(&dense),
            "keyword": pairs(&keyword),
            "query_terms": query_terms.indices.len(),
            "candidates": candidates,
        });
        writeln!(out, "{line}").map_err(|source| BenchError::Output {
            path: path.to_path_buf(),
            source,
        })?;
    }
    Ok(())
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
