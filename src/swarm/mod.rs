//! Swarm memory (design note 004): keyed state that agents of a swarm share, with expiry,
//! locks and a conflict policy per write, safe when several engram servers write one store
//! (DESIGN.md, "Milestone 2", coordination rules).
//!
//! - Keys are `{category}/{subcategory}/{identifier}` ([`key`]); a value is any JSON value
//!   up to [`MAX_VALUE_BYTES`] serialised.
//! - `swarm_entries` holds one versioned record per key (id derived from the key): every
//!   write is a compare-and-set on the version it read, so two writers never both succeed
//!   on one version, whatever the policy ([`ConflictPolicy`]).
//! - Expiry: a per-key TTL and a retention per category ([`SwarmSettings`]); the earlier
//!   wins. Expired entries are never returned and are swept by writes (at most once a
//!   minute) or by [`Swarm::sweep`].
//! - Locks ([`LockKind`]) are the store's leases (coordination rule 5), one per key. A lock
//!   takes effect when its grant is stamped on the key's record (a compare-and-set, so an
//!   unlocked write racing the grant loses its own compare-and-set and then sees the lock);
//!   a write under a lock needs the holder's lock and carries its fencing epoch, refused
//!   once a newer lock was granted.
//! - Every write, delete, grant and release appends an event to the feed ([`events`]).
//! - Task outcomes and the strategies they recommend ([`outcomes`]); the note's agent-state
//!   helpers are keys ([`agent_state`]).

pub mod agent_state;
mod error;
pub mod events;
pub mod key;
pub mod outcomes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use agent_state::SharedKnowledge;
pub use error::{Result, SwarmError};
pub use events::{Event, EventKind, EventPage, Events};
pub use key::{Category, MAX_KEY_CHARS, SwarmKey};
pub use outcomes::{Insight, InsightKind, NewOutcome, Outcome, Outcomes, Recommendation, Strategy};

use crate::embed::Embedder;
use crate::store::coord::idempotency::IdempotencyKeys;
use crate::store::coord::lease::{Acquire, Clock, Lease, LeaseMode, Leases};
use crate::store::coord::{Versioned, clock};
use crate::store::{
    Collection, CollectionSpec, Condition, FieldKind, Filter, Payload, Point, PointId, Store,
    StoreError, from_payload, to_payload,
};

/// The collection of swarm entries.
pub const ENTRIES_COLLECTION: &str = "swarm_entries";
/// Largest value, serialised (bytes).
pub const MAX_VALUE_BYTES: usize = 256 << 10;
/// Largest data of a published event, serialised (bytes).
pub const MAX_EVENT_DATA_BYTES: usize = 64 << 10;
/// Most entries one listing page answers.
pub const MAX_PAGE: usize = 1000;
/// Longest TTL a key may be given (ten years, in milliseconds).
pub const MAX_TTL_MS: u64 = 10 * 365 * 24 * 3600 * 1000;
/// Most distinct categories or agents a census counts.
const FACET_LIMIT: usize = 10_000;
/// How often (at most) a write sweeps expired entries, milliseconds.
const SWEEP_EVERY_MS: i64 = 60_000;
/// How many times a write retries a lost compare-and-set before answering `Contended`.
const ATTEMPTS: usize = 64;

/// The schema of the entries collection.
pub fn entries_spec() -> CollectionSpec {
    CollectionSpec::records(ENTRIES_COLLECTION)
        .with_index("key", FieldKind::Keyword)
        .with_index("category", FieldKind::Keyword)
        .with_index("prefixes", FieldKind::Keyword)
        .with_index("agent_id", FieldKind::Keyword)
        .with_index("present", FieldKind::Bool)
        .with_index("expires_at", FieldKind::Integer)
}

/// How a write meets what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The write names the version it read (`expected_version`; none: the key must not
    /// exist); any other version is [`SwarmError::Conflict`] with the current entry.
    #[default]
    Reject,
    /// The write lands unless the stored value was written later by the hybrid logical
    /// clock (coordination rule 7), not by wall time; a write that lost is answered with
    /// the winner and `applied: false`.
    LastWriteWins,
    /// The value is a JSON merge patch (RFC 7396) applied to the stored value (to `{}` when
    /// there is none): fields set to `null` are removed, objects merge, anything else
    /// replaces.
    Merge,
}

/// The three locks of the note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LockKind {
    /// Shared by any number of readers; nobody writes the key meanwhile.
    Read,
    /// One holder, who alone writes the key; others still read it.
    Write,
    /// One holder, who alone reads and writes the key.
    Exclusive,
}

impl LockKind {
    /// The name used in requests and errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Exclusive => "exclusive",
        }
    }

    fn lease_mode(self) -> LeaseMode {
        match self {
            Self::Read => LeaseMode::Shared,
            Self::Write | Self::Exclusive => LeaseMode::Exclusive,
        }
    }
}

/// A granted lock: what its holder passes to write (and, when exclusive, read) the key,
/// renew and unlock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SwarmLock {
    /// The key.
    pub key: String,
    /// Read, write or exclusive.
    pub kind: LockKind,
    /// The holder's secret.
    pub token: String,
    /// The fencing epoch of this grant; every grant on the key gets a larger one.
    pub epoch: u64,
    /// Unix milliseconds of the grant.
    pub acquired_at: i64,
    /// Unix milliseconds at which the lock lapses unless renewed.
    pub expires_at: i64,
}

impl SwarmLock {
    fn lease(&self) -> Lease {
        Lease {
            name: lease_name(&self.key),
            mode: self.kind.lease_mode(),
            token: self.token.clone(),
            epoch: self.epoch,
            acquired_at: self.acquired_at,
            expires_at: self.expires_at,
        }
    }
}

/// Retention per category (`[swarm]` of `engram.toml`): an entry of a category with a
/// retention expires that long after its last write, or earlier by its own TTL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwarmSettings {
    /// Hours per category; a category not named keeps its entries until they are deleted
    /// or their TTL runs out. Default: `session = 24`.
    #[serde(default = "default_retention")]
    pub retention_hours: BTreeMap<String, f64>,
}

fn default_retention() -> BTreeMap<String, f64> {
    BTreeMap::from([("session".to_owned(), 24.0)])
}

impl Default for SwarmSettings {
    fn default() -> Self {
        Self {
            retention_hours: default_retention(),
        }
    }
}

impl SwarmSettings {
    /// Checks every category name and duration.
    pub fn validate(&self) -> std::result::Result<(), String> {
        for (name, hours) in &self.retention_hours {
            if Category::parse(name).is_none() {
                return Err(format!(
                    "swarm.retention_hours names {name:?}; the categories are {}",
                    Category::ALL.map(Category::name).join(", ")
                ));
            }
            if !hours.is_finite() || *hours <= 0.0 {
                return Err(format!(
                    "swarm.retention_hours.{name} is {hours}; give a positive number of hours"
                ));
            }
        }
        Ok(())
    }

    /// The retention of `category` in milliseconds (`None`: kept).
    pub fn retention_ms(&self, category: Category) -> Option<i64> {
        self.retention_hours
            .get(category.name())
            .map(|hours| (hours * 3_600_000.0) as i64)
    }
}

/// A live entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SwarmEntry)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// Its category.
    pub category: Category,
    /// The value.
    pub value: Value,
    /// The value's version: 1 when the key is created (again, after a delete or expiry),
    /// one more per write. Granting a lock does not change it.
    pub version: u64,
    /// The agent whose key wrote it last (`None`: an admin).
    pub agent_id: Option<String>,
    /// Unix milliseconds of the first write.
    pub created_at: i64,
    /// Unix milliseconds of the last write.
    pub updated_at: i64,
    /// Unix milliseconds at which it expires (`None`: never).
    pub expires_at: Option<i64>,
    /// The hybrid-logical-clock timestamp of the last write (what `last_write_wins` orders
    /// by): Unix milliseconds in the high 48 bits, a counter in the low 16.
    pub hlc: u64,
}

/// A write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Put {
    /// The key.
    pub key: String,
    /// The value (under [`ConflictPolicy::Merge`], the merge patch).
    pub value: Value,
    /// How the write meets what is stored.
    pub policy: ConflictPolicy,
    /// For [`ConflictPolicy::Reject`]: the version the write is based on (`None`: the key
    /// must not exist). Ignored by the other policies.
    pub expected_version: Option<u64>,
    /// Milliseconds until the entry expires (1 to [`MAX_TTL_MS`]); the category's retention
    /// applies when it is shorter.
    pub ttl_ms: Option<u64>,
    /// The caller's lock on the key, when it holds one.
    pub lock: Option<SwarmLock>,
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SwarmWritten)]
pub struct Written {
    /// The entry stored now.
    pub entry: Entry,
    /// Whether this write is what is stored (false: a later `last_write_wins` write won).
    pub applied: bool,
}

/// A page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SwarmPage)]
pub struct Page {
    /// Live entries under the prefix, in a stable order (not alphabetical).
    pub entries: Vec<Entry>,
    /// Pass as `after` for the next page; `None` at the end.
    pub next: Option<String>,
}

/// Swarm memory counted for a health report ([`Swarm::census`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Census {
    /// Live entries.
    pub live: usize,
    /// Live entries per category.
    pub by_category: BTreeMap<String, usize>,
    /// Live entries per agent that wrote them (entries written without an agent are not
    /// counted here).
    pub by_agent: BTreeMap<String, usize>,
    /// Entries past their expiry that no sweep removed yet.
    pub expired: usize,
    /// Some of their keys.
    pub expired_keys: Vec<String>,
}

/// An entry as stored. A lock on a key never written leaves a record with
/// `present: false`, which reads as no entry. `version` counts the value's writes; the
/// record's own `_version` (what compare-and-set checks) also moves when a lock is granted.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EntryRecord {
    key: String,
    version: u64,
    category: Category,
    prefixes: Vec<String>,
    present: bool,
    value: Value,
    agent_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    hlc: u64,
    expires_at: Option<i64>,
    /// The newest lock granted on the key: writes fenced by an older one are refused.
    #[serde(default)]
    lock_epoch: u64,
    /// The newest exclusive lock granted on the key: while it is live, reads need it.
    #[serde(default)]
    exclusive_epoch: u64,
}

impl EntryRecord {
    fn live(&self, now: i64) -> bool {
        self.present && self.expires_at.is_none_or(|at| at > now)
    }

    fn entry(&self) -> Entry {
        Entry {
            key: self.key.clone(),
            category: self.category,
            value: self.value.clone(),
            version: self.version,
            agent_id: self.agent_id.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            hlc: self.hlc,
        }
    }
}

fn entry_id(key: &SwarmKey) -> PointId {
    PointId::from_content(&[b"swarm_entry", key.as_str().as_bytes()])
}

/// The lease behind a key's locks: named by the key's id, so that no key is too long for a
/// lease name and no lease taken through `/v1/leases` is mistaken for a key's lock.
fn lease_name(key: &str) -> String {
    let id = PointId::from_content(&[b"swarm_entry", key.as_bytes()]);
    format!("swarm-lock/{id}")
}

fn record_point(id: PointId, payload: Payload) -> Point {
    Point {
        id,
        vector: Vec::new(),
        text: String::new(),
        payload,
    }
}

/// Swarm memory over a store.
pub struct Swarm {
    entries: Collection,
    events: Events,
    outcomes: Outcomes,
    leases: Leases,
    keys: IdempotencyKeys,
    settings: SwarmSettings,
    now: Clock,
    last_sweep: AtomicI64,
}

impl std::fmt::Debug for Swarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Swarm")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Swarm {
    /// Opens (creating on first use) the entries, events, outcomes and leases; `embedder`
    /// embeds the situations of outcomes. `settings` must be valid
    /// ([`SwarmSettings::validate`]).
    pub fn new(
        store: &Store,
        embedder: Arc<dyn Embedder>,
        settings: SwarmSettings,
    ) -> Result<Self> {
        settings.validate().map_err(SwarmError::InvalidInput)?;
        let now: Clock = Arc::new(|| clock().now().millis());
        Ok(Self {
            entries: store.collection(&entries_spec())?,
            events: Events::open(store)?,
            outcomes: Outcomes::open(store, embedder)?,
            leases: Leases::open(store)?.with_clock(Arc::clone(&now)),
            keys: IdempotencyKeys::open(store)?,
            settings,
            now,
            last_sweep: AtomicI64::new(i64::MIN),
        })
    }

    /// The same swarm memory with another clock (Unix milliseconds) for expiry and locks:
    /// tests fix the time.
    pub fn with_clock(mut self, now: Clock) -> Self {
        self.leases = self.leases.with_clock(Arc::clone(&now));
        self.now = now;
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> &SwarmSettings {
        &self.settings
    }

    fn now(&self) -> i64 {
        (self.now)()
    }

    /// The event feed.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The recorded task outcomes.
    pub fn outcomes(&self) -> &Outcomes {
        &self.outcomes
    }

    /// Appends a `knowledge_shared` or `sync_complete` event (the others are appended by
    /// the writes and locks they report), about `key` if given.
    pub fn publish(
        &self,
        agent: Option<&str>,
        kind: EventKind,
        key: Option<&str>,
        data: Value,
    ) -> Result<Event> {
        if !matches!(kind, EventKind::KnowledgeShared | EventKind::SyncComplete) {
            return Err(SwarmError::InvalidInput(format!(
                "{} events are appended by engram itself; publish knowledge_shared or \
                 sync_complete",
                kind.name()
            )));
        }
        let size = serde_json::to_vec(&data).map_or(usize::MAX, |v| v.len());
        if size > MAX_EVENT_DATA_BYTES {
            return Err(SwarmError::InvalidInput(format!(
                "the event's data is {size} bytes serialised; the limit is \
                 {MAX_EVENT_DATA_BYTES}"
            )));
        }
        let key = key.map(parse_key).transpose()?;
        self.events
            .append(kind, key.as_ref(), agent, self.now(), data)
    }

    fn read(&self, key: &SwarmKey) -> Result<Option<(EntryRecord, u64)>> {
        let id = entry_id(key);
        let Some(Versioned { record, version }) = self.entries.read_versioned(id)? else {
            return Ok(None);
        };
        let parsed: EntryRecord = from_payload(ENTRIES_COLLECTION, id, record.payload)?;
        clock().observe(crate::store::coord::Hlc::from_raw(parsed.hlc));
        Ok(Some((parsed, version)))
    }

    /// The live entry under `key` (`None`: never written, deleted or expired). Under a live
    /// exclusive lock only its holder reads it (`lock`); anyone else gets
    /// [`SwarmError::Locked`].
    pub fn get(&self, key: &str, lock: Option<&SwarmLock>) -> Result<Option<Entry>> {
        let key = parse_key(key)?;
        let now = self.now();
        let Some((record, _)) = self.read(&key)? else {
            return Ok(None);
        };
        if record.exclusive_epoch > 0 {
            self.check_exclusive(&key, &record, lock)?;
        }
        Ok(record.live(now).then(|| record.entry()))
    }

    /// Refuses a read of a key under a live exclusive lock by anyone but its holder.
    fn check_exclusive(
        &self,
        key: &SwarmKey,
        record: &EntryRecord,
        lock: Option<&SwarmLock>,
    ) -> Result<()> {
        let Some(state) = self.leases.state(&lease_name(key.as_str()))? else {
            return Ok(());
        };
        let Some(holder) = state
            .holders
            .iter()
            .find(|h| h.epoch == record.exclusive_epoch)
        else {
            return Ok(());
        };
        let held = lock.is_some_and(|l| {
            l.key == key.as_str() && l.epoch == holder.epoch && self.holds(l).is_ok()
        });
        if held {
            return Ok(());
        }
        Err(SwarmError::Locked {
            key: key.to_string(),
            holders: 1,
            mode: LockKind::Exclusive.name(),
            expires_in_ms: u64::try_from(holder.expires_at - self.now()).unwrap_or(0),
        })
    }

    /// Whether `lock` is held now (its lease's mode), else the lease error.
    fn holds(&self, lock: &SwarmLock) -> Result<LeaseMode> {
        Ok(self.leases.holder(&lock.lease())?.mode)
    }

    /// `put`: writes `write.value` under `write.key` by its policy, as `agent` (`None`: an
    /// admin). Durable when it returns. With an idempotency `key`, a retry answers the first
    /// call's outcome instead of writing again.
    pub fn put(&self, agent: Option<&str>, write: &Put, key: Option<&str>) -> Result<Written> {
        let parsed = parse_key(&write.key)?;
        may_write(agent, &parsed)?;
        let size = serde_json::to_vec(&write.value).map_or(usize::MAX, |v| v.len());
        if size > MAX_VALUE_BYTES {
            return Err(SwarmError::InvalidInput(format!(
                "the value is {size} bytes serialised; the limit is {MAX_VALUE_BYTES}"
            )));
        }
        if let Some(ttl) = write.ttl_ms
            && !(1..=MAX_TTL_MS).contains(&ttl)
        {
            return Err(SwarmError::InvalidInput(format!(
                "ttl_ms is {ttl}; give 1 to {MAX_TTL_MS}"
            )));
        }
        let request = serde_json::json!({"agent": agent, "write": write});
        self.keys.run("swarm/put", key, &request, |_| {
            self.sweep_now_and_then();
            self.write(agent, &parsed, write)
        })
    }

    fn write(&self, agent: Option<&str>, key: &SwarmKey, write: &Put) -> Result<Written> {
        let stamp = clock().now().raw();
        let id = entry_id(key);
        for _ in 0..ATTEMPTS {
            let now = self.now();
            let current = self.read(key)?;
            let fence = self.guard(key, current.as_ref().map(|(r, _)| r), write.lock.as_ref())?;
            let live = current
                .as_ref()
                .filter(|(record, _)| record.live(now))
                .map(|(record, _)| record.entry());
            let value = match write.policy {
                ConflictPolicy::Reject => {
                    if live.as_ref().map(|e| e.version) != write.expected_version {
                        return Err(SwarmError::Conflict {
                            key: key.to_string(),
                            expected: write.expected_version,
                            current: live.map(Box::new),
                        });
                    }
                    write.value.clone()
                }
                ConflictPolicy::LastWriteWins => match live {
                    Some(entry) if entry.hlc > stamp => {
                        return Ok(Written {
                            entry,
                            applied: false,
                        });
                    }
                    _ => write.value.clone(),
                },
                ConflictPolicy::Merge => {
                    let mut base = live
                        .as_ref()
                        .map_or_else(|| Value::Object(Map::new()), |e| e.value.clone());
                    json_patch::merge(&mut base, &write.value);
                    base
                }
            };
            let before = current.as_ref().map(|(r, _)| r);
            let ttl = write.ttl_ms.map(|t| i64::try_from(t).unwrap_or(i64::MAX));
            let lifetime = match (ttl, self.settings.retention_ms(key.category())) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let record = EntryRecord {
                key: key.to_string(),
                version: live.as_ref().map_or(1, |e| e.version + 1),
                category: key.category(),
                prefixes: key.prefixes(),
                present: true,
                value,
                agent_id: agent.map(str::to_owned),
                created_at: live.as_ref().map_or(now, |e| e.created_at),
                updated_at: now,
                hlc: stamp,
                expires_at: lifetime.map(|ms| now.saturating_add(ms)),
                lock_epoch: before.map_or(0, |r| r.lock_epoch).max(fence.unwrap_or(0)),
                exclusive_epoch: before.map_or(0, |r| r.exclusive_epoch),
            };
            let point = record_point(id, to_payload(&record)?);
            let written = match &current {
                None => self.entries.create(point),
                Some((_, version)) => self.entries.compare_and_set(point, *version),
            };
            match written {
                Ok(_) => {
                    self.events.append(
                        EventKind::MemoryUpdated,
                        Some(key),
                        agent,
                        now,
                        serde_json::json!({"version": record.version, "policy": write.policy}),
                    )?;
                    return Ok(Written {
                        entry: record.entry(),
                        applied: true,
                    });
                }
                // Another writer (or a lock's grant) came first: look again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(SwarmError::Contended(key.to_string()))
    }

    /// Checks a write against the key's locks; answers the fencing epoch it carries.
    fn guard(
        &self,
        key: &SwarmKey,
        record: Option<&EntryRecord>,
        lock: Option<&SwarmLock>,
    ) -> Result<Option<u64>> {
        if let Some(lock) = lock {
            if lock.key != key.as_str() {
                return Err(SwarmError::InvalidInput(format!(
                    "the lock given is for {}, not {key}",
                    lock.key
                )));
            }
            if self.holds(lock)? == LeaseMode::Shared {
                return Err(SwarmError::ReadLockCannotWrite(key.to_string()));
            }
            let newest = record.map_or(0, |r| r.lock_epoch);
            if newest > lock.epoch {
                return Err(StoreError::Fenced {
                    lease: lease_name(key.as_str()),
                    epoch: lock.epoch,
                    reason: format!("a lock with epoch {newest} was granted since"),
                }
                .into());
            }
            return Ok(Some(lock.epoch));
        }
        // A key with no record may be locked too (its holder deleted it).
        if record.is_none_or(|r| r.lock_epoch > 0)
            && let Some(state) = self.leases.state(&lease_name(key.as_str()))?
            && !state.holders.is_empty()
        {
            let now = self.now();
            let exclusive = state.holders.iter().any(|h| h.mode == LeaseMode::Exclusive);
            let mode = match record {
                Some(r)
                    if exclusive && state.holders.iter().any(|h| h.epoch == r.exclusive_epoch) =>
                {
                    LockKind::Exclusive
                }
                _ if exclusive => LockKind::Write,
                _ => LockKind::Read,
            };
            return Err(SwarmError::Locked {
                key: key.to_string(),
                holders: state.holders.len(),
                mode: mode.name(),
                expires_in_ms: state
                    .holders
                    .iter()
                    .map(|h| u64::try_from(h.expires_at - now).unwrap_or(0))
                    .min()
                    .unwrap_or(0),
            });
        }
        Ok(None)
    }

    /// `delete`: removes the entry under `key` (under a lock, only with it; with
    /// `expected_version`, only at that version). Answers whether a live entry was removed.
    pub fn delete(
        &self,
        agent: Option<&str>,
        key: &str,
        expected_version: Option<u64>,
        lock: Option<&SwarmLock>,
    ) -> Result<bool> {
        let key = parse_key(key)?;
        may_write(agent, &key)?;
        for _ in 0..ATTEMPTS {
            let now = self.now();
            let Some((record, version)) = self.read(&key)? else {
                return match expected_version {
                    None => Ok(false),
                    Some(_) => Err(SwarmError::Conflict {
                        key: key.to_string(),
                        expected: expected_version,
                        current: None,
                    }),
                };
            };
            self.guard(&key, Some(&record), lock)?;
            let live = record.live(now);
            if let Some(expected) = expected_version
                && (!live || expected != record.version)
            {
                return Err(SwarmError::Conflict {
                    key: key.to_string(),
                    expected: expected_version,
                    current: live.then(|| Box::new(record.entry())),
                });
            }
            match self.entries.delete_if_version(entry_id(&key), version) {
                Ok(()) => {
                    if live {
                        self.events.append(
                            EventKind::MemoryUpdated,
                            Some(&key),
                            agent,
                            now,
                            serde_json::json!({"deleted": true, "version": record.version}),
                        )?;
                    }
                    return Ok(live);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(SwarmError::Contended(key.to_string()))
    }

    /// Live entries under `prefix` (whole segments: `swarm/prod` lists `swarm/prod/…`),
    /// `limit` per page (1 to [`MAX_PAGE`]), from the cursor `after` of the previous page.
    pub fn list(&self, prefix: &str, limit: usize, after: Option<&str>) -> Result<Page> {
        let prefix = key::parse_prefix(prefix).map_err(SwarmError::InvalidKey)?;
        if limit == 0 || limit > MAX_PAGE {
            return Err(SwarmError::InvalidInput(format!(
                "limit is {limit}; give 1 to {MAX_PAGE}"
            )));
        }
        let offset = after
            .map(|cursor| {
                cursor.parse::<PointId>().map_err(|_| {
                    SwarmError::InvalidInput(format!(
                        "after {cursor:?} is not a cursor from a previous page"
                    ))
                })
            })
            .transpose()?;
        let now = self.now();
        let filter = Filter::all([
            Condition::keyword("prefixes", prefix),
            Condition::Bool {
                field: "present".into(),
                value: true,
            },
        ])
        .and_not(Condition::at_most("expires_at", now as f64));
        let (records, next) = self.entries.scroll(Some(&filter), limit, offset, false)?;
        let mut entries = Vec::with_capacity(records.len());
        for record in records {
            let parsed: EntryRecord = from_payload(ENTRIES_COLLECTION, record.id, record.payload)?;
            if parsed.live(now) {
                entries.push(parsed.entry());
            }
        }
        Ok(Page {
            entries,
            next: next.map(|id| id.to_string()),
        })
    }

    /// `lock`: grants a lock on `key`, waiting up to `wait` for it to be free
    /// ([`StoreError::LeaseHeld`] when it is not), for `ttl` unless renewed.
    pub fn lock(
        &self,
        key: &str,
        kind: LockKind,
        ttl: Duration,
        wait: Duration,
        owner: &str,
    ) -> Result<SwarmLock> {
        let key = parse_key(key)?;
        let lease = self.leases.acquire(&Acquire {
            name: lease_name(key.as_str()),
            mode: kind.lease_mode(),
            ttl,
            wait,
            owner: owner.to_owned(),
        })?;
        let lock = SwarmLock {
            key: key.to_string(),
            kind,
            token: lease.token.clone(),
            epoch: lease.epoch,
            acquired_at: lease.acquired_at,
            expires_at: lease.expires_at,
        };
        if let Err(error) = self.stamp(&key, &lock) {
            // Best effort: the lease lapses by itself if this fails too.
            let _ = self.leases.release(&lease);
            return Err(error);
        }
        self.events.append(
            EventKind::LockAcquired,
            Some(&key),
            None,
            lock.acquired_at,
            serde_json::json!({"kind": kind, "epoch": lock.epoch, "owner": owner}),
        )?;
        Ok(lock)
    }

    /// Records the grant on the key's record (creating a placeholder for a key never
    /// written), as a compare-and-set: from here on, writes without the lock fail.
    fn stamp(&self, key: &SwarmKey, lock: &SwarmLock) -> Result<()> {
        let id = entry_id(key);
        let exclusive = if lock.kind == LockKind::Exclusive {
            lock.epoch
        } else {
            0
        };
        for _ in 0..ATTEMPTS {
            let written = match self.read(key)? {
                None => {
                    let now = self.now();
                    let placeholder = EntryRecord {
                        key: key.to_string(),
                        version: 0,
                        category: key.category(),
                        prefixes: key.prefixes(),
                        present: false,
                        value: Value::Null,
                        agent_id: None,
                        created_at: now,
                        updated_at: now,
                        hlc: 0,
                        expires_at: None,
                        lock_epoch: lock.epoch,
                        exclusive_epoch: exclusive,
                    };
                    self.entries
                        .create(record_point(id, to_payload(&placeholder)?))
                }
                Some((record, _))
                    if record.lock_epoch >= lock.epoch && record.exclusive_epoch >= exclusive =>
                {
                    return Ok(());
                }
                Some((record, version)) => {
                    let mut patch = Payload::new();
                    patch.insert(
                        "lock_epoch".into(),
                        Value::from(record.lock_epoch.max(lock.epoch)),
                    );
                    patch.insert(
                        "exclusive_epoch".into(),
                        Value::from(record.exclusive_epoch.max(exclusive)),
                    );
                    self.entries.compare_and_set_payload(id, patch, version)
                }
            };
            match written {
                Ok(_) => return Ok(()),
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(SwarmError::Contended(key.to_string()))
    }

    /// Extends a held lock to `ttl` from now ([`StoreError::LeaseLost`] once it lapsed).
    pub fn renew(&self, lock: &SwarmLock, ttl: Duration) -> Result<SwarmLock> {
        parse_key(&lock.key)?;
        let lease = self.leases.renew(&lock.lease(), ttl)?;
        Ok(SwarmLock {
            expires_at: lease.expires_at,
            ..lock.clone()
        })
    }

    /// Gives a lock up; answers whether it was still held.
    pub fn unlock(&self, lock: &SwarmLock) -> Result<bool> {
        let key = parse_key(&lock.key)?;
        let released = self.leases.release(&lock.lease())?;
        if released {
            self.events.append(
                EventKind::LockReleased,
                Some(&key),
                None,
                self.now(),
                serde_json::json!({"kind": lock.kind, "epoch": lock.epoch}),
            )?;
        }
        Ok(released)
    }

    /// Live entries per category and per writing agent, and the entries whose expiry has
    /// passed but that no sweep removed yet (reads never return them), with up to `sample`
    /// of their keys: what a health report shows of swarm memory.
    pub fn census(&self, sample: usize) -> Result<Census> {
        let now = self.now();
        let live = Filter::all([Condition::Bool {
            field: "present".into(),
            value: true,
        }])
        .and_not(Condition::at_most("expires_at", now as f64));
        let count = |field: &str| -> Result<BTreeMap<String, usize>> {
            Ok(self
                .entries
                .facet(field, Some(&live), FACET_LIMIT)?
                .into_iter()
                .collect())
        };
        let expired = Filter::all([Condition::at_most("expires_at", now as f64)]);
        let (records, _) = self
            .entries
            .scroll(Some(&expired), sample.max(1), None, false)?;
        Ok(Census {
            live: self.entries.count(Some(&live))?,
            by_category: count("category")?,
            by_agent: count("agent_id")?,
            expired: self.entries.count(Some(&expired))?,
            expired_keys: records
                .into_iter()
                .take(sample)
                .filter_map(|r| r.payload.get("key")?.as_str().map(str::to_owned))
                .collect(),
        })
    }

    /// Deletes every expired entry now; answers how many there were.
    pub fn sweep(&self) -> Result<usize> {
        let now = self.now();
        self.last_sweep.store(now, Ordering::Relaxed);
        // `expires_at <= now` holds for the same points when the delete runs (an expiry
        // only moves with a write, which makes the entry live again): a concurrent write
        // that renewed the entry first is not deleted.
        let expired = Filter::all([Condition::at_most("expires_at", now as f64)]);
        let count = self.entries.count(Some(&expired))?;
        if count > 0 {
            self.entries.delete_by_filter(&expired)?;
        }
        Ok(count)
    }

    fn sweep_now_and_then(&self) {
        let now = self.now();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= SWEEP_EVERY_MS
            && self
                .last_sweep
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && let Err(error) = self.sweep()
        {
            tracing::warn!(%error, "sweeping expired swarm entries failed");
        }
    }
}

fn parse_key(key: &str) -> Result<SwarmKey> {
    SwarmKey::parse(key).map_err(SwarmError::InvalidKey)
}

/// `agent/{agent}/…` keys are written by that agent or an admin.
fn may_write(agent: Option<&str>, key: &SwarmKey) -> Result<()> {
    match agent {
        Some(agent) if key.category() == Category::Agent && key.subcategory() != agent => {
            Err(SwarmError::NotOwner {
                key: key.to_string(),
                owner: key.subcategory().to_owned(),
            })
        }
        _ => Ok(()),
    }
}
