//! The memory health report of design note 004 (`get_memory_health_report`), computed from
//! the store itself rather than from counters a process keeps: entries per category and
//! agent, swarm keys and memories past their expiry that no sweep removed yet, leases whose
//! holder lapsed without releasing them, orphans, the disk the collections actually use and
//! each collection's segments and index state, and each agent's use of its quotas. [`optimize`] turns what it finds into a plan
//! and, when asked, applies it.
//!
//! A report reads every memory, trace and lease record (no vectors): it is a maintenance
//! call, answered in seconds for hundreds of thousands of records, not a request path.

pub mod optimize;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Engram;
use crate::memories::{MemoriesCensus, MemoriesError};
use crate::quota::QuotaUse;
use crate::store::coord::LapsedHolder;
use crate::store::{CollectionInfo, StoreError};
use crate::swarm::{Census, SwarmError};

pub use optimize::{Action, Optimization, Plan, Step, StepResult};

/// How many expired keys a report names (all are counted).
pub const SAMPLE_KEYS: usize = 20;

/// Why a report or an optimisation failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Swarm memory failed.
    #[error(transparent)]
    Swarm(#[from] SwarmError),
    /// General memory failed.
    #[error(transparent)]
    Memories(#[from] MemoriesError),
}

/// The verdict of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Overall {
    /// Nothing found.
    Healthy,
    /// Something to clean up (see `findings`); `engram optimize --apply` fixes it.
    NeedsAttention,
}

/// Entries an agent owns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentEntries {
    /// Live swarm entries the agent wrote.
    pub swarm_entries: usize,
    /// Live memories the agent owns.
    pub memories: usize,
}

/// The memory health report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HealthReport {
    /// `healthy` when nothing was found, else `needs_attention`.
    pub overall_health: Overall,
    /// One sentence per problem found (empty when healthy).
    pub findings: Vec<String>,
    /// Unix milliseconds of the report.
    pub checked_at: i64,
    /// Live entries per agent, swarm memory and general memory together.
    pub by_agent: BTreeMap<String, AgentEntries>,
    /// Swarm memory: live entries per category and agent, expired keys not yet swept.
    pub swarm: Census,
    /// General memory: live memories per agent, expired ones not yet swept, orphans,
    /// duplicates.
    pub memories: MemoriesCensus,
    /// Lease holders that lapsed without releasing (swarm locks included).
    pub leaked_leases: Vec<LapsedHolder>,
    /// Bytes the store's collections take on disk (allocated blocks), when the backend can
    /// tell.
    pub disk_bytes: Option<u64>,
    /// Every collection: points, indexed vectors, segments, disk.
    pub collections: Vec<CollectionInfo>,
    /// Each agent's usage against `[quotas]` (empty when no quota is set), a warning from
    /// 80 % of a quota.
    pub quotas: Vec<QuotaUse>,
}

/// Computes the report from the store.
pub fn report(engram: &Engram) -> Result<HealthReport, HealthError> {
    let swarm = engram.swarm()?;
    let memories = engram.memories()?;
    let census = swarm.census(SAMPLE_KEYS)?;
    let memories_census = memories.census()?;
    let leaked_leases = engram.leases().lapsed()?;
    let collections = engram.memory().store().stats()?;
    let disk_bytes = disk_bytes(&collections);

    let mut by_agent: BTreeMap<String, AgentEntries> = BTreeMap::new();
    for (agent, n) in &census.by_agent {
        by_agent.entry(agent.clone()).or_default().swarm_entries = *n;
    }
    for (agent, n) in &memories_census.by_agent {
        by_agent.entry(agent.clone()).or_default().memories = *n;
    }

    let store = engram.memory().store();
    let quotas = if engram.quotas().settings().any() {
        engram
            .quotas()
            .owners(store)?
            .iter()
            .map(|agent| engram.quotas().report(store, agent))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };

    let mut findings = Vec::new();
    for quota in quotas.iter().filter(|q| q.warning) {
        findings.push(format!(
            "agent {:?} uses {:.0} % of a quota ({} records of {}, {} bytes of {})",
            quota.agent,
            quota.used_share.unwrap_or(0.0) * 100.0,
            quota.usage.entries,
            quota
                .entries_limit
                .map_or("unlimited".into(), |l| l.to_string()),
            quota.usage.bytes,
            quota
                .bytes_limit
                .map_or("unlimited".into(), |l| l.to_string()),
        ));
    }
    if census.expired > 0 {
        findings.push(format!(
            "{} expired but not swept yet (reads already skip them)",
            count(census.expired, "swarm key", "swarm keys")
        ));
    }
    if memories_census.expired > 0 {
        findings.push(format!(
            "{} expired but not swept yet (reads already skip them)",
            count(
                memories_census.expired,
                "short-term memory",
                "short-term memories"
            )
        ));
    }
    if !leaked_leases.is_empty() {
        findings.push(format!(
            "{} lapsed without releasing: {}",
            count(leaked_leases.len(), "lease holder", "lease holders"),
            leaked_leases
                .iter()
                .take(5)
                .map(|l| format!("{} (held by {})", l.lease, l.holder.owner))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let orphans = &memories_census.orphans;
    if !orphans.children.is_empty() {
        findings.push(format!(
            "{} whose parent is gone",
            count(orphans.children.len(), "memory", "memories")
        ));
    }
    if orphans.traces() > 0 {
        findings.push(format!(
            "{} ({} relationships, {} group memberships, {} reinforcements, {} versions) of {} \
             that {} gone",
            count(orphans.traces(), "trace", "traces"),
            orphans.relationships,
            orphans.group_members,
            orphans.reinforcements,
            orphans.versions,
            count(orphans.missing.len(), "memory", "memories"),
            if orphans.missing.len() == 1 {
                "is"
            } else {
                "are"
            }
        ));
    }
    let duplicates: usize = memories_census
        .duplicates
        .iter()
        .map(|set| set.removable.len())
        .sum();
    if duplicates > 0 {
        findings.push(format!(
            "{} exactly another one",
            count(duplicates, "memory duplicates", "memories duplicate")
        ));
    }
    for (name, layout) in collections
        .iter()
        .filter_map(|c| c.layout.as_ref().map(|l| (&c.name, l)))
    {
        let degraded = layout.degraded_shards();
        if degraded > 0 {
            findings.push(format!(
                "{name}: {} a replica that is not active (a node down or catching up)",
                count(degraded, "shard has", "shards have")
            ));
        }
        if !layout.differs.is_empty() {
            findings.push(format!(
                "{name}: the layout differs from engram's settings: {}",
                layout.differs.join("; ")
            ));
        }
    }
    Ok(HealthReport {
        overall_health: if findings.is_empty() {
            Overall::Healthy
        } else {
            Overall::NeedsAttention
        },
        findings,
        checked_at: chrono::Utc::now().timestamp_millis(),
        by_agent,
        swarm: census,
        memories: memories_census,
        leaked_leases,
        disk_bytes,
        collections,
        quotas,
    })
}

/// `n` with the noun that fits it: `1 memory`, `2 memories`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The disk bytes of `collections` together, when the backend tells them all.
fn disk_bytes(collections: &[CollectionInfo]) -> Option<u64> {
    collections.iter().map(|c| c.disk_bytes).sum()
}
