//! The design note's 24 behaviours (7 of agent memory, 3 of the shared pool, 5 of
//! cross-pollination, 7 of expertise, 3 of integration with the note's workflow examples),
//! each run through the library and through HTTP.

use engram::agents::{LearningInput, PollinationOptions, Scope};

use super::{Api, Http, Library, Refusal, learning};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod library {
            $(#[test] fn $name() { super::$name(&super::Library::new()); })*
        }
        mod http {
            $(#[test] fn $name() { super::$name(&super::Http::new()); })*
        }
    };
}

both!(
    a_private_learning_belongs_to_its_agent,
    a_learning_added_shared_joins_the_pool_at_once,
    private_learnings_are_only_the_agents_own,
    promoting_a_learning_shares_it_and_writes_the_ledger,
    a_learning_is_promoted_once,
    an_agent_cannot_promote_another_agents_learning,
    a_learning_keeps_its_fields_and_refuses_bad_confidence,
    the_pool_holds_only_shared_learnings,
    the_pool_filters_by_domain,
    each_workspace_has_its_own_pool,
    cross_pollination_respects_the_confidence_threshold,
    cross_pollination_promotes_at_most_n_per_agent,
    cross_pollination_reports_every_agent,
    the_promotion_history_counts_exposures,
    near_duplicates_from_several_agents_become_one_shared_learning,
    expertise_starts_at_one_half,
    one_success_scores_one,
    two_successes_of_three_score_two_thirds,
    the_report_covers_every_domain,
    the_best_agent_has_the_best_record,
    ninety_five_of_a_hundred_beats_one_of_one,
    domains_and_agents_are_counted_apart,
    another_agents_private_learning_stays_invisible_until_promoted,
    the_notes_workflow_examples_hold,
);

fn a_private_learning_belongs_to_its_agent(api: &dyn Api) {
    let mut input = learning("Research participants prefer concise summaries", 0.9);
    input.role = Some("researcher".into());
    input.sentiment = "positive".into();
    let stored = api.add("researcher", input).expect("added");
    assert_eq!(stored.scope, Scope::Private);
    assert_eq!(stored.agent, "researcher");
    assert_eq!(stored.role, "researcher");
    assert_eq!(stored.workspace, "default");
    assert_eq!(stored.corroborated_by, vec!["researcher".to_owned()]);
    let private = api.private("researcher");
    assert_eq!(private.len(), 1);
    assert_eq!(private[0].id, stored.id);
    assert!(api.shared("default", None).is_empty());
}

fn a_learning_added_shared_joins_the_pool_at_once(api: &dyn Api) {
    let stored = api
        .add(
            "coder",
            learning("Small pull requests get reviewed faster", 0.7).shared(),
        )
        .expect("added");
    assert_eq!(stored.scope, Scope::Shared);
    assert!(api.private("coder").is_empty());
    let pool = api.shared("default", None);
    assert_eq!(
        pool.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![stored.id]
    );
    // Shared from the start: nothing to promote, no ledger entry.
    let again = api.promote("coder", stored.id, "again").expect("answered");
    assert!(!again.promoted && again.entry.is_none());
    assert_eq!(api.history("default", stored.id), Err(Refusal::NotFound));
}

fn private_learnings_are_only_the_agents_own(api: &dyn Api) {
    let own = api
        .add(
            "researcher",
            learning("Peer review improves methodology", 0.8),
        )
        .expect("added");
    api.add(
        "researcher",
        learning("Surveys need a pilot run", 0.8).shared(),
    )
    .expect("added");
    api.add(
        "coder",
        learning("Clear requirements reduce debugging time", 0.95),
    )
    .expect("added");
    let private = api.private("researcher");
    assert_eq!(
        private.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![own.id]
    );
    assert!(
        private
            .iter()
            .all(|l| l.scope == Scope::Private && l.agent == "researcher")
    );
}

fn promoting_a_learning_shares_it_and_writes_the_ledger(api: &dyn Api) {
    let stored = api
        .add(
            "researcher",
            learning("Research participants prefer concise summaries", 0.9),
        )
        .expect("added");
    let promotion = api
        .promote(
            "researcher",
            stored.id,
            "Broadly applicable insight for all domains",
        )
        .expect("promoted");
    assert!(promotion.promoted);
    let entry = promotion.entry.expect("a ledger entry");
    assert_eq!(entry.learning_id, stored.id);
    assert_eq!(entry.agent, "researcher");
    assert_eq!(entry.original_scope, Scope::Private);
    assert_eq!(entry.reason, "Broadly applicable insight for all domains");
    assert_eq!(entry.promoted_by, "researcher");
    assert_eq!(entry.merged_into, None);
    assert!(entry.promoted_at >= stored.created_at);
    assert!(api.private("researcher").is_empty());
    let pool = api.shared("default", None);
    assert_eq!(pool.len(), 1);
    assert_eq!(pool[0].scope, Scope::Shared);
    assert_eq!(pool[0].promoted_at, Some(entry.promoted_at));
}

fn a_learning_is_promoted_once(api: &dyn Api) {
    let stored = api
        .add("coder", learning("Pin dependency versions", 0.9))
        .expect("added");
    assert!(
        api.promote("coder", stored.id, "first")
            .expect("promoted")
            .promoted
    );
    let second = api.promote("coder", stored.id, "second").expect("answered");
    assert!(!second.promoted);
    let entry = second.entry.expect("the first entry");
    assert_eq!(entry.reason, "first");
    assert_eq!(
        api.history("default", stored.id).expect("history").reason,
        "first"
    );
}

fn an_agent_cannot_promote_another_agents_learning(api: &dyn Api) {
    let stored = api
        .add("researcher", learning("A private hunch", 0.99))
        .expect("added");
    assert_eq!(
        api.promote("coder", stored.id, "mine now"),
        Err(Refusal::NotFound)
    );
    assert_eq!(api.private("researcher").len(), 1, "still private");
    assert_eq!(api.history("default", stored.id), Err(Refusal::NotFound));
}

fn a_learning_keeps_its_fields_and_refuses_bad_confidence(api: &dyn Api) {
    let input = LearningInput {
        content: "The linter's autofix breaks decorators".into(),
        source: "tool_run".into(),
        sentiment: "negative".into(),
        confidence: 0.6,
        tool_name: Some("ruff".into()),
        recommendation: "Run autofix with --unsafe-fixes off".into(),
        role: Some("coder".into()),
        workspace: Some("acme".into()),
        domain: Some("Development".into()),
        private: true,
    };
    let stored = api.add("coder-1", input).expect("added");
    let read = api.get("coder-1", stored.id).expect("its own");
    assert_eq!(read, stored);
    assert_eq!(read.tool_name.as_deref(), Some("ruff"));
    assert_eq!(read.sentiment, "negative");
    assert_eq!(read.recommendation, "Run autofix with --unsafe-fixes off");
    assert_eq!(read.workspace, "acme");
    assert_eq!(read.domain, "development", "domains are lower-cased");
    assert!((read.confidence - 0.6).abs() < 1e-12);
    for bad in [f64::NAN, 1.5, -0.1] {
        assert_eq!(
            api.add("coder-1", learning("x", bad)).map(|l| l.id),
            Err(Refusal::Invalid),
            "confidence {bad}"
        );
    }
    assert_eq!(
        api.add("coder-1", learning("   ", 0.5)).map(|l| l.id),
        Err(Refusal::Invalid)
    );
    assert_eq!(api.private("coder-1").len(), 1, "nothing else was stored");
}

fn the_pool_holds_only_shared_learnings(api: &dyn Api) {
    assert!(api.shared("default", None).is_empty());
    let shared = api
        .add("a", learning("Shared insight", 0.5).shared())
        .expect("added");
    api.add("a", learning("Private insight", 0.5))
        .expect("added");
    let pool = api.shared("default", None);
    assert_eq!(
        pool.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![shared.id]
    );
}

fn the_pool_filters_by_domain(api: &dyn Api) {
    let research = api
        .add(
            "researcher",
            learning("Peer review improves methods", 0.9)
                .domain("research")
                .shared(),
        )
        .expect("added");
    api.add(
        "coder",
        learning("Index foreign keys", 0.9)
            .domain("development")
            .shared(),
    )
    .expect("added");
    let found = api.by_domain("default", "research");
    assert_eq!(
        found.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![research.id]
    );
    assert_eq!(
        api.by_domain("default", "Research").len(),
        1,
        "case-insensitive"
    );
    assert!(api.by_domain("default", "design").is_empty());
}

fn each_workspace_has_its_own_pool(api: &dyn Api) {
    let acme = api
        .add(
            "a",
            learning("Acme's deploys run on Fridays", 0.9)
                .workspace("acme")
                .shared(),
        )
        .expect("added");
    api.add(
        "a",
        learning("Globex freezes deploys in December", 0.9)
            .workspace("globex")
            .shared(),
    )
    .expect("added");
    let pool = api.shared("acme", None);
    assert_eq!(pool.iter().map(|l| l.id).collect::<Vec<_>>(), vec![acme.id]);
    let recalled = api.recall("b", "acme", "when do deploys happen?", 10);
    assert!(
        recalled.iter().all(|r| r.learning.workspace == "acme"),
        "{recalled:?}"
    );
}

fn cross_pollination_respects_the_confidence_threshold(api: &dyn Api) {
    let sure = api
        .add(
            "researcher",
            learning("Interviews beat surveys for depth", 0.8),
        )
        .expect("added");
    let exact = api
        .add(
            "researcher",
            learning("Recruit participants two weeks ahead", 0.75),
        )
        .expect("added");
    api.add(
        "researcher",
        learning("Maybe mornings are better for sessions", 0.5),
    )
    .expect("added");
    let report = api.pollinate("default", &["researcher"], PollinationOptions::default());
    assert_eq!(report.promoted["researcher"], 2);
    let mut promoted: Vec<_> = report.entries.iter().map(|e| e.learning_id).collect();
    promoted.sort();
    let mut expected = vec![sure.id, exact.id];
    expected.sort();
    assert_eq!(promoted, expected, "0.75 is at the threshold, 0.5 below it");
    assert_eq!(api.private("researcher").len(), 1);
}

fn cross_pollination_promotes_at_most_n_per_agent(api: &dyn Api) {
    let texts = [
        "Profile before optimising",
        "Write the failing test first",
        "Log request ids for tracing",
        "Use feature flags for risky releases",
        "Keep functions short and named for what they do",
    ];
    for (i, text) in texts.iter().enumerate() {
        api.add("coder", learning(text, 0.8 + 0.01 * i as f64))
            .expect("added");
    }
    let options = PollinationOptions {
        confidence_threshold: 0.75,
        max_promotions_per_agent: 3,
    };
    let first = api.pollinate("default", &["coder"], options);
    assert_eq!(first.promoted["coder"], 3);
    // The most confident first.
    let shared: Vec<String> = api
        .shared("default", None)
        .into_iter()
        .map(|l| l.content)
        .collect();
    for text in &texts[2..] {
        assert!(shared.contains(&(*text).to_owned()), "{text} in {shared:?}");
    }
    let second = api.pollinate("default", &["coder"], options);
    assert_eq!(second.promoted["coder"], 2, "the rest, next run");
    let third = api.pollinate("default", &["coder"], options);
    assert_eq!(third.promoted["coder"], 0);
}

fn cross_pollination_reports_every_agent(api: &dyn Api) {
    api.add(
        "researcher",
        learning(
            "Interdisciplinary perspectives improve research quality",
            0.9,
        ),
    )
    .expect("added");
    api.add(
        "researcher",
        learning("Longitudinal studies need retention plans", 0.88),
    )
    .expect("added");
    api.add(
        "coder",
        learning("Clear requirements reduce debugging time", 0.95),
    )
    .expect("added");
    let report = api.pollinate(
        "default",
        &["researcher", "coder", "designer"],
        PollinationOptions::default(),
    );
    assert_eq!(report.promoted["researcher"], 2);
    assert_eq!(report.promoted["coder"], 1);
    assert_eq!(
        report.promoted["designer"], 0,
        "an agent with nothing is reported too"
    );
    assert_eq!(report.entries.len(), 3);
    assert!(
        report
            .entries
            .iter()
            .all(|e| e.promoted_by == "cross-pollination")
    );
}

fn the_promotion_history_counts_exposures(api: &dyn Api) {
    let stored = api
        .add(
            "researcher",
            learning("Peer review improves research methodology", 0.85),
        )
        .expect("added");
    api.pollinate("default", &["researcher"], PollinationOptions::default());
    let entry = api.history("default", stored.id).expect("history");
    assert_eq!(entry.agent, "researcher");
    assert_eq!(entry.original_scope, Scope::Private);
    assert!(
        entry.reason.starts_with("Cross-pollination"),
        "{}",
        entry.reason
    );
    assert_eq!(entry.promoted_by, "cross-pollination");
    assert_eq!(entry.exposure_count, 0);
    // Returned to agents: by the pool twice, by recall once, by id once; an admin's
    // listing is nobody's exposure.
    api.shared("default", Some("coder"));
    api.shared("default", Some("designer"));
    api.shared("default", None);
    let recalled = api.recall("coder", "default", "does peer review help research?", 3);
    assert_eq!(recalled[0].learning.id, stored.id);
    api.get("designer", stored.id).expect("shared now");
    assert_eq!(
        api.history("default", stored.id)
            .expect("history")
            .exposure_count,
        4
    );
}

fn near_duplicates_from_several_agents_become_one_shared_learning(api: &dyn Api) {
    let first = api
        .add(
            "coder",
            learning("Clear requirements reduce debugging time", 0.95),
        )
        .expect("added");
    let second = api
        .add(
            "tester",
            learning(
                "Debugging takes less time when the requirements are clear",
                0.9,
            ),
        )
        .expect("added");
    let other = api
        .add(
            "designer",
            learning("Clear requirements make estimates more accurate", 0.9),
        )
        .expect("added");
    let report = api.pollinate(
        "default",
        &["coder", "tester", "designer"],
        PollinationOptions::default(),
    );
    assert_eq!(report.promoted["tester"], 1);
    assert_eq!(report.merged["tester"], 1);
    assert_eq!(
        report.merged["designer"], 0,
        "related but different: kept apart"
    );
    let merged = &report.entries[1];
    assert_eq!(
        (merged.learning_id, merged.merged_into),
        (second.id, Some(first.id))
    );
    assert!(merged.merge_similarity.expect("similarity") >= engram::agents::DUPLICATE_COSINE);
    let pool = api.shared("default", None);
    let ids: Vec<_> = pool.iter().map(|l| l.id).collect();
    assert_eq!(
        ids.len(),
        2,
        "one learning for the two near-duplicates: {pool:?}"
    );
    assert!(ids.contains(&first.id) && ids.contains(&other.id));
    let corroborated = pool.iter().find(|l| l.id == first.id).expect("first");
    assert_eq!(
        corroborated.corroborated_by,
        vec!["coder".to_owned(), "tester".to_owned()]
    );
    let own = api.get("tester", second.id).expect("its own");
    assert_eq!(
        (own.scope, own.merged_into),
        (Scope::Merged, Some(first.id))
    );
    let again = api.pollinate(
        "default",
        &["coder", "tester", "designer"],
        PollinationOptions::default(),
    );
    assert!(again.entries.is_empty(), "nothing left: {again:?}");
}

fn expertise_starts_at_one_half(api: &dyn Api) {
    let fresh = api.expertise("designer", "research");
    assert_eq!(
        (fresh.score, fresh.lower_bound, fresh.interactions),
        (0.5, 0.0, 0)
    );
    assert!(api.report("designer").is_empty());
}

fn one_success_scores_one(api: &dyn Api) {
    let after = api.interact("researcher", "research", true);
    assert_eq!(
        (after.score, after.successes, after.interactions),
        (1.0, 1, 1)
    );
    let failed = api.interact("coder", "research", false);
    assert_eq!((failed.score, failed.interactions), (0.0, 1));
    assert_eq!(api.expertise("researcher", "research").score, 1.0);
}

fn two_successes_of_three_score_two_thirds(api: &dyn Api) {
    api.interact("coder", "development", true);
    api.interact("coder", "development", true);
    api.interact("coder", "development", false);
    let score = api.expertise("coder", "development").score;
    assert!(0.66 < score && score < 0.68, "{score}");
}

fn the_report_covers_every_domain(api: &dyn Api) {
    for ok in [true, true, false] {
        api.interact("coder", "development", ok);
    }
    api.interact("coder", "research", true);
    let report = api.report("coder");
    let scores: Vec<(String, f64)> = report.iter().map(|e| (e.domain.clone(), e.score)).collect();
    assert_eq!(scores.len(), 2);
    assert_eq!(scores[0].0, "development");
    assert!((scores[0].1 - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(scores[1], ("research".to_owned(), 1.0));
}

fn the_best_agent_has_the_best_record(api: &dyn Api) {
    for _ in 0..3 {
        api.interact("researcher", "research", true);
    }
    api.interact("coder", "research", false);
    api.interact("coder", "research", true);
    let best = api.best("research", &["researcher", "coder", "designer"]);
    assert_eq!(best.best, "researcher");
    let order: Vec<&str> = best.ranking.iter().map(|e| e.agent.as_str()).collect();
    assert_eq!(order, ["researcher", "coder", "designer"]);
    assert_eq!(
        best.ranking[2].interactions, 0,
        "the sample size is reported"
    );
}

fn ninety_five_of_a_hundred_beats_one_of_one(api: &dyn Api) {
    api.interact("lucky", "development", true);
    for i in 0..100 {
        api.interact("steady", "development", i >= 5);
    }
    let best = api.best("development", &["lucky", "steady"]);
    assert_eq!(best.best, "steady", "{best:?}");
    let steady = &best.ranking[0];
    assert_eq!((steady.successes, steady.interactions), (95, 100));
    // statsmodels 0.15: proportion_confint(95, 100, method="wilson")[0] = 0.8882495,
    // proportion_confint(1, 1, method="wilson")[0] = 0.2065493.
    assert!((steady.lower_bound - 0.888_249_5).abs() < 1e-6);
    assert!((best.ranking[1].lower_bound - 0.206_549_3).abs() < 1e-6);
    assert_eq!(
        best.ranking[1].score, 1.0,
        "the plain ratio ranks the other way"
    );
}

fn domains_and_agents_are_counted_apart(api: &dyn Api) {
    api.interact("coder", "development", true);
    api.interact("coder", "design", false);
    api.interact("designer", "design", true);
    assert_eq!(api.expertise("coder", "development").interactions, 1);
    assert_eq!(api.expertise("coder", "design").score, 0.0);
    assert_eq!(api.expertise("designer", "design").score, 1.0);
    assert_eq!(api.expertise("designer", "development").score, 0.5);
}

fn another_agents_private_learning_stays_invisible_until_promoted(api: &dyn Api) {
    let secret = api
        .add(
            "researcher",
            learning("The coder's estimates run 40 percent over", 0.6),
        )
        .expect("added");
    assert_eq!(api.get("coder", secret.id), Err(Refusal::NotFound));
    let recalled = api.recall(
        "coder",
        "default",
        "how far over do the coder's estimates run?",
        10,
    );
    assert!(recalled.iter().all(|r| r.learning.id != secret.id));
    let own = api.recall(
        "researcher",
        "default",
        "how far over do the coder's estimates run?",
        10,
    );
    assert_eq!(own[0].learning.id, secret.id, "its own agent recalls it");
    assert!(own[0].cosine > 0.5, "{}", own[0].cosine);
    assert!(
        own[0].similarity > 0.0 && own[0].similarity <= 1.0,
        "{}",
        own[0].similarity
    );
    api.promote("researcher", secret.id, "the team should plan for it")
        .expect("promoted");
    assert_eq!(
        api.get("coder", secret.id).expect("shared now").scope,
        Scope::Shared
    );
    let recalled = api.recall(
        "coder",
        "default",
        "how far over do the coder's estimates run?",
        10,
    );
    assert_eq!(recalled[0].learning.id, secret.id);
}

fn the_notes_workflow_examples_hold(api: &dyn Api) {
    // Example 1: a private learning, promoted by cross-pollination at 0.75.
    let learned = api
        .add(
            "researcher",
            learning("Research methodology improves with peer review", 0.85),
        )
        .expect("added");
    let results = api.pollinate("default", &["researcher"], PollinationOptions::default());
    assert_eq!(results.promoted["researcher"], 1);
    assert!(
        api.shared("default", None)
            .iter()
            .any(|l| l.id == learned.id)
    );
    // Example 3: a team session, threshold 0.85.
    for (agent, text, confidence) in [
        (
            "researcher",
            "Interdisciplinary perspectives improve research quality",
            0.9,
        ),
        ("coder", "Clear requirements reduce debugging time", 0.95),
        (
            "designer",
            "User testing reveals accessibility issues early",
            0.92,
        ),
    ] {
        let mut input = learning(text, confidence);
        input.source = "user_feedback".into();
        api.add(agent, input).expect("added");
    }
    let options = PollinationOptions {
        confidence_threshold: 0.85,
        max_promotions_per_agent: 3,
    };
    let results = api.pollinate("default", &["researcher", "coder", "designer"], options);
    assert_eq!(
        results.promoted.values().copied().collect::<Vec<_>>(),
        vec![1, 1, 1],
        "{results:?}"
    );
    assert!(api.shared("default", None).len() >= 3);
}
