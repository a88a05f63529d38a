//! Recall on the inputs real users send: scores that mean the same whatever else is stored,
//! keyword hits that count, the tail of long errors, the numbers that name an error's class,
//! line endings, and text in scripts without spaces.

use engram::extract::{SourceLanguage, extract};
use engram::memory::{
    ErrorInput, Language, MemoryError, PatternInput, RecallOptions, SolutionInput,
};

use super::Fixture;

const FASTAPI: &str = "ModuleNotFoundError: No module named 'fastapi'";
const SOURDOUGH: &str = "how long should sourdough dough proof overnight";

fn store_error(f: &Fixture, message: &str, resolution: &str) -> engram::memory::Stored {
    f.memory
        .store_error(ErrorInput::new(message, resolution, true))
        .expect("store error")
}

fn first_resolution(f: &Fixture, query: &str) -> String {
    f.memory
        .recall_errors(query, &RecallOptions::top(5))
        .expect("recall")
        .first()
        .map(|r| r.record.resolution.clone())
        .unwrap_or_default()
}

/// A Python traceback through `frames` identical frames, ending with `last`.
fn traceback(frames: usize, last: &str) -> String {
    let mut text = String::from("Traceback (most recent call last):\n");
    for i in 0..frames {
        text.push_str(&format!(
            "  File \"/srv/app/service/layer_{i}.py\", line {}, in handle_{i}\n    return self.next_layer_{i}.handle(request, context)\n",
            20 + i
        ));
    }
    text.push_str(last);
    text
}

#[test]
fn an_unrelated_query_scores_low_and_a_score_does_not_depend_on_what_else_is_stored() {
    let f = Fixture::new();
    store_error(&f, FASTAPI, "pip install fastapi uvicorn");
    let unrelated = f
        .memory
        .recall_errors(SOURDOUGH, &RecallOptions::top(5))
        .expect("recall");
    assert_eq!(unrelated.len(), 1);
    let alone = unrelated[0].similarity;
    assert!(alone < 0.25, "an unrelated query scores low: {unrelated:?}");
    // No shared keyword: the similarity is the cosine (clamped at 0), not 1.0.
    assert!(
        (alone - unrelated[0].cosine.max(0.0)).abs() < 1e-6,
        "{unrelated:?}"
    );
    let related = f
        .memory
        .recall_errors("Cannot import fastapi", &RecallOptions::top(5))
        .expect("recall");
    assert!(
        related[0].similarity > alone + 0.3,
        "a related query scores well above: {related:?}"
    );

    store_error(&f, "KeyError: 'tenant_slug'", "check the dict");
    let again = f
        .memory
        .recall_errors(SOURDOUGH, &RecallOptions::top(5))
        .expect("recall");
    let same = again
        .iter()
        .find(|r| r.record.resolution == "pip install fastapi uvicorn")
        .expect("still recalled");
    assert_eq!(same.similarity, alone, "another entry changes nothing");

    // min_score makes "nothing relevant" an answer.
    let strict = RecallOptions {
        min_score: Some(0.3),
        ..RecallOptions::top(5)
    };
    assert!(
        f.memory
            .recall_errors(SOURDOUGH, &strict)
            .expect("recall")
            .is_empty()
    );
    let found = f
        .memory
        .recall_errors("Cannot import fastapi", &strict)
        .expect("recall");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found.iter().all(|r| r.similarity >= 0.3));
    for bad in [f32::NAN, -0.1, 1.5] {
        let options = RecallOptions {
            min_score: Some(bad),
            ..RecallOptions::top(5)
        };
        assert!(matches!(
            f.memory.recall_errors(SOURDOUGH, &options),
            Err(MemoryError::InvalidInput(_))
        ));
    }
}

#[test]
fn a_keyword_hit_on_the_last_line_of_a_long_traceback_ranks_first() {
    let f = Fixture::new();
    store_error(
        &f,
        &traceback(25, "KeyError: 'tenant_slug'"),
        "the tenant header is missing: read it with .get and answer 400",
    );
    store_error(
        &f,
        &traceback(
            25,
            "ValueError: invalid literal for int() with base 10: 'abc'",
        ),
        "validate the page parameter before converting it",
    );
    let hits = f
        .memory
        .recall_errors("KeyError: 'tenant_slug'", &RecallOptions::top(5))
        .expect("recall");
    assert_eq!(hits.len(), 2);
    assert!(hits[0].record.resolution.starts_with("the tenant header"));
    assert!(
        hits[0].similarity > hits[1].similarity + 0.05,
        "no tie: {:?}",
        hits.iter().map(|h| h.similarity).collect::<Vec<_>>()
    );
}

#[test]
fn the_last_line_of_a_long_traceback_reaches_its_vector() {
    let f = Fixture::new();
    let cases = [
        (
            "TypeError: 'NoneType' object is not subscriptable",
            "the lookup returned None: check it before indexing",
        ),
        (
            "ZeroDivisionError: division by zero",
            "guard the average against an empty list",
        ),
        (
            "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0",
            "open the file with the encoding it was written in",
        ),
    ];
    for (last, resolution) in cases {
        store_error(&f, &traceback(60, last), resolution);
    }
    assert_eq!(
        first_resolution(&f, "tried to index into a value that turned out to be null"),
        cases[0].1
    );
    assert_eq!(
        first_resolution(&f, "dividing by a count that was zero"),
        cases[1].1
    );
    // The whole traceback as the query finds its own entry.
    for (last, resolution) in cases {
        assert_eq!(first_resolution(&f, &traceback(60, last)), resolution);
    }
    // And the whole message is what is returned.
    let hit = &f
        .memory
        .recall_errors(cases[2].0, &RecallOptions::top(1))
        .expect("recall")[0];
    assert!(hit.record.error_message.starts_with("Traceback"));
    assert!(hit.record.error_message.contains("layer_30.py"));
}

#[test]
fn numbers_that_name_an_error_class_keep_errors_apart() {
    let f = Fixture::new();
    let pairs = [
        (
            (
                "AxiosError: Request failed with status code 401",
                "refresh the access token",
            ),
            (
                "AxiosError: Request failed with status code 503",
                "back off and retry later",
            ),
        ),
        (
            (
                "Process exited with code 137",
                "raise the memory limit: the OOM killer sent SIGKILL",
            ),
            (
                "Process exited with code 1",
                "read the test output for the failing assertion",
            ),
        ),
    ];
    for ((a, fix_a), (b, fix_b)) in pairs {
        let first = store_error(&f, a, fix_a);
        let second = store_error(&f, b, fix_b);
        assert!(first.created && second.created, "two entries: {a} / {b}");
        assert_ne!(first.id, second.id);
        assert_eq!(first_resolution(&f, a), fix_a);
        assert_eq!(first_resolution(&f, b), fix_b);
    }
    // The same error from another place (port, request id) is still one entry.
    let again = store_error(
        &f,
        "AxiosError: Request failed with status code 401",
        "refresh the access token",
    );
    assert!(!again.created);
}

#[test]
fn the_same_text_with_other_line_endings_is_the_same_entry() {
    let f = Fixture::new();
    let unix = "def load(path):\n    with open(path) as f:\n        return f.read()\n";
    for (i, variant) in [
        unix.to_owned(),
        unix.replace('\n', "\r\n"),
        unix.replace('\n', "\r"),
        format!("\u{feff}{unix}"),
    ]
    .into_iter()
    .enumerate()
    {
        let stored = f
            .memory
            .store_pattern(PatternInput::new(
                "file loader",
                variant.clone(),
                Language::Python,
            ))
            .expect("pattern");
        assert_eq!(stored.created, i == 0, "variant {i}: {variant:?}");
        let solution = f
            .memory
            .store_solution(SolutionInput::new("read a whole file", variant.clone()))
            .expect("solution");
        assert_eq!(solution.created, i == 0, "variant {i}");
        let error = store_error(&f, &format!("{variant}KeyError: 'x'"), "noop");
        assert_eq!(error.created, i == 0, "variant {i}");
    }
    let recalled = f
        .memory
        .recall_patterns("file loader", &RecallOptions::top(5))
        .expect("recall");
    assert_eq!(recalled.len(), 1);
    assert_eq!(recalled[0].record.code, unix, "stored in its one form");
}

#[test]
fn line_endings_do_not_move_extracted_functions() {
    let unix = "// helpers\n/**\n * The first one.\n * Really.\n */\nfunction first() {\n  return 1;\n}\n\nconst second = function named() {\n  return 2;\n};\n";
    let reference = extract(unix, SourceLanguage::Javascript).expect("extract");
    assert!(reference.patterns.len() >= 2, "{:?}", reference.patterns);
    for variant in [unix.replace('\n', "\r"), unix.replace('\n', "\r\n")] {
        let got = extract(&variant, SourceLanguage::Javascript).expect("extract");
        assert_eq!(got.patterns.len(), reference.patterns.len());
        for (a, b) in got.patterns.iter().zip(&reference.patterns) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.span, b.span);
            assert_eq!(a.fingerprint, b.fingerprint);
            assert_eq!(a.signature, b.signature);
            assert_eq!(a.doc, b.doc);
            assert_eq!(a.code_in(unix), b.code_in(unix));
        }
    }
    assert!(reference.patterns.iter().any(|p| p.span.start_line > 1));
}

#[test]
fn a_chinese_problem_finds_its_own_exact_text_first() {
    let f = Fixture::new();
    let problems = [
        (
            "数据库连接超时，请检查网络配置和防火墙规则",
            "增加连接超时时间并检查防火墙",
        ),
        (
            "数据库连接池已满，无法获取新的连接",
            "调大连接池上限并及时释放连接",
        ),
        ("用户登录以后页面一直显示加载中", "检查前端的令牌刷新逻辑"),
    ];
    for (problem, solution) in problems {
        f.memory
            .store_solution(SolutionInput::new(problem, solution))
            .expect("store");
    }
    for (problem, solution) in problems {
        let hits = f
            .memory
            .recall_solutions(problem, &RecallOptions::top(3))
            .expect("recall");
        assert_eq!(hits[0].record.solution, solution, "{problem}: {hits:?}");
        assert!(hits[0].similarity > hits[1].similarity);
    }
}
