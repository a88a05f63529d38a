//! Specialist memory (design note 002): each specialist of a council remembers the topics
//! it was asked about, the decisions it made, the concerns it raised and which of them
//! turned out right, and gets that back as context for its prompt.
//!
//! Three collections, and no record that is read, changed and written back (DESIGN.md,
//! coordination rules):
//! - `specialists`: one record per specialist (its starting topics), created if absent, so
//!   `init_specialists` can run any number of times and never resets a history.
//! - `specialist_sessions`: one point per (specialist, deliberation), the question
//!   embedded; created if absent, so a retried session is the same session. The session
//!   count is the exact count of these points, so 32 sessions recorded at once count 32.
//!   A session is written before its concerns and names them (the intent): a retry writes
//!   those a crash left out, and no concern exists without its session.
//! - `specialist_concerns`: one point per concern, embedded. An outcome sets its verdict
//!   on condition that it has none (a verdict is a fact recorded once); patterns are
//!   exact facet counts of these points per (topic, concern type) and verdict.
//!
//! A concern repeats an earlier one when the same specialist raised a concern at least
//! [`REPEAT_CONCERN_COSINE`] similar on a question at least [`REPEAT_QUESTION_COSINE`]
//! similar (cosine of all-MiniLM-L6-v2 vectors). The thresholds were chosen on the 48
//! hand-written pairs of `tests/data/specialist_repeats.json` (`tests/it/specialists/
//! repeats.rs` prints the grid): precision stays 1.0 and recall ≥ 0.96 for a question
//! threshold anywhere in 0.4 ..= 0.6 and a concern threshold in 0.40 ..= 0.50; engram takes
//! the middle of that band (0.5, 0.45: precision 1.0, recall 1.0 on the set). There is no
//! held-out set, so expect a little less on other wording.

mod context;
mod error;
mod record;
mod topics;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use context::{Material, QUOTED_CONCERN_CHARS, render};
pub use error::{Result, SpecialistError};
pub use record::{
    Concern, ConcernInput, ConcernPattern, Context, Decision, Expertise, Initialised,
    OutcomeReport, PendingRepeat, RecordedConcern, RecordedSession, Repeat, SessionInput,
    SpecialistSpec, SpecialistState, TopicCount, Verdict, general,
};
pub use topics::{TOPICS_PER_QUESTION, extract_topics};

use crate::confidence::wilson_lower_bound;
use crate::embed::Embedder;
use crate::store::coord::{Hlc, clock};
use crate::store::{
    Collection, CollectionSpec, Condition, FieldKind, Filter, MAX_LIMIT, Order, Payload, Point,
    PointId, Query, SearchRequest, Store, StoreError,
};

/// The collection of specialists.
pub const SPECIALISTS_COLLECTION: &str = "specialists";
/// The collection of sessions.
pub const SESSIONS_COLLECTION: &str = "specialist_sessions";
/// The collection of concerns.
pub const CONCERNS_COLLECTION: &str = "specialist_concerns";
/// Two questions at least this similar (cosine) are the same question asked again.
pub const REPEAT_QUESTION_COSINE: f32 = 0.5;
/// Two concerns at least this similar (cosine), on the same question, are one concern.
pub const REPEAT_CONCERN_COSINE: f32 = 0.45;
/// Characters of a response that are kept; the rest is dropped (the session reports it).
pub const MAX_RESPONSE_CHARS: usize = 16 << 10;
/// Most concerns in one session.
pub const MAX_CONCERNS: usize = 64;
/// Most starting topics of a specialist, and most topics given with a session.
pub const MAX_TOPICS: usize = 32;
/// Most specialists in one `init_specialists`.
pub const MAX_INIT: usize = 256;
/// Largest context budget (characters).
pub const MAX_BUDGET_CHARS: usize = 100_000;
/// Items of each "recent" list in a state.
const RECENT: usize = 10;
/// Earlier similar questions looked at for repeats.
const SIMILAR_QUESTIONS: usize = 20;
/// Separator of topic and concern type in a concern's pattern key (a control character,
/// which neither labels nor topics hold).
const PATTERN_SEPARATOR: char = '\u{1f}';

/// The schema of the specialists collection.
pub fn specialists_spec() -> CollectionSpec {
    CollectionSpec::records(SPECIALISTS_COLLECTION).with_index("specialist", FieldKind::Keyword)
}

/// The schema of the sessions collection.
pub fn sessions_spec(dimension: usize) -> CollectionSpec {
    CollectionSpec::new(SESSIONS_COLLECTION, dimension)
        .with_index("specialist", FieldKind::Keyword)
        .with_index("deliberation", FieldKind::Keyword)
        .with_index("topics", FieldKind::Keyword)
        .with_index("has_decision", FieldKind::Bool)
        .with_index("at", FieldKind::Integer)
}

/// The schema of the concerns collection.
pub fn concerns_spec(dimension: usize) -> CollectionSpec {
    CollectionSpec::new(CONCERNS_COLLECTION, dimension)
        .with_index("specialist", FieldKind::Keyword)
        .with_index("deliberation", FieldKind::Keyword)
        .with_index("topic", FieldKind::Keyword)
        .with_index("pattern", FieldKind::Keyword)
        .with_index("verdict", FieldKind::Keyword)
        .with_index("repeat_root", FieldKind::Keyword)
        .with_index("at", FieldKind::Integer)
}

/// A specialist's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SpecialistRecord {
    specialist: String,
    topics: Vec<String>,
    created_at: i64,
}

/// A session's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRecord {
    specialist: String,
    deliberation: String,
    question: String,
    question_hash: String,
    topics: Vec<String>,
    decision: Option<String>,
    has_decision: bool,
    response: String,
    response_chars: usize,
    concern_ids: Vec<PointId>,
    at: Hlc,
}

/// A concern's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ConcernRecord {
    specialist: String,
    deliberation: String,
    text: String,
    kind: String,
    topic: String,
    pattern: String,
    repeat_of: Option<Repeat>,
    /// The first concern of a chain of repeats (absent when this one repeats nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    repeat_root: Option<PointId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verdict: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    outcome: Option<String>,
    at: Hlc,
}

/// Specialist memory over a store and an embedder.
pub struct Specialists {
    specialists: Collection,
    sessions: Collection,
    concerns: Collection,
    embedder: Arc<dyn Embedder>,
}

impl std::fmt::Debug for Specialists {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Specialists").finish_non_exhaustive()
    }
}

impl Specialists {
    /// Opens (creating on first use) the three collections.
    pub fn new(store: &Store, embedder: Arc<dyn Embedder>) -> Result<Self> {
        let dimension = embedder.dimension();
        Ok(Self {
            specialists: store.collection(&specialists_spec())?,
            sessions: store.collection(&sessions_spec(dimension))?,
            concerns: store.collection(&concerns_spec(dimension))?,
            embedder,
        })
    }

    /// Creates the specialists that do not exist yet, with their starting topics; those that
    /// exist keep their history and topics. Running it again changes nothing. Answers one
    /// entry per distinct name, in the order given.
    pub fn init_specialists(&self, specs: &[SpecialistSpec]) -> Result<Vec<Initialised>> {
        if specs.is_empty() || specs.len() > MAX_INIT {
            return Err(invalid(format!(
                "give 1 to {MAX_INIT} specialists, not {}",
                specs.len()
            )));
        }
        let mut checked = Vec::with_capacity(specs.len());
        let mut seen = HashSet::new();
        for spec in specs {
            let id = name(&spec.id)?;
            let topics = topic_labels(&spec.topics, "topics")?;
            // A name given twice is created once, with the topics it was first given.
            if seen.insert(id.clone()) {
                checked.push((id, topics));
            }
        }
        let mut done = Vec::with_capacity(checked.len());
        for (id, topics) in checked {
            let record = SpecialistRecord {
                specialist: id.clone(),
                topics,
                created_at: clock().now().millis(),
            };
            let created = match self.specialists.create(Point {
                id: specialist_id(&id),
                vector: Vec::new(),
                text: String::new(),
                payload: to_payload(&record)?,
            }) {
                Ok(_) => true,
                Err(StoreError::Conflict { .. }) => false,
                Err(error) => return Err(error.into()),
            };
            done.push(Initialised { id, created });
        }
        Ok(done)
    }

    /// Every specialist's name, alphabetically.
    pub fn list(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self
            .specialists
            .scroll_all(None)?
            .into_iter()
            .filter_map(|r| {
                r.payload
                    .get("specialist")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Records one specialist's session of a deliberation: the question (embedded) and its
    /// topics, the response, the decision and the concerns (embedded, each checked for a
    /// repeat of an earlier concern on a similar question). Durable when it returns. The
    /// same specialist and deliberation again with the same question is a retry: it writes
    /// only the concerns a crash left unwritten and answers what is stored.
    pub fn record_session(&self, specialist: &str, input: SessionInput) -> Result<RecordedSession> {
        let specialist = name(specialist)?;
        let question = crate::text::canonical(&input.question).into_owned();
        crate::text::check_required("question", &question, crate::text::MAX_TEXT_CHARS)
            .map_err(SpecialistError::InvalidInput)?;
        if input.concerns.len() > MAX_CONCERNS {
            return Err(invalid(format!(
                "{} concerns; the limit is {MAX_CONCERNS}",
                input.concerns.len()
            )));
        }
        let mut concerns = Vec::with_capacity(input.concerns.len());
        for (i, concern) in input.concerns.iter().enumerate() {
            let text = crate::text::canonical(&concern.text).into_owned();
            crate::text::check_required(
                &format!("concerns[{i}].text"),
                &text,
                crate::text::MAX_TEXT_CHARS,
            )
            .map_err(SpecialistError::InvalidInput)?;
            let kind = crate::text::label(&concern.kind).to_owned();
            crate::text::check_label(&format!("concerns[{i}].kind"), &kind)
                .map_err(SpecialistError::InvalidInput)?;
            concerns.push((text, kind));
        }
        let decision = match &input.decision {
            Some(decision) if !crate::text::is_blank(decision) => {
                let decision = crate::text::canonical(decision).into_owned();
                crate::text::check_optional("decision", &decision, crate::text::MAX_TEXT_CHARS)
                    .map_err(SpecialistError::InvalidInput)?;
                Some(decision)
            }
            _ => None,
        };
        let deliberation = match &input.deliberation {
            Some(d) => {
                let d = crate::text::label(d).to_owned();
                crate::text::check_label("deliberation", &d)
                    .map_err(SpecialistError::InvalidInput)?;
                d
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let topics = match &input.topics {
            Some(topics) => topic_labels(topics, "topics")?,
            None => extract_topics(&question),
        };
        let response_chars = input.response.chars().count();
        let response: String = input.response.chars().take(MAX_RESPONSE_CHARS).collect();
        let question_hash = question_hash(&question);
        self.require(&specialist)?;

        let session_id = session_id(&specialist, &deliberation);
        if let Some(existing) = self.sessions.get(&[session_id], false)?.into_iter().next() {
            let existing: SessionRecord =
                parse(SESSIONS_COLLECTION, existing.id, existing.payload)?;
            return self.retry(session_id, existing, &question, concerns);
        }

        let mut texts: Vec<&str> = vec![&question];
        texts.extend(concerns.iter().map(|(text, _)| text.as_str()));
        let mut vectors = self.embedder.embed_batch(&texts)?.into_iter();
        let question_vector = vectors.next().unwrap_or_default();
        let similar = self.similar_questions(&specialist, &deliberation, &question_vector)?;
        let topic = topics.first().cloned().unwrap_or_else(general);
        let at = clock().now();
        let mut recorded = Vec::with_capacity(concerns.len());
        let mut points = Vec::with_capacity(concerns.len());
        for (index, ((text, kind), vector)) in concerns.into_iter().zip(vectors).enumerate() {
            let (point, concern) = self.concern_point(
                &specialist,
                &deliberation,
                &question_hash,
                &topic,
                at,
                index,
                (text, kind, vector),
                &similar,
            )?;
            points.push(point);
            recorded.push(concern);
        }
        // The session first, as the intent: it names its concerns, and a retry of the same
        // session writes those of them a crash left unwritten. Concerns never exist
        // without their session, so nothing half-written is counted.
        let session = SessionRecord {
            specialist: specialist.clone(),
            deliberation: deliberation.clone(),
            question: question.clone(),
            question_hash: question_hash.clone(),
            topics: topics.clone(),
            has_decision: decision.is_some(),
            decision,
            response,
            response_chars,
            concern_ids: recorded.iter().map(|c| c.id).collect(),
            at,
        };
        match self.sessions.create(Point {
            id: session_id,
            vector: question_vector,
            text: question.clone(),
            payload: to_payload(&session)?,
        }) {
            Ok(_) => {}
            Err(StoreError::Conflict { .. }) => {
                // Another caller recorded this session meanwhile: theirs stands.
                let existing = self
                    .sessions
                    .get(&[session_id], false)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| corrupt(SESSIONS_COLLECTION, session_id, "vanished"))?;
                let existing: SessionRecord =
                    parse(SESSIONS_COLLECTION, existing.id, existing.payload)?;
                let concerns = recorded.into_iter().map(|c| (c.text, c.kind)).collect();
                return self.retry(session_id, existing, &question, concerns);
            }
            Err(error) => return Err(error.into()),
        }
        if !points.is_empty() {
            self.concerns.upsert(points)?;
        }
        Ok(RecordedSession {
            session_count: self.session_count(&specialist)?,
            specialist,
            deliberation,
            id: session_id,
            topics,
            question_hash,
            response_chars,
            response_truncated: response_chars > MAX_RESPONSE_CHARS,
            concerns: recorded,
            replayed: false,
        })
    }

    /// A session recorded before: another question is a conflict; the same question is a
    /// retry, which writes the session's concerns that are missing (its first call died
    /// between the session and its concerns, or is still writing them) and answers what is
    /// stored.
    fn retry(
        &self,
        id: PointId,
        session: SessionRecord,
        question: &str,
        concerns: Vec<(String, String)>,
    ) -> Result<RecordedSession> {
        if session.question != question {
            return Err(SpecialistError::SessionConflict {
                specialist: session.specialist,
                deliberation: session.deliberation,
            });
        }
        let present: HashSet<PointId> = self
            .concerns
            .get(&session.concern_ids, false)?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let missing: Vec<(usize, (String, String))> = concerns
            .into_iter()
            .enumerate()
            .filter(|(index, _)| {
                session
                    .concern_ids
                    .get(*index)
                    .is_some_and(|id| !present.contains(id))
            })
            .collect();
        if !missing.is_empty() {
            let texts: Vec<&str> = missing.iter().map(|(_, (text, _))| text.as_str()).collect();
            let vectors = self.embedder.embed_batch(&texts)?;
            let question_vector = self.embedder.embed(question)?;
            let similar = self.similar_questions(
                &session.specialist,
                &session.deliberation,
                &question_vector,
            )?;
            let topic = session.topics.first().cloned().unwrap_or_else(general);
            let mut points = Vec::with_capacity(missing.len());
            for ((index, (text, kind)), vector) in missing.into_iter().zip(vectors) {
                let (point, _) = self.concern_point(
                    &session.specialist,
                    &session.deliberation,
                    &session.question_hash,
                    &topic,
                    session.at,
                    index,
                    (text, kind, vector),
                    &similar,
                )?;
                points.push(point);
            }
            self.concerns.upsert(points)?;
        }
        self.replay(id, session)
    }

    /// A concern's point and its answer, with the earlier concern it repeats (if any).
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one session that a concern's record is made of"
    )]
    fn concern_point(
        &self,
        specialist: &str,
        deliberation: &str,
        question_hash: &str,
        topic: &str,
        at: Hlc,
        index: usize,
        (text, kind, vector): (String, String, Vec<f32>),
        similar: &BTreeMap<String, f32>,
    ) -> Result<(Point, RecordedConcern)> {
        let repeat = self.repeat_of(specialist, similar, &vector)?;
        let id = concern_id(specialist, deliberation, question_hash, index);
        let record = ConcernRecord {
            specialist: specialist.to_owned(),
            deliberation: deliberation.to_owned(),
            text: text.clone(),
            kind: kind.clone(),
            topic: topic.to_owned(),
            pattern: format!("{topic}{PATTERN_SEPARATOR}{kind}"),
            repeat_root: repeat.as_ref().map(|(_, root)| *root),
            repeat_of: repeat.as_ref().map(|(r, _)| r.clone()),
            verdict: None,
            outcome: None,
            at,
        };
        let point = Point {
            id,
            vector,
            text: text.clone(),
            payload: to_payload(&record)?,
        };
        Ok((
            point,
            RecordedConcern {
                id,
                text,
                kind,
                repeat_of: repeat.map(|(r, _)| r),
            },
        ))
    }

    /// What an already recorded session stored.
    fn replay(&self, id: PointId, session: SessionRecord) -> Result<RecordedSession> {
        let stored = self.concerns.get(&session.concern_ids, false)?;
        let mut concerns = Vec::with_capacity(stored.len());
        for record in stored {
            let concern: ConcernRecord = parse(CONCERNS_COLLECTION, record.id, record.payload)?;
            concerns.push(RecordedConcern {
                id: record.id,
                text: concern.text,
                kind: concern.kind,
                repeat_of: concern.repeat_of,
            });
        }
        Ok(RecordedSession {
            session_count: self.session_count(&session.specialist)?,
            specialist: session.specialist,
            deliberation: session.deliberation,
            id,
            topics: session.topics,
            question_hash: session.question_hash,
            response_chars: session.response_chars,
            response_truncated: session.response_chars > MAX_RESPONSE_CHARS,
            concerns,
            replayed: true,
        })
    }

    /// The specialist's earlier sessions whose question is at least
    /// [`REPEAT_QUESTION_COSINE`] similar: deliberation → question similarity.
    fn similar_questions(
        &self,
        specialist: &str,
        deliberation: &str,
        vector: &[f32],
    ) -> Result<BTreeMap<String, f32>> {
        let mut request = SearchRequest::new(Query::Dense(vector.to_vec()), SIMILAR_QUESTIONS)
            .with_filter(
                of_specialist(specialist).and_not(Condition::keyword("deliberation", deliberation)),
            );
        request.score_threshold = Some(REPEAT_QUESTION_COSINE);
        Ok(self
            .sessions
            .search(&request)?
            .into_iter()
            .filter_map(|hit| {
                let deliberation = hit.payload.get("deliberation")?.as_str()?.to_owned();
                Some((deliberation, hit.dense_score.unwrap_or(hit.score)))
            })
            .collect())
    }

    /// The most similar earlier concern (at least [`REPEAT_CONCERN_COSINE`]) raised on one
    /// of the `similar` questions, and the first concern of its chain.
    fn repeat_of(
        &self,
        specialist: &str,
        similar: &BTreeMap<String, f32>,
        vector: &[f32],
    ) -> Result<Option<(Repeat, PointId)>> {
        if similar.is_empty() {
            return Ok(None);
        }
        let mut request = SearchRequest::new(Query::Dense(vector.to_vec()), 1).with_filter(
            of_specialist(specialist).and(Condition::KeywordAny {
                field: "deliberation".into(),
                values: similar.keys().cloned().collect(),
            }),
        );
        request.score_threshold = Some(REPEAT_CONCERN_COSINE);
        let Some(hit) = self.concerns.search(&request)?.into_iter().next() else {
            return Ok(None);
        };
        let earlier: ConcernRecord = parse(CONCERNS_COLLECTION, hit.id, hit.payload)?;
        let question_similarity = similar.get(&earlier.deliberation).copied().unwrap_or(0.0);
        let root = earlier.repeat_root.unwrap_or(hit.id);
        Ok(Some((
            Repeat {
                concern: hit.id,
                text: earlier.text,
                deliberation: earlier.deliberation,
                similarity: hit.dense_score.unwrap_or(hit.score),
                question_similarity,
                verdict: earlier.verdict,
            },
            root,
        )))
    }

    /// Records how a deliberation's concerns turned out: every concern of the
    /// deliberation (or only those of `specialists`) gets `verdict`, and `outcome` (the
    /// council's result, e.g. `REVIEW REQUIRED`) when given. A verdict is set once: the
    /// same verdict again is a retry and changes nothing, the other one is
    /// [`SpecialistError::VerdictConflict`].
    pub fn record_outcome(
        &self,
        deliberation: &str,
        verdict: Verdict,
        specialists: Option<&[String]>,
        outcome: Option<&str>,
    ) -> Result<OutcomeReport> {
        let deliberation = crate::text::label(deliberation).to_owned();
        crate::text::check_label("deliberation", &deliberation)
            .map_err(SpecialistError::InvalidInput)?;
        if let Some(outcome) = outcome {
            crate::text::check_optional("outcome", outcome, crate::text::MAX_LABEL_CHARS * 4)
                .map_err(SpecialistError::InvalidInput)?;
        }
        let mut filter = Filter::all([Condition::keyword("deliberation", deliberation.clone())]);
        if let Some(names) = specialists {
            let names: Vec<String> = names.iter().map(|n| name(n)).collect::<Result<_>>()?;
            if names.is_empty() {
                return Err(invalid(
                    "specialists is empty; omit it to cover them all".into(),
                ));
            }
            filter = filter.and(Condition::KeywordAny {
                field: "specialist".into(),
                values: names,
            });
        }
        let sessions = self.sessions.scroll_all(Some(&filter))?;
        if sessions.is_empty() {
            return Err(SpecialistError::UnknownDeliberation(deliberation));
        }
        let mut covered: Vec<String> = sessions
            .iter()
            .filter_map(|s| s.payload.get("specialist")?.as_str().map(str::to_owned))
            .collect();
        covered.sort();
        covered.dedup();
        let concerns = self.concerns.scroll_all(Some(&filter))?;
        let verdict_of = |payload: &Payload| -> Option<Verdict> {
            payload
                .get("verdict")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
        };
        let mut pending = Vec::new();
        let mut already = 0;
        for concern in &concerns {
            match verdict_of(&concern.payload) {
                None => pending.push(concern.id),
                Some(v) if v == verdict => already += 1,
                Some(current) => {
                    return Err(SpecialistError::VerdictConflict {
                        deliberation,
                        current,
                    });
                }
            }
        }
        if !pending.is_empty() {
            let mut patch = Payload::new();
            patch.insert("verdict".into(), Value::from(verdict.name()));
            if let Some(outcome) = outcome {
                patch.insert("outcome".into(), Value::from(outcome));
            }
            self.concerns.set_payload_if(
                &pending,
                patch,
                &Filter::all([Condition::is_empty("verdict")]),
            )?;
            // Confirm: a concurrent outcome may have set the other verdict first.
            for record in self.concerns.get(&pending, false)? {
                match verdict_of(&record.payload) {
                    Some(v) if v == verdict => {}
                    Some(current) => {
                        return Err(SpecialistError::VerdictConflict {
                            deliberation,
                            current,
                        });
                    }
                    None => {
                        return Err(StoreError::Unconfirmed {
                            collection: CONCERNS_COLLECTION.into(),
                            id: record.id,
                            message: "the verdict did not land".into(),
                        }
                        .into());
                    }
                }
            }
        }
        Ok(OutcomeReport {
            deliberation,
            verdict,
            marked: pending.len(),
            already,
            specialists: covered,
        })
    }

    /// Sessions recorded for `specialist` (exact).
    pub fn session_count(&self, specialist: &str) -> Result<u64> {
        Ok(self.sessions.count(Some(&of_specialist(specialist)))? as u64)
    }

    /// Everything `specialist` remembers.
    pub fn state(&self, specialist: &str) -> Result<SpecialistState> {
        let specialist = name(specialist)?;
        let record = self.require(&specialist)?;
        let of = of_specialist(&specialist);
        let session_count = self.session_count(&specialist)?;
        let recent = self
            .sessions
            .scroll_ordered(Some(&of), &Order::descending("at"), RECENT * 5)?
            .into_iter()
            .map(|r| parse::<SessionRecord>(SESSIONS_COLLECTION, r.id, r.payload))
            .collect::<Result<Vec<_>>>()?;
        let mut topics: Vec<TopicCount> = self
            .sessions
            .facet("topics", Some(&of), MAX_LIMIT)?
            .into_iter()
            .map(|(topic, n)| TopicCount {
                topic,
                sessions: n as u64,
            })
            .collect();
        for topic in &record.topics {
            if !topics.iter().any(|t| &t.topic == topic) {
                topics.push(TopicCount {
                    topic: topic.clone(),
                    sessions: 0,
                });
            }
        }
        topics.sort_by(|a, b| {
            b.sessions
                .cmp(&a.sessions)
                .then_with(|| a.topic.cmp(&b.topic))
        });
        let recent_decisions = self
            .sessions
            .scroll_ordered(
                Some(&of.clone().and(Condition::Bool {
                    field: "has_decision".into(),
                    value: true,
                })),
                &Order::descending("at"),
                RECENT,
            )?
            .into_iter()
            .map(|r| parse::<SessionRecord>(SESSIONS_COLLECTION, r.id, r.payload))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter_map(|s| {
                Some(Decision {
                    decision: s.decision?,
                    deliberation: s.deliberation,
                    at: s.at.millis(),
                })
            })
            .collect();
        let recent_concerns = self
            .concerns
            .scroll_ordered(Some(&of), &Order::descending("at"), RECENT)?
            .into_iter()
            .map(|r| {
                let c: ConcernRecord = parse(CONCERNS_COLLECTION, r.id, r.payload)?;
                Ok(Concern {
                    id: r.id,
                    specialist: c.specialist,
                    deliberation: c.deliberation,
                    text: c.text,
                    kind: c.kind,
                    topic: c.topic,
                    repeat_of: c.repeat_of.map(|r| r.concern),
                    verdict: c.verdict,
                    at: c.at.millis(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let newest = recent.first();
        Ok(SpecialistState {
            session_count,
            recent_topics: recent_topics(&recent, &record.topics),
            topics,
            recent_decisions,
            concerns_raised: self.concerns.count(Some(&of))? as u64,
            recent_concerns,
            patterns: self.patterns(&specialist)?,
            expertise: self.expertise(&specialist)?,
            pending_repeats: self.pending_repeats(&specialist)?,
            last_question_hash: newest.map(|s| s.question_hash.clone()),
            updated_at: newest.map_or(record.created_at, |s| s.at.millis()),
            created_at: record.created_at,
            id: specialist,
        })
    }

    /// The specialist's memory as prompt context of at most `budget_chars` characters.
    pub fn context(&self, specialist: &str, budget_chars: usize) -> Result<Context> {
        if budget_chars == 0 || budget_chars > MAX_BUDGET_CHARS {
            return Err(invalid(format!(
                "budget_chars is {budget_chars}; give 1 to {MAX_BUDGET_CHARS}"
            )));
        }
        let specialist = name(specialist)?;
        let record = self.require(&specialist)?;
        let recent = self
            .sessions
            .scroll_ordered(
                Some(&of_specialist(&specialist)),
                &Order::descending("at"),
                RECENT * 5,
            )?
            .into_iter()
            .map(|r| parse::<SessionRecord>(SESSIONS_COLLECTION, r.id, r.payload))
            .collect::<Result<Vec<_>>>()?;
        let material = Material {
            session_count: self.session_count(&specialist)?,
            recent_topics: recent_topics(&recent, &record.topics),
            patterns: self.patterns(&specialist)?,
            pending_repeats: self.pending_repeats(&specialist)?,
        };
        Ok(render(&material, budget_chars))
    }

    /// Patterns learned: per (topic, concern type), raised / validated / dismissed counted
    /// exactly, those with a validated concern, by the Wilson lower bound of their
    /// precision (then more validated, then name).
    pub fn patterns(&self, specialist: &str) -> Result<Vec<ConcernPattern>> {
        let of = of_specialist(specialist);
        let raised = self.concerns.facet("pattern", Some(&of), MAX_LIMIT)?;
        let validated = self.count_by("pattern", &of, Some(Verdict::Validated))?;
        let dismissed = self.count_by("pattern", &of, Some(Verdict::Dismissed))?;
        let mut patterns: Vec<ConcernPattern> = raised
            .into_iter()
            .filter_map(|(key, raised)| {
                let validated = validated.get(&key).copied().unwrap_or(0);
                if validated == 0 {
                    return None;
                }
                let dismissed = dismissed.get(&key).copied().unwrap_or(0);
                let (topic, kind) = key.split_once(PATTERN_SEPARATOR)?;
                Some(ConcernPattern {
                    topic: topic.to_owned(),
                    kind: kind.to_owned(),
                    raised: raised as u64,
                    validated,
                    dismissed,
                    precision_lower_bound: wilson_lower_bound(validated, validated + dismissed),
                })
            })
            .collect();
        patterns.sort_by(|a, b| {
            b.precision_lower_bound
                .total_cmp(&a.precision_lower_bound)
                .then_with(|| b.validated.cmp(&a.validated))
                .then_with(|| a.topic.cmp(&b.topic))
                .then_with(|| a.kind.cmp(&b.kind))
        });
        Ok(patterns)
    }

    /// Competence per topic: validated among judged concerns, by the Wilson lower bound.
    fn expertise(&self, specialist: &str) -> Result<Vec<Expertise>> {
        let of = of_specialist(specialist);
        let validated = self.count_by("topic", &of, Some(Verdict::Validated))?;
        let dismissed = self.count_by("topic", &of, Some(Verdict::Dismissed))?;
        let topics: std::collections::BTreeSet<&String> =
            validated.keys().chain(dismissed.keys()).collect();
        let mut expertise: Vec<Expertise> = topics
            .into_iter()
            .map(|topic| {
                let v = validated.get(topic).copied().unwrap_or(0);
                let judged = v + dismissed.get(topic).copied().unwrap_or(0);
                Expertise {
                    topic: topic.clone(),
                    validated: v,
                    judged,
                    score: wilson_lower_bound(v, judged),
                }
            })
            .collect();
        expertise.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.topic.cmp(&b.topic))
        });
        Ok(expertise)
    }

    /// Exact counts of the specialist's concerns per value of `field`, of one verdict.
    fn count_by(
        &self,
        field: &str,
        of: &Filter,
        verdict: Option<Verdict>,
    ) -> Result<BTreeMap<String, u64>> {
        let filter = match verdict {
            Some(v) => of.clone().and(Condition::keyword("verdict", v.name())),
            None => of.clone(),
        };
        Ok(self
            .concerns
            .facet(field, Some(&filter), MAX_LIMIT)?
            .into_iter()
            .map(|(k, n)| (k, n as u64))
            .collect())
    }

    /// Concerns the specialist raised again while no outcome settled them: per first
    /// concern of a chain, the later ones without a verdict; most repeated first.
    fn pending_repeats(&self, specialist: &str) -> Result<Vec<PendingRepeat>> {
        let pending = of_specialist(specialist).and(Condition::is_empty("verdict"));
        let mut chains = self
            .concerns
            .facet("repeat_root", Some(&pending), MAX_LIMIT)?;
        chains.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        chains.truncate(RECENT);
        let mut repeats = Vec::with_capacity(chains.len());
        for (root, n) in chains {
            let Ok(root) = root.parse::<PointId>() else {
                continue;
            };
            let Some(record) = self.concerns.get(&[root], false)?.into_iter().next() else {
                continue;
            };
            let first: ConcernRecord = parse(CONCERNS_COLLECTION, record.id, record.payload)?;
            repeats.push(PendingRepeat {
                concern: root,
                text: first.text,
                kind: first.kind,
                repeats: n as u64,
            });
        }
        Ok(repeats)
    }

    /// The specialist's record, or [`SpecialistError::UnknownSpecialist`].
    fn require(&self, specialist: &str) -> Result<SpecialistRecord> {
        let id = specialist_id(specialist);
        match self.specialists.get(&[id], false)?.into_iter().next() {
            Some(record) => parse(SPECIALISTS_COLLECTION, id, record.payload),
            None => Err(SpecialistError::UnknownSpecialist(specialist.to_owned())),
        }
    }
}

/// The latest distinct topics, newest first, then the starting topics; at most 10.
fn recent_topics(recent: &[SessionRecord], starting: &[String]) -> Vec<String> {
    let mut topics: Vec<String> = Vec::new();
    for topic in recent
        .iter()
        .flat_map(|s| s.topics.iter())
        .chain(starting.iter())
    {
        if topics.len() == RECENT {
            break;
        }
        if !topics.contains(topic) {
            topics.push(topic.clone());
        }
    }
    topics
}

fn of_specialist(specialist: &str) -> Filter {
    Filter::all([Condition::keyword("specialist", specialist)])
}

fn specialist_id(specialist: &str) -> PointId {
    PointId::from_content(&[b"specialist", specialist.as_bytes()])
}

fn session_id(specialist: &str, deliberation: &str) -> PointId {
    PointId::from_content(&[
        b"specialist_session",
        specialist.as_bytes(),
        deliberation.as_bytes(),
    ])
}

fn concern_id(specialist: &str, deliberation: &str, question_hash: &str, index: usize) -> PointId {
    PointId::from_content(&[
        b"specialist_concern",
        specialist.as_bytes(),
        deliberation.as_bytes(),
        question_hash.as_bytes(),
        &(index as u64).to_le_bytes(),
    ])
}

/// The first 16 hex digits of the question's SHA-256 (the note's `last_question_hash`).
pub fn question_hash(question: &str) -> String {
    let digest = Sha256::digest(question.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// A specialist's name in its one form, checked.
fn name(value: &str) -> Result<String> {
    let name = crate::text::label(value).to_owned();
    crate::text::check_label("specialist", &name).map_err(SpecialistError::InvalidInput)?;
    Ok(name)
}

/// Topics: labels, lower-cased (so that `Security` and `security` are one topic), each
/// once, at most [`MAX_TOPICS`].
fn topic_labels(topics: &[String], field: &str) -> Result<Vec<String>> {
    if topics.len() > MAX_TOPICS {
        return Err(invalid(format!(
            "{field} has {} entries; the limit is {MAX_TOPICS}",
            topics.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(topics.len());
    for topic in topics {
        let topic = crate::text::label(topic);
        crate::text::check_label(field, topic).map_err(SpecialistError::InvalidInput)?;
        let topic = topic.to_lowercase();
        if !out.contains(&topic) {
            out.push(topic);
        }
    }
    Ok(out)
}

fn invalid(message: String) -> SpecialistError {
    SpecialistError::InvalidInput(message)
}

fn to_payload<T: Serialize>(value: &T) -> Result<Payload> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) | Err(_) => Err(invalid(
            "the record does not serialise to a JSON object".into(),
        )),
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    collection: &str,
    id: PointId,
    payload: Payload,
) -> Result<T> {
    serde_json::from_value(Value::Object(payload))
        .map_err(|e| corrupt(collection, id, &e.to_string()))
}

fn corrupt(collection: &str, id: PointId, message: &str) -> SpecialistError {
    SpecialistError::Corrupt {
        collection: collection.to_owned(),
        id: id.to_string(),
        message: message.to_owned(),
    }
}
