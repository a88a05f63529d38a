//! General memory (design note 003): memories with a type, a tier, an importance, metadata,
//! tags, a parent, a session and an owner agent; versions; search by meaning scored with
//! recency, importance and reinforcement ([`scoring`]); sessions, relationships, context
//! groups and batches.
//!
//! Collections, and no number that is read, changed and written back (DESIGN.md,
//! coordination rules):
//! - `memories`: one point per memory, embedded, a versioned record: an update is a
//!   compare-and-set on its version (a stale `expected_version` is a conflict carrying the
//!   current one); `touched_at` and a short-term memory's `expires_at` only grow.
//! - `memory_versions`: the content of every superseded version, written before the update
//!   that supersedes it (so history never misses a version, whoever wins the race).
//! - `memory_reinforcements`: one observation per reinforcement; the bonus is computed from
//!   them on read.
//! - `memory_deletions`: the intent of a delete that touches many points (a cascade, children
//!   detached, relationships removed), written first and removed when done;
//!   [`Memories::reconcile`] finishes what a crash interrupted, when general memory opens.
//! - `memory_relationships`, `memory_sessions`, `memory_groups`, `memory_group_members`:
//!   records with ids derived from what they join, so adding one twice changes nothing.
//!
//! Who sees what: a memory with an `agent_id` is that agent's; one without is everyone's to
//! read. Every call takes the viewer (`None` for an admin) and answers another agent's memory
//! exactly as one that does not exist; an agent updates and deletes only its own memories
//! (so a cascade never reaches another agent's memory but through an admin's hands).

mod error;
mod maintenance;
mod record;
pub mod scoring;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use error::{MemoriesError, Result};
pub use maintenance::{DuplicateSet, MemoriesCensus, OrphanChild, Orphans};
pub use record::{
    BatchAdded, BatchItem, DEFAULT_TYPE, Deletion, Direction, Group, GroupMembers, ItemError,
    Memory, MemoryFilters, MemoryHistory, MemoryInput, MemoryUpdate, Reinforced, Related,
    Relationship, ScoredMemory, Session, Tier,
};
pub use scoring::Scoring;

use crate::embed::Embedder;
use crate::store::coord::clock;
use crate::store::coord::idempotency::IdempotencyKeys;
use crate::store::coord::lease::Clock;
use crate::store::{
    Applied, Collection, CollectionSpec, Condition, FieldKind, Filter, Order, Payload, Point,
    PointId, Query, SearchRequest, Store, StoreError,
};

/// The memories.
pub const MEMORIES_COLLECTION: &str = "memories";
/// Superseded versions of memories.
pub const VERSIONS_COLLECTION: &str = "memory_versions";
/// Reinforcement observations.
pub const REINFORCEMENTS_COLLECTION: &str = "memory_reinforcements";
/// Intents of deletes that touch many points.
pub const DELETIONS_COLLECTION: &str = "memory_deletions";
/// Relationships between memories.
pub const RELATIONSHIPS_COLLECTION: &str = "memory_relationships";
/// Sessions.
pub const SESSIONS_COLLECTION: &str = "memory_sessions";
/// Context groups.
pub const GROUPS_COLLECTION: &str = "memory_groups";
/// Memberships of context groups.
pub const MEMBERS_COLLECTION: &str = "memory_group_members";
/// Most memories a listing, a search or a batch answers.
pub const MAX_LIST: usize = 1000;
/// Most tags on a memory.
pub const MAX_TAGS: usize = 32;
/// Largest metadata object, serialised (bytes).
pub const MAX_METADATA_BYTES: usize = 64 << 10;
/// Largest reinforcement factor: one reinforcement closes at most 90 % of the distance to 1.
pub const MAX_FACTOR: f64 = 10.0;
/// How many memories a delete removes per step (each step is durable).
const DELETE_CHUNK: usize = 100;
/// How often (at most) a write sweeps expired short-term memories, milliseconds.
const SWEEP_EVERY_MS: i64 = 60_000;
/// How many times an update without `expected_version` retries a lost race.
const UPDATE_ATTEMPTS: usize = 16;
/// Fields a child listing may be sorted by.
pub const SORT_FIELDS: [&str; 4] = ["created_at", "updated_at", "touched_at", "importance"];

/// The schema of the memories collection.
pub fn memories_spec(dimension: usize) -> CollectionSpec {
    CollectionSpec::new(MEMORIES_COLLECTION, dimension)
        .with_index("memory_type", FieldKind::Keyword)
        .with_index("memory_tier", FieldKind::Keyword)
        .with_index("tags", FieldKind::Keyword)
        .with_index("parent_id", FieldKind::Keyword)
        .with_index("session_id", FieldKind::Keyword)
        .with_index("agent_id", FieldKind::Keyword)
        .with_index("importance", FieldKind::Float)
        .with_index("created_at", FieldKind::Integer)
        .with_index("updated_at", FieldKind::Integer)
        .with_index("touched_at", FieldKind::Integer)
        .with_index("expires_at", FieldKind::Integer)
}

fn records_spec(name: &str, keywords: &[&str], integers: &[&str]) -> CollectionSpec {
    let mut spec = CollectionSpec::records(name);
    for field in keywords {
        spec = spec.with_index(*field, FieldKind::Keyword);
    }
    for field in integers {
        spec = spec.with_index(*field, FieldKind::Integer);
    }
    spec
}

/// A memory as stored (its version is the record's `_version`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MemoryRecord {
    content: String,
    memory_type: String,
    memory_tier: Tier,
    importance: f64,
    metadata: Map<String, Value>,
    tags: Vec<String>,
    parent_id: Option<PointId>,
    session_id: Option<PointId>,
    agent_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    touched_at: i64,
    expires_at: Option<i64>,
}

/// A superseded version as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct VersionRecord {
    memory_id: PointId,
    version: u64,
    memory: MemoryRecord,
}

/// The intent of a delete.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeletionIntent {
    root: PointId,
    cascade: bool,
    /// Delete the root only if it has expired by this time (a sweep), else unconditionally.
    expired_by: Option<i64>,
    started_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRecord {
    user_id: String,
    session_type: String,
    metadata: Map<String, Value>,
    agent_id: Option<String>,
    created_at: i64,
    ended_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GroupRecord {
    name: String,
    description: Option<String>,
    created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MemberRecord {
    group_id: PointId,
    memory_id: PointId,
    added_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RelationshipRecord {
    source_id: PointId,
    target_id: PointId,
    relationship_type: String,
    strength: f64,
    created_at: i64,
}

/// A validated memory ready to embed and store.
struct Prepared {
    id: PointId,
    record: MemoryRecord,
}

/// General memory over a store and an embedder.
pub struct Memories {
    memories: Collection,
    versions: Collection,
    reinforcements: Collection,
    deletions: Collection,
    relationships: Collection,
    sessions: Collection,
    groups: Collection,
    members: Collection,
    keys: IdempotencyKeys,
    embedder: Arc<dyn Embedder>,
    scoring: Scoring,
    now: Clock,
    last_sweep: AtomicI64,
}

impl std::fmt::Debug for Memories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memories")
            .field("scoring", &self.scoring)
            .finish_non_exhaustive()
    }
}

impl Memories {
    /// Opens (creating on first use) the collections and finishes any delete a crash
    /// interrupted. `scoring` must be valid ([`Scoring::validate`]).
    pub fn new(store: &Store, embedder: Arc<dyn Embedder>, scoring: Scoring) -> Result<Self> {
        scoring.validate().map_err(MemoriesError::InvalidInput)?;
        let memories = Self {
            memories: store.collection(&memories_spec(embedder.dimension()))?,
            versions: store.collection(&records_spec(
                VERSIONS_COLLECTION,
                &["memory_id"],
                &["version"],
            ))?,
            reinforcements: store.collection(&records_spec(
                REINFORCEMENTS_COLLECTION,
                &["memory_id"],
                &["at"],
            ))?,
            deletions: store.collection(&records_spec(DELETIONS_COLLECTION, &[], &[]))?,
            relationships: store.collection(&records_spec(
                RELATIONSHIPS_COLLECTION,
                &["source_id", "target_id", "relationship_type"],
                &[],
            ))?,
            sessions: store.collection(&records_spec(
                SESSIONS_COLLECTION,
                &["user_id", "agent_id"],
                &["created_at"],
            ))?,
            groups: store.collection(&records_spec(GROUPS_COLLECTION, &[], &[]))?,
            members: store.collection(&records_spec(
                MEMBERS_COLLECTION,
                &["group_id", "memory_id"],
                &["added_at"],
            ))?,
            keys: IdempotencyKeys::open(store)?,
            embedder,
            scoring,
            now: Arc::new(|| clock().now().millis()),
            last_sweep: AtomicI64::new(i64::MIN),
        };
        memories.reconcile()?;
        Ok(memories)
    }

    /// The same memory with another clock (Unix milliseconds): tests fix the time to check
    /// decay and expiry.
    pub fn with_clock(mut self, now: Clock) -> Self {
        self.now = now;
        self
    }

    /// The scoring in force.
    pub fn scoring(&self) -> &Scoring {
        &self.scoring
    }

    fn now(&self) -> i64 {
        (self.now)()
    }

    /// `add_memory`: stores a memory, embedded. Durable when it returns. With an idempotency
    /// `key`, a retry stores nothing new and answers the first memory.
    pub fn add_memory(&self, input: MemoryInput, key: Option<&str>) -> Result<Memory> {
        self.sweep_now_and_then();
        let now = self.now();
        let id = match key {
            Some(key) => PointId::from_content(&[b"memory", key.as_bytes()]),
            None => PointId::from(uuid::Uuid::new_v4()),
        };
        let prepared = self.prepare(id, input, now)?;
        let request = serde_json::json!({
            "content": prepared.record.content,
            "memory_type": prepared.record.memory_type,
            "memory_tier": prepared.record.memory_tier,
            "importance": prepared.record.importance,
            "metadata": prepared.record.metadata,
            "tags": prepared.record.tags,
            "parent_id": prepared.record.parent_id,
            "session_id": prepared.record.session_id,
            "agent_id": prepared.record.agent_id,
        });
        self.keys.run("memories", key, &request, |_| {
            let vector = self.embedder.embed(&prepared.record.content)?;
            let created = match self
                .memories
                .create(point(prepared.id, vector, &prepared.record)?)
            {
                Ok(version) => Some(version),
                // A retry whose first attempt stored the memory but not its key.
                Err(StoreError::Conflict { .. }) if key.is_some() => None,
                Err(other) => return Err(other.into()),
            };
            self.check_parent_kept(&prepared)?;
            match created {
                // What this call wrote, as the batch answers it: reading it back could find
                // a short-term memory already expired when the embedding took longer than
                // its time to live, and answer "unknown" for a memory that was stored.
                Some(version) => Ok(view(prepared.id, prepared.record.clone(), version)),
                None => self.get_memory(None, prepared.id),
            }
        })
    }

    /// `batch_add_memories`: validates every item, embeds the valid ones in one batch and
    /// stores them in one write. One bad item does not fail the others: each gets its
    /// result, in request order. With an idempotency `key`, a retry stores nothing new and
    /// answers the first results.
    pub fn batch_add_memories(
        &self,
        inputs: Vec<MemoryInput>,
        key: Option<&str>,
    ) -> Result<BatchAdded> {
        if inputs.len() > MAX_LIST {
            return Err(invalid(format!(
                "a batch holds 1 to {MAX_LIST} memories, not {}",
                inputs.len()
            )));
        }
        let request = inputs.clone();
        self.keys.run("memories/batch", key, &request, |_| {
            self.batch_add_once(inputs)
        })
    }

    fn batch_add_once(&self, inputs: Vec<MemoryInput>) -> Result<BatchAdded> {
        self.sweep_now_and_then();
        let now = self.now();
        let mut results: Vec<BatchItem> = Vec::with_capacity(inputs.len());
        let mut ready = Vec::new();
        for (index, input) in inputs.into_iter().enumerate() {
            match self.prepare(PointId::from(uuid::Uuid::new_v4()), input, now) {
                Ok(prepared) => {
                    ready.push((index, prepared));
                    results.push(BatchItem {
                        index,
                        memory: None,
                        error: None,
                    });
                }
                Err(error) => results.push(BatchItem {
                    index,
                    memory: None,
                    error: Some(item_error(&error)),
                }),
            }
        }
        if !ready.is_empty() {
            let texts: Vec<&str> = ready
                .iter()
                .map(|(_, p)| p.record.content.as_str())
                .collect();
            let vectors = self.embedder.embed_batch(&texts)?;
            let points = ready
                .iter()
                .zip(vectors)
                .map(|((_, p), vector)| point(p.id, vector, &p.record))
                .collect::<Result<Vec<_>>>()?;
            self.memories.create_many(points)?;
            for (index, prepared) in ready {
                results[index] = match self.check_parent_kept(&prepared) {
                    Ok(()) => BatchItem {
                        index,
                        memory: Some(view(prepared.id, prepared.record, 1)),
                        error: None,
                    },
                    Err(error) => BatchItem {
                        index,
                        memory: None,
                        error: Some(item_error(&error)),
                    },
                };
            }
        }
        let stored = results.iter().filter(|r| r.memory.is_some()).count();
        Ok(BatchAdded {
            stored,
            failed: results.len() - stored,
            results,
        })
    }

    /// Validates an input into the record to store.
    fn prepare(&self, id: PointId, input: MemoryInput, now: i64) -> Result<Prepared> {
        let content = crate::text::canonical(&input.content).into_owned();
        crate::text::check_required("content", &content, crate::text::MAX_TEXT_CHARS)
            .map_err(MemoriesError::InvalidInput)?;
        let memory_type = label(
            "memory_type",
            input.memory_type.as_deref().unwrap_or(DEFAULT_TYPE),
        )?;
        let importance = importance(input.importance.unwrap_or(0.5))?;
        let metadata = metadata(input.metadata.unwrap_or_default())?;
        let tags = tags(&input.tags)?;
        let agent_id = input
            .agent_id
            .as_deref()
            .map(|a| label("agent_id", a))
            .transpose()?;
        if let Some(parent) = input.parent_id {
            self.visible(agent_id.as_deref(), parent, now)?;
        }
        if let Some(session) = input.session_id {
            self.get_session(agent_id.as_deref(), session)?;
        }
        let tier = input.memory_tier.unwrap_or(Tier::Short);
        Ok(Prepared {
            id,
            record: MemoryRecord {
                content,
                memory_type,
                memory_tier: tier,
                importance,
                metadata,
                tags,
                parent_id: input.parent_id,
                session_id: input.session_id,
                agent_id,
                created_at: now,
                updated_at: now,
                touched_at: now,
                expires_at: self.expiry(tier, now),
            },
        })
    }

    fn expiry(&self, tier: Tier, now: i64) -> Option<i64> {
        (tier == Tier::Short).then(|| now.saturating_add(self.scoring.short_ttl_ms()))
    }

    /// A child written while its parent was being deleted: the delete may have scanned for
    /// children before the child landed. The parent is read after the child is written; if
    /// it is gone the child is removed too (the delete's own rescan covers the other order).
    fn check_parent_kept(&self, prepared: &Prepared) -> Result<()> {
        let Some(parent) = prepared.record.parent_id else {
            return Ok(());
        };
        if self.memories.get(&[parent], false)?.is_empty() {
            self.memories.delete(&[prepared.id])?;
            return Err(MemoriesError::UnknownMemory(parent.to_string()));
        }
        Ok(())
    }

    /// `get_memory(id)`: the memory, if the viewer may see it and it has not expired.
    pub fn get_memory(&self, viewer: Option<&str>, id: PointId) -> Result<Memory> {
        let (record, version) = self.visible(viewer, id, self.now())?;
        Ok(view(id, record, version))
    }

    /// `batch_get_memories(ids)`: in input order, `None` for a memory that is absent,
    /// expired or not the viewer's.
    pub fn batch_get_memories(
        &self,
        viewer: Option<&str>,
        ids: &[PointId],
    ) -> Result<Vec<Option<Memory>>> {
        if ids.len() > MAX_LIST {
            return Err(invalid(format!(
                "give at most {MAX_LIST} ids, not {}",
                ids.len()
            )));
        }
        let now = self.now();
        let mut found: HashMap<PointId, Memory> = HashMap::new();
        for record in self.memories.get(ids, false)? {
            let version = crate::store::coord::version_of(&record.payload);
            let parsed: MemoryRecord = parse(MEMORIES_COLLECTION, record.id, record.payload)?;
            if sees(viewer, &parsed) && alive(&parsed, now) {
                found.insert(record.id, view(record.id, parsed, version));
            }
        }
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    /// The record of `id` if `viewer` may see it and it has not expired, else
    /// [`MemoriesError::UnknownMemory`].
    fn visible(&self, viewer: Option<&str>, id: PointId, now: i64) -> Result<(MemoryRecord, u64)> {
        let Some(current) = self.memories.read_versioned(id)? else {
            return Err(MemoriesError::UnknownMemory(id.to_string()));
        };
        let record: MemoryRecord = parse(MEMORIES_COLLECTION, id, current.record.payload)?;
        if !sees(viewer, &record) || !alive(&record, now) {
            return Err(MemoriesError::UnknownMemory(id.to_string()));
        }
        Ok((record, current.version))
    }

    /// `update_memory(id, update_payload)`: writes a new version (compare-and-set on the
    /// current one). With `expected_version`, any other current version is
    /// [`StoreError::Conflict`] carrying it, and nothing changes; without, the change applies
    /// to the version current when it lands. The superseded version is kept in history.
    /// An update touches the memory (recency restarts; a short-term one lives another TTL).
    pub fn update_memory(
        &self,
        viewer: Option<&str>,
        id: PointId,
        update: MemoryUpdate,
    ) -> Result<Memory> {
        let content = match &update.content {
            Some(c) => {
                let c = crate::text::canonical(c).into_owned();
                crate::text::check_required("content", &c, crate::text::MAX_TEXT_CHARS)
                    .map_err(MemoriesError::InvalidInput)?;
                Some(c)
            }
            None => None,
        };
        let memory_type = update
            .memory_type
            .as_deref()
            .map(|t| label("memory_type", t))
            .transpose()?;
        let new_importance = update.importance.map(importance).transpose()?;
        let new_metadata = update.metadata.clone().map(metadata).transpose()?;
        let new_tags = update.tags.as_deref().map(tags).transpose()?;
        let mut vector_of_content: Option<Vec<f32>> = None;
        for _ in 0..UPDATE_ATTEMPTS {
            let now = self.now();
            let Some(stored) = self.memories.get(&[id], true)?.into_iter().next() else {
                return Err(MemoriesError::UnknownMemory(id.to_string()));
            };
            let version = crate::store::coord::version_of(&stored.payload);
            let old: MemoryRecord = parse(MEMORIES_COLLECTION, id, stored.payload.clone())?;
            if !sees(viewer, &old) || !alive(&old, now) {
                return Err(MemoriesError::UnknownMemory(id.to_string()));
            }
            if !owns(viewer, &old) {
                return Err(MemoriesError::NotOwner(id.to_string()));
            }
            if let Some(expected) = update.expected_version
                && expected != version
            {
                return Err(conflict(id, Some(expected), Some(version)));
            }
            let mut new = old.clone();
            if let Some(c) = &content {
                new.content.clone_from(c);
            }
            if let Some(t) = &memory_type {
                new.memory_type.clone_from(t);
            }
            if let Some(tier) = update.memory_tier {
                new.memory_tier = tier;
            }
            if let Some(i) = new_importance {
                new.importance = i;
            }
            if let Some(m) = &new_metadata {
                new.metadata.clone_from(m);
            }
            if let Some(t) = &new_tags {
                new.tags.clone_from(t);
            }
            new.updated_at = now.max(old.updated_at);
            new.touched_at = now.max(old.touched_at);
            new.expires_at = self
                .expiry(new.memory_tier, now)
                .map(|e| e.max(old.expires_at.unwrap_or(i64::MIN)));
            let vector = if new.content == old.content {
                stored.vector.clone().unwrap_or_default()
            } else {
                match &vector_of_content {
                    Some(v) => v.clone(),
                    None => {
                        let v = self.embedder.embed(&new.content)?;
                        vector_of_content = Some(v.clone());
                        v
                    }
                }
            };
            // The superseded version first: whoever wins, history has every version.
            let snapshot = VersionRecord {
                memory_id: id,
                version,
                memory: old,
            };
            self.versions.upsert(vec![Point {
                id: version_id(id, version),
                vector: Vec::new(),
                text: String::new(),
                payload: to_payload(&snapshot)?,
            }])?;
            match self
                .memories
                .compare_and_set(point(id, vector, &new)?, version)
            {
                Ok(written) => return Ok(view(id, new, written)),
                Err(StoreError::Conflict { current, .. }) if update.expected_version.is_some() => {
                    return Err(conflict(id, update.expected_version, current));
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(MemoriesError::Store(StoreError::Unconfirmed {
            collection: MEMORIES_COLLECTION.into(),
            id,
            message: format!(
                "{UPDATE_ATTEMPTS} updates in a row lost the race to other writers; retry"
            ),
        }))
    }

    /// `history(id)`: every version kept, oldest first, the current one last.
    pub fn history(&self, viewer: Option<&str>, id: PointId) -> Result<MemoryHistory> {
        let current = self.get_memory(viewer, id)?;
        let filter = Filter::all([Condition::keyword("memory_id", id.to_string())]);
        let mut versions: Vec<Memory> = self
            .versions
            .scroll_all(Some(&filter))?
            .into_iter()
            .map(|r| {
                let v: VersionRecord = parse(VERSIONS_COLLECTION, r.id, r.payload)?;
                Ok(view(id, v.memory, v.version))
            })
            .collect::<Result<_>>()?;
        versions.retain(|v| v.version < current.version);
        versions.sort_by_key(|v| v.version);
        versions.push(current);
        Ok(MemoryHistory { id, versions })
    }

    /// `delete_memory(id, cascade)`: removes the memory and its relationships, group
    /// memberships, reinforcements and history; with `cascade` its descendants too (whoever
    /// they belong to), without it its children stay, detached. The intent is written first:
    /// a delete a crash interrupted is finished when general memory next opens.
    pub fn delete_memory(
        &self,
        viewer: Option<&str>,
        id: PointId,
        cascade: bool,
    ) -> Result<Deletion> {
        let (record, _) = self.visible(viewer, id, self.now())?;
        if !owns(viewer, &record) {
            return Err(MemoriesError::NotOwner(id.to_string()));
        }
        let intent = DeletionIntent {
            root: id,
            cascade,
            expired_by: None,
            started_at: self.now(),
        };
        self.deletions.upsert(vec![Point {
            id,
            vector: Vec::new(),
            text: String::new(),
            payload: to_payload(&intent)?,
        }])?;
        let deletion = self.carry_out(&intent)?;
        self.deletions.delete(&[id])?;
        Ok(deletion)
    }

    /// Finishes every delete whose intent was written but not completed (a crash in
    /// between). Answers how many.
    pub fn reconcile(&self) -> Result<usize> {
        let pending = self.deletions.scroll_all(None)?;
        for record in &pending {
            let intent: DeletionIntent =
                parse(DELETIONS_COLLECTION, record.id, record.payload.clone())?;
            tracing::info!(
                "finishing the delete of memory {} a crash interrupted",
                intent.root
            );
            self.carry_out(&intent)?;
            self.deletions.delete(&[record.id])?;
        }
        Ok(pending.len())
    }

    /// Carries out a delete; every step is idempotent, so running it again after a crash
    /// finishes it. A cascade removes the deepest memories first, so that whatever a crash
    /// leaves is still one tree under the root and the next run finds all of it.
    fn carry_out(&self, intent: &DeletionIntent) -> Result<Deletion> {
        let mut deletion = Deletion {
            id: intent.root,
            deleted: 0,
            detached: 0,
            relationships: 0,
        };
        if !intent.cascade {
            let removed = match intent.expired_by {
                Some(by) => {
                    let expired = Filter::all([Condition::at_most("expires_at", by as f64)]);
                    match self.memories.delete_if(&[intent.root], &expired)? {
                        Applied::Points(n) => n,
                        Applied::Unknown => {
                            usize::from(self.memories.get(&[intent.root], false)?.is_empty())
                        }
                    }
                }
                None => {
                    let existed = !self.memories.get(&[intent.root], false)?.is_empty();
                    self.memories.delete(&[intent.root])?;
                    usize::from(existed)
                }
            };
            if removed == 0 && !self.memories.get(&[intent.root], false)?.is_empty() {
                // A sweep that lost to a reinforcement: the memory lives on.
                return Ok(deletion);
            }
            deletion.deleted = removed;
            deletion.relationships = self.remove_traces(&[intent.root])?;
            // Children written during the delete are found by the second look.
            for _ in 0..2 {
                let children = self.children_of(&[intent.root])?;
                if !children.is_empty() {
                    self.memories.set_payload(&children, no_parent())?;
                    deletion.detached += children.len();
                }
            }
            return Ok(deletion);
        }
        let mut roots = vec![intent.root];
        let mut all: HashSet<PointId> = HashSet::new();
        while !roots.is_empty() {
            let mut levels = vec![roots.clone()];
            loop {
                let next = self.children_of(levels.last().map_or(&[][..], Vec::as_slice))?;
                let next: Vec<PointId> = next.into_iter().filter(|id| !all.contains(id)).collect();
                if next.is_empty() {
                    break;
                }
                levels.push(next);
            }
            let order: Vec<PointId> = levels.iter().rev().flatten().copied().collect();
            let total = order.len();
            let existing: HashSet<PointId> = order
                .chunks(DELETE_CHUNK)
                .map(|chunk| self.memories.get(chunk, false))
                .collect::<std::result::Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .map(|r| r.id)
                .collect();
            let mut done = 0;
            for chunk in order.chunks(DELETE_CHUNK) {
                deletion.relationships += self.remove_traces(chunk)?;
                self.memories.delete(chunk)?;
                done += chunk.len();
                tracing::debug!(
                    "cascade delete of memory {}: {done} of {total} removed",
                    intent.root
                );
            }
            deletion.deleted += order.iter().filter(|id| existing.contains(id)).count();
            all.extend(order.iter().copied());
            // Children added under a memory of the tree while it was being deleted.
            let everything: Vec<PointId> = all.iter().copied().collect();
            roots = self
                .children_of(&everything)?
                .into_iter()
                .filter(|id| !all.contains(id))
                .collect();
        }
        Ok(deletion)
    }

    /// The ids of the children of any of `parents`.
    fn children_of(&self, parents: &[PointId]) -> Result<Vec<PointId>> {
        let mut children = Vec::new();
        for chunk in parents.chunks(256) {
            let filter = Filter::all([Condition::KeywordAny {
                field: "parent_id".into(),
                values: chunk.iter().map(PointId::to_string).collect(),
            }]);
            children.extend(
                self.memories
                    .scroll_all(Some(&filter))?
                    .into_iter()
                    .map(|r| r.id),
            );
        }
        Ok(children)
    }

    /// Removes what points at `ids`: relationships (answers how many), group memberships,
    /// reinforcements and superseded versions.
    fn remove_traces(&self, ids: &[PointId]) -> Result<usize> {
        let values: Vec<String> = ids.iter().map(PointId::to_string).collect();
        let any = |field: &str| Condition::KeywordAny {
            field: field.into(),
            values: values.clone(),
        };
        let related = Filter::any([any("source_id"), any("target_id")]);
        let relationships = self.relationships.count(Some(&related))?;
        if relationships > 0 {
            self.relationships.delete_by_filter(&related)?;
        }
        let of_memory = Filter::all([any("memory_id")]);
        for collection in [&self.members, &self.reinforcements, &self.versions] {
            if collection.count(Some(&of_memory))? > 0 {
                collection.delete_by_filter(&of_memory)?;
            }
        }
        Ok(relationships)
    }

    /// Deletes short-term memories whose expiry has passed (their children stay, detached).
    /// Answers how many. Reads never return an expired memory, swept or not.
    pub fn sweep(&self) -> Result<usize> {
        let now = self.now();
        self.last_sweep.store(now, Ordering::Relaxed);
        let expired = Filter::all([Condition::at_most("expires_at", now as f64)]);
        let mut swept = 0;
        for record in self.memories.scroll_all(Some(&expired))? {
            let intent = DeletionIntent {
                root: record.id,
                cascade: false,
                expired_by: Some(now),
                started_at: now,
            };
            self.deletions.upsert(vec![Point {
                id: record.id,
                vector: Vec::new(),
                text: String::new(),
                payload: to_payload(&intent)?,
            }])?;
            swept += self.carry_out(&intent)?.deleted;
            self.deletions.delete(&[record.id])?;
        }
        Ok(swept)
    }

    /// Sweeps when the last sweep is more than a minute old (writes call it).
    fn sweep_now_and_then(&self) {
        let now = self.now();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if now.saturating_sub(last) < SWEEP_EVERY_MS {
            return;
        }
        if let Err(error) = self.sweep() {
            tracing::warn!("cannot sweep expired memories: {error}");
        }
    }

    /// `search_memory(query, memory_type, limit, parent_id)`.
    pub fn search_memory(
        &self,
        viewer: Option<&str>,
        query: &str,
        memory_type: Option<&str>,
        limit: usize,
        parent_id: Option<PointId>,
    ) -> Result<Vec<ScoredMemory>> {
        let filters = MemoryFilters {
            memory_type: memory_type.map(str::to_owned),
            parent_id,
            ..MemoryFilters::default()
        };
        self.semantic_search(viewer, query, limit, &filters)
    }

    /// `semantic_search(query, k, filters)`: the `k` memories with the highest retrieval
    /// score ([`scoring`]) among the best matches by meaning (hybrid dense + BM25, as every
    /// recall of engram) that pass `filters`, are not expired and that the viewer may see.
    /// The candidates are the `max(4k, 40)` best by relevance, re-ranked by score.
    pub fn semantic_search(
        &self,
        viewer: Option<&str>,
        query: &str,
        k: usize,
        filters: &MemoryFilters,
    ) -> Result<Vec<ScoredMemory>> {
        check_limit(k, MAX_LIST)?;
        let query = crate::text::canonical(query).into_owned();
        crate::text::check_required("query", &query, crate::text::MAX_TEXT_CHARS)
            .map_err(MemoriesError::InvalidInput)?;
        let now = self.now();
        let Some(filter) = self.filter(viewer, filters, now)? else {
            return Ok(Vec::new());
        };
        let vector = self.embedder.embed(&query)?;
        let candidates = (4 * k).clamp(40, MAX_LIST);
        let hits = self.memories.search(
            &SearchRequest::new(
                Query::Hybrid {
                    vector,
                    text: query,
                },
                candidates,
            )
            .with_filter(filter),
        )?;
        let ids: Vec<PointId> = hits.iter().map(|h| h.id).collect();
        let factors = self.factors(&ids)?;
        let mut scored = Vec::with_capacity(hits.len());
        for hit in hits {
            let version = crate::store::coord::version_of(&hit.payload);
            let record: MemoryRecord = parse(MEMORIES_COLLECTION, hit.id, hit.payload)?;
            let relevance = f64::from(hit.score).clamp(0.0, 1.0);
            let recency = self
                .scoring
                .recency(record.memory_tier, record.touched_at, now);
            let reinforcement =
                scoring::reinforcement(factors.get(&hit.id).into_iter().flatten().copied());
            let score = self
                .scoring
                .score(relevance, recency, record.importance, reinforcement);
            scored.push(ScoredMemory {
                memory: view(hit.id, record, version),
                score,
                relevance,
                recency,
                reinforcement,
            });
        }
        scored.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.memory.id.cmp(&b.memory.id))
        });
        scored.truncate(k);
        Ok(scored)
    }

    /// The store filter of a search: `None` when nothing can pass (an empty group).
    fn filter(
        &self,
        viewer: Option<&str>,
        filters: &MemoryFilters,
        now: i64,
    ) -> Result<Option<Filter>> {
        let mut filter = Filter::all([not_expired(now)]);
        if let Some(viewer) = viewer {
            filter = filter.and(audience(viewer));
        }
        if let Some(t) = &filters.memory_type {
            filter = filter.and(Condition::keyword("memory_type", label("memory_type", t)?));
        }
        if let Some(tier) = filters.memory_tier {
            filter = filter.and(Condition::keyword("memory_tier", tier.name()));
        }
        for tag in tags(&filters.tags)? {
            filter = filter.and(Condition::keyword("tags", tag));
        }
        if let Some(parent) = filters.parent_id {
            filter = filter.and(Condition::keyword("parent_id", parent.to_string()));
        }
        if let Some(session) = filters.session_id {
            filter = filter.and(Condition::keyword("session_id", session.to_string()));
        }
        if let Some(agent) = &filters.agent_id {
            filter = filter.and(Condition::keyword("agent_id", label("agent_id", agent)?));
        }
        if let Some(after) = filters.created_after {
            filter = filter.and(Condition::at_least("created_at", after as f64));
        }
        if let Some(before) = filters.created_before {
            filter = filter.and(Condition::below("created_at", before as f64));
        }
        if let Some(group) = filters.group_id {
            self.group(group)?;
            let ids = self.member_ids(group)?;
            if ids.is_empty() {
                return Ok(None);
            }
            filter = filter.and(Condition::HasId(ids));
        }
        Ok(Some(filter))
    }

    /// The reinforcement factors of each of `ids`.
    fn factors(&self, ids: &[PointId]) -> Result<HashMap<PointId, Vec<f64>>> {
        let mut factors: HashMap<PointId, Vec<f64>> = HashMap::new();
        for chunk in ids.chunks(256) {
            let filter = Filter::all([Condition::KeywordAny {
                field: "memory_id".into(),
                values: chunk.iter().map(PointId::to_string).collect(),
            }]);
            for record in self.reinforcements.scroll_all(Some(&filter))? {
                let memory = record
                    .payload
                    .get("memory_id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<PointId>().ok());
                let factor = record.payload.get("factor").and_then(Value::as_f64);
                if let (Some(memory), Some(factor)) = (memory, factor) {
                    factors.entry(memory).or_default().push(factor);
                }
            }
        }
        Ok(factors)
    }

    /// `reinforce_memory(id, reinforcement_factor)`: appends a reinforcement (the factor,
    /// in (1, 10], closes `1 − 1/factor` of the distance between its bonus and 1) and
    /// touches the memory: recency restarts and a short-term memory lives another TTL.
    /// With an idempotency `key`, a retry appends no second reinforcement (the observation's
    /// id derives from the key).
    pub fn reinforce_memory(
        &self,
        viewer: Option<&str>,
        id: PointId,
        factor: f64,
        key: Option<&str>,
    ) -> Result<Reinforced> {
        if !factor.is_finite() || factor <= 1.0 || factor > MAX_FACTOR {
            return Err(invalid(format!(
                "reinforcement_factor is {factor}; give a number above 1 and at most {MAX_FACTOR}"
            )));
        }
        let now = self.now();
        let (record, _) = self.visible(viewer, id, now)?;
        let mut payload = Payload::new();
        payload.insert("memory_id".into(), Value::from(id.to_string()));
        payload.insert("factor".into(), Value::from(factor));
        payload.insert("at".into(), Value::from(now));
        let observation = match key {
            Some(key) => {
                crate::store::coord::idempotency::check_key(key)?;
                PointId::from_content(&[b"memory_reinforcement", key.as_bytes()])
            }
            None => PointId::from(uuid::Uuid::new_v4()),
        };
        self.reinforcements.upsert(vec![Point {
            id: observation,
            vector: Vec::new(),
            text: String::new(),
            payload,
        }])?;
        if self.memories.raise(id, "touched_at", now)?.is_none() {
            // Deleted meanwhile: the observation would outlive it.
            self.reinforcements.delete(&[observation])?;
            return Err(MemoriesError::UnknownMemory(id.to_string()));
        }
        if record.memory_tier == Tier::Short {
            self.memories
                .raise(id, "expires_at", now + self.scoring.short_ttl_ms())?;
        }
        let memory = self.get_memory(viewer, id)?;
        let factors = self.factors(&[id])?.remove(&id).unwrap_or_default();
        Ok(Reinforced {
            memory,
            reinforcements: factors.len(),
            reinforcement: scoring::reinforcement(factors),
        })
    }

    /// `get_children(parent_id, limit, sort_field, sort_order)`: the parent's children the
    /// viewer may see, sorted by `created_at`, `updated_at`, `touched_at` or `importance`,
    /// `asc` or `desc`.
    pub fn get_children(
        &self,
        viewer: Option<&str>,
        parent: PointId,
        limit: usize,
        sort_field: &str,
        sort_order: &str,
    ) -> Result<Vec<Memory>> {
        check_limit(limit, MAX_LIST)?;
        if !SORT_FIELDS.contains(&sort_field) {
            return Err(invalid(format!(
                "sort_field {sort_field:?} is unknown; give one of {}",
                SORT_FIELDS.join(", ")
            )));
        }
        let order = match sort_order {
            "asc" => Order::ascending(sort_field),
            "desc" => Order::descending(sort_field),
            other => {
                return Err(invalid(format!(
                    "sort_order {other:?} is unknown; give asc or desc"
                )));
            }
        };
        let now = self.now();
        self.visible(viewer, parent, now)?;
        let mut filter = Filter::all([
            Condition::keyword("parent_id", parent.to_string()),
            not_expired(now),
        ]);
        if let Some(viewer) = viewer {
            filter = filter.and(audience(viewer));
        }
        self.memories
            .scroll_ordered(Some(&filter), &order, limit)?
            .into_iter()
            .map(|r| {
                let version = crate::store::coord::version_of(&r.payload);
                Ok(view(
                    r.id,
                    parse(MEMORIES_COLLECTION, r.id, r.payload)?,
                    version,
                ))
            })
            .collect()
    }

    /// `add_relationship(source_id, target_id, relationship_type, strength)`: both memories
    /// must be visible to the viewer; adding the same (source, target, type) again keeps
    /// one relationship with the latest strength.
    pub fn add_relationship(
        &self,
        viewer: Option<&str>,
        source: PointId,
        target: PointId,
        relationship_type: &str,
        strength: f64,
    ) -> Result<Relationship> {
        let relationship_type = label("relationship_type", relationship_type)?;
        if !strength.is_finite() || !(0.0..=1.0).contains(&strength) {
            return Err(invalid(format!(
                "strength is {strength}; give a number from 0 to 1"
            )));
        }
        if source == target {
            return Err(invalid("a memory cannot be related to itself".into()));
        }
        let now = self.now();
        self.visible(viewer, source, now)?;
        self.visible(viewer, target, now)?;
        let id = PointId::from_content(&[
            b"memory_relationship",
            source.to_string().as_bytes(),
            target.to_string().as_bytes(),
            relationship_type.as_bytes(),
        ]);
        let record = RelationshipRecord {
            source_id: source,
            target_id: target,
            relationship_type,
            strength,
            created_at: now,
        };
        self.relationships.upsert(vec![Point {
            id,
            vector: Vec::new(),
            text: String::new(),
            payload: to_payload(&record)?,
        }])?;
        // Removed meanwhile by a delete of either end: take the relationship back out.
        if self.memories.get(&[source, target], false)?.len() < 2 {
            self.relationships.delete(&[id])?;
            return Err(MemoriesError::UnknownMemory(format!(
                "{source} or {target}"
            )));
        }
        Ok(relationship(id, record))
    }

    /// `get_related_memories(memory_id, relationship_type)`: memories related to this one in
    /// either direction (that the viewer may see), strongest first.
    pub fn get_related_memories(
        &self,
        viewer: Option<&str>,
        id: PointId,
        relationship_type: Option<&str>,
    ) -> Result<Vec<Related>> {
        let now = self.now();
        self.visible(viewer, id, now)?;
        let mut filter = Filter::any([
            Condition::keyword("source_id", id.to_string()),
            Condition::keyword("target_id", id.to_string()),
        ]);
        if let Some(t) = relationship_type {
            filter = Filter::all([
                Condition::Filter(Box::new(filter)),
                Condition::keyword("relationship_type", label("relationship_type", t)?),
            ]);
        }
        let links: Vec<Relationship> = self
            .relationships
            .scroll_all(Some(&filter))?
            .into_iter()
            .map(|r| {
                Ok(relationship(
                    r.id,
                    parse(RELATIONSHIPS_COLLECTION, r.id, r.payload)?,
                ))
            })
            .collect::<Result<_>>()?;
        let others: Vec<PointId> = links
            .iter()
            .map(|l| {
                if l.source_id == id {
                    l.target_id
                } else {
                    l.source_id
                }
            })
            .collect();
        let memories = self.batch_get_memories(viewer, &others[..others.len().min(MAX_LIST)])?;
        let mut related: Vec<Related> = links
            .into_iter()
            .zip(memories)
            .filter_map(|(link, memory)| {
                let direction = if link.source_id == id {
                    Direction::Outgoing
                } else {
                    Direction::Incoming
                };
                memory.map(|memory| Related {
                    memory,
                    relationship: link,
                    direction,
                })
            })
            .collect();
        related.sort_by(|a, b| {
            b.relationship
                .strength
                .total_cmp(&a.relationship.strength)
                .then_with(|| a.relationship.id.cmp(&b.relationship.id))
        });
        Ok(related)
    }

    /// `create_session(user_id, session_type, session_metadata)`, opened by `agent`. With an
    /// idempotency `key`, a retry answers the first session.
    pub fn create_session(
        &self,
        agent: Option<&str>,
        user_id: &str,
        session_type: &str,
        session_metadata: Option<Map<String, Value>>,
        key: Option<&str>,
    ) -> Result<Session> {
        let user_id = label("user_id", user_id)?;
        let session_type = label("session_type", session_type)?;
        let metadata = metadata(session_metadata.unwrap_or_default())?;
        let agent_id = agent.map(|a| label("agent_id", a)).transpose()?;
        let id = match key {
            Some(key) => PointId::from_content(&[b"memory_session", key.as_bytes()]),
            None => PointId::from(uuid::Uuid::new_v4()),
        };
        let request = serde_json::json!({
            "user_id": user_id, "session_type": session_type, "metadata": metadata,
            "agent_id": agent_id,
        });
        self.keys.run("memory_sessions", key, &request, |_| {
            let record = SessionRecord {
                user_id: user_id.clone(),
                session_type: session_type.clone(),
                metadata: metadata.clone(),
                agent_id: agent_id.clone(),
                created_at: self.now(),
                ended_at: None,
            };
            self.sessions.upsert(vec![Point {
                id,
                vector: Vec::new(),
                text: String::new(),
                payload: to_payload(&record)?,
            }])?;
            Ok(session(id, record))
        })
    }

    fn session(&self, id: PointId) -> Result<Session> {
        let Some(record) = self.sessions.get(&[id], false)?.into_iter().next() else {
            return Err(MemoriesError::UnknownSession(id.to_string()));
        };
        Ok(session(id, parse(SESSIONS_COLLECTION, id, record.payload)?))
    }

    /// A session, if the viewer opened it (or it has no agent, or the viewer is an admin).
    pub fn get_session(&self, viewer: Option<&str>, id: PointId) -> Result<Session> {
        let found = self.session(id)?;
        if viewer.is_some() && found.agent_id.is_some() && found.agent_id.as_deref() != viewer {
            return Err(MemoriesError::UnknownSession(id.to_string()));
        }
        Ok(found)
    }

    /// Ends a session (an agent ends only the sessions it opened); ending it again keeps the
    /// first end time.
    pub fn end_session(&self, viewer: Option<&str>, id: PointId) -> Result<Session> {
        let found = self.get_session(viewer, id)?;
        if viewer.is_some() && found.agent_id.as_deref() != viewer {
            return Err(MemoriesError::NotSessionOwner(id.to_string()));
        }
        let mut patch = Payload::new();
        patch.insert("ended_at".into(), Value::from(self.now()));
        self.sessions.set_payload_if(
            &[id],
            patch,
            &Filter::all([Condition::is_empty("ended_at")]),
        )?;
        self.get_session(viewer, id)
    }

    /// Sessions the viewer opened (an admin: all), of one user when given, only the open
    /// ones when `active_only`, newest first, at most `limit`.
    pub fn list_sessions(
        &self,
        viewer: Option<&str>,
        user_id: Option<&str>,
        active_only: bool,
        limit: usize,
    ) -> Result<Vec<Session>> {
        check_limit(limit, MAX_LIST)?;
        let mut filter = Filter::default();
        if let Some(viewer) = viewer {
            filter = filter.and(audience(viewer));
        }
        if let Some(user) = user_id {
            filter = filter.and(Condition::keyword("user_id", label("user_id", user)?));
        }
        if active_only {
            filter = filter.and(Condition::is_empty("ended_at"));
        }
        self.sessions
            .scroll_ordered(Some(&filter), &Order::descending("created_at"), limit)?
            .into_iter()
            .map(|r| Ok(session(r.id, parse(SESSIONS_COLLECTION, r.id, r.payload)?)))
            .collect()
    }

    /// `create_context_group(name, description)`: a group with a fresh UUID (safe across
    /// servers). With an idempotency `key`, a retry answers the first group.
    pub fn create_context_group(
        &self,
        name: &str,
        description: Option<&str>,
        key: Option<&str>,
    ) -> Result<Group> {
        let name = crate::text::canonical(name).into_owned();
        crate::text::check_required("name", &name, crate::text::MAX_TITLE_CHARS)
            .map_err(MemoriesError::InvalidInput)?;
        let description = description.map(|d| crate::text::canonical(d).into_owned());
        if let Some(d) = &description {
            crate::text::check_optional("description", d, crate::text::MAX_TEXT_CHARS)
                .map_err(MemoriesError::InvalidInput)?;
        }
        let id = match key {
            Some(key) => PointId::from_content(&[b"memory_group", key.as_bytes()]),
            None => PointId::from(uuid::Uuid::new_v4()),
        };
        let request = serde_json::json!({"name": name, "description": description});
        self.keys.run("memory_groups", key, &request, |_| {
            let record = GroupRecord {
                name: name.clone(),
                description: description.clone(),
                created_at: self.now(),
            };
            self.groups.upsert(vec![Point {
                id,
                vector: Vec::new(),
                text: String::new(),
                payload: to_payload(&record)?,
            }])?;
            Ok(group(id, record))
        })
    }

    fn group(&self, id: PointId) -> Result<Group> {
        let Some(record) = self.groups.get(&[id], false)?.into_iter().next() else {
            return Err(MemoriesError::UnknownGroup(id.to_string()));
        };
        Ok(group(id, parse(GROUPS_COLLECTION, id, record.payload)?))
    }

    /// `add_to_group(memory_id, group_id)`: adding a member twice keeps one membership.
    pub fn add_to_group(
        &self,
        viewer: Option<&str>,
        memory: PointId,
        group_id: PointId,
    ) -> Result<GroupMembers> {
        let found = self.group(group_id)?;
        self.visible(viewer, memory, self.now())?;
        let id = PointId::from_content(&[
            b"memory_group_member",
            group_id.to_string().as_bytes(),
            memory.to_string().as_bytes(),
        ]);
        if self.members.get(&[id], false)?.is_empty() {
            let record = MemberRecord {
                group_id,
                memory_id: memory,
                added_at: self.now(),
            };
            self.members.upsert(vec![Point {
                id,
                vector: Vec::new(),
                text: String::new(),
                payload: to_payload(&record)?,
            }])?;
            if self.memories.get(&[memory], false)?.is_empty() {
                self.members.delete(&[id])?;
                return Err(MemoriesError::UnknownMemory(memory.to_string()));
            }
        }
        Ok(GroupMembers {
            memories: self.group_memories(viewer, group_id)?,
            group: found,
        })
    }

    /// `get_memories_by_group(group_id)`: the group and its members the viewer may see,
    /// oldest membership first (at most [`MAX_LIST`]; memberships added in the same
    /// millisecond come in no defined order).
    pub fn get_memories_by_group(
        &self,
        viewer: Option<&str>,
        group_id: PointId,
    ) -> Result<GroupMembers> {
        let found = self.group(group_id)?;
        Ok(GroupMembers {
            memories: self.group_memories(viewer, group_id)?,
            group: found,
        })
    }

    fn member_ids(&self, group_id: PointId) -> Result<Vec<PointId>> {
        let filter = Filter::all([Condition::keyword("group_id", group_id.to_string())]);
        self.members
            .scroll_ordered(Some(&filter), &Order::ascending("added_at"), MAX_LIST)?
            .into_iter()
            .map(|r| {
                let m: MemberRecord = parse(MEMBERS_COLLECTION, r.id, r.payload)?;
                Ok(m.memory_id)
            })
            .collect()
    }

    fn group_memories(&self, viewer: Option<&str>, group_id: PointId) -> Result<Vec<Memory>> {
        let ids = self.member_ids(group_id)?;
        Ok(self
            .batch_get_memories(viewer, &ids)?
            .into_iter()
            .flatten()
            .collect())
    }

    /// How many memories are stored (expired but unswept ones included).
    pub fn count(&self) -> Result<usize> {
        Ok(self.memories.count(None)?)
    }
}

/// Whether `viewer` (`None`: an admin) may see `record`.
fn sees(viewer: Option<&str>, record: &MemoryRecord) -> bool {
    match (viewer, &record.agent_id) {
        (None, _) | (_, None) => true,
        (Some(viewer), Some(owner)) => viewer == owner,
    }
}

/// Whether `viewer` (`None`: an admin) may change or delete `record`: its own only.
fn owns(viewer: Option<&str>, record: &MemoryRecord) -> bool {
    viewer.is_none() || viewer == record.agent_id.as_deref()
}

fn alive(record: &MemoryRecord, now: i64) -> bool {
    record.expires_at.is_none_or(|at| at > now)
}

/// The records `viewer` may see: its own and those of no agent.
fn audience(viewer: &str) -> Condition {
    Condition::either([
        Condition::keyword("agent_id", viewer),
        Condition::is_empty("agent_id"),
    ])
}

fn not_expired(now: i64) -> Condition {
    Condition::either([
        Condition::is_empty("expires_at"),
        Condition::at_least("expires_at", (now + 1) as f64),
    ])
}

/// The payload change that detaches a memory from its parent.
fn no_parent() -> Payload {
    Payload::from_iter([("parent_id".to_owned(), Value::Null)])
}

fn version_id(memory: PointId, version: u64) -> PointId {
    PointId::from_content(&[
        b"memory_version",
        memory.to_string().as_bytes(),
        &version.to_le_bytes(),
    ])
}

fn point(id: PointId, vector: Vec<f32>, record: &MemoryRecord) -> Result<Point> {
    Ok(Point {
        id,
        vector,
        text: record.content.clone(),
        payload: to_payload(record)?,
    })
}

fn view(id: PointId, r: MemoryRecord, version: u64) -> Memory {
    Memory {
        id,
        content: r.content,
        memory_type: r.memory_type,
        memory_tier: r.memory_tier,
        importance: r.importance,
        metadata: r.metadata,
        tags: r.tags,
        parent_id: r.parent_id,
        session_id: r.session_id,
        agent_id: r.agent_id,
        version,
        created_at: r.created_at,
        updated_at: r.updated_at,
        touched_at: r.touched_at,
        expires_at: r.expires_at,
    }
}

fn session(id: PointId, r: SessionRecord) -> Session {
    Session {
        id,
        user_id: r.user_id,
        session_type: r.session_type,
        metadata: r.metadata,
        agent_id: r.agent_id,
        created_at: r.created_at,
        ended_at: r.ended_at,
    }
}

fn group(id: PointId, r: GroupRecord) -> Group {
    Group {
        id,
        name: r.name,
        description: r.description,
        created_at: r.created_at,
    }
}

fn relationship(id: PointId, r: RelationshipRecord) -> Relationship {
    Relationship {
        id,
        source_id: r.source_id,
        target_id: r.target_id,
        relationship_type: r.relationship_type,
        strength: r.strength,
        created_at: r.created_at,
    }
}

fn conflict(id: PointId, expected: Option<u64>, current: Option<u64>) -> MemoriesError {
    MemoriesError::Store(StoreError::Conflict {
        collection: MEMORIES_COLLECTION.into(),
        id,
        expected,
        current,
    })
}

fn item_error(error: &MemoriesError) -> ItemError {
    let code = match error {
        MemoriesError::UnknownMemory(_)
        | MemoriesError::UnknownSession(_)
        | MemoriesError::UnknownGroup(_) => "not_found",
        MemoriesError::InvalidInput(_) => "invalid_request",
        _ => "internal",
    };
    ItemError {
        code: code.into(),
        message: error.to_string(),
    }
}

fn label(field: &str, value: &str) -> Result<String> {
    let value = crate::text::label(value);
    crate::text::check_label(field, value).map_err(MemoriesError::InvalidInput)?;
    Ok(value.to_owned())
}

fn tags(values: &[String]) -> Result<Vec<String>> {
    if values.len() > MAX_TAGS {
        return Err(invalid(format!(
            "give at most {MAX_TAGS} tags, not {}",
            values.len()
        )));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(values.len());
    for value in values {
        let tag = label("tag", value)?;
        if seen.insert(tag.clone()) {
            out.push(tag);
        }
    }
    Ok(out)
}

fn importance(value: f64) -> Result<f64> {
    if !value.is_finite() || !(0.0..=1.0).contains(&value) {
        return Err(invalid(format!(
            "importance is {value}; give a number from 0 to 1"
        )));
    }
    Ok(value)
}

fn metadata(value: Map<String, Value>) -> Result<Map<String, Value>> {
    let size = serde_json::to_vec(&value).map_or(usize::MAX, |v| v.len());
    if size > MAX_METADATA_BYTES {
        return Err(invalid(format!(
            "metadata is {size} bytes serialised; the limit is {MAX_METADATA_BYTES}"
        )));
    }
    Ok(value)
}

fn check_limit(limit: usize, max: usize) -> Result<()> {
    if limit == 0 || limit > max {
        return Err(invalid(format!("limit is {limit}; give 1 to {max}")));
    }
    Ok(())
}

fn invalid(message: String) -> MemoriesError {
    MemoriesError::InvalidInput(message)
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
    serde_json::from_value(Value::Object(payload)).map_err(|e| MemoriesError::Corrupt {
        collection: collection.to_owned(),
        id: id.to_string(),
        message: e.to_string(),
    })
}
