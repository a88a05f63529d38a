//! The memory health report and `optimize` on a store with planted problems: an expired
//! swarm key and an expired memory nobody swept, a lease whose holder lapsed without
//! releasing it, a child whose parent is gone (with the parent's relationship and
//! reinforcement left behind), and an exact duplicate. The report finds each one; the plan
//! changes nothing; applying it fixes each one and keeps everything that is still alive.

use std::sync::Arc;
use std::time::Duration;

use engram::Engram;
use engram::health::{self, Action, Overall};
use engram::memories::{MemoryInput, Scoring, Tier};
use engram::store::Store;
use engram::store::coord::{Acquire, LeaseMode};
use engram::swarm::{ConflictPolicy, Put};
use serde_json::json;

use crate::common::shared_embedder;

fn long(content: &str) -> MemoryInput {
    MemoryInput {
        memory_tier: Some(Tier::Long),
        ..MemoryInput::new(content)
    }
}

fn acquire(name: &str, owner: &str, ttl: Duration) -> Acquire {
    Acquire {
        name: name.to_owned(),
        mode: LeaseMode::Exclusive,
        ttl,
        wait: Duration::ZERO,
        owner: owner.to_owned(),
    }
}

#[test]
fn the_report_finds_each_planted_problem_and_optimize_apply_fixes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(&dir.path().join("data")).expect("store");
    // Short-term memories expire 36 ms after their last touch here.
    let scoring = Scoring {
        short_ttl_hours: 1e-5,
        ..Scoring::default()
    };
    let engram = Engram::with(store, Arc::clone(shared_embedder()) as _)
        .expect("engram")
        .with_scoring(scoring);
    let swarm = engram.swarm().expect("swarm");
    let memories = engram.memories().expect("memories");

    // Alive, and must stay so.
    let live_key = Put {
        key: "swarm/release/plan".into(),
        value: json!({"step": 3}),
        policy: ConflictPolicy::Reject,
        expected_version: None,
        ttl_ms: None,
        lock: None,
    };
    swarm.put(Some("planner"), &live_key, None).expect("put");
    let held = engram
        .leases()
        .acquire(&acquire(
            "release-train",
            "planner",
            Duration::from_secs(600),
        ))
        .expect("live lease");
    let other = memories
        .add_memory(long("The CI cache lives in ~/.cargo/registry"), None)
        .expect("add");

    // Planted: an expired key and memory, a leaked lease.
    let scratch = Put {
        key: "session/run-7/scratch".into(),
        value: json!("temporary"),
        ttl_ms: Some(1),
        ..live_key.clone()
    };
    swarm.put(Some("planner"), &scratch, None).expect("put");
    memories
        .add_memory(MemoryInput::new("A note for the next minute only"), None)
        .expect("short-term");
    engram
        .leases()
        .acquire(&acquire(
            "deploy",
            "crashed-agent",
            Duration::from_millis(10),
        ))
        .expect("lease");
    // Planted: an orphan child, its parent's relationship and reinforcement left behind.
    let parent = memories
        .add_memory(long("Release checklist for version 2"), None)
        .expect("parent");
    let child = memories
        .add_memory(
            MemoryInput {
                parent_id: Some(parent.id),
                ..long("Tag the release after the changelog is merged")
            },
            None,
        )
        .expect("child");
    memories
        .add_relationship(None, parent.id, other.id, "mentions", 0.5)
        .expect("relationship");
    memories
        .reinforce_memory(None, parent.id, 1.5, None)
        .expect("reinforce");
    // As a crash between a delete's steps leaves it: the parent's point alone is gone.
    engram
        .memory()
        .store()
        .open_existing("memories")
        .expect("open")
        .expect("exists")
        .delete(&[parent.id])
        .expect("delete the parent's point");
    // Planted: an exact duplicate.
    let duplicate = |n: u32| {
        memories
            .add_memory(
                MemoryInput {
                    agent_id: Some("coder".into()),
                    ..long("Run cargo fmt before committing")
                },
                None,
            )
            .unwrap_or_else(|e| panic!("duplicate {n}: {e}"))
    };
    let first = duplicate(1);
    let second = duplicate(2);
    std::thread::sleep(Duration::from_millis(100));

    let report = health::report(&engram).expect("report");
    assert_eq!(report.overall_health, Overall::NeedsAttention);
    assert_eq!(report.swarm.expired, 1);
    assert_eq!(report.swarm.expired_keys, ["session/run-7/scratch"]);
    assert_eq!(report.swarm.live, 1);
    assert_eq!(report.swarm.by_category.get("swarm"), Some(&1));
    assert_eq!(report.memories.expired, 1);
    assert_eq!(report.leaked_leases.len(), 1, "{:?}", report.leaked_leases);
    assert_eq!(report.leaked_leases[0].lease, "deploy");
    assert_eq!(report.leaked_leases[0].holder.owner, "crashed-agent");
    let orphans = &report.memories.orphans;
    assert_eq!(orphans.children.len(), 1);
    assert_eq!(orphans.children[0].id, child.id);
    assert_eq!(orphans.children[0].parent_id, parent.id);
    assert_eq!(orphans.relationships, 1);
    assert_eq!(orphans.reinforcements, 1);
    assert_eq!(orphans.missing, [parent.id]);
    assert_eq!(report.memories.duplicates.len(), 1);
    let set = &report.memories.duplicates[0];
    let mut pair = vec![set.kept, set.removable[0]];
    pair.sort();
    let mut expected = vec![first.id, second.id];
    expected.sort();
    assert_eq!(pair, expected);
    assert_eq!(report.by_agent["planner"].swarm_entries, 1);
    assert_eq!(report.by_agent["coder"].memories, 2);
    assert_eq!(report.findings.len(), 6, "{:#?}", report.findings);
    assert!(report.disk_bytes.is_some_and(|b| b > 0));
    assert!(report.collections.iter().any(|c| c.name == "memories"));

    // The plan names every repair and changes nothing.
    let plan = health::optimize::optimize(&engram, false).expect("plan");
    assert!(!plan.applied);
    let actions: Vec<Action> = plan.plan.steps.iter().map(|s| s.action).collect();
    assert_eq!(
        actions,
        [
            Action::SweepExpiredKeys,
            Action::SweepExpiredMemories,
            Action::ReleaseLeakedLeases,
            Action::DetachOrphans,
            Action::PurgeOrphanTraces,
            Action::Deduplicate,
            Action::Compact,
        ]
    );
    let again = health::report(&engram).expect("report");
    assert_eq!(again.findings, report.findings, "a plan changes nothing");
    assert_eq!(again.memories, report.memories);

    let applied = health::optimize::optimize(&engram, true).expect("apply");
    assert!(applied.applied);
    for (step, result) in applied
        .plan
        .steps
        .iter()
        .zip(&applied.optimizations_applied)
    {
        assert_eq!(result.action, step.action);
        assert_eq!(result.done, step.items, "{:?}", step.action);
    }
    assert!(applied.space_saved.is_some());

    let after = health::report(&engram).expect("report");
    assert_eq!(
        after.overall_health,
        Overall::Healthy,
        "{:#?}",
        after.findings
    );
    assert!(after.findings.is_empty());
    assert!(after.leaked_leases.is_empty());
    assert!(after.memories.orphans.is_empty());
    assert!(after.memories.duplicates.is_empty());
    assert_eq!((after.swarm.expired, after.memories.expired), (0, 0));

    // What was alive is untouched; what was repaired is as a delete would leave it.
    assert_eq!(
        swarm
            .get("swarm/release/plan", None)
            .expect("get")
            .expect("kept")
            .value,
        json!({"step": 3})
    );
    let state = engram
        .leases()
        .state("release-train")
        .expect("state")
        .expect("exists");
    assert_eq!(state.holders.len(), 1, "a live lease keeps its holder");
    assert_eq!(state.epoch, held.epoch);
    let deploy = engram
        .leases()
        .state("deploy")
        .expect("state")
        .expect("kept");
    assert_eq!(deploy.epoch, 1, "fencing epochs survive the cleanup");
    let detached = memories.get_memory(None, child.id).expect("child kept");
    assert_eq!(detached.parent_id, None);
    assert!(memories.get_memory(None, other.id).is_ok());
    assert!(memories.get_memory(None, set.kept).is_ok());
    assert!(memories.get_memory(None, set.removable[0]).is_err());
    let related = memories
        .get_related_memories(None, other.id, None)
        .expect("related");
    assert!(related.is_empty(), "{related:?}");

    // Nothing left to do.
    let idle = health::optimize::optimize(&engram, true).expect("again");
    assert!(idle.plan.steps.is_empty(), "{:?}", idle.plan);
}
