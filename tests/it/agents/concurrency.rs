//! Two cross-pollination runs at once (two agent memories over one store, as two servers
//! over one cluster) promote every learning once, with one ledger entry each, and merge a
//! near-duplicate instead of sharing it twice.

use std::collections::HashSet;
use std::sync::Arc;

use engram::agents::{Agents, PROMOTIONS_COLLECTION, PollinationOptions, Scope};

use super::{Library, learning};
use crate::common::shared_embedder;

#[test]
fn two_runs_at_once_promote_every_learning_once() {
    let library = Library::new();
    let other = Agents::new(&library.store, Arc::clone(shared_embedder()) as _).expect("agents");
    let agents = ["researcher", "coder", "designer"];
    // Eighteen different insights, six per agent.
    let texts = [
        "Interviews give more depth than surveys",
        "Recruit study participants two weeks ahead",
        "Pilot every questionnaire with three people",
        "Longitudinal studies need a retention plan",
        "Cite the raw data next to each chart",
        "Ethics approval takes a month to arrive",
        "Profile the service before optimising it",
        "Write the failing test before the fix",
        "Log a request id with every error",
        "Feature flags make rollbacks cheap",
        "Index foreign keys used in joins",
        "Pin the versions of build dependencies",
        "Text needs a contrast ratio of at least 4.5",
        "Icons without labels confuse new users",
        "Forms with many fields are abandoned",
        "Dark mode should follow the system setting",
        "Touch targets must be at least 44 pixels",
        "Motion should respect reduced-motion preferences",
    ];
    let mut ids = HashSet::new();
    for (n, text) in texts.iter().enumerate() {
        let agent = agents[n / 6];
        let stored = library
            .agents
            .add_learning(agent, learning(text, 0.8 + 0.01 * (n % 6) as f64), None)
            .expect("added");
        ids.insert(stored.id);
    }
    // A near-duplicate pair from two agents: one shared learning must stand for both.
    let first = library
        .agents
        .add_learning(
            "researcher",
            learning("Clear requirements reduce debugging time", 0.99),
            None,
        )
        .expect("added");
    let second = library
        .agents
        .add_learning(
            "coder",
            learning(
                "Debugging takes less time when the requirements are clear",
                0.99,
            ),
            None,
        )
        .expect("added");
    let names: Vec<String> = agents.iter().map(|a| (*a).to_owned()).collect();
    let options = PollinationOptions {
        confidence_threshold: 0.75,
        max_promotions_per_agent: 100,
    };
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| library.agents.run_cross_pollination(None, &names, options));
        let b = scope.spawn(|| other.run_cross_pollination(None, &names, options));
        (a.join().expect("a"), b.join().expect("b"))
    });
    let (a, b) = (a.expect("run a"), b.expect("run b"));
    let promoted: Vec<_> = a
        .entries
        .iter()
        .chain(&b.entries)
        .map(|e| e.learning_id)
        .collect();
    let distinct: HashSet<_> = promoted.iter().copied().collect();
    assert_eq!(promoted.len(), distinct.len(), "a learning promoted twice");
    assert_eq!(distinct.len(), ids.len() + 2, "every learning promoted");
    let ledger = library
        .store
        .open_existing(PROMOTIONS_COLLECTION)
        .expect("open")
        .expect("the ledger");
    assert_eq!(
        ledger.count(None).expect("count"),
        ids.len() + 2,
        "one entry each"
    );
    let shared = library
        .agents
        .get_shared_learnings("default", None, 1000)
        .expect("pool");
    assert_eq!(
        shared.len(),
        ids.len() + 1,
        "the near-duplicate merged, not shared twice"
    );
    let kept = library
        .agents
        .get_learning(None, None, first.id)
        .expect("first");
    let merged = library
        .agents
        .get_learning(None, None, second.id)
        .expect("second");
    assert_eq!(kept.scope, Scope::Shared);
    assert_eq!(
        (merged.scope, merged.merged_into),
        (Scope::Merged, Some(first.id))
    );
    assert_eq!(kept.corroborated_by, ["researcher", "coder"]);
}

#[test]
fn a_promotion_interrupted_after_its_ledger_entry_is_finished_on_open() {
    let library = Library::new();
    let stored = library
        .agents
        .add_learning("coder", learning("Pin dependency versions", 0.9), None)
        .expect("added");
    // A crash between the ledger entry (the intent) and the scope change leaves this.
    let ledger = library
        .store
        .open_existing(PROMOTIONS_COLLECTION)
        .expect("open")
        .expect("the ledger");
    library
        .agents
        .promote_learning(None, None, stored.id, "before the crash")
        .expect("promoted");
    let mut undo = engram::store::Payload::new();
    undo.insert("applied".into(), false.into());
    ledger
        .set_payload(&[ledger.scroll_all(None).expect("scroll")[0].id], undo)
        .expect("undo applied");
    let learnings = library
        .store
        .open_existing(engram::agents::LEARNINGS_COLLECTION)
        .expect("open")
        .expect("learnings");
    let mut private = engram::store::Payload::new();
    private.insert("scope".into(), "private".into());
    private.insert("audience".into(), "agent:coder".into());
    learnings
        .set_payload(&[stored.id], private)
        .expect("undo scope");
    assert_eq!(
        library
            .agents
            .get_private_learnings("coder", None)
            .expect("private")
            .len(),
        1
    );
    // The next open finishes it.
    let reopened = Agents::new(&library.store, Arc::clone(shared_embedder()) as _).expect("agents");
    assert!(
        reopened
            .get_private_learnings("coder", None)
            .expect("private")
            .is_empty()
    );
    let pool = reopened
        .get_shared_learnings("default", None, 10)
        .expect("pool");
    assert_eq!(pool.len(), 1);
    assert_eq!(
        reopened
            .get_promotion_history(stored.id)
            .expect("history")
            .reason,
        "before the crash"
    );
    assert_eq!(
        reopened.reconcile().expect("reconcile"),
        0,
        "nothing left half-done"
    );
}
