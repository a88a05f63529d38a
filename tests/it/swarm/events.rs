//! The event feed: every write, delete, grant and release once, in one gap-free order
//! under concurrent writers; a consumer stopped and restarted from its saved cursor
//! receives every event exactly once, in order; prefix filters; what may be published.

use std::sync::Arc;
use std::time::Duration;

use engram::swarm::{ConflictPolicy, EventKind, SwarmError};
use serde_json::json;

use super::{Fixture, put};

#[test]
fn locks_writes_and_deletes_appear_in_order_with_their_details() {
    let f = Fixture::new();
    let s = &f.swarm;
    let key = "swarm/prod/plan";
    let lock = s
        .lock(
            key,
            engram::swarm::LockKind::Write,
            Duration::from_secs(30),
            Duration::ZERO,
            "w1",
        )
        .expect("lock");
    let write = engram::swarm::Put {
        lock: Some(lock.clone()),
        ..put(key, json!({"step": 1}), ConflictPolicy::LastWriteWins)
    };
    s.put(Some("planner"), &write, None).expect("put");
    s.delete(None, key, None, Some(&lock)).expect("delete");
    s.unlock(&lock).expect("unlock");
    s.publish(
        Some("planner"),
        EventKind::KnowledgeShared,
        Some("global/knowledge/caching"),
        json!({"insight": "cache the embeddings"}),
    )
    .expect("publish");
    let page = s.events().read(0, None, 100).expect("read");
    let kinds: Vec<_> = page.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::LockAcquired,
            EventKind::MemoryUpdated,
            EventKind::MemoryUpdated,
            EventKind::LockReleased,
            EventKind::KnowledgeShared,
        ]
    );
    assert_eq!(
        page.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(page.cursor, 5);
    assert_eq!(page.events[0].data["epoch"], json!(lock.epoch));
    assert_eq!(page.events[0].data["owner"], "w1");
    assert_eq!(page.events[1].data["version"], 1);
    assert_eq!(page.events[1].agent_id.as_deref(), Some("planner"));
    assert_eq!(page.events[2].data["deleted"], true);
    // A prefix keeps its keys' events; the cursor still moves over the others.
    let under = s
        .events()
        .read(0, Some("global/knowledge"), 100)
        .expect("read");
    assert_eq!(under.events.len(), 1);
    assert_eq!(under.cursor, 5);
    // Nothing after the head: the cursor stays.
    let empty = s.events().read(5, None, 100).expect("read");
    assert!(empty.events.is_empty());
    assert_eq!(empty.cursor, 5);
    // engram appends the other kinds itself.
    assert!(matches!(
        s.publish(None, EventKind::MemoryUpdated, None, json!({})),
        Err(SwarmError::InvalidInput(_))
    ));
    assert!(matches!(
        s.events().read(0, None, 0),
        Err(SwarmError::InvalidInput(_))
    ));
}

#[test]
fn a_consumer_restarted_from_its_cursor_gets_every_event_once_in_order() {
    let f = Arc::new(Fixture::new());
    const WRITERS: usize = 4;
    const WRITES: usize = 30;
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let f = Arc::clone(&f);
            std::thread::spawn(move || {
                for i in 0..WRITES {
                    f.swarm
                        .put(
                            None,
                            &put(
                                &format!("swarm/prod/w{w}/{i}"),
                                json!(i),
                                ConflictPolicy::Reject,
                            ),
                            None,
                        )
                        .expect("put");
                }
            })
        })
        .collect();
    // The consumer saves its cursor after each page it has handled, and is stopped
    // ("killed") after a few pages; a new one starts from the saved cursor.
    let dir = tempfile::tempdir().expect("tempdir");
    let saved = dir.path().join("cursor");
    std::fs::write(&saved, "0").expect("save");
    let mut received = Vec::new();
    let mut lives = 0;
    loop {
        lives += 1;
        let mut cursor: u64 = std::fs::read_to_string(&saved)
            .expect("read")
            .parse()
            .expect("cursor");
        for _page in 0..3 {
            let page = f.swarm.events().read(cursor, None, 7).expect("read");
            received.extend(page.events.iter().map(|e| (e.seq, e.key.clone())));
            cursor = page.cursor;
            std::fs::write(&saved, cursor.to_string()).expect("save");
            std::thread::sleep(Duration::from_millis(2));
        }
        // Every put appends its event before it returns: once the writers are done and
        // the cursor is at the head, everything was received.
        if writers.iter().all(|h| h.is_finished())
            && cursor == f.swarm.events().head().expect("head")
        {
            break;
        }
    }
    for writer in writers {
        writer.join().expect("writer");
    }
    let total = WRITERS * WRITES;
    let seqs: Vec<u64> = received.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=total as u64).collect::<Vec<_>>(),
        "once each, in order"
    );
    let mut keys: Vec<_> = received.into_iter().filter_map(|(_, k)| k).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), total, "every write's event");
    eprintln!("events: {total} events over {lives} consumer lives");
    assert!(lives > 1);
}
