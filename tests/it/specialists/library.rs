//! The note's success criteria and the rules around them, through the library.

use engram::specialists::{
    MAX_RESPONSE_CHARS, SessionInput, SpecialistError, SpecialistSpec, Verdict,
};

use super::{Fixture, council, session};

#[test]
fn the_seven_specialists_are_initialised_once_and_keep_their_history() {
    let f = Fixture::new();
    let s = &f.specialists;
    let first = s.init_specialists(&council()).expect("init");
    assert_eq!(first.len(), 7);
    assert!(first.iter().all(|i| i.created), "{first:?}");
    let mut names: Vec<String> = council().into_iter().map(|c| c.id).collect();
    names.sort();
    assert_eq!(s.list().expect("list"), names);
    let crawdad = s.state("crawdad").expect("state");
    assert_eq!(crawdad.session_count, 0);
    let topics: Vec<&str> = crawdad.topics.iter().map(|t| t.topic.as_str()).collect();
    assert_eq!(
        topics,
        ["authentication", "iot", "security"],
        "lower-cased, by name at 0"
    );

    s.record_session(
        "crawdad",
        session(
            "d-1",
            "Can the IoT hub reuse one API key for every device?",
            &[],
        ),
    )
    .expect("record");
    let mut changed = council();
    changed[0].topics = vec!["cryptography".into()];
    let second = s.init_specialists(&changed).expect("init again");
    assert!(second.iter().all(|i| !i.created), "{second:?}");
    let crawdad = s.state("crawdad").expect("state");
    assert_eq!(crawdad.session_count, 1, "history kept");
    assert!(
        !crawdad.topics.iter().any(|t| t.topic == "cryptography"),
        "starting topics kept"
    );
    assert_eq!(s.list().expect("list").len(), 7);
}

#[test]
fn the_session_count_increments_and_is_exact_under_concurrency() {
    let f = Fixture::new();
    let s = &f.specialists;
    s.init_specialists(&council()).expect("init");
    for n in 1..=3u64 {
        let recorded = s
            .record_session(
                "gecko",
                session(&format!("seq-{n}"), "Is the orders query fast enough?", &[]),
            )
            .expect("record");
        assert_eq!(recorded.session_count, n);
        assert_eq!(s.state("gecko").expect("state").session_count, n);
    }
    // 32 sessions at once, each its own deliberation; and 8 retries of one deliberation.
    std::thread::scope(|scope| {
        for n in 0..32 {
            scope.spawn(move || {
                s.record_session(
                    "gecko",
                    session(
                        &format!("par-{n}"),
                        &format!("Will index {n} speed up the report query?"),
                        &[("performance", "the index slows down writes")],
                    ),
                )
                .expect("concurrent record");
            });
        }
        for _ in 0..8 {
            scope.spawn(move || {
                s.record_session(
                    "gecko",
                    session("retried", "Should we shard the events table?", &[]),
                )
                .expect("retried record");
            });
        }
    });
    let state = s.state("gecko").expect("state");
    assert_eq!(
        state.session_count,
        3 + 32 + 1,
        "exact: one per deliberation"
    );
    assert_eq!(state.concerns_raised, 32);
}

#[test]
fn topics_accumulate_newest_first() {
    let f = Fixture::new();
    let s = &f.specialists;
    s.init_specialists(&council()).expect("init");
    let first = s
        .record_session(
            "raven",
            session(
                "t-1",
                "Should we migrate the billing database to a managed Postgres service?",
                &[],
            ),
        )
        .expect("record");
    assert!(!first.topics.is_empty(), "topics extracted: {first:?}");
    assert!(
        first
            .topics
            .iter()
            .any(|t| t.contains("billing") || t.contains("postgres")),
        "{:?}",
        first.topics
    );
    let second = s
        .record_session(
            "raven",
            SessionInput {
                topics: Some(vec!["Vendor Lock-in".into(), "cost".into()]),
                ..session("t-2", "Is a multi-cloud strategy worth its cost?", &[])
            },
        )
        .expect("record");
    assert_eq!(second.topics, ["vendor lock-in", "cost"]);
    let state = s.state("raven").expect("state");
    assert_eq!(&state.recent_topics[..2], ["vendor lock-in", "cost"]);
    for topic in first.topics.iter().chain(&second.topics) {
        let seen = state.topics.iter().find(|t| &t.topic == topic);
        assert_eq!(
            seen.map(|t| t.sessions),
            Some(1),
            "{topic}: {:?}",
            state.topics
        );
    }
    for starting in ["strategy", "planning", "risk"] {
        assert!(state.topics.iter().any(|t| t.topic == starting));
        assert!(state.recent_topics.iter().any(|t| t == starting));
    }
    assert_eq!(state.recent_decisions.len(), 2);
    assert_eq!(state.recent_decisions[0].deliberation, "t-2");
    assert_eq!(
        state.last_question_hash.as_deref(),
        Some(
            engram::specialists::question_hash("Is a multi-cloud strategy worth its cost?")
                .as_str()
        )
    );
}

#[test]
fn patterns_are_learned_from_validated_concerns() {
    let f = Fixture::new();
    let s = &f.specialists;
    s.init_specialists(&council()).expect("init");
    let questions = [
        "Can mobile clients keep OAuth refresh tokens in local storage?",
        "Should the partner portal log in users with OAuth implicit flow?",
        "Do we let the CLI cache OAuth tokens on disk?",
        "May the kiosk app share one OAuth client secret?",
        "Should the admin console accept OAuth tokens from any issuer?",
    ];
    for (n, question) in questions.iter().enumerate() {
        s.record_session(
            "crawdad",
            SessionInput {
                topics: Some(vec!["oauth".into()]),
                ..session(
                    &format!("o-{n}"),
                    question,
                    &[
                        ("security", "tokens can be stolen"),
                        ("usability", "users must log in again"),
                    ],
                )
            },
        )
        .expect("record");
    }
    assert!(
        s.patterns("crawdad").expect("patterns").is_empty(),
        "nothing validated yet"
    );
    // Three deliberations validated, one dismissed, one without an outcome.
    for n in 0..3 {
        let report = s
            .record_outcome(
                &format!("o-{n}"),
                Verdict::Validated,
                None,
                Some("REVIEW REQUIRED"),
            )
            .expect("outcome");
        assert_eq!((report.marked, report.already), (2, 0));
        assert_eq!(report.specialists, ["crawdad"]);
    }
    s.record_outcome("o-3", Verdict::Dismissed, None, None)
        .expect("outcome");
    let patterns = s.patterns("crawdad").expect("patterns");
    assert_eq!(patterns.len(), 2, "{patterns:?}");
    for p in &patterns {
        assert_eq!(p.topic, "oauth");
        assert_eq!((p.raised, p.validated, p.dismissed), (5, 3, 1));
        // statsmodels 0.15: proportion_confint(3, 4, method="wilson")[0] = 0.3006418.
        assert!((p.precision_lower_bound - 0.300_641_8).abs() < 1e-6);
    }
    assert_eq!(patterns[0].kind, "security", "ties by name");
    let state = s.state("crawdad").expect("state");
    assert_eq!(state.expertise[0].topic, "oauth");
    assert_eq!(
        (state.expertise[0].validated, state.expertise[0].judged),
        (6, 8)
    );
    assert!(
        state
            .recent_concerns
            .iter()
            .any(|c| c.verdict == Some(Verdict::Validated))
    );
    assert!(state.recent_concerns.iter().any(|c| c.verdict.is_none()));
}

#[test]
fn the_context_for_a_fixed_history() {
    let f = Fixture::new();
    let s = &f.specialists;
    s.init_specialists(&[SpecialistSpec {
        id: "crawdad".into(),
        topics: vec!["security".into(), "IoT".into()],
    }])
    .expect("init");
    let context = s.context("crawdad", 2000).expect("context");
    assert_eq!(
        context.text,
        "[Your experience: 0 sessions. Recent topics: security, iot.]"
    );
    let history = [
        (
            "h-1",
            "Can the sensors send readings without TLS?",
            "tls",
            "readings can be read on the wire",
        ),
        (
            "h-2",
            "May the firmware update skip signature checks?",
            "firmware",
            "unsigned firmware can be installed",
        ),
        (
            "h-3",
            "May the firmware updater skip checking signatures?",
            "firmware",
            "firmware without a signature can be installed",
        ),
    ];
    for (deliberation, question, topic, concern) in history {
        s.record_session(
            "crawdad",
            SessionInput {
                topics: Some(vec![topic.into()]),
                ..session(deliberation, question, &[("security", concern)])
            },
        )
        .expect("record");
    }
    s.record_outcome("h-1", Verdict::Validated, None, None)
        .expect("outcome");
    let context = s.context("crawdad", 2000).expect("context");
    // Written by hand from the history above and the format of `specialists/context.rs`:
    // topics newest first then the starting ones; one pattern (tls, validated 1 of 1); the
    // h-3 concern repeats h-2's (similar question, same concern) and has no outcome.
    assert_eq!(
        context.text,
        "[Your experience: 3 sessions. Recent topics: firmware, tls, security, iot. Patterns \
         learned: security concerns about tls validated 1 of 1. Repeated concerns awaiting an \
         outcome: unsigned firmware can be installed (1 repeat).]"
    );
    assert_eq!(context.omitted, 0);
    let small = s.context("crawdad", 60).expect("context");
    assert_eq!(
        small.text,
        "[Your experience: 3 sessions. Recent topics: firmware, tls.]"
    );
    assert!(small.text.chars().count() <= 60);
    assert_eq!(small.omitted, 4);
}

#[test]
fn an_outcome_is_recorded_once() {
    let f = Fixture::new();
    let s = &f.specialists;
    s.init_specialists(&council()).expect("init");
    for who in ["crawdad", "gecko"] {
        s.record_session(
            who,
            session(
                "v-1",
                "Should the export job run on the primary database?",
                &[("risk", "it can overload the primary")],
            ),
        )
        .expect("record");
    }
    let only = ["gecko".to_owned()];
    let gecko = s
        .record_outcome("v-1", Verdict::Validated, Some(&only), None)
        .expect("outcome");
    assert_eq!(
        (gecko.marked, gecko.specialists.clone()),
        (1, vec!["gecko".to_owned()])
    );
    let all = s
        .record_outcome("v-1", Verdict::Validated, None, None)
        .expect("retry");
    assert_eq!((all.marked, all.already), (1, 1));
    let again = s
        .record_outcome("v-1", Verdict::Validated, None, None)
        .expect("retry");
    assert_eq!((again.marked, again.already), (0, 2));
    let other = s.record_outcome("v-1", Verdict::Dismissed, None, None);
    assert!(
        matches!(
            other,
            Err(SpecialistError::VerdictConflict {
                current: Verdict::Validated,
                ..
            })
        ),
        "{other:?}"
    );
    let unknown = s.record_outcome("never", Verdict::Validated, None, None);
    assert!(
        matches!(unknown, Err(SpecialistError::UnknownDeliberation(_))),
        "{unknown:?}"
    );

    // Two outcomes at once with different verdicts: exactly one wins.
    s.record_session(
        "raven",
        session(
            "v-2",
            "Do we freeze releases in December?",
            &[("strategy", "the freeze delays fixes")],
        ),
    )
    .expect("record");
    let results: Vec<_> = std::thread::scope(|scope| {
        let a = scope.spawn(|| s.record_outcome("v-2", Verdict::Validated, None, None));
        let b = scope.spawn(|| s.record_outcome("v-2", Verdict::Dismissed, None, None));
        vec![a.join().expect("a"), b.join().expect("b")]
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
}

#[test]
fn bad_input_is_refused_and_a_long_response_is_truncated() {
    let f = Fixture::new();
    let s = &f.specialists;
    s.init_specialists(&council()).expect("init");
    let unknown = s.record_session("nobody", session("b-1", "Anything?", &[]));
    assert!(
        matches!(unknown, Err(SpecialistError::UnknownSpecialist(_))),
        "{unknown:?}"
    );
    assert!(matches!(
        s.state("nobody"),
        Err(SpecialistError::UnknownSpecialist(_))
    ));
    assert!(matches!(
        s.context("nobody", 100),
        Err(SpecialistError::UnknownSpecialist(_))
    ));
    for question in ["", "  \u{200b}\n"] {
        let empty = s.record_session("gecko", session("b-2", question, &[]));
        assert!(
            matches!(empty, Err(SpecialistError::InvalidInput(_))),
            "{empty:?}"
        );
    }
    let budget = s.context("gecko", 0);
    assert!(
        matches!(budget, Err(SpecialistError::InvalidInput(_))),
        "{budget:?}"
    );
    let blank_concern = s.record_session(
        "gecko",
        session("b-3", "Is it fast?", &[("performance", " ")]),
    );
    assert!(matches!(
        blank_concern,
        Err(SpecialistError::InvalidInput(_))
    ));
    let bad_name = s.init_specialists(&[SpecialistSpec {
        id: "a\u{7}b".into(),
        topics: vec![],
    }]);
    assert!(matches!(bad_name, Err(SpecialistError::InvalidInput(_))));
    assert_eq!(
        s.state("gecko").expect("state").session_count,
        0,
        "nothing stored"
    );

    let response = "é".repeat(1 << 20);
    let recorded = s
        .record_session(
            "gecko",
            SessionInput {
                response,
                ..session("b-4", "Can the cache hold a megabyte per entry?", &[])
            },
        )
        .expect("a 1 MB response is kept truncated");
    assert!(recorded.response_truncated);
    assert_eq!(recorded.response_chars, 1 << 20);
    const { assert!(MAX_RESPONSE_CHARS < 1 << 20) };

    // The same deliberation again: the same question is a retry, another is refused.
    let retry = s
        .record_session(
            "gecko",
            session("b-4", "Can the cache hold a megabyte per entry?", &[]),
        )
        .expect("retry");
    assert!(retry.replayed);
    assert_eq!(retry.id, recorded.id);
    let other = s.record_session("gecko", session("b-4", "Another question?", &[]));
    assert!(
        matches!(other, Err(SpecialistError::SessionConflict { .. })),
        "{other:?}"
    );
    assert_eq!(s.state("gecko").expect("state").session_count, 1);
}

#[test]
fn a_retry_writes_the_concerns_a_crash_left_unwritten() {
    let f = Fixture::new();
    let s = &f.specialists;
    s.init_specialists(&council()).expect("init");
    let concerns = [
        ("security", "the token never expires"),
        ("risk", "the audit log is lost"),
    ];
    let question = "Can the device keep its token after a factory reset?";
    let first = s
        .record_session("crawdad", session("c-1", question, &concerns))
        .expect("record");
    // What a process killed between the session and its concerns leaves behind.
    let collection = f
        .store
        .open_existing(engram::specialists::CONCERNS_COLLECTION)
        .expect("open")
        .expect("the concerns collection");
    let ids: Vec<_> = first.concerns.iter().map(|c| c.id).collect();
    collection.delete(&ids).expect("delete");
    assert_eq!(s.state("crawdad").expect("state").concerns_raised, 0);

    let retry = s
        .record_session("crawdad", session("c-1", question, &concerns))
        .expect("retry");
    assert!(retry.replayed);
    let back: Vec<_> = retry
        .concerns
        .iter()
        .map(|c| (c.id, c.text.as_str()))
        .collect();
    let sent: Vec<_> = first
        .concerns
        .iter()
        .map(|c| (c.id, c.text.as_str()))
        .collect();
    assert_eq!(back, sent, "the same concerns, under the same ids");
    let state = s.state("crawdad").expect("state");
    assert_eq!((state.session_count, state.concerns_raised), (1, 2));
}
