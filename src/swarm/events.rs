//! Coordination events (design note 004's message types), durable and in one order that
//! every server agrees on, read by cursor so that a consumer that reconnects with its
//! cursor misses nothing and sees nothing twice.
//!
//! Each event is a point whose id is derived from its sequence number and is written
//! create-if-absent (coordination rule 1 with rule 3's conditional write): an appender reads
//! the highest sequence number `n` and creates `n + 1`; when another appender got there
//! first, it looks again. So the sequence has no gaps and no duplicates, and an appender
//! only writes `n + 1` after `n` exists: a reader that finds `n + 1` missing has seen every
//! event before it. A reader reads sequence numbers `after + 1 …` by id and stops at the
//! first one missing; its cursor is the last one it saw.
//!
//! An event is appended after the write it reports is durable: a crash between the two
//! leaves a write (never acknowledged to its caller) without its event.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::key::SwarmKey;
use super::{Result, SwarmError};
use crate::store::{
    Collection, CollectionSpec, FieldKind, Order, Point, PointId, Store, StoreError, from_payload,
    to_payload,
};

/// The collection of events.
pub const EVENTS_COLLECTION: &str = "swarm_events";
/// Most events one read examines.
pub const MAX_EVENTS: usize = 1000;
/// How many times an append retries after losing its sequence number to another appender.
const ATTEMPTS: usize = 256;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SwarmEventKind)]
pub enum EventKind {
    /// A lock on a key was granted (`data`: kind, epoch, owner).
    LockAcquired,
    /// A lock was given up by its holder (`data`: kind, epoch).
    LockReleased,
    /// A key was written (`data`: version, policy) or deleted (`data`: `deleted: true`).
    MemoryUpdated,
    /// An agent shared knowledge with the swarm (`data`: what was shared).
    KnowledgeShared,
    /// A client finished synchronising (`data`: what it says).
    SyncComplete,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::LockAcquired,
        Self::LockReleased,
        Self::MemoryUpdated,
        Self::KnowledgeShared,
        Self::SyncComplete,
    ];

    /// The name used in the feed.
    pub fn name(self) -> &'static str {
        match self {
            Self::LockAcquired => "lock_acquired",
            Self::LockReleased => "lock_released",
            Self::MemoryUpdated => "memory_updated",
            Self::KnowledgeShared => "knowledge_shared",
            Self::SyncComplete => "sync_complete",
        }
    }
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SwarmEvent)]
pub struct Event {
    /// Its place in the feed: 1, 2, 3, … with no gaps.
    pub seq: u64,
    /// What happened.
    pub kind: EventKind,
    /// The key it concerns, if any.
    pub key: Option<String>,
    /// The agent whose key caused it (`None`: an admin).
    pub agent_id: Option<String>,
    /// Unix milliseconds.
    pub at: i64,
    /// Details, by kind.
    pub data: Value,
}

/// Events after a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SwarmEventPage)]
pub struct EventPage {
    /// The events examined that match the prefix, in order.
    pub events: Vec<Event>,
    /// The last sequence number examined: pass it as `after` to continue.
    pub cursor: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EventRecord {
    seq: u64,
    kind: EventKind,
    key: Option<String>,
    /// The key's leading segment paths, for prefix filters.
    prefixes: Vec<String>,
    agent_id: Option<String>,
    at: i64,
    data: Value,
}

impl EventRecord {
    fn event(self) -> Event {
        Event {
            seq: self.seq,
            kind: self.kind,
            key: self.key,
            agent_id: self.agent_id,
            at: self.at,
            data: self.data,
        }
    }
}

/// The schema of the events collection.
pub fn events_spec() -> CollectionSpec {
    CollectionSpec::records(EVENTS_COLLECTION)
        .with_index("seq", FieldKind::Integer)
        .with_index("kind", FieldKind::Keyword)
        .with_index("prefixes", FieldKind::Keyword)
}

fn event_id(seq: u64) -> PointId {
    PointId::from_content(&[b"swarm_event", &seq.to_be_bytes()])
}

/// The event feed of a store.
#[derive(Debug, Clone)]
pub struct Events {
    collection: Collection,
}

impl Events {
    /// Opens (creating on first use) the feed.
    pub fn open(store: &Store) -> Result<Self> {
        Ok(Self {
            collection: store.collection(&events_spec())?,
        })
    }

    /// The sequence number of the newest event (0 before the first).
    pub fn head(&self) -> Result<u64> {
        let newest = self
            .collection
            .scroll_ordered(None, &Order::descending("seq"), 1)?;
        Ok(newest
            .first()
            .and_then(|r| r.payload.get("seq"))
            .and_then(Value::as_u64)
            .unwrap_or(0))
    }

    /// Appends an event at the next sequence number. Durable when it returns.
    pub fn append(
        &self,
        kind: EventKind,
        key: Option<&SwarmKey>,
        agent: Option<&str>,
        at: i64,
        data: Value,
    ) -> Result<Event> {
        let mut seq = self.head()? + 1;
        for _ in 0..ATTEMPTS {
            let record = EventRecord {
                seq,
                kind,
                key: key.map(ToString::to_string),
                prefixes: key.map(SwarmKey::prefixes).unwrap_or_default(),
                agent_id: agent.map(str::to_owned),
                at,
                data: data.clone(),
            };
            let point = Point {
                id: event_id(seq),
                vector: Vec::new(),
                text: String::new(),
                payload: to_payload(&record)?,
            };
            match self.collection.create(point) {
                Ok(_) => return Ok(record.event()),
                // Another appender took `seq`: it exists, so look for the new head.
                Err(StoreError::Conflict { .. }) => seq = self.head()?.max(seq) + 1,
                Err(error) => return Err(error.into()),
            }
        }
        Err(SwarmError::Contended("the event feed".into()))
    }

    /// Examines up to `limit` events after sequence number `after`, in order, stopping
    /// before the first that does not exist yet; answers those whose key lies under
    /// `prefix` (all of them without one) and the cursor to continue from.
    pub fn read(&self, after: u64, prefix: Option<&str>, limit: usize) -> Result<EventPage> {
        if limit == 0 || limit > MAX_EVENTS {
            return Err(SwarmError::InvalidInput(format!(
                "limit is {limit}; give 1 to {MAX_EVENTS}"
            )));
        }
        let prefix = prefix
            .map(super::key::parse_prefix)
            .transpose()
            .map_err(SwarmError::InvalidKey)?;
        let ids: Vec<_> = (1..=limit as u64).map(|i| event_id(after + i)).collect();
        let mut cursor = after;
        let mut events = Vec::new();
        // `get` answers the ids that exist, in the order asked.
        for record in self.collection.get(&ids, false)? {
            let parsed: EventRecord = from_payload(EVENTS_COLLECTION, record.id, record.payload)?;
            if parsed.seq != cursor + 1 {
                break;
            }
            cursor = parsed.seq;
            if prefix
                .as_ref()
                .is_none_or(|p| parsed.prefixes.iter().any(|x| x == p))
            {
                events.push(parsed.event());
            }
        }
        Ok(EventPage { events, cursor })
    }
}
