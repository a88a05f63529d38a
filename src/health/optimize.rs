//! `optimize_memory` of design note 004: a plan made from a [`HealthReport`] (sweep,
//! release, detach, purge, deduplicate, compact), which changes nothing until applied.
//!
//! Applying runs the steps in order, each recomputing its own targets and changing them only
//! on condition (an expired entry or memory is deleted only while it is still expired, a
//! lease holder removed by a compare-and-set, a child detached only while it still names the
//! missing parent, a duplicate deleted only while it is still at version 1), so a plan
//! applied while servers keep writing never undoes their work. Compaction merges segments and
//! checkpoints the write-ahead log, which is where the space comes back.

use serde::{Deserialize, Serialize};

use super::{HealthError, HealthReport, count};
use crate::Engram;

/// One kind of repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Delete swarm entries past their expiry.
    SweepExpiredKeys,
    /// Delete short-term memories past their expiry (their children stay, detached).
    SweepExpiredMemories,
    /// Remove lease holders that lapsed without releasing.
    ReleaseLeakedLeases,
    /// Clear the parent of memories whose parent is gone.
    DetachOrphans,
    /// Delete relationships, memberships, reinforcements and versions of missing memories.
    PurgeOrphanTraces,
    /// Delete exact duplicate memories nothing depends on, keeping the most recent.
    Deduplicate,
    /// Merge segments and checkpoint the write-ahead log of every collection.
    Compact,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    /// What it does.
    pub action: Action,
    /// How many items it would change (collections, for `compact`).
    pub items: usize,
    /// In words.
    pub detail: String,
}

/// What `engram optimize` would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Plan {
    /// The steps, in the order they run; empty when there is nothing to do.
    pub steps: Vec<Step>,
}

/// One step as applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StepResult {
    /// What it did.
    pub action: Action,
    /// How many the plan counted.
    pub planned: usize,
    /// How many it changed (another server may have done some first, or written meanwhile).
    pub done: usize,
}

/// What an optimisation did (or, without `apply`, would do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Optimization {
    /// Whether anything was changed.
    pub applied: bool,
    /// The plan.
    pub plan: Plan,
    /// The steps carried out (empty without `apply`).
    pub optimizations_applied: Vec<StepResult>,
    /// Disk bytes of every collection before, when the backend can tell.
    pub disk_bytes_before: Option<u64>,
    /// Disk bytes after (only when applied).
    pub disk_bytes_after: Option<u64>,
    /// `before - after` (negative when the store grew meanwhile).
    pub space_saved: Option<i64>,
}

/// Collections with more segments than this are compacted even when no other step changed
/// them.
pub const COMPACT_ABOVE_SEGMENTS: usize = 8;

impl Plan {
    /// The plan for what `report` found.
    pub fn from_report(report: &HealthReport) -> Self {
        let mut steps = Vec::new();
        let push = |steps: &mut Vec<Step>, action, items: usize, detail: String| {
            if items > 0 {
                steps.push(Step {
                    action,
                    items,
                    detail,
                });
            }
        };
        push(
            &mut steps,
            Action::SweepExpiredKeys,
            report.swarm.expired,
            format!(
                "delete {}",
                count(
                    report.swarm.expired,
                    "expired swarm key",
                    "expired swarm keys"
                )
            ),
        );
        push(
            &mut steps,
            Action::SweepExpiredMemories,
            report.memories.expired,
            format!(
                "delete {}",
                count(
                    report.memories.expired,
                    "expired short-term memory",
                    "expired short-term memories"
                )
            ),
        );
        push(
            &mut steps,
            Action::ReleaseLeakedLeases,
            report.leaked_leases.len(),
            format!(
                "remove {}",
                count(
                    report.leaked_leases.len(),
                    "lapsed lease holder",
                    "lapsed lease holders"
                )
            ),
        );
        let orphans = &report.memories.orphans;
        push(
            &mut steps,
            Action::DetachOrphans,
            orphans.children.len(),
            format!(
                "detach {} whose parent is gone",
                count(orphans.children.len(), "memory", "memories")
            ),
        );
        push(
            &mut steps,
            Action::PurgeOrphanTraces,
            orphans.traces(),
            format!(
                "delete {} of {}",
                count(orphans.traces(), "trace", "traces"),
                count(orphans.missing.len(), "missing memory", "missing memories")
            ),
        );
        let duplicates: usize = report
            .memories
            .duplicates
            .iter()
            .map(|set| set.removable.len())
            .sum();
        push(
            &mut steps,
            Action::Deduplicate,
            duplicates,
            format!(
                "delete {} of {} kept",
                count(duplicates, "duplicate memory", "duplicate memories"),
                report.memories.duplicates.len()
            ),
        );
        let changes = !steps.is_empty();
        let fragmented = report
            .collections
            .iter()
            .filter(|c| c.segments > COMPACT_ABOVE_SEGMENTS)
            .count();
        let compact = if changes {
            report.collections.len()
        } else {
            fragmented
        };
        push(
            &mut steps,
            Action::Compact,
            compact,
            format!(
                "merge segments and checkpoint {}",
                count(compact, "collection", "collections")
            ),
        );
        Self { steps }
    }
}

/// The plan for the store as it is now; with `apply`, carries it out.
pub fn optimize(engram: &Engram, apply: bool) -> Result<Optimization, HealthError> {
    let report = super::report(engram)?;
    let plan = Plan::from_report(&report);
    let before = report.disk_bytes;
    if !apply {
        return Ok(Optimization {
            applied: false,
            plan,
            optimizations_applied: Vec::new(),
            disk_bytes_before: before,
            disk_bytes_after: None,
            space_saved: None,
        });
    }
    let mut results = Vec::new();
    for step in &plan.steps {
        let done = match step.action {
            Action::SweepExpiredKeys => engram.swarm()?.sweep()?,
            Action::SweepExpiredMemories => engram.memories()?.sweep()?,
            Action::ReleaseLeakedLeases => engram.leases().prune_lapsed()?,
            Action::DetachOrphans => engram.memories()?.detach_orphans()?,
            Action::PurgeOrphanTraces => engram.memories()?.remove_orphan_traces()?,
            Action::Deduplicate => engram.memories()?.remove_duplicates()?,
            Action::Compact => compact(engram, plan.steps.len() > 1)?,
        };
        results.push(StepResult {
            action: step.action,
            planned: step.items,
            done,
        });
    }
    let after = super::disk_bytes(&engram.memory().store().stats()?);
    Ok(Optimization {
        applied: true,
        plan,
        optimizations_applied: results,
        disk_bytes_before: before,
        disk_bytes_after: after,
        space_saved: before.zip(after).map(|(b, a)| b as i64 - a as i64),
    })
}

/// Optimises and flushes every collection (`all`) or those with many segments. Answers how
/// many.
fn compact(engram: &Engram, all: bool) -> Result<usize, HealthError> {
    let store = engram.memory().store();
    let mut compacted = 0;
    for info in store.stats()? {
        if !all && info.segments <= COMPACT_ABOVE_SEGMENTS {
            continue;
        }
        if let Some(collection) = store.open_existing(&info.name)? {
            collection.optimize()?;
            collection.flush()?;
            compacted += 1;
        }
    }
    Ok(compacted)
}
