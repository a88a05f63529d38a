//! Keys: put, get, delete, list by prefix with paging, TTL and retention under an injected
//! clock, sweeping, and who may write an agent's keys.

use engram::swarm::{Category, ConflictPolicy, Put, SwarmError, SwarmSettings};
use serde_json::json;

use super::{Fixture, HOUR, T0, put};

#[test]
fn put_get_delete_and_list_by_prefix_in_pages() {
    let f = Fixture::new();
    let s = &f.swarm;
    let written = s
        .put(
            Some("planner"),
            &put(
                "swarm/prod/coordination",
                json!({"leader": "planner"}),
                ConflictPolicy::Reject,
            ),
            None,
        )
        .expect("put");
    assert!(written.applied);
    assert_eq!(written.entry.version, 1);
    assert_eq!(written.entry.category, Category::Swarm);
    assert_eq!(written.entry.agent_id.as_deref(), Some("planner"));
    assert_eq!(written.entry.created_at, T0);
    let got = s
        .get("swarm/prod/coordination", None)
        .expect("get")
        .expect("present");
    assert_eq!(got, written.entry);
    assert_eq!(s.get("swarm/prod/other", None).expect("get"), None);

    for i in 0..25 {
        s.put(
            None,
            &put(
                &format!("swarm/prod/tasks/{i}"),
                json!(i),
                ConflictPolicy::Reject,
            ),
            None,
        )
        .expect("put");
    }
    s.put(
        None,
        &put("swarm/staging/tasks/1", json!(1), ConflictPolicy::Reject),
        None,
    )
    .expect("put");
    // Pages of 10 under swarm/prod/tasks: 25 entries, each once, nothing from staging.
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = s
            .list("swarm/prod/tasks", 10, after.as_deref())
            .expect("list");
        pages += 1;
        assert!(page.entries.len() <= 10);
        seen.extend(page.entries.into_iter().map(|e| e.key));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert!(pages >= 3, "{pages} pages");
    seen.sort();
    let mut expected: Vec<_> = (0..25).map(|i| format!("swarm/prod/tasks/{i}")).collect();
    expected.sort();
    assert_eq!(seen, expected);
    // A prefix is whole segments: `swarm/prod/task` matches nothing.
    assert!(
        s.list("swarm/prod/task", 10, None)
            .expect("list")
            .entries
            .is_empty()
    );
    assert_eq!(
        s.list("swarm/prod/", 100, None)
            .expect("list")
            .entries
            .len(),
        26
    );
    assert_eq!(s.list("swarm", 100, None).expect("list").entries.len(), 27);

    assert!(
        s.delete(None, "swarm/prod/tasks/3", None, None)
            .expect("delete")
    );
    assert!(
        !s.delete(None, "swarm/prod/tasks/3", None, None)
            .expect("again"),
        "a second delete finds nothing"
    );
    assert_eq!(s.get("swarm/prod/tasks/3", None).expect("get"), None);
    assert!(matches!(
        s.delete(None, "swarm/prod/tasks/4", Some(7), None),
        Err(SwarmError::Conflict {
            current: Some(_),
            ..
        })
    ));
    assert!(
        s.delete(None, "swarm/prod/tasks/4", Some(1), None)
            .expect("at its version")
    );
}

#[test]
fn bad_keys_values_and_arguments_are_refused_and_change_nothing() {
    let f = Fixture::new();
    let s = &f.swarm;
    for key in ["", "swarm/prod", "team/prod/state", "swarm//state"] {
        let error = s
            .put(None, &put(key, json!(1), ConflictPolicy::Reject), None)
            .expect_err(key);
        assert!(matches!(error, SwarmError::InvalidKey(_)), "{key}: {error}");
    }
    let too_big = json!("x".repeat(300 << 10));
    let error = s
        .put(
            None,
            &put("swarm/prod/big", too_big, ConflictPolicy::Reject),
            None,
        )
        .expect_err("too big");
    assert!(error.to_string().contains("limit is 262144"), "{error}");
    let zero_ttl = Put {
        ttl_ms: Some(0),
        ..put("swarm/prod/ttl", json!(1), ConflictPolicy::Reject)
    };
    assert!(matches!(
        s.put(None, &zero_ttl, None),
        Err(SwarmError::InvalidInput(_))
    ));
    assert!(matches!(
        s.list("swarm", 0, None),
        Err(SwarmError::InvalidInput(_))
    ));
    assert!(matches!(
        s.list("swarm", 10, Some("not a cursor")),
        Err(SwarmError::InvalidInput(_))
    ));
    assert!(s.list("swarm", 10, None).expect("list").entries.is_empty());
    let bad = SwarmSettings {
        retention_hours: [("sessions".to_owned(), 1.0)].into(),
    };
    assert!(bad.validate().expect_err("unknown").contains("sessions"));
    let nan = SwarmSettings {
        retention_hours: [("session".to_owned(), f64::NAN)].into(),
    };
    assert!(nan.validate().is_err());
}

#[test]
fn ttl_and_retention_expire_entries_which_are_never_returned_and_are_swept() {
    let f = Fixture::new();
    let s = &f.swarm;
    let short = Put {
        ttl_ms: Some(1_000),
        ..put(
            "swarm/prod/heartbeat",
            json!("alive"),
            ConflictPolicy::Reject,
        )
    };
    let written = s.put(None, &short, None).expect("put");
    assert_eq!(written.entry.expires_at, Some(T0 + 1_000));
    // A session key expires after the category's retention (24 h by default); a TTL longer
    // than that does not extend it.
    let session = Put {
        ttl_ms: Some(48 * HOUR as u64),
        ..put(
            "session/s1/context",
            json!({"turn": 1}),
            ConflictPolicy::Reject,
        )
    };
    assert_eq!(
        s.put(None, &session, None).expect("put").entry.expires_at,
        Some(T0 + 24 * HOUR)
    );
    s.put(
        None,
        &put("global/knowledge/kept", json!(1), ConflictPolicy::Reject),
        None,
    )
    .expect("put");

    f.advance(999);
    assert!(s.get("swarm/prod/heartbeat", None).expect("get").is_some());
    f.advance(1);
    assert_eq!(
        s.get("swarm/prod/heartbeat", None).expect("get"),
        None,
        "expired at its TTL"
    );
    assert!(s.list("swarm", 10, None).expect("list").entries.is_empty());
    // An expired key can be written again as new (a `reject` write expecting nothing).
    let again = s.put(None, &short, None).expect("put again");
    assert_eq!(again.entry.created_at, T0 + 1_000);

    f.advance(24 * HOUR);
    assert_eq!(s.get("session/s1/context", None).expect("get"), None);
    assert!(s.get("global/knowledge/kept", None).expect("get").is_some());
    assert_eq!(
        s.sweep().expect("sweep"),
        2,
        "the heartbeat and the session"
    );
    assert_eq!(s.sweep().expect("sweep"), 0);
    assert!(s.get("global/knowledge/kept", None).expect("get").is_some());

    // Retention is configurable per category.
    let f = Fixture::with(SwarmSettings {
        retention_hours: [("neural".to_owned(), 2.0)].into(),
    });
    let n = f
        .swarm
        .put(
            None,
            &put("neural/patterns/p1", json!(1), ConflictPolicy::Reject),
            None,
        )
        .expect("put");
    assert_eq!(n.entry.expires_at, Some(T0 + 2 * HOUR));
    let s2 = f
        .swarm
        .put(
            None,
            &put("session/s1/x", json!(1), ConflictPolicy::Reject),
            None,
        )
        .expect("put");
    assert_eq!(
        s2.entry.expires_at, None,
        "session retention not configured"
    );
}

#[test]
fn an_agent_writes_its_own_agent_keys_and_reads_everyone_s() {
    let f = Fixture::new();
    let s = &f.swarm;
    s.put(
        Some("worker-1"),
        &put(
            "agent/worker-1/state",
            json!({"status": "idle"}),
            ConflictPolicy::Reject,
        ),
        None,
    )
    .expect("own key");
    let error = s
        .put(
            Some("worker-2"),
            &put(
                "agent/worker-1/state",
                json!({"status": "hijacked"}),
                ConflictPolicy::LastWriteWins,
            ),
            None,
        )
        .expect_err("another agent's key");
    assert!(matches!(error, SwarmError::NotOwner { ref owner, .. } if owner == "worker-1"));
    assert!(matches!(
        s.delete(Some("worker-2"), "agent/worker-1/state", None, None),
        Err(SwarmError::NotOwner { .. })
    ));
    let read = s
        .get("agent/worker-1/state", None)
        .expect("get")
        .expect("present");
    assert_eq!(read.value, json!({"status": "idle"}), "nothing changed");
    // An admin may write it.
    s.put(
        None,
        &put(
            "agent/worker-1/state",
            json!({"status": "reset"}),
            ConflictPolicy::LastWriteWins,
        ),
        None,
    )
    .expect("admin");
}

#[test]
fn an_idempotency_key_makes_a_retried_merge_count_once() {
    let f = Fixture::new();
    let s = &f.swarm;
    let write = put("swarm/prod/tally", json!({"a": 1}), ConflictPolicy::Merge);
    let first = s.put(None, &write, Some("k1")).expect("first");
    let retry = s.put(None, &write, Some("k1")).expect("retry");
    assert_eq!(first, retry);
    assert_eq!(
        s.get("swarm/prod/tally", None)
            .expect("get")
            .expect("present")
            .version,
        1
    );
}
