//! Start, record, end, read back, recall; and every way to misuse that.

use engram::episodes::{EpisodeError, EpisodeStatus, MAX_EVENT_DATA_BYTES};
use engram::memory::Metrics;
use engram::store::{Payload, PointId};
use serde_json::json;

use super::Fixture;

fn object(value: serde_json::Value) -> Payload {
    match value {
        serde_json::Value::Object(map) => map,
        _ => panic!("object"),
    }
}

#[test]
fn an_episode_records_events_in_order_and_ends() {
    let f = Fixture::new();
    let id = f
        .episodes
        .start_episode(
            "implement REST API for todo items",
            object(json!({"priority": "high"})),
        )
        .expect("start");
    let steps = [
        ("generate", "coder", json!({"candidates": 3})),
        ("vote", "judge", json!({"winner": "B"})),
        ("test", "tester", json!({"passed": 12, "failed": 0})),
    ];
    for (n, (event_type, role, data)) in steps.iter().enumerate() {
        let seq = f
            .episodes
            .record_event(id, event_type, role, data.clone())
            .expect("record");
        assert_eq!(seq, n as u64);
    }
    let log = f.episodes.get_episode(id).expect("get");
    assert_eq!(log.episode.status, EpisodeStatus::Running);
    assert_eq!(log.episode.context.get("priority"), Some(&json!("high")));
    let types: Vec<&str> = log.events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, vec!["generate", "vote", "test"]);
    assert!(
        log.events
            .windows(2)
            .all(|w| w[0].seq + 1 == w[1].seq && w[0].at <= w[1].at)
    );
    assert_eq!(log.events[1].data.get("winner"), Some(&json!("B")));
    let ended = f
        .episodes
        .end_episode(id, true, Metrics::from([("lines".to_owned(), 45.0)]))
        .expect("end");
    assert_eq!(ended.status, EpisodeStatus::Succeeded);
    assert_eq!(ended.event_count, Some(3));
    assert_eq!(ended.failure, None);
    let log = f.episodes.get_episode(id).expect("get");
    assert_eq!(log.episode.status, EpisodeStatus::Succeeded);
    assert!(
        log.episode
            .ended_at
            .is_some_and(|t| t >= log.episode.started_at)
    );
    assert_eq!(log.episode.metrics.get("lines"), Some(&45.0));
}

#[test]
fn recall_finds_similar_ended_episodes_and_can_keep_only_successes() {
    let f = Fixture::new();
    let run = |task: &str, success: bool| {
        let id = f
            .episodes
            .start_episode(task, Payload::new())
            .expect("start");
        f.episodes
            .record_event(id, "generate", "coder", json!({}))
            .expect("record");
        f.episodes
            .end_episode(id, success, Metrics::new())
            .expect("end");
        id
    };
    let failed_api = run("build a REST API for todo items with FastAPI", false);
    let good_api = run("implement a REST endpoint to list todo items", true);
    let unrelated = run("write a bash script that rotates log files", true);
    let still_running = f
        .episodes
        .start_episode("REST API for todo items, second try", Payload::new())
        .expect("start");
    let all = f
        .episodes
        .recall_similar_episodes("REST API for a todo list", 3, false)
        .expect("recall");
    let ids: Vec<PointId> = all.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids[..2].contains(&failed_api) && ids[..2].contains(&good_api),
        "{ids:?}"
    );
    assert_eq!(ids[2], unrelated);
    assert!(
        !ids.contains(&still_running),
        "running episodes are not experiences yet"
    );
    let successes = f
        .episodes
        .recall_similar_episodes("REST API for a todo list", 3, true)
        .expect("recall");
    let ids: Vec<PointId> = successes.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![good_api, unrelated]);
    assert!(
        successes
            .iter()
            .all(|r| r.record.status == EpisodeStatus::Succeeded)
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_leaves_the_store_intact() {
    let f = Fixture::new();
    let id = f
        .episodes
        .start_episode("a task", Payload::new())
        .expect("start");
    f.episodes
        .record_event(id, "generate", "coder", json!({}))
        .expect("record");
    let ended = f
        .episodes
        .start_episode("another task", Payload::new())
        .expect("start");
    f.episodes
        .end_episode(ended, false, Metrics::new())
        .expect("end");
    let before = f.counts();
    let unknown = PointId::from_u128(42);
    let huge = json!({"log": "x".repeat(MAX_EVENT_DATA_BYTES + 1)});
    let cases: Vec<(&str, Result<(), EpisodeError>)> = vec![
        (
            "record into an unknown episode",
            f.episodes
                .record_event(unknown, "t", "r", json!({}))
                .map(drop),
        ),
        (
            "end an unknown episode",
            f.episodes
                .end_episode(unknown, true, Metrics::new())
                .map(drop),
        ),
        (
            "show an unknown episode",
            f.episodes.get_episode(unknown).map(drop),
        ),
        (
            "end twice",
            f.episodes
                .end_episode(ended, true, Metrics::new())
                .map(drop),
        ),
        (
            "record into an ended episode",
            f.episodes
                .record_event(ended, "t", "r", json!({}))
                .map(drop),
        ),
        (
            "empty task",
            f.episodes.start_episode("  ", Payload::new()).map(drop),
        ),
        (
            "data that is an array",
            f.episodes
                .record_event(id, "t", "r", json!([1, 2]))
                .map(drop),
        ),
        (
            "data that is a string",
            f.episodes
                .record_event(id, "t", "r", json!("text"))
                .map(drop),
        ),
        (
            "oversized data",
            f.episodes.record_event(id, "t", "r", huge).map(drop),
        ),
        (
            "empty event type",
            f.episodes.record_event(id, "", "r", json!({})).map(drop),
        ),
        (
            "NaN metric",
            f.episodes
                .end_episode(id, true, Metrics::from([("m".to_owned(), f64::NAN)]))
                .map(drop),
        ),
        (
            "recall nothing",
            f.episodes.recall_similar_episodes("x", 0, false).map(drop),
        ),
        (
            "empty recall",
            f.episodes.recall_similar_episodes(" ", 3, false).map(drop),
        ),
    ];
    for (what, result) in cases {
        let error = result.expect_err(what);
        assert!(error.is_caller_fault(), "{what}: {error}");
    }
    let unknown_text = f
        .episodes
        .record_event(unknown, "t", "r", json!({}))
        .expect_err("unknown")
        .to_string();
    assert!(
        unknown_text.contains(&unknown.to_string()),
        "{unknown_text}"
    );
    let twice = f
        .episodes
        .end_episode(ended, true, Metrics::new())
        .expect_err("twice")
        .to_string();
    assert!(twice.contains("already ended (failed)"), "{twice}");
    let array = f
        .episodes
        .record_event(id, "t", "r", json!([1]))
        .expect_err("array")
        .to_string();
    assert!(array.contains("JSON object, not an array"), "{array}");
    assert_eq!(f.counts(), before, "nothing was written");
    // The running episode is still usable after all that.
    assert_eq!(
        f.episodes
            .record_event(id, "test", "tester", json!({}))
            .expect("record"),
        1
    );
}

#[test]
fn a_ten_thousand_event_episode_records_and_reads_back_in_order() {
    let f = Fixture::new();
    let id = f
        .episodes
        .start_episode("a very long task", Payload::new())
        .expect("start");
    for n in 0..10_000u64 {
        let seq = f
            .episodes
            .record_event(id, "step", "worker", json!({"n": n}))
            .expect("record");
        assert_eq!(seq, n);
    }
    let log = f.episodes.get_episode(id).expect("read back");
    assert_eq!(log.events.len(), 10_000);
    assert!(
        log.events
            .iter()
            .enumerate()
            .all(|(i, e)| e.seq == i as u64 && e.data.get("n") == Some(&json!(i)))
    );
    let ended = f
        .episodes
        .end_episode(id, true, Metrics::new())
        .expect("end");
    assert_eq!(ended.event_count, Some(10_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_facade_drives_an_episode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = engram::store::Store::open_edge(dir.path()).expect("store");
    let engram = engram::Engram::with(
        store,
        std::sync::Arc::clone(crate::common::shared_embedder()) as _,
    )
    .expect("engram");
    let id = engram
        .start_episode("deploy the payment service", Payload::new())
        .await
        .expect("start");
    assert_eq!(
        engram
            .record_event(id, "deploy", "ops", json!({"error": "timeout"}))
            .await
            .expect("record"),
        0
    );
    let ended = engram
        .end_episode(id, false, Metrics::new())
        .await
        .expect("end");
    assert_eq!(
        ended.failure.map(|f| f.event_type),
        Some("deploy".to_owned())
    );
    assert_eq!(engram.get_episode(id).await.expect("get").events.len(), 1);
    let report = engram.analyze_failures(5).await.expect("analyze");
    assert_eq!(report.failed_episodes, 1);
    let recalled = engram
        .recall_similar_episodes("deploy payments", 1, false)
        .await
        .expect("recall");
    assert_eq!(recalled[0].id, id);
}
