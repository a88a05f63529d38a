//! The library API: round trips, deduplication, ranking by evidence, filters, bad input.

use engram::memory::{
    ErrorInput, Language, MAX_CONTENT_CHARS, MemoryError, MemoryKind, Metrics, PatternInput,
    RecallOptions, SolutionInput,
};

use super::Fixture;

const JWT: &str = r#"import jwt
from functools import wraps

def require_token(handler):
    @wraps(handler)
    def wrapper(request, *args, **kwargs):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            request.user = jwt.decode(token, SECRET, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return 401, {"error": "invalid token"}
        return handler(request, *args, **kwargs)
    return wrapper
"#;

const RETRY: &str = r#"async fn with_retry<T, F, Fut>(mut op: F) -> Result<T, Error>
where F: FnMut() -> Fut, Fut: Future<Output = Result<T, Error>> {
    let mut delay = Duration::from_millis(100);
    for _ in 0..5 {
        match op().await {
            Ok(v) => return Ok(v),
            Err(_) => { sleep(delay).await; delay *= 2; }
        }
    }
    op().await
}"#;

fn count(f: &Fixture, kind: MemoryKind) -> usize {
    f.memory.collection(kind).count(None).expect("count")
}

#[test]
fn a_code_pattern_round_trips_and_is_recalled_by_meaning() {
    let f = Fixture::new();
    let metrics = Metrics::from([
        ("success_rate".to_owned(), 1.0),
        ("tests_passed".to_owned(), 12.0),
    ]);
    let stored = f
        .memory
        .store_code_pattern(
            "JWT bearer token check",
            JWT,
            Language::Python,
            "REST API authentication",
            metrics.clone(),
        )
        .expect("store");
    assert!(stored.created);
    f.memory
        .store_code_pattern(
            "retry with exponential backoff",
            RETRY,
            Language::Rust,
            "flaky network calls",
            Metrics::new(),
        )
        .expect("store");
    let found = f
        .memory
        .recall_similar_patterns("implement user authentication", None, 2)
        .expect("recall");
    assert_eq!(found[0].id, stored.id);
    let pattern = &found[0].record;
    assert_eq!(pattern.name, "JWT bearer token check");
    assert_eq!(pattern.code, JWT);
    assert_eq!(pattern.language, Language::Python);
    assert_eq!(pattern.context, "REST API authentication");
    assert_eq!(pattern.metrics, metrics);
    assert_eq!(pattern.source, "api");
    assert_eq!(pattern.track.seen_count, 1);
    let rust_only = f
        .memory
        .recall_similar_patterns("implement user authentication", Some(Language::Rust), 5)
        .expect("recall");
    assert!(
        rust_only
            .iter()
            .all(|r| r.record.language == Language::Rust)
    );
    assert_eq!(rust_only.len(), 1);
}

#[test]
fn a_solution_round_trips() {
    let f = Fixture::new();
    let stored = f
        .memory
        .store_solution(SolutionInput {
            language: Language::Python,
            tags: vec!["fastapi".into(), "startup".into()],
            ..SolutionInput::new(
                "FastAPI app fails to start because uvicorn is missing",
                "pip install 'uvicorn[standard]' and run `uvicorn app.main:app --reload`",
            )
        })
        .expect("store");
    let found = f
        .memory
        .recall_solutions("my fastapi server will not start", &RecallOptions::top(3))
        .expect("recall");
    assert_eq!(found[0].id, stored.id);
    assert_eq!(found[0].record.tags, vec!["fastapi", "startup"]);
    assert!(found[0].record.solution.contains("uvicorn[standard]"));
}

#[test]
fn an_error_resolution_round_trips_with_its_original_message() {
    let f = Fixture::new();
    let message = "Traceback (most recent call last):\n  File \"/home/ci/app/main.py\", line 3, in <module>\n    import fastapi\nModuleNotFoundError: No module named 'fastapi'";
    let stored = f
        .memory
        .store_error_resolution(
            message,
            "starting the API server",
            "pip install fastapi uvicorn",
            true,
        )
        .expect("store");
    let found = f
        .memory
        .recall_error_solutions("Cannot import fastapi", 3)
        .expect("recall");
    assert_eq!(found[0].id, stored.id);
    let record = &found[0].record;
    assert_eq!(record.error_message, message, "the original text is kept");
    assert!(record.normalized.contains("No module named fastapi"));
    assert!(!record.normalized.contains("/home/ci"));
    assert_eq!(record.resolution, "pip install fastapi uvicorn");
    assert_eq!(record.context, "starting the API server");
}

#[test]
fn the_same_error_stored_five_times_is_one_record_with_the_mix_of_outcomes() {
    let f = Fixture::new();
    let outcomes = [true, false, true, true, false];
    let mut ids = Vec::new();
    for (i, success) in outcomes.iter().enumerate() {
        // The same error from other files and lines: one entry.
        let message = format!(
            "File \"/srv/worker{i}/jobs.py\", line {}, in run\nKeyError: 'user_id'",
            10 + i * 7
        );
        let stored = f
            .memory
            .store_error(ErrorInput::new(
                message,
                "use payload.get('user_id') and handle None",
                *success,
            ))
            .expect("store");
        assert_eq!(stored.seen_count, i as u64 + 1);
        assert_eq!(stored.created, i == 0);
        ids.push(stored.id);
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(count(&f, MemoryKind::Error), 1);
    let found = f
        .memory
        .recall_error_solutions("KeyError: 'user_id'", 1)
        .expect("recall");
    let track = &found[0].record.track;
    assert_eq!(track.seen_count, 5);
    assert!((track.success_rate - 0.6).abs() < 1e-9, "{track:?}");
    assert!(track.updated_at >= track.created_at);
}

#[test]
fn proven_resolutions_rank_above_equally_similar_unproven_ones() {
    let f = Fixture::new();
    let message = "ConnectionRefusedError: [Errno 111] Connection refused";
    let unproven = f
        .memory
        .store_error(ErrorInput::new(message, "restart the computer", false))
        .expect("store");
    let proven = f
        .memory
        .store_error(ErrorInput::new(
            message,
            "start postgres: systemctl start postgresql",
            true,
        ))
        .expect("store");
    for _ in 0..3 {
        f.memory
            .store_error(ErrorInput::new(
                message,
                "start postgres: systemctl start postgresql",
                true,
            ))
            .expect("store again");
    }
    let found = f.memory.recall_error_solutions(message, 2).expect("recall");
    assert_eq!(found[0].id, proven.id);
    assert_eq!(found[1].id, unproven.id);
    assert!(
        (found[0].similarity - found[1].similarity).abs() < 1e-3,
        "equally similar"
    );
    assert!(found[0].score > found[1].score);
    let reliable = f
        .memory
        .recall_errors(
            message,
            &RecallOptions {
                min_success_rate: Some(0.5),
                ..RecallOptions::top(5)
            },
        )
        .expect("recall");
    assert_eq!(reliable.len(), 1);
    assert_eq!(reliable[0].id, proven.id);
}

#[test]
fn recall_filters_by_tags_and_source() {
    let f = Fixture::new();
    let tagged = f
        .memory
        .store_pattern(PatternInput {
            tags: vec!["auth".into(), "web".into()],
            source: "extractor".into(),
            ..PatternInput::new("token check", JWT, Language::Python)
        })
        .expect("store");
    f.memory
        .store_pattern(PatternInput {
            tags: vec!["web".into()],
            ..PatternInput::new("backoff", RETRY, Language::Rust)
        })
        .expect("store");
    let both = |tags: &[&str], source: Option<&str>| {
        f.memory
            .recall_patterns(
                "code",
                &RecallOptions {
                    tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                    source: source.map(str::to_owned),
                    ..RecallOptions::top(5)
                },
            )
            .expect("recall")
            .into_iter()
            .map(|r| r.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(both(&["auth"], None), vec![tagged.id]);
    assert_eq!(both(&["web"], None).len(), 2);
    assert_eq!(both(&["web"], Some("extractor")), vec![tagged.id]);
    assert!(both(&["nothing"], None).is_empty());
}

/// Labels take one form at store and at filter time: surrounding whitespace and invisible
/// characters go, each tag is kept once, case is kept and compared exactly.
#[test]
fn labels_take_one_form_at_store_and_at_recall() {
    let f = Fixture::new();
    let stored = f
        .memory
        .store_error(ErrorInput {
            tags: vec![" db ".into(), "ticket/ES-12/3".into(), "\u{200b}db".into()],
            source: " ci\u{feff}".into(),
            ..ErrorInput::new("KeyError: 'tenant_slug'", "seed the tenant table", true)
        })
        .expect("store");
    let found = |tags: &[&str], source: Option<&str>| {
        f.memory
            .recall_errors(
                "KeyError tenant_slug",
                &RecallOptions {
                    tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                    source: source.map(str::to_owned),
                    ..RecallOptions::top(5)
                },
            )
            .expect("recall")
    };
    let all = found(&[], None);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].record.tags, ["db", "ticket/ES-12/3"]);
    assert_eq!(all[0].record.source, "ci");
    for (tags, source) in [
        (&["db"][..], None),
        (&[" db"][..], None),
        (&[" ticket/ES-12/3 ", "db"][..], Some("ci")),
        (&["\u{2060}db\u{2060}"][..], Some(" ci ")),
    ] {
        let hits = found(tags, source);
        assert_eq!(hits.len(), 1, "{tags:?} {source:?}");
        assert_eq!(hits[0].id, stored.id);
    }
    assert!(
        found(&["DB"], None).is_empty(),
        "labels compare with their case"
    );
}

#[test]
fn bad_input_is_refused_and_leaves_the_store_intact() {
    let f = Fixture::new();
    f.memory
        .store_code_pattern("keep", JWT, Language::Python, "", Metrics::new())
        .expect("store");
    let before: Vec<usize> = MemoryKind::ALL.iter().map(|k| count(&f, *k)).collect();
    let nan = Metrics::from([("success_rate".to_owned(), f64::NAN)]);
    let too_high = Metrics::from([("success_rate".to_owned(), 1.5)]);
    let infinite = Metrics::from([("latency_ms".to_owned(), f64::INFINITY)]);
    let huge = "x".repeat(MAX_CONTENT_CHARS + 1);
    let attempts: Vec<(&str, Result<_, MemoryError>)> = vec![
        (
            "empty code",
            f.memory
                .store_code_pattern("n", "  ", Language::Python, "", Metrics::new()),
        ),
        (
            "empty name",
            f.memory
                .store_code_pattern("", "x = 1", Language::Python, "", Metrics::new()),
        ),
        (
            "code over the limit",
            f.memory
                .store_code_pattern("n", &huge, Language::Python, "", Metrics::new()),
        ),
        (
            "NaN success rate",
            f.memory
                .store_code_pattern("n", "x = 2", Language::Python, "", nan),
        ),
        (
            "success rate 1.5",
            f.memory
                .store_code_pattern("n", "x = 3", Language::Python, "", too_high),
        ),
        (
            "infinite metric",
            f.memory
                .store_code_pattern("n", "x = 4", Language::Python, "", infinite),
        ),
        (
            "empty error",
            f.memory.store_error_resolution("", "", "fix", true),
        ),
        (
            "empty resolution",
            f.memory.store_error_resolution("E", "", " ", true),
        ),
        (
            "empty problem",
            f.memory.store_solution(SolutionInput::new("", "s")),
        ),
        (
            "control character in a tag",
            f.memory.store_pattern(PatternInput {
                tags: vec!["a\u{7}".into()],
                ..PatternInput::new("n", "x = 5", Language::Python)
            }),
        ),
    ];
    for (what, result) in attempts {
        let error = result.expect_err(what);
        assert!(error.is_caller_fault(), "{what}: {error}");
        assert!(
            matches!(error, MemoryError::InvalidInput(_)),
            "{what}: {error}"
        );
    }
    let recall_errors = [
        f.memory.recall_similar_patterns("", None, 5).err(),
        f.memory.recall_similar_patterns("x", None, 0).err(),
        f.memory.recall_similar_patterns("x", None, 1_000_000).err(),
        f.memory
            .recall_patterns(
                "x",
                &RecallOptions {
                    min_success_rate: Some(f64::NAN),
                    ..RecallOptions::top(3)
                },
            )
            .err(),
    ];
    assert!(
        recall_errors
            .iter()
            .all(|e| e.as_ref().is_some_and(MemoryError::is_caller_fault))
    );
    let unknown = "cobol".parse::<Language>().expect_err("unknown language");
    assert!(unknown.to_string().contains("python"), "{unknown}");
    let after: Vec<usize> = MemoryKind::ALL.iter().map(|k| count(&f, *k)).collect();
    assert_eq!(before, after, "nothing was written");
}

#[test]
fn recalling_from_an_empty_memory_returns_nothing() {
    let f = Fixture::new();
    assert!(
        f.memory
            .recall_similar_patterns("anything", None, 5)
            .expect("recall")
            .is_empty()
    );
    assert!(
        f.memory
            .recall_solutions("anything", &RecallOptions::top(5))
            .expect("recall")
            .is_empty()
    );
    assert!(
        f.memory
            .recall_error_solutions("anything", 5)
            .expect("recall")
            .is_empty()
    );
    let stats = f.memory.stats().expect("stats");
    assert!(stats.collections.iter().all(|c| c.entries == 0));
}

#[test]
fn stats_count_entries_per_collection_language_and_source() {
    let f = Fixture::new();
    f.memory
        .store_code_pattern("a", JWT, Language::Python, "", Metrics::new())
        .expect("store");
    f.memory
        .store_pattern(PatternInput {
            source: "seed".into(),
            ..PatternInput::new("b", RETRY, Language::Rust)
        })
        .expect("store");
    f.memory
        .store_error_resolution("E1", "", "R", true)
        .expect("store");
    let stats = f.memory.stats().expect("stats");
    let patterns = &stats.collections[0];
    assert_eq!(patterns.kind, MemoryKind::CodePattern);
    assert_eq!(patterns.entries, 2);
    assert_eq!(patterns.by_language.get("python"), Some(&1));
    assert_eq!(patterns.by_language.get("rust"), Some(&1));
    assert_eq!(patterns.by_source.get("seed"), Some(&1));
    assert_eq!(patterns.by_source.get("api"), Some(&1));
    assert_eq!(stats.collections[2].entries, 1);
    assert!(patterns.disk_bytes.is_some_and(|b| b > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_facade_runs_off_the_runtime_threads() {
    let f = Fixture::new();
    let store = engram::store::Store::open_edge(&f.dir.path().join("async")).expect("store");
    let engram = engram::Engram::with(
        store,
        std::sync::Arc::clone(crate::common::shared_embedder()) as _,
    )
    .expect("engram");
    let stored = engram
        .store_error_resolution(
            "asyncio.TimeoutError",
            "awaiting the payment API",
            "raise the timeout to 30 s and retry once",
            true,
        )
        .await
        .expect("store");
    // Many recalls at once on a two-thread runtime: they run on the blocking pool.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let engram = engram.clone();
            tokio::spawn(async move {
                engram
                    .recall_error_solutions("timed out waiting for the payment API", 1)
                    .await
            })
        })
        .collect();
    for task in tasks {
        let found = task.await.expect("join").expect("recall");
        assert_eq!(found[0].id, stored.id);
    }
    let stats = engram.stats().await.expect("stats");
    assert_eq!(stats.collections[2].entries, 1);
}
