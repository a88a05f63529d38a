//! What a health report needs of general memory, and the repairs an optimisation applies:
//! counts per agent, expired memories not yet swept, orphans (a child whose parent is gone,
//! a relationship, group membership, reinforcement or superseded version naming a memory
//! that is gone) and exact duplicates.
//!
//! Orphans arise from a crash between the steps of a delete, or from a race the delete
//! protocol cannot close (a relationship added while its target is deleted). The scans are
//! ordered so that a memory being created meanwhile is never taken for a missing one: traces
//! are read before the memories, a trace names only a memory that existed when it was
//! written, memory ids are never reused, and every id found missing is read once more after
//! the scans.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{MEMORIES_COLLECTION, Memories, MemoryRecord, Result, alive, no_parent, parse};
use crate::store::coord::version_of;
use crate::store::coord::versioned::at_version;
use crate::store::{Applied, Condition, Filter, PointId};

/// General memory counted and checked ([`Memories::census`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemoriesCensus {
    /// Memories that reads return (not expired).
    pub live: usize,
    /// Live memories per owner agent (memories without an agent are not counted here).
    pub by_agent: BTreeMap<String, usize>,
    /// Short-term memories past their expiry that no sweep removed yet.
    pub expired: usize,
    /// What names a memory that is gone.
    pub orphans: Orphans,
    /// Sets of identical memories of which all but one can go.
    pub duplicates: Vec<DuplicateSet>,
}

/// What names a memory that no longer exists.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Orphans {
    /// Memories whose parent is gone (an optimisation detaches them, as a delete without
    /// cascade does).
    pub children: Vec<OrphanChild>,
    /// Relationships with a missing source or target.
    pub relationships: usize,
    /// Group memberships of a missing memory.
    pub group_members: usize,
    /// Reinforcements of a missing memory.
    pub reinforcements: usize,
    /// Superseded versions of a missing memory.
    pub versions: usize,
    /// The missing memories these traces name.
    #[schema(value_type = Vec<String>)]
    pub missing: Vec<PointId>,
}

impl Orphans {
    /// Traces naming a missing memory (children not included).
    pub fn traces(&self) -> usize {
        self.relationships + self.group_members + self.reinforcements + self.versions
    }

    /// Whether nothing is orphaned.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty() && self.traces() == 0
    }
}

/// A memory whose parent is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OrphanChild {
    /// The child.
    #[schema(value_type = String)]
    pub id: PointId,
    /// The parent it names.
    #[schema(value_type = String)]
    pub parent_id: PointId,
}

/// Memories identical in everything but their id and times: same agent, type, tier,
/// content, importance, metadata, tags, parent and session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DuplicateSet {
    /// The one kept: the most recently touched.
    #[schema(value_type = String)]
    pub kept: PointId,
    /// The others that nothing depends on: never updated (version 1), no children, no
    /// relationships, group memberships or reinforcements. A duplicate something depends on
    /// is left alone.
    #[schema(value_type = Vec<String>)]
    pub removable: Vec<PointId>,
}

impl Memories {
    /// Counts live memories per agent and expired ones, and finds orphans and duplicates.
    /// Reads every memory and trace (no vectors): a maintenance call, not a request path.
    pub fn census(&self) -> Result<MemoriesCensus> {
        self.scan()
    }

    /// Detaches every memory whose parent is gone (its `parent_id` cleared, only while it
    /// still names that parent). Answers how many.
    pub fn detach_orphans(&self) -> Result<usize> {
        let orphans = self.census()?.orphans;
        let mut detached = 0;
        for child in &orphans.children {
            let still = Filter::all([Condition::keyword("parent_id", child.parent_id.to_string())]);
            detached += match self
                .memories
                .set_payload_if(&[child.id], no_parent(), &still)?
            {
                Applied::Points(n) => n,
                Applied::Unknown => 1,
            };
        }
        Ok(detached)
    }

    /// Removes the relationships, group memberships, reinforcements and superseded versions
    /// that name a missing memory. Answers how many.
    pub fn remove_orphan_traces(&self) -> Result<usize> {
        let orphans = self.census()?.orphans;
        if orphans.missing.is_empty() {
            return Ok(0);
        }
        self.remove_traces(&orphans.missing)?;
        Ok(orphans.traces())
    }

    /// Deletes the removable duplicates ([`DuplicateSet::removable`]), each only while it is
    /// still at version 1 (an update since the scan keeps it). Answers how many.
    pub fn remove_duplicates(&self) -> Result<usize> {
        let sets = self.census()?.duplicates;
        let mut removed = 0;
        for id in sets.iter().flat_map(|set| &set.removable) {
            let gone = match self.memories.delete_if(&[*id], &at_version(1))? {
                Applied::Points(n) => n,
                Applied::Unknown => usize::from(self.memories.get(&[*id], false)?.is_empty()),
            };
            if gone > 0 {
                // A trace or child written between the scan and the delete goes too.
                self.remove_traces(&[*id])?;
                let children = self.children_of(&[*id])?;
                if !children.is_empty() {
                    self.memories.set_payload(&children, no_parent())?;
                }
                removed += gone;
            }
        }
        Ok(removed)
    }

    fn scan(&self) -> Result<MemoriesCensus> {
        // Traces first: each names a memory that existed when it was written.
        let ids_in =
            |collection: &crate::store::Collection, fields: &[&str]| -> Result<Vec<Vec<PointId>>> {
                Ok(collection
                    .scroll_all(None)?
                    .into_iter()
                    .map(|record| {
                        fields
                            .iter()
                            .filter_map(|field| record.payload.get(*field)?.as_str()?.parse().ok())
                            .collect()
                    })
                    .collect())
            };
        let relationships = ids_in(&self.relationships, &["source_id", "target_id"])?;
        let members = ids_in(&self.members, &["memory_id"])?;
        let reinforcements = ids_in(&self.reinforcements, &["memory_id"])?;
        let versions = ids_in(&self.versions, &["memory_id"])?;

        let now = self.now();
        let mut records: HashMap<PointId, (MemoryRecord, u64)> = HashMap::new();
        for record in self.memories.scroll_all(None)? {
            let version = version_of(&record.payload);
            let parsed: MemoryRecord = parse(MEMORIES_COLLECTION, record.id, record.payload)?;
            records.insert(record.id, (parsed, version));
        }

        let mut named: HashSet<PointId> = HashSet::new();
        for ids in [&relationships, &members, &reinforcements, &versions] {
            named.extend(ids.iter().flatten().copied());
        }
        named.extend(records.values().filter_map(|(r, _)| r.parent_id));
        let candidates: Vec<PointId> = named
            .into_iter()
            .filter(|id| !records.contains_key(id))
            .collect();
        // Read again: a memory created while the memories were scrolled is not missing.
        let mut missing: HashSet<PointId> = candidates.iter().copied().collect();
        for chunk in candidates.chunks(256) {
            for record in self.memories.get(chunk, false)? {
                missing.remove(&record.id);
            }
        }

        let naming_missing = |rows: &[Vec<PointId>]| {
            rows.iter()
                .filter(|ids| ids.iter().any(|id| missing.contains(id)))
                .count()
        };
        let mut children: Vec<OrphanChild> = records
            .iter()
            .filter_map(|(id, (r, _))| {
                let parent = r.parent_id?;
                missing.contains(&parent).then_some(OrphanChild {
                    id: *id,
                    parent_id: parent,
                })
            })
            .collect();
        children.sort_by_key(|c| c.id);
        let mut missing_ids: Vec<PointId> = missing.iter().copied().collect();
        missing_ids.sort();
        let orphans = Orphans {
            children,
            relationships: naming_missing(&relationships),
            group_members: naming_missing(&members),
            reinforcements: naming_missing(&reinforcements),
            versions: naming_missing(&versions),
            missing: missing_ids,
        };

        // Anything a duplicate must not have to be removable.
        let mut depended_on: HashSet<PointId> = HashSet::new();
        for ids in [&relationships, &members, &reinforcements] {
            depended_on.extend(ids.iter().flatten().copied());
        }
        depended_on.extend(records.values().filter_map(|(r, _)| r.parent_id));

        let mut live = 0;
        let mut expired = 0;
        let mut by_agent: BTreeMap<String, usize> = BTreeMap::new();
        let mut groups: HashMap<String, Vec<(PointId, i64, u64)>> = HashMap::new();
        for (id, (record, version)) in &records {
            if !alive(record, now) {
                expired += 1;
                continue;
            }
            live += 1;
            if let Some(agent) = &record.agent_id {
                *by_agent.entry(agent.clone()).or_default() += 1;
            }
            groups
                .entry(identity(record))
                .or_default()
                .push((*id, record.touched_at, *version));
        }
        let mut duplicates: Vec<DuplicateSet> = groups
            .into_values()
            .filter(|group| group.len() > 1)
            .filter_map(|mut group| {
                // Most recently touched first; ties by id, so every server picks the same.
                group.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let kept = group[0].0;
                let removable: Vec<PointId> = group[1..]
                    .iter()
                    .filter(|(id, _, version)| *version == 1 && !depended_on.contains(id))
                    .map(|(id, _, _)| *id)
                    .collect();
                (!removable.is_empty()).then_some(DuplicateSet { kept, removable })
            })
            .collect();
        duplicates.sort_by_key(|set| set.kept);
        Ok(MemoriesCensus {
            live,
            by_agent,
            expired,
            orphans,
            duplicates,
        })
    }
}

/// What two duplicates share: everything but their id, version and times.
fn identity(record: &MemoryRecord) -> String {
    serde_json::json!([
        record.agent_id,
        record.memory_type,
        record.memory_tier,
        record.content,
        record.importance,
        record.metadata,
        record.tags,
        record.parent_id,
        record.session_id,
    ])
    .to_string()
}
