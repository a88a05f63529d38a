//! Episodic memory: what happened while a task ran, event by event, durable as it is
//! recorded; recall of similar past episodes; and what went wrong across failures.
//!
//! An episode is a point in the `experiences` collection (its task embedded for recall);
//! its events are records in `episode_events`, one point each, keyed by episode and
//! sequence number. Every call that writes is durable when it returns, so an episode whose
//! process dies keeps every acknowledged event and stays `running` until someone ends or
//! abandons it.
//!
//! Several processes may write to one episode at once (engram servers sharing a Qdrant
//! cluster). An event claims its sequence number by creating the point of that number
//! (create-if-absent, confirmed by reading back): a writer that loses the race takes the
//! next number, so numbers are dense, unique and give the one order of the episode's
//! events, and no event ever overwrites another. Ending or abandoning an episode is a
//! compare-and-set on its record, so two concurrent ends cannot both succeed.

mod error;
mod record;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;

pub use error::{EpisodeError, Result};
pub use record::{
    Episode, EpisodeLog, EpisodeStatus, Event, FailureGroup, FailurePoint, FailureReport,
};

use crate::embed::Embedder;
use crate::memory::{MemoryKind, Metrics, Recalled, normalize_error};
use crate::store::coord::{Attempt, IdempotencyKeys};
use crate::store::{
    Collection, CollectionSpec, Condition, FieldKind, Filter, Payload, Point, PointId, Query,
    SearchRequest, Store, StoreError,
};

/// The collection of events.
pub const EVENTS_COLLECTION: &str = "episode_events";
/// Longest task, task description or reason (characters).
pub const MAX_TASK_CHARS: usize = crate::text::MAX_TEXT_CHARS;
/// Largest episode context, serialised as JSON (bytes).
pub const MAX_CONTEXT_BYTES: usize = 64 << 10;
/// Largest event `data`, serialised as JSON (bytes).
pub const MAX_EVENT_DATA_BYTES: usize = 64 << 10;
/// Most results one recall returns.
const MAX_RECALL: usize = 100;
/// Example episode ids per failure group.
const EXAMPLES: usize = 5;

/// The schema of the events collection.
pub fn events_spec() -> CollectionSpec {
    CollectionSpec::records(EVENTS_COLLECTION)
        .with_index("episode_id", FieldKind::Keyword)
        .with_index("seq", FieldKind::Integer)
        .with_index("event_type", FieldKind::Keyword)
        .with_index("agent_role", FieldKind::Keyword)
        .with_index("idempotency_key", FieldKind::Keyword)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Episodic memory over a store and an embedder.
pub struct Episodes {
    experiences: Collection,
    events: Collection,
    keys: IdempotencyKeys,
    embedder: Arc<dyn Embedder>,
    /// Where this process expects the next event of an episode to go: only a first guess
    /// (another process may have taken that number), corrected by the claim.
    next_seq: Mutex<HashMap<PointId, u64>>,
}

impl std::fmt::Debug for Episodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Episodes").finish_non_exhaustive()
    }
}

impl Episodes {
    /// Opens (creating on first use) the `experiences` and `episode_events` collections.
    pub fn new(store: &Store, embedder: Arc<dyn Embedder>) -> Result<Self> {
        Ok(Self {
            experiences: store.collection(&MemoryKind::Experience.spec(embedder.dimension()))?,
            events: store.collection(&events_spec())?,
            keys: IdempotencyKeys::open(store)?,
            embedder,
            next_seq: Mutex::new(HashMap::new()),
        })
    }

    /// Starts an episode of `task` with a context object; returns its id.
    pub fn start_episode(&self, task: &str, context: Payload) -> Result<PointId> {
        self.start_episode_with_key(task, context, None)
    }

    /// [`Episodes::start_episode`] with an idempotency key: the episode's id derives from
    /// the key, so a retry returns the same episode instead of starting a second one (the
    /// same key with another task is [`StoreError::IdempotencyMismatch`]).
    pub fn start_episode_with_key(
        &self,
        task: &str,
        context: Payload,
        key: Option<&str>,
    ) -> Result<PointId> {
        text("task", task)?;
        let context_size = serde_json::to_string(&context)
            .map(|s| s.len())
            .unwrap_or(0);
        if context_size > MAX_CONTEXT_BYTES {
            return Err(EpisodeError::InvalidInput(format!(
                "context is {context_size} bytes of JSON; the limit is {MAX_CONTEXT_BYTES}"
            )));
        }
        let id = match key {
            Some(key) => {
                crate::store::coord::idempotency::check_key(key)?;
                PointId::from_content(&[b"episode", key.as_bytes()])
            }
            None => PointId::from(uuid::Uuid::new_v4()),
        };
        let episode = Episode {
            task: task.to_owned(),
            context,
            status: EpisodeStatus::Running,
            metrics: Metrics::new(),
            started_at: now_ms(),
            ended_at: None,
            event_count: None,
            failure: None,
            abandon_reason: None,
        };
        let vector = self.embedder.embed(task)?;
        let created = self.experiences.create(Point {
            id,
            vector,
            text: task.to_owned(),
            payload: episode_payload(&episode)?,
        });
        match created {
            Ok(_) => Ok(id),
            Err(StoreError::Conflict { .. }) => match key {
                Some(_) if self.episode(id)?.task == task => Ok(id),
                Some(key) => Err(StoreError::IdempotencyMismatch {
                    key: key.to_owned(),
                }
                .into()),
                None => Err(EpisodeError::Corrupt {
                    id,
                    message: "a fresh episode id is already taken".into(),
                }),
            },
            Err(error) => Err(error.into()),
        }
    }

    /// Records an event into a running episode; returns its sequence number. Durable when it
    /// returns.
    pub fn record_event(
        &self,
        id: PointId,
        event_type: &str,
        agent_role: &str,
        data: serde_json::Value,
    ) -> Result<u64> {
        self.record_event_with_key(id, event_type, agent_role, data, None)
    }

    /// [`Episodes::record_event`] with an idempotency key: a retry with the same key
    /// returns the first call's sequence number and records nothing more.
    pub fn record_event_with_key(
        &self,
        id: PointId,
        event_type: &str,
        agent_role: &str,
        data: serde_json::Value,
        key: Option<&str>,
    ) -> Result<u64> {
        label("event_type", event_type)?;
        label("agent_role", agent_role)?;
        let serde_json::Value::Object(data) = data else {
            return Err(EpisodeError::InvalidInput(format!(
                "event data must be a JSON object, not {}",
                json_kind(&data)
            )));
        };
        let size = serde_json::to_string(&data).map(|s| s.len()).unwrap_or(0);
        if size > MAX_EVENT_DATA_BYTES {
            return Err(EpisodeError::InvalidInput(format!(
                "event data is {size} bytes of JSON; the limit is {MAX_EVENT_DATA_BYTES} ({} KiB)",
                MAX_EVENT_DATA_BYTES >> 10
            )));
        }
        #[derive(Serialize)]
        struct Request<'a> {
            event_type: &'a str,
            agent_role: &'a str,
            data: &'a Payload,
        }
        let request = Request {
            event_type,
            agent_role,
            data: &data,
        };
        let scope = format!("episodes/{id}/events");
        self.keys.run(&scope, key, &request, |attempt| {
            if attempt == Attempt::Recovery
                && let Some(key) = key
                && let Some(seq) = self.event_with_key(id, key)?
            {
                return Ok(seq);
            }
            let episode = self.running(id)?;
            self.claim_event(id, &episode, event_type, agent_role, data.clone(), key)
        })
    }

    /// Writes the event at the first free sequence number: tries the number this process
    /// expects, and on a conflict (another writer took it) the next one.
    fn claim_event(
        &self,
        id: PointId,
        episode: &Episode,
        event_type: &str,
        agent_role: &str,
        data: Payload,
        key: Option<&str>,
    ) -> Result<u64> {
        let mut seq = self.expected_seq(id)?;
        let mut conflicts = 0u32;
        loop {
            let event = Event {
                episode_id: id,
                seq,
                event_type: event_type.to_owned(),
                agent_role: agent_role.to_owned(),
                data: data.clone(),
                at: now_ms().max(episode.started_at),
            };
            let mut payload = to_payload(&event)?;
            if let Some(key) = key {
                payload.insert("idempotency_key".into(), key.into());
            }
            let claimed = self.events.create(Point {
                id: event_id(id, seq),
                vector: Vec::new(),
                text: String::new(),
                payload,
            });
            match claimed {
                Ok(_) => {
                    self.expect_seq(id, seq + 1);
                    return Ok(seq);
                }
                Err(StoreError::Conflict { .. }) => {
                    conflicts += 1;
                    // Others are writing too: skip ahead to what is stored now, then step.
                    seq = if conflicts.is_multiple_of(4) {
                        (seq + 1).max(self.events.count(Some(&of_episode(id)))? as u64)
                    } else {
                        seq + 1
                    };
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// The sequence number of the event recorded with idempotency key `key`, if any.
    fn event_with_key(&self, id: PointId, key: &str) -> Result<Option<u64>> {
        let filter = of_episode(id).and(Condition::keyword("idempotency_key", key));
        Ok(self
            .events
            .scroll_all(Some(&filter))?
            .into_iter()
            .filter_map(|r| r.payload.get("seq").and_then(serde_json::Value::as_u64))
            .min())
    }

    /// Ends a running episode as a success or a failure, with measurements. A failure is
    /// located (see [`FailurePoint`]) for [`Episodes::analyze_failures`].
    pub fn end_episode(&self, id: PointId, success: bool, metrics: Metrics) -> Result<Episode> {
        self.end_episode_with_key(id, success, metrics, None)
    }

    /// [`Episodes::end_episode`] with an idempotency key: a retry returns the ended episode
    /// instead of "already ended".
    pub fn end_episode_with_key(
        &self,
        id: PointId,
        success: bool,
        metrics: Metrics,
        key: Option<&str>,
    ) -> Result<Episode> {
        for (name, value) in &metrics {
            label("metric name", name)?;
            if !value.is_finite() {
                return Err(EpisodeError::InvalidInput(format!(
                    "metric {name} is {value}; metrics must be finite numbers"
                )));
            }
        }
        let request = (success, &metrics);
        self.keys
            .run(&format!("episodes/{id}/end"), key, &request, |attempt| {
                self.finish(id, attempt, key, |episode, events| {
                    episode.status = if success {
                        EpisodeStatus::Succeeded
                    } else {
                        EpisodeStatus::Failed
                    };
                    episode.metrics = metrics.clone();
                    episode.failure = (!success).then(|| locate_failure(events));
                })
            })
    }

    /// Marks a running episode (typically one whose process died) as abandoned.
    pub fn abandon_episode(&self, id: PointId, reason: &str) -> Result<Episode> {
        self.abandon_episode_with_key(id, reason, None)
    }

    /// [`Episodes::abandon_episode`] with an idempotency key.
    pub fn abandon_episode_with_key(
        &self,
        id: PointId,
        reason: &str,
        key: Option<&str>,
    ) -> Result<Episode> {
        text("reason", reason)?;
        self.keys
            .run(&format!("episodes/{id}/abandon"), key, &reason, |attempt| {
                self.finish(id, attempt, key, |episode, _| {
                    episode.status = EpisodeStatus::Abandoned;
                    episode.abandon_reason = Some(reason.to_owned());
                })
            })
    }

    /// Moves a running episode to its end state with a compare-and-set on its record: of
    /// two concurrent ends, one wins and the other finds the episode ended.
    fn finish(
        &self,
        id: PointId,
        attempt: Attempt,
        key: Option<&str>,
        end: impl Fn(&mut Episode, &[Event]),
    ) -> Result<Episode> {
        loop {
            let current = self
                .experiences
                .read_versioned(id)?
                .ok_or(EpisodeError::Unknown(id))?;
            let mut episode: Episode = parse(id, current.record.payload.clone())?;
            if episode.status != EpisodeStatus::Running {
                let ended_by = current
                    .record
                    .payload
                    .get("ended_by_key")
                    .and_then(serde_json::Value::as_str);
                if attempt == Attempt::Recovery && key.is_some() && ended_by == key {
                    return Ok(episode);
                }
                return Err(EpisodeError::Ended {
                    id,
                    status: episode.status.name().to_owned(),
                });
            }
            let events = self.events_of(id)?;
            end(&mut episode, &events);
            episode.ended_at = Some(now_ms().max(episode.started_at));
            episode.event_count = Some(events.len() as u64);
            let mut patch = episode_payload(&episode)?;
            if let Some(key) = key {
                patch.insert("ended_by_key".into(), key.into());
            }
            match self
                .experiences
                .compare_and_set_payload(id, patch, current.version)
            {
                Ok(_) => return Ok(episode),
                // It changed meanwhile (most likely ended by another caller): look again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// An episode with its events in order.
    pub fn get_episode(&self, id: PointId) -> Result<EpisodeLog> {
        let episode = self.episode(id)?;
        let events = self.events_of(id)?;
        Ok(EpisodeLog {
            id,
            episode,
            events,
        })
    }

    /// Ended episodes whose task resembles `task_description`, best first; with
    /// `success_only`, only successful ones.
    pub fn recall_similar_episodes(
        &self,
        task_description: &str,
        n: usize,
        success_only: bool,
    ) -> Result<Vec<Recalled<Episode>>> {
        self.recall_episodes_above(task_description, n, success_only, None)
    }

    /// [`Self::recall_similar_episodes`], keeping only episodes whose similarity is at least
    /// `min_score` (in `[0, 1]`; see [`Recalled::similarity`]).
    pub fn recall_episodes_above(
        &self,
        task_description: &str,
        n: usize,
        success_only: bool,
        min_score: Option<f32>,
    ) -> Result<Vec<Recalled<Episode>>> {
        text("task description", task_description)?;
        if let Some(score) = min_score
            && !(score.is_finite() && (0.0..=1.0).contains(&score))
        {
            return Err(EpisodeError::InvalidInput(format!(
                "min_score {score} must be a number within [0, 1]"
            )));
        }
        if n == 0 || n > MAX_RECALL {
            return Err(EpisodeError::InvalidInput(format!(
                "n {n} is out of range 1..={MAX_RECALL}"
            )));
        }
        let statuses: Vec<String> = if success_only {
            vec![EpisodeStatus::Succeeded.name().into()]
        } else {
            vec![
                EpisodeStatus::Succeeded.name().into(),
                EpisodeStatus::Failed.name().into(),
            ]
        };
        let vector = self.embedder.embed(task_description)?;
        let mut request = SearchRequest::new(
            Query::Hybrid {
                vector,
                text: task_description.to_owned(),
            },
            n,
        )
        .with_filter(Filter::all([Condition::KeywordAny {
            field: "status".into(),
            values: statuses,
        }]));
        request.score_threshold = min_score;
        self.experiences
            .search(&request)?
            .into_iter()
            .map(|hit| {
                Ok(Recalled {
                    id: hit.id,
                    score: hit.score,
                    similarity: hit.score,
                    cosine: hit.dense_score.unwrap_or(0.0),
                    record: parse(hit.id, hit.payload)?,
                })
            })
            .collect()
    }

    /// What went wrong across failed episodes: groups of failures by the event type and
    /// agent role where they showed and the error signature, most frequent first, at most
    /// `limit` groups.
    pub fn analyze_failures(&self, limit: usize) -> Result<FailureReport> {
        if limit == 0 || limit > MAX_RECALL {
            return Err(EpisodeError::InvalidInput(format!(
                "limit {limit} is out of range 1..={MAX_RECALL}"
            )));
        }
        let failed = Filter::all([Condition::keyword("status", EpisodeStatus::Failed.name())]);
        let mut groups: BTreeMap<FailurePoint, Vec<PointId>> = BTreeMap::new();
        let mut total = 0;
        for record in self.experiences.scroll_all(Some(&failed))? {
            let episode: Episode = parse(record.id, record.payload)?;
            let failure = episode.failure.unwrap_or(FailurePoint {
                event_type: "unknown".into(),
                agent_role: "unknown".into(),
                signature: None,
            });
            groups.entry(failure).or_default().push(record.id);
            total += 1;
        }
        let mut groups: Vec<FailureGroup> = groups
            .into_iter()
            .map(|(failure, ids)| FailureGroup {
                count: ids.len(),
                share: ids.len() as f64 / total.max(1) as f64,
                examples: ids.into_iter().take(EXAMPLES).collect(),
                failure,
            })
            .collect();
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.failure.cmp(&b.failure))
        });
        groups.truncate(limit);
        Ok(FailureReport {
            failed_episodes: total,
            groups,
        })
    }

    /// Running episodes, oldest first: in progress, or left behind by a process that died.
    pub fn running_episodes(&self) -> Result<Vec<(PointId, Episode)>> {
        let running = Filter::all([Condition::keyword("status", EpisodeStatus::Running.name())]);
        let mut found = self
            .experiences
            .scroll_all(Some(&running))?
            .into_iter()
            .map(|record| Ok((record.id, parse::<Episode>(record.id, record.payload)?)))
            .collect::<Result<Vec<_>>>()?;
        found.sort_by_key(|(_, e)| e.started_at);
        Ok(found)
    }

    fn episode(&self, id: PointId) -> Result<Episode> {
        let record = self
            .experiences
            .get(&[id], false)?
            .into_iter()
            .next()
            .ok_or(EpisodeError::Unknown(id))?;
        parse(id, record.payload)
    }

    fn running(&self, id: PointId) -> Result<Episode> {
        let episode = self.episode(id)?;
        if episode.status != EpisodeStatus::Running {
            return Err(EpisodeError::Ended {
                id,
                status: episode.status.name().to_owned(),
            });
        }
        Ok(episode)
    }

    /// Where the next event of `id` probably goes: after this process's last one, else
    /// after the events stored (a first guess; the claim settles it).
    fn expected_seq(&self, id: PointId) -> Result<u64> {
        if let Some(seq) = self
            .next_seq
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
        {
            return Ok(*seq);
        }
        Ok(self.events.count(Some(&of_episode(id)))? as u64)
    }

    fn expect_seq(&self, id: PointId, next: u64) {
        let mut cache = self.next_seq.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.entry(id).or_insert(next);
        *entry = (*entry).max(next);
    }

    fn events_of(&self, id: PointId) -> Result<Vec<Event>> {
        let mut events = self
            .events
            .scroll_all(Some(&of_episode(id)))?
            .into_iter()
            .map(|record| parse::<Event>(record.id, record.payload))
            .collect::<Result<Vec<_>>>()?;
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }
}

fn of_episode(id: PointId) -> Filter {
    Filter::all([Condition::keyword("episode_id", id.to_string())])
}

fn event_id(episode: PointId, seq: u64) -> PointId {
    PointId::from_content(&[b"event", episode.as_uuid().as_bytes(), &seq.to_le_bytes()])
}

/// The error an event carries: `data.error` (a string, or an object with a `message`),
/// `data.exception` or `data.traceback`.
fn error_text(event: &Event) -> Option<String> {
    for key in ["error", "exception", "traceback"] {
        match event.data.get(key) {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => return Some(s.clone()),
            Some(serde_json::Value::Object(o)) => {
                if let Some(serde_json::Value::String(s)) = o.get("message") {
                    return Some(s.clone());
                }
            }
            _ => {}
        }
    }
    None
}

/// The line of a normalised error that names it (`KeyError: …`, `error[E0382]: …`,
/// `panic: …`), else its last line; at most 200 characters.
fn signature(error: &str) -> Option<String> {
    let lines: Vec<&str> = error
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let named = lines.iter().rev().find(|l| {
        let lower = l.to_ascii_lowercase();
        lower.contains("error") || lower.contains("exception") || lower.starts_with("panic")
    });
    let line = named.or(lines.last())?;
    Some(normalize_error(line).chars().take(200).collect())
}

/// Where a failed episode's failure showed: the last event carrying an error, else the last
/// event whose type speaks of failure, else the last event.
fn locate_failure(events: &[Event]) -> FailurePoint {
    let with_error = events
        .iter()
        .rev()
        .find_map(|e| error_text(e).map(|t| (e, t)));
    if let Some((event, error)) = with_error {
        return FailurePoint {
            event_type: event.event_type.clone(),
            agent_role: event.agent_role.clone(),
            signature: signature(&error),
        };
    }
    let failing = events.iter().rev().find(|e| {
        let t = e.event_type.to_ascii_lowercase();
        t.contains("fail") || t.contains("error") || t.contains("reject")
    });
    match failing.or(events.last()) {
        Some(event) => FailurePoint {
            event_type: event.event_type.clone(),
            agent_role: event.agent_role.clone(),
            signature: None,
        },
        None => FailurePoint {
            event_type: "none".into(),
            agent_role: "none".into(),
            signature: None,
        },
    }
}

fn episode_payload(episode: &Episode) -> Result<Payload> {
    let mut payload = to_payload(episode)?;
    // Flat copies of the fields filters and stats read.
    payload.insert("source".into(), "episodes".into());
    payload.insert("language".into(), "text".into());
    Ok(payload)
}

fn to_payload<T: Serialize>(value: &T) -> Result<Payload> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) | Err(_) => Err(EpisodeError::InvalidInput(
            "the record does not serialise to a JSON object".into(),
        )),
    }
}

fn parse<T: serde::de::DeserializeOwned>(id: PointId, payload: Payload) -> Result<T> {
    serde_json::from_value(serde_json::Value::Object(payload)).map_err(|e| EpisodeError::Corrupt {
        id,
        message: e.to_string(),
    })
}

fn text(field: &str, value: &str) -> Result<()> {
    crate::text::check_required(field, value, MAX_TASK_CHARS).map_err(EpisodeError::InvalidInput)
}

fn label(field: &str, value: &str) -> Result<()> {
    crate::text::check_label(field, value).map_err(EpisodeError::InvalidInput)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, event_type: &str, role: &str, data: serde_json::Value) -> Event {
        let serde_json::Value::Object(data) = data else {
            panic!("object");
        };
        Event {
            episode_id: PointId::from_u128(1),
            seq,
            event_type: event_type.into(),
            agent_role: role.into(),
            data,
            at: 0,
        }
    }

    #[test]
    fn the_failure_is_the_last_event_with_an_error() {
        let events = [
            event(0, "generate", "coder", serde_json::json!({})),
            event(
                1,
                "test",
                "tester",
                serde_json::json!({"error": "Traceback (most recent call last):\n  File \"/w/t.py\", line 3\nAssertionError: expected 200, got 500"}),
            ),
            event(
                2,
                "review",
                "judge",
                serde_json::json!({"verdict": "reject"}),
            ),
        ];
        let failure = locate_failure(&events);
        assert_eq!(failure.event_type, "test");
        assert_eq!(failure.agent_role, "tester");
        assert_eq!(
            failure.signature.as_deref(),
            Some("AssertionError: expected <n>, got <n>")
        );
    }

    #[test]
    fn without_errors_a_failing_event_type_or_the_last_event_is_the_failure() {
        let failing = [
            event(0, "build_failed", "builder", serde_json::json!({})),
            event(1, "notify", "bot", serde_json::json!({})),
        ];
        assert_eq!(locate_failure(&failing).event_type, "build_failed");
        let plain = [event(0, "generate", "coder", serde_json::json!({}))];
        assert_eq!(locate_failure(&plain).event_type, "generate");
        assert_eq!(locate_failure(&[]).event_type, "none");
    }

    #[test]
    fn error_objects_with_a_message_count() {
        let e = event(
            0,
            "x",
            "y",
            serde_json::json!({"error": {"message": "boom", "code": 3}}),
        );
        assert_eq!(error_text(&e).as_deref(), Some("boom"));
    }
}
