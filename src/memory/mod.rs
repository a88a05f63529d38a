//! Memory: the four collections a consensus engine learns into and recalls from, with typed
//! records, content-derived ids (storing the same thing again updates it) and recall that
//! ranks proven entries above equally similar unproven ones.
//!
//! [`Memory`] is blocking (embedding is CPU work); [`crate::Engram`] wraps it for async
//! callers.

mod error;
mod identify;
pub(crate) mod input;
mod kind;
mod language;
mod normalize;
pub mod observations;
mod record;
pub mod scoring;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use error::{MemoryError, Result};
pub use identify::identifying_text;
pub use input::{
    ErrorInput, MAX_CONTENT_CHARS, MAX_RECALL, MAX_TEXT_CHARS, MAX_TITLE_CHARS, PatternInput,
    RecallOptions, SolutionInput,
};
pub use kind::MemoryKind;
pub use language::{Language, UnknownLanguage};
pub use normalize::normalize_error;
pub use record::{CodePattern, ErrorResolution, Metrics, Solution, Track, Tracked};

use self::observations::{Observation, Observations, observation_id};
use crate::embed::Embedder;
use crate::store::coord::{Hlc, IdempotencyKeys};
use crate::store::{
    ClusterLayout, Collection, Condition, Filter, Payload, Point, PointId, Query, SearchRequest,
    Store, StoreError, WriteMode,
};

/// What a store call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stored {
    /// The entry's id, derived from its content.
    pub id: PointId,
    /// Times it has been stored, counting every store acknowledged so far (by any server).
    pub seen_count: u64,
    /// Whether this call created the entry (rather than adding one more sighting of an
    /// existing one). Exactly one store of an entry does, whatever the concurrency: the one
    /// whose create-if-absent of the record succeeds. A retry with the same idempotency key
    /// answers as the first call did.
    pub created: bool,
}

/// A recalled entry with its scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Recalled<T> {
    /// Its id.
    pub id: PointId,
    /// The ranking score: similarity adjusted by the success estimate (see [`scoring`]).
    pub score: f32,
    /// How well it matches the query, in `[0, 1]`: the hybrid relevance of
    /// [`crate::store::fusion`], built from the cosine below and the keyword match. It does
    /// not depend on what else is stored (but for BM25's IDF), so a threshold on it
    /// (`min_score`) can answer "nothing relevant".
    pub similarity: f32,
    /// The cosine of the query's and the entry's embeddings, in `[-1, 1]`.
    pub cosine: f32,
    /// The entry.
    pub record: T,
}

/// Counts of one collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CollectionStats {
    /// Which collection.
    pub kind: MemoryKind,
    /// Its name.
    pub collection: String,
    /// Entries stored.
    pub entries: usize,
    /// Entries per language.
    pub by_language: BTreeMap<String, usize>,
    /// Entries per source.
    pub by_source: BTreeMap<String, usize>,
    /// Bytes allocated on disk (not the apparent size of sparse files), when the backend
    /// can tell.
    pub disk_bytes: Option<u64>,
    /// Shards and replicas on a Qdrant server or cluster, and where they differ from what
    /// this engram asks of new collections (absent for the embedded store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<ClusterLayout>,
}

/// Counts of every collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemoryStats {
    /// One entry per collection.
    pub collections: Vec<CollectionStats>,
}

impl MemoryStats {
    /// The stats of a store's memory collections, without an embedder (the collections are
    /// opened with the schema they were created with); absent collections count as empty.
    pub fn of_store(store: &Store) -> Result<Self> {
        let mut handles = Vec::new();
        for kind in MemoryKind::ALL {
            handles.push((kind, store.open_existing(kind.collection())?));
        }
        Self::collect(handles.iter().map(|(kind, c)| (*kind, c.as_ref())))
    }

    fn collect<'a>(
        handles: impl IntoIterator<Item = (MemoryKind, Option<&'a Collection>)>,
    ) -> Result<Self> {
        let mut collections = Vec::new();
        for (kind, collection) in handles {
            let mut stats = CollectionStats {
                kind,
                collection: kind.collection().to_owned(),
                entries: 0,
                by_language: BTreeMap::new(),
                by_source: BTreeMap::new(),
                disk_bytes: None,
                layout: None,
            };
            if let Some(collection) = collection {
                let info = collection.info()?;
                stats.entries = info.points;
                stats.disk_bytes = info.disk_bytes;
                stats.layout = info.layout;
                stats.by_language = collection
                    .facet("language", None, 1000)?
                    .into_iter()
                    .collect();
                stats.by_source = collection
                    .facet("source", None, 1000)?
                    .into_iter()
                    .collect();
            }
            collections.push(stats);
        }
        Ok(Self { collections })
    }
}

/// The payload mark of a record whose counters come from observations (records stored
/// before observations existed get a baseline observation on their next store).
const OBSERVED: &str = "observed";

/// How many candidates recall asks the store for per requested result, so that the success
/// bonus can reorder near-ties from beyond the first page.
const CANDIDATES_PER_RESULT: usize = 3;

/// The memory collections over one store and one embedder.
pub struct Memory {
    store: Store,
    embedder: Arc<dyn Embedder>,
    collections: [Collection; 4],
    observations: Observations,
    keys: IdempotencyKeys,
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Memory {
    /// Opens (creating on first use) the four collections in `store`.
    pub fn new(store: Store, embedder: Arc<dyn Embedder>) -> Result<Self> {
        let dimension = embedder.dimension();
        let open = |kind: MemoryKind| store.collection(&kind.spec(dimension));
        let collections = [
            open(MemoryKind::CodePattern)?,
            open(MemoryKind::Solution)?,
            open(MemoryKind::Error)?,
            open(MemoryKind::Experience)?,
        ];
        Ok(Self {
            observations: Observations::open(&store)?,
            keys: IdempotencyKeys::open(&store)?,
            store,
            embedder,
            collections,
        })
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The idempotency keys of this store's writes.
    pub fn idempotency_keys(&self) -> &IdempotencyKeys {
        &self.keys
    }

    /// The embedder.
    pub fn embedder(&self) -> &dyn Embedder {
        self.embedder.as_ref()
    }

    /// The collection of `kind`.
    pub fn collection(&self, kind: MemoryKind) -> &Collection {
        let index = match kind {
            MemoryKind::CodePattern => 0,
            MemoryKind::Solution => 1,
            MemoryKind::Error => 2,
            MemoryKind::Experience => 3,
        };
        &self.collections[index]
    }

    /// Stores a code pattern; the same code in the same language again updates it, and so
    /// does, when a fingerprint is given, the same structure of the same pattern type.
    pub fn store_pattern(&self, input: PatternInput) -> Result<Stored> {
        let input = input.checked()?;
        let id = match &input.fingerprint {
            Some(fingerprint) => PointId::from_content(&[
                b"code_pattern/structure",
                input.language.name().as_bytes(),
                input.pattern_type.as_bytes(),
                fingerprint.as_bytes(),
            ]),
            None => PointId::from_content(&[
                b"code_pattern",
                input.language.name().as_bytes(),
                input.code.trim().as_bytes(),
            ]),
        };
        let text = EntryText::same(join(&[&input.name, &input.context, &input.code]));
        let observation = Observation::one(
            id,
            MemoryKind::CodePattern,
            input::outcome(&input.metrics),
            input.tags.clone(),
            input.context.clone(),
            input.source.clone(),
        );
        let key = input.idempotency_key.clone();
        self.store_observed(
            MemoryKind::CodePattern,
            id,
            &text,
            observation,
            key.as_deref(),
            |_: Option<CodePattern>, rollup| CodePattern {
                track: rollup.track,
                name: input.name,
                code: input.code,
                language: input.language,
                context: rollup.context,
                pattern_type: input.pattern_type,
                tags: rollup.tags,
                source: input.source,
                metrics: input.metrics,
                fingerprint: input.fingerprint,
            },
        )
    }

    /// `store_code_pattern(name, code, language, context, success_metrics)`.
    pub fn store_code_pattern(
        &self,
        name: &str,
        code: &str,
        language: Language,
        context: &str,
        success_metrics: Metrics,
    ) -> Result<Stored> {
        self.store_pattern(PatternInput {
            context: context.to_owned(),
            metrics: success_metrics,
            ..PatternInput::new(name, code, language)
        })
    }

    /// Code patterns matching `description`.
    pub fn recall_patterns(
        &self,
        description: &str,
        options: &RecallOptions,
    ) -> Result<Vec<Recalled<CodePattern>>> {
        self.recall(MemoryKind::CodePattern, description, description, options)
    }

    /// `recall_similar_patterns(description, language, n)`.
    pub fn recall_similar_patterns(
        &self,
        description: &str,
        language: Option<Language>,
        n: usize,
    ) -> Result<Vec<Recalled<CodePattern>>> {
        self.recall_patterns(
            description,
            &RecallOptions {
                language,
                ..RecallOptions::top(n)
            },
        )
    }

    /// Stores a solution; the same solution to the same problem again updates it.
    pub fn store_solution(&self, input: SolutionInput) -> Result<Stored> {
        let input = input.checked()?;
        let id = PointId::from_content(&[
            b"solution",
            collapse(&input.problem).to_lowercase().as_bytes(),
            input.solution.trim().as_bytes(),
        ]);
        let text = EntryText::same(join(&[&input.problem, &input.context, &input.solution]));
        let observation = Observation::one(
            id,
            MemoryKind::Solution,
            input::outcome(&input.metrics),
            input.tags.clone(),
            input.context.clone(),
            input.source.clone(),
        );
        let key = input.idempotency_key.clone();
        self.store_observed(
            MemoryKind::Solution,
            id,
            &text,
            observation,
            key.as_deref(),
            |_: Option<Solution>, rollup| Solution {
                track: rollup.track,
                problem: input.problem,
                solution: input.solution,
                language: input.language,
                context: rollup.context,
                tags: rollup.tags,
                source: input.source,
                metrics: input.metrics,
            },
        )
    }

    /// Solutions to problems like `problem`.
    pub fn recall_solutions(
        &self,
        problem: &str,
        options: &RecallOptions,
    ) -> Result<Vec<Recalled<Solution>>> {
        self.recall(MemoryKind::Solution, problem, problem, options)
    }

    /// Stores how an error was resolved. The same (normalised) error with the same
    /// resolution again updates the entry: one more sighting, and a success or a failure.
    pub fn store_error(&self, input: ErrorInput) -> Result<Stored> {
        let input = input.checked()?;
        let normalized = normalize_error(&input.message);
        let id = PointId::from_content(&[
            b"error",
            normalized.as_bytes(),
            input.resolution.trim().as_bytes(),
        ]);
        let text = EntryText::error(&input.message, &[&normalize_error(&input.context)]);
        let observation = Observation::one(
            id,
            MemoryKind::Error,
            if input.success { 1.0 } else { 0.0 },
            input.tags.clone(),
            input.context.clone(),
            input.source.clone(),
        );
        let key = input.idempotency_key.clone();
        self.store_observed(
            MemoryKind::Error,
            id,
            &text,
            observation,
            key.as_deref(),
            |previous: Option<ErrorResolution>, rollup| ErrorResolution {
                track: rollup.track,
                // The message as it was first stored; later ones normalise to the same text.
                error_message: previous.map_or(input.message, |p| p.error_message),
                normalized,
                context: rollup.context,
                resolution: input.resolution,
                language: input.language,
                tags: rollup.tags,
                source: input.source,
            },
        )
    }

    /// `store_error_resolution(error_message, context, resolution, success)`.
    pub fn store_error_resolution(
        &self,
        error_message: &str,
        context: &str,
        resolution: &str,
        success: bool,
    ) -> Result<Stored> {
        self.store_error(ErrorInput {
            context: context.to_owned(),
            ..ErrorInput::new(error_message, resolution, success)
        })
    }

    /// Resolutions of errors like `error_message` (normalised the way stored errors are).
    pub fn recall_errors(
        &self,
        error_message: &str,
        options: &RecallOptions,
    ) -> Result<Vec<Recalled<ErrorResolution>>> {
        input::query(error_message)?;
        let text = EntryText::error(error_message, &[]);
        self.recall(MemoryKind::Error, &text.embedded, &text.indexed, options)
    }

    /// `recall_error_solutions(error_message, n)`.
    pub fn recall_error_solutions(
        &self,
        error_message: &str,
        n: usize,
    ) -> Result<Vec<Recalled<ErrorResolution>>> {
        self.recall_errors(error_message, &RecallOptions::top(n))
    }

    /// Stores entries under ids the caller chose, embedding their texts in one batch: the
    /// knowledge base keys seed entries by file, so an edited file replaces its entry.
    pub(crate) fn put(
        &self,
        kind: MemoryKind,
        entries: Vec<(PointId, EntryText, Payload)>,
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let texts: Vec<&str> = entries
            .iter()
            .map(|(_, text, _)| text.embedded.as_str())
            .collect();
        let vectors = self.embedder.embed_batch(&texts)?;
        let points = entries
            .into_iter()
            .zip(vectors)
            .map(|((id, text, payload), vector)| Point {
                id,
                vector,
                text: text.indexed,
                payload,
            })
            .collect();
        self.collection(kind).upsert(points)?;
        Ok(())
    }

    /// Entries per collection, language and source, and disk use.
    pub fn stats(&self) -> Result<MemoryStats> {
        MemoryStats::collect(MemoryKind::ALL.map(|kind| (kind, Some(self.collection(kind)))))
    }

    /// Stores one sighting of entry `id` once per idempotency key: a repeat with the same
    /// key (and the same input) gets the first answer and counts nothing more.
    fn store_observed<T, F>(
        &self,
        kind: MemoryKind,
        id: PointId,
        text: &EntryText,
        observation: Observation,
        key: Option<&str>,
        build: F,
    ) -> Result<Stored>
    where
        T: Tracked + Serialize + DeserializeOwned,
        F: FnOnce(Option<T>, Aggregate) -> T,
    {
        let request = serde_json::json!({
            "id": id,
            "text": text.indexed,
            "uses": observation.uses,
            "success_milli": observation.success_milli,
            "tags": observation.tags,
            "context": observation.context,
            "source": observation.source,
        });
        self.keys.run(
            &format!("memory/{}", kind.collection()),
            key,
            &request,
            |_| self.store_observed_once(kind, id, text, observation, key, build),
        )
    }

    /// Stores one sighting of entry `id`: appends `observation` (under an id from `key`, so
    /// that a retry after a crash counts once), aggregates the entry's observations, and
    /// writes the record `build` makes from the earlier record and the aggregate, on
    /// condition that the stored record counts fewer sightings (so a slower writer's older
    /// aggregate never replaces a newer one). Safe for any number of writers in any number
    /// of processes: no number is read, changed and written back.
    fn store_observed_once<T, F>(
        &self,
        kind: MemoryKind,
        id: PointId,
        text: &EntryText,
        observation: Observation,
        key: Option<&str>,
        build: F,
    ) -> Result<Stored>
    where
        T: Tracked + Serialize + DeserializeOwned,
        F: FnOnce(Option<T>, Aggregate) -> T,
    {
        let collection = self.collection(kind);
        let vector = self.embedder.embed(&text.embedded)?;
        let existing = collection.get(&[id], false)?.into_iter().next();
        let previous_exists = existing.is_some();
        let previous = match existing {
            Some(record) => {
                let observed = record.payload.get(OBSERVED).is_some();
                let previous: T = parse(kind, id, record.payload)?;
                if !observed {
                    self.record_baseline(kind, id, &previous)?;
                }
                Some(previous)
            }
            None => None,
        };
        let observation_id = observation_id(kind, id, key);
        self.observations.record(observation_id, &observation)?;
        let rollup = self
            .observations
            .rollup(id)?
            .ok_or_else(|| MemoryError::Corrupt {
                collection: observations::OBSERVATIONS_COLLECTION.into(),
                id: id.to_string(),
                message: "an observation just written is not there".into(),
            })?;
        let seen_count = rollup.seen_count;
        let record = build(
            previous,
            Aggregate {
                track: Track {
                    seen_count,
                    success_count: rollup.success_count,
                    success_rate: rollup.success_count / seen_count.max(1) as f64,
                    created_at: rollup.created_at,
                    updated_at: rollup.updated_at,
                },
                tags: rollup.tags,
                context: rollup.context,
            },
        );
        let mut payload = match serde_json::to_value(&record) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) | Err(_) => {
                return Err(MemoryError::InvalidInput(
                    "the record does not serialise to a JSON object".into(),
                ));
            }
        };
        payload.insert(OBSERVED.into(), true.into());
        let point = Point {
            id,
            vector,
            text: text.indexed.clone(),
            payload,
        };
        // The store that creates the record is the one that created the entry: exactly one
        // create-if-absent succeeds, however many stores race.
        if previous_exists {
            self.write_aggregate(collection, point, seen_count)?;
            return Ok(Stored {
                id,
                seen_count,
                created: false,
            });
        }
        let created = match collection.create(point.clone()) {
            Ok(_) => true,
            Err(StoreError::Conflict { .. }) => {
                self.write_aggregate(collection, point, seen_count)?;
                false
            }
            Err(error) => return Err(error.into()),
        };
        Ok(Stored {
            id,
            seen_count,
            created,
        })
    }

    /// Writes an entry's record carrying an aggregate of `seen_count` sightings, unless the
    /// stored record already counts as many ("only if larger").
    fn write_aggregate(
        &self,
        collection: &Collection,
        point: Point,
        seen_count: u64,
    ) -> Result<()> {
        let fewer = Filter::all([Condition::below("seen_count", seen_count as f64)]);
        collection.upsert_with(vec![point], WriteMode::Upsert, Some(&fewer))?;
        Ok(())
    }

    /// Turns the counters of a record stored before observations existed into one
    /// observation standing for all of them (the same id from every writer, so it is
    /// written once however many do it).
    fn record_baseline<T: Tracked>(
        &self,
        kind: MemoryKind,
        id: PointId,
        previous: &T,
    ) -> Result<()> {
        let track = previous.track();
        if track.seen_count == 0 {
            return Ok(());
        }
        let baseline = Observation {
            target: id,
            kind,
            uses: track.seen_count,
            success_milli: (track.success_count.max(0.0) * 1000.0).round() as u64,
            tags: previous.tags().to_vec(),
            has_context: !crate::text::is_blank(previous.context()),
            context: previous.context().to_owned(),
            at: Hlc::at_millis(track.created_at.saturating_mul(1000)),
            source: "baseline".into(),
        };
        let baseline_id = PointId::from_content(&[
            b"observation/baseline",
            kind.collection().as_bytes(),
            id.as_uuid().as_bytes(),
        ]);
        self.observations.record(baseline_id, &baseline)
    }

    fn recall<T>(
        &self,
        kind: MemoryKind,
        embed_text: &str,
        keyword_text: &str,
        options: &RecallOptions,
    ) -> Result<Vec<Recalled<T>>>
    where
        T: Tracked + DeserializeOwned,
    {
        input::query(embed_text)?;
        options.validate()?;
        let vector = self.embedder.embed(embed_text)?;
        let mut request = SearchRequest::new(
            Query::Hybrid {
                vector,
                text: keyword_text.to_owned(),
            },
            (options.limit * CANDIDATES_PER_RESULT).min(MAX_RECALL),
        );
        let filter = recall_filter(options);
        if !filter.is_empty() {
            request = request.with_filter(filter);
        }
        request.score_threshold = options.min_score;
        let hits = self.collection(kind).search(&request)?;
        let mut recalled = hits
            .into_iter()
            .map(|hit| {
                let record: T = parse(kind, hit.id, hit.payload)?;
                let track = record.track();
                Ok(Recalled {
                    id: hit.id,
                    score: scoring::score(hit.score, track.success_count, track.seen_count),
                    similarity: hit.score,
                    cosine: hit.dense_score.unwrap_or(0.0),
                    record,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        recalled.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        recalled.truncate(options.limit);
        Ok(recalled)
    }
}

/// What an entry's observations give its record: the counters, the tags of all its stores
/// and the newest context.
struct Aggregate {
    track: Track,
    tags: Vec<String>,
    context: String,
}

fn recall_filter(options: &RecallOptions) -> Filter {
    let mut filter = Filter::default();
    if let Some(language) = options.language {
        filter = filter.and(Condition::keyword("language", language.name()));
    }
    // Labels as they were stored: in their one form.
    for tag in crate::text::labels(&options.tags) {
        filter = filter.and(Condition::keyword("tags", tag));
    }
    if let Some(source) = &options.source {
        filter = filter.and(Condition::keyword("source", crate::text::label(source)));
    }
    if let Some(rate) = options.min_success_rate {
        filter = filter.and(Condition::at_least("success_rate", rate));
    }
    filter
}

fn parse<T: DeserializeOwned>(kind: MemoryKind, id: PointId, payload: Payload) -> Result<T> {
    serde_json::from_value(serde_json::Value::Object(payload)).map_err(|e| MemoryError::Corrupt {
        collection: kind.collection().to_owned(),
        id: id.to_string(),
        message: e.to_string(),
    })
}

/// An entry's text as search sees it: what is embedded (the dense half) and what is
/// keyword-indexed (the BM25 half). The same for every kind but errors, whose embedding
/// sees only the lines that identify a long message ([`identify`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EntryText {
    /// The text the model embeds.
    pub embedded: String,
    /// The text BM25 indexes.
    pub indexed: String,
}

impl EntryText {
    /// One text for both halves.
    pub(crate) fn same(text: String) -> Self {
        Self {
            embedded: text.clone(),
            indexed: text,
        }
    }

    /// An error `message` (normalised) followed by `extra` parts: the whole message is
    /// indexed, its identifying lines are embedded.
    pub(crate) fn error(message: &str, extra: &[&str]) -> Self {
        let indexed = normalize_error(message);
        let embedded = identifying_text(message);
        let with = |first: &str| {
            let mut parts = vec![first];
            parts.extend_from_slice(extra);
            join(&parts)
        };
        Self {
            embedded: with(&embedded),
            indexed: with(&indexed),
        }
    }
}

/// The non-empty parts, one per line: how an entry's fields become its embedded text.
pub(crate) fn join(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whitespace runs as single spaces.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
