//! Outcomes and what they teach, through the library with the real model: a strategy is
//! recommended from the outcomes nearest by meaning, with the Wilson interval of its success
//! rate (golden values from statsmodels 0.15's `proportion_confint(k, n, alpha=0.05,
//! method="wilson")`); insights of each kind; idempotent recording; bad input named. Then
//! the note's agent-state helpers as swarm keys, with agent isolation.

use serde_json::{Map, Value, json};

use engram::swarm::{EventKind, InsightKind, NewOutcome, SwarmError};

use super::Fixture;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn outcome(
    task_type: &str,
    strategy: &str,
    agents: usize,
    success: bool,
    seconds: f64,
) -> NewOutcome {
    let context = match task_type {
        "data_processing" => json!({"data_size": "large", "format": "csv"}),
        _ => json!({"language": "rust", "change": "pull request"}),
    };
    NewOutcome {
        task_type: task_type.to_owned(),
        agents: (0..agents).map(|i| format!("worker-{i}")).collect(),
        success,
        execution_time: seconds,
        context: object(context),
        strategy: Some(strategy.to_owned()),
    }
}

/// 10 parallel runs (9 succeed, 3 agents), 8 solo runs (2 succeed), 5 pair reviews (all
/// succeed); answers the ids of each strategy's outcomes.
fn seed(f: &Fixture) -> [Vec<String>; 3] {
    let mut ids: [Vec<String>; 3] = Default::default();
    let mut record = |slot: usize, o: NewOutcome| {
        let recorded = f
            .swarm
            .record_task_outcome(Some("planner"), &o, None)
            .expect("record");
        assert_eq!(recorded.recorded_by.as_deref(), Some("planner"));
        ids[slot].push(recorded.id);
        f.advance(1000);
    };
    for i in 0..10 {
        record(
            0,
            outcome(
                "data_processing",
                "parallel_processing",
                3,
                i != 4,
                60.0 + i as f64,
            ),
        );
    }
    for i in 0..8 {
        record(
            1,
            outcome("data_processing", "solo", 1, i < 2, 200.0 + i as f64),
        );
    }
    for i in 0..5 {
        record(
            2,
            outcome("code_review", "pair_review", 2, true, 30.0 + i as f64),
        );
    }
    ids
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() < 1e-6
}

#[test]
fn a_strategy_is_recommended_from_similar_outcomes_with_its_wilson_interval() {
    let f = Fixture::new();
    let [parallel, solo, review] = seed(&f);
    let swarm = &f.swarm;

    let asked = object(json!({"task_type": "data_processing", "data_size": "large",
        "available_agents": 5}));
    let best = swarm.get_coordination_strategy(&asked).expect("strategy");
    assert!(best.same_task_type);
    assert_eq!(best.considered, 18);
    let strategy = best.strategy.expect("a strategy");
    assert_eq!(strategy.strategy, "parallel_processing");
    assert_eq!((strategy.successes, strategy.outcomes), (9, 10));
    assert!(close(strategy.expected_success_rate, 0.9));
    assert!(close(strategy.confidence_interval[0], 0.595_850_0));
    assert!(close(strategy.confidence_interval[1], 0.982_123_8));
    assert!(close(strategy.median_execution_time, 64.5));
    assert_eq!(strategy.example_ids.len(), 3);
    assert!(strategy.example_ids.iter().all(|id| parallel.contains(id)));
    assert_eq!(best.alternatives.len(), 1);
    let other = &best.alternatives[0];
    assert_eq!(other.strategy, "solo");
    assert!(close(other.confidence_interval[0], 0.071_479_2));
    assert!(close(other.confidence_interval[1], 0.590_724_6));
    assert!(other.example_ids.iter().all(|id| solo.contains(id)));

    // Two agents available: only outcomes with at most two agents count.
    let few = object(json!({"task_type": "data_processing", "available_agents": 2}));
    let limited = swarm.get_coordination_strategy(&few).expect("strategy");
    assert_eq!(limited.considered, 8);
    assert_eq!(limited.strategy.expect("solo").strategy, "solo");

    // No task type: the situation alone finds the reviews by meaning.
    let review_like = object(json!({"language": "rust", "change": "pull request"}));
    let by_meaning = swarm
        .outcomes()
        .recommend(&review_like, 5)
        .expect("strategy");
    assert!(!by_meaning.same_task_type);
    let strategy = by_meaning.strategy.expect("a strategy");
    assert_eq!(strategy.strategy, "pair_review");
    assert_eq!(strategy.outcomes, 5);
    assert!(close(strategy.confidence_interval[0], 0.565_517_5));
    assert!(strategy.example_ids.iter().all(|id| review.contains(id)));
    assert!(strategy.similarity.expect("similarity") > 0.5);

    // A task type never recorded: the nearest of any type, and it says so.
    let unknown = object(json!({"task_type": "ml_training", "data_size": "large"}));
    let fallback = swarm.get_coordination_strategy(&unknown).expect("strategy");
    assert!(!fallback.same_task_type);
    assert!(fallback.strategy.is_some());

    // Bad situations are refused with the field named; nothing recorded answers null.
    for (bad, field) in [
        (json!({}), "empty"),
        (json!({"task_type": 5}), "task_type"),
        (
            json!({"task_type": "x", "available_agents": 0}),
            "available_agents",
        ),
        (
            json!({"task_type": "x", "available_agents": 1.5}),
            "available_agents",
        ),
    ] {
        let error = swarm
            .get_coordination_strategy(&object(bad))
            .expect_err("refused")
            .to_string();
        assert!(error.contains(field), "{error} should name {field}");
    }
    let error = swarm.outcomes().recommend(&asked, 0).expect_err("refused");
    assert!(error.to_string().contains("neighbours"), "{error}");
    let empty = Fixture::new();
    let nothing = empty.swarm.get_coordination_strategy(&asked).expect("none");
    assert!(nothing.strategy.is_none() && nothing.alternatives.is_empty());
    assert_eq!(nothing.considered, 0);
}

#[test]
fn insights_of_every_kind_and_idempotent_recording() {
    let f = Fixture::new();
    let [parallel, solo, review] = seed(&f);
    let swarm = &f.swarm;

    let distribution = swarm
        .get_learning_insights(InsightKind::TaskDistribution)
        .expect("insights");
    // Most confident first: parallel 9/10 (lower bound 0.596) over pair review 5/5 (0.566).
    let subjects: Vec<(&str, &str)> = distribution
        .iter()
        .map(|i| (i.task_type.as_str(), i.subject.as_str()))
        .collect();
    assert_eq!(
        subjects,
        [
            ("data_processing", "parallel_processing"),
            ("code_review", "pair_review")
        ]
    );
    assert!(close(distribution[0].confidence, 0.595_850_0));
    assert!(close(distribution[1].confidence, 0.565_517_5));
    assert!(
        distribution[0]
            .example_ids
            .iter()
            .all(|id| parallel.contains(id))
    );
    assert!(distribution[0].description.contains("solo (2 of 8)"));

    let allocation = swarm
        .outcomes()
        .insights(InsightKind::ResourceAllocation, Some("data_processing"))
        .expect("insights");
    assert_eq!(allocation.len(), 1);
    assert_eq!(allocation[0].subject, "3-agent");
    // The task type is a label: read in its one form, as it was stored.
    let padded = swarm
        .outcomes()
        .insights(
            InsightKind::ResourceAllocation,
            Some(" data_processing\u{200b}"),
        )
        .expect("insights");
    assert_eq!(padded, allocation);

    // Parallel's 9 successful runs all beat solo's successful median (200.5 s).
    let fastest = swarm
        .get_learning_insights(InsightKind::Optimization)
        .expect("insights");
    assert_eq!(
        fastest.len(),
        1,
        "code review has one strategy: nothing to compare"
    );
    assert_eq!(fastest[0].subject, "parallel_processing");
    assert!(close(
        fastest[0].confidence,
        engram::confidence::wilson_lower_bound(9, 9)
    ));

    // Solo fails 6 of 8: lower bound 0.409 (statsmodels).
    let failures = swarm
        .get_learning_insights(InsightKind::Failure)
        .expect("insights");
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].subject, "solo");
    assert!(close(failures[0].confidence, 0.409_275_4));
    assert!(failures[0].example_ids.iter().all(|id| solo.contains(id)));
    assert!(review.len() == 5);

    // A retry with the same idempotency key records once.
    let o = outcome("code_review", "pair_review", 2, false, 12.0);
    let first = swarm
        .record_task_outcome(None, &o, Some("outcome-retry-1"))
        .expect("record");
    let again = swarm
        .record_task_outcome(None, &o, Some("outcome-retry-1"))
        .expect("record");
    assert_eq!(first.id, again.id);
    let reviews = swarm
        .outcomes()
        .insights(InsightKind::TaskDistribution, Some("code_review"))
        .expect("insights");
    assert_eq!(reviews[0].outcomes, 6);

    // Bad outcomes are refused with the field named, and nothing is recorded.
    for (bad, field) in [
        (
            NewOutcome {
                execution_time: f64::NAN,
                ..o.clone()
            },
            "execution_time",
        ),
        (
            NewOutcome {
                agents: Vec::new(),
                ..o.clone()
            },
            "agents",
        ),
        (
            NewOutcome {
                task_type: "\u{200b} ".into(),
                ..o.clone()
            },
            "task_type",
        ),
    ] {
        let error = swarm
            .record_task_outcome(None, &bad, None)
            .expect_err("refused");
        assert!(matches!(error, SwarmError::InvalidInput(_)));
        assert!(error.to_string().contains(field), "{error}");
    }
    let reviews = swarm
        .outcomes()
        .insights(InsightKind::TaskDistribution, Some("code_review"))
        .expect("insights");
    assert_eq!(reviews[0].outcomes, 6);
}

#[test]
fn agent_state_helpers_are_keys_with_agent_isolation() {
    let f = Fixture::new();
    let swarm = &f.swarm;
    let config = object(json!({"role": "data_processor", "capacity": 100}));
    let state = swarm
        .initialize_agent_memory(Some("w1"), "w1", config.clone(), None)
        .expect("initialize");
    assert_eq!(state.entry.key, "agent/w1/state");
    assert_eq!(state.entry.value["status"], "initialized");
    assert_eq!(state.entry.value["config"], Value::Object(config.clone()));

    for priority in ["high", "low"] {
        let decided = swarm
            .store_agent_decision(
                Some("w1"),
                "w1",
                "task_assignment",
                json!({"task_id": "proc_001", "priority": priority}),
                json!({"workload": "medium"}),
                None,
            )
            .expect("decision");
        assert!(decided.entry.key.starts_with("agent/w1/decision/"));
        assert_eq!(decided.entry.value["decision_type"], "task_assignment");
    }
    let decisions = swarm.list("agent/w1/decision", 10, None).expect("list");
    assert_eq!(decisions.entries.len(), 2);

    // Progress merges: two updates of different fields both stand.
    swarm
        .update_agent_progress(
            Some("w1"),
            "w1",
            "proc_001",
            object(json!({"status": "in_progress"})),
            None,
        )
        .expect("progress");
    let progress = swarm
        .update_agent_progress(
            Some("w1"),
            "w1",
            "proc_001",
            object(json!({"completion": 0.75})),
            None,
        )
        .expect("progress");
    assert_eq!(progress.entry.key, "agent/w1/progress/proc_001");
    assert_eq!(
        progress.entry.value,
        json!({"status": "in_progress", "completion": 0.75})
    );
    assert_eq!(progress.entry.version, 2);

    // Shared knowledge is a global key and a knowledge_shared event naming it; a retry
    // with the same idempotency key shares it once.
    let knowledge = json!({"strategy": "parallel_processing", "efficiency_gain": 0.3});
    let shared = swarm
        .share_knowledge_with_swarm(
            Some("w1"),
            "optimization_insight",
            knowledge.clone(),
            Some("share-1"),
        )
        .expect("share");
    let again = swarm
        .share_knowledge_with_swarm(
            Some("w1"),
            "optimization_insight",
            knowledge.clone(),
            Some("share-1"),
        )
        .expect("share");
    assert_eq!(shared, again);
    assert!(
        shared
            .written
            .entry
            .key
            .starts_with("global/knowledge/optimization_insight/")
    );
    assert_eq!(shared.event.kind, EventKind::KnowledgeShared);
    assert_eq!(
        shared.event.key.as_deref(),
        Some(shared.written.entry.key.as_str())
    );
    assert_eq!(shared.event.data["knowledge_type"], "optimization_insight");
    let page = swarm
        .events()
        .read(0, Some("global/knowledge"), 100)
        .expect("events");
    let kinds: Vec<EventKind> = page.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::MemoryUpdated, EventKind::KnowledgeShared]
    );
    assert_eq!(
        swarm
            .list("global/knowledge", 10, None)
            .expect("list")
            .entries
            .len(),
        1
    );

    // An agent writes only its own state; an admin writes anyone's.
    let spoofed = swarm.initialize_agent_memory(Some("w2"), "w1", Map::new(), None);
    assert!(
        matches!(spoofed, Err(SwarmError::NotOwner { .. })),
        "{spoofed:?}"
    );
    let spoofed = swarm.update_agent_progress(Some("w2"), "w1", "proc_001", Map::new(), None);
    assert!(
        matches!(spoofed, Err(SwarmError::NotOwner { .. })),
        "{spoofed:?}"
    );
    swarm
        .initialize_agent_memory(None, "w1", config, None)
        .expect("an admin initialises any agent");

    // A segment with '/' or nothing visible is refused before anything is written.
    for (agent, task) in [("w1/x", "t"), ("w1", "a/b"), ("\u{200b}", "t")] {
        let refused = swarm.update_agent_progress(None, agent, task, Map::new(), None);
        assert!(
            matches!(refused, Err(SwarmError::InvalidInput(_))),
            "{refused:?}"
        );
    }
}
