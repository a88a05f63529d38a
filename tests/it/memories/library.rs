//! Every method of general memory through the library: what each stores and answers, and
//! what each refuses.

use engram::memories::{Direction, MemoriesError, MemoryFilters, MemoryInput, MemoryUpdate, Tier};
use engram::store::{PointId, StoreError};
use serde_json::json;

use super::{HOUR, Library, T0};

fn input(content: &str) -> MemoryInput {
    MemoryInput {
        memory_tier: Some(Tier::Long),
        ..MemoryInput::new(content)
    }
}

#[test]
fn add_get_update_history_and_conflicts() {
    let lib = Library::new();
    let m = &lib.memories;
    let stored = m
        .add_memory(
            MemoryInput {
                memory_type: Some("preference".into()),
                importance: Some(0.8),
                metadata: Some(
                    json!({"source": "chat", "turn": 3})
                        .as_object()
                        .cloned()
                        .expect("present"),
                ),
                tags: vec!["style".into(), " style ".into(), "tone".into()],
                agent_id: Some("writer".into()),
                ..MemoryInput::new("The user prefers concise answers")
            },
            None,
        )
        .expect("add");
    assert_eq!(stored.version, 1);
    assert_eq!(stored.memory_tier, Tier::Short, "the note's default tier");
    assert_eq!(stored.expires_at, Some(T0 + 24 * HOUR));
    assert_eq!(
        stored.tags,
        ["style", "tone"],
        "tags in one form, once each"
    );
    assert_eq!(stored.metadata["turn"], 3);
    let read = m.get_memory(None, stored.id).expect("get");
    assert_eq!(read, stored);

    lib.at_hours(1.0);
    let v2 = m
        .update_memory(
            None,
            stored.id,
            MemoryUpdate {
                content: Some("The user prefers short, direct answers".into()),
                memory_tier: Some(Tier::Long),
                expected_version: Some(1),
                ..MemoryUpdate::default()
            },
        )
        .expect("update");
    assert_eq!(v2.version, 2);
    assert_eq!(v2.expires_at, None, "promoted to long term");
    assert_eq!(v2.updated_at, T0 + HOUR);
    assert_eq!(v2.importance, 0.8, "untouched fields keep their value");
    // The new content is what a search finds.
    let hits = m
        .search_memory(None, "short direct answers", None, 1, None)
        .expect("search");
    assert_eq!(hits[0].memory.id, stored.id);
    assert_eq!(
        hits[0].memory.content,
        "The user prefers short, direct answers"
    );

    let stale = m
        .update_memory(
            None,
            stored.id,
            MemoryUpdate {
                importance: Some(0.1),
                expected_version: Some(1),
                ..MemoryUpdate::default()
            },
        )
        .expect_err("refused");
    match stale {
        MemoriesError::Store(StoreError::Conflict { current, .. }) => {
            assert_eq!(current, Some(2));
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert_eq!(m.get_memory(None, stored.id).expect("get").importance, 0.8);

    let v3 = m
        .update_memory(
            None,
            stored.id,
            MemoryUpdate {
                tags: Some(vec!["brevity".into()]),
                ..MemoryUpdate::default()
            },
        )
        .expect("update without a version");
    assert_eq!(v3.version, 3);
    let history = m.history(None, stored.id).expect("history");
    let versions: Vec<(u64, &str)> = history
        .versions
        .iter()
        .map(|v| (v.version, v.content.as_str()))
        .collect();
    assert_eq!(
        versions,
        [
            (1, "The user prefers concise answers"),
            (2, "The user prefers short, direct answers"),
            (3, "The user prefers short, direct answers"),
        ]
    );
    assert_eq!(history.versions[2].tags, ["brevity"]);

    // Another agent sees none of it; an agentless memory everyone sees.
    assert!(matches!(
        m.get_memory(Some("reader"), stored.id),
        Err(MemoriesError::UnknownMemory(_))
    ));
    assert!(m.get_memory(Some("writer"), stored.id).is_ok());
    assert!(
        m.search_memory(Some("reader"), "short direct answers", None, 10, None)
            .expect("search")
            .is_empty()
    );
    let public = m
        .add_memory(input("Office hours are 9 to 5"), None)
        .expect("add");
    assert!(m.get_memory(Some("reader"), public.id).is_ok());
    // Readable by every agent, changed only by an admin; an agent's own, by the agent.
    assert!(matches!(
        m.update_memory(Some("reader"), public.id, MemoryUpdate::default()),
        Err(MemoriesError::NotOwner(_))
    ));
    assert!(matches!(
        m.delete_memory(Some("reader"), public.id, true),
        Err(MemoriesError::NotOwner(_))
    ));
    assert!(matches!(
        m.delete_memory(Some("reader"), stored.id, true),
        Err(MemoriesError::UnknownMemory(_))
    ));
    assert_eq!(
        m.update_memory(Some("writer"), stored.id, MemoryUpdate::default())
            .expect("its own")
            .version,
        4
    );
}

#[test]
fn bad_input_is_refused_with_the_field_named() {
    let lib = Library::new();
    let m = &lib.memories;
    let cases: Vec<(MemoryInput, &str)> = vec![
        (MemoryInput::new(""), "content"),
        (MemoryInput::new(" \u{200b} "), "content"),
        (
            MemoryInput {
                importance: Some(f64::NAN),
                ..MemoryInput::new("x")
            },
            "importance",
        ),
        (
            MemoryInput {
                importance: Some(1.5),
                ..MemoryInput::new("x")
            },
            "importance",
        ),
        (
            MemoryInput {
                tags: vec![String::new()],
                ..MemoryInput::new("x")
            },
            "tag",
        ),
        (
            MemoryInput {
                memory_type: Some("a\u{7}b".into()),
                ..MemoryInput::new("x")
            },
            "memory_type",
        ),
        (
            MemoryInput {
                metadata: Some(
                    json!({"blob": "x".repeat(70_000)})
                        .as_object()
                        .cloned()
                        .expect("present"),
                ),
                ..MemoryInput::new("x")
            },
            "metadata",
        ),
        (MemoryInput::new("x".repeat(70_000)), "content"),
    ];
    for (bad, field) in cases {
        let error = m.add_memory(bad, None).expect_err("refused");
        assert!(
            matches!(error, MemoriesError::InvalidInput(ref message) if message.contains(field)),
            "{field}: {error}"
        );
    }
    let orphan = m
        .add_memory(
            MemoryInput {
                parent_id: Some(PointId::from_u128(7)),
                ..MemoryInput::new("x")
            },
            None,
        )
        .expect_err("refused");
    assert!(
        matches!(orphan, MemoriesError::UnknownMemory(_)),
        "{orphan}"
    );
    let no_session = m
        .add_memory(
            MemoryInput {
                session_id: Some(PointId::from_u128(8)),
                ..MemoryInput::new("x")
            },
            None,
        )
        .expect_err("refused");
    assert!(matches!(no_session, MemoriesError::UnknownSession(_)));
    assert_eq!(m.count().expect("count"), 0, "nothing stored");
    assert!(m.search_memory(None, "", None, 5, None).is_err());
    assert!(m.search_memory(None, "x", None, 0, None).is_err());
    let id = m.add_memory(input("kept"), None).expect("add").id;
    assert!(m.get_children(None, id, 10, "content", "desc").is_err());
    assert!(m.get_children(None, id, 10, "created_at", "up").is_err());
    assert!(m.add_relationship(None, id, id, "self", 1.0).is_err());
}

#[test]
fn children_relationships_sessions_and_groups() {
    let lib = Library::new();
    let m = &lib.memories;
    let session = m
        .create_session(
            Some("planner"),
            "user-42",
            "conversation",
            json!({"channel": "cli"}).as_object().cloned(),
            None,
        )
        .expect("session");
    assert_eq!(session.agent_id.as_deref(), Some("planner"));
    let parent = m
        .add_memory(
            MemoryInput {
                session_id: Some(session.id),
                ..input("Release 2.0 plan")
            },
            None,
        )
        .expect("parent");
    let mut children = Vec::new();
    for (i, text) in [
        "Freeze the API",
        "Write the migration guide",
        "Tag the release",
    ]
    .into_iter()
    .enumerate()
    {
        lib.at_hours(i as f64);
        children.push(
            m.add_memory(
                MemoryInput {
                    parent_id: Some(parent.id),
                    importance: Some(0.2 + 0.3 * i as f64),
                    session_id: Some(session.id),
                    ..input(text)
                },
                None,
            )
            .expect("child"),
        );
    }
    let newest_first: Vec<_> = m
        .get_children(None, parent.id, 50, "created_at", "desc")
        .expect("children")
        .into_iter()
        .map(|c| c.content)
        .collect();
    assert_eq!(
        newest_first,
        [
            "Tag the release",
            "Write the migration guide",
            "Freeze the API"
        ]
    );
    let by_importance: Vec<_> = m
        .get_children(None, parent.id, 2, "importance", "asc")
        .expect("children")
        .into_iter()
        .map(|c| c.content)
        .collect();
    assert_eq!(
        by_importance,
        ["Freeze the API", "Write the migration guide"]
    );
    let in_session = m
        .semantic_search(
            None,
            "migration guide",
            10,
            &MemoryFilters {
                session_id: Some(session.id),
                parent_id: Some(parent.id),
                ..MemoryFilters::default()
            },
        )
        .expect("search");
    assert_eq!(in_session.len(), 3);
    assert_eq!(in_session[0].memory.content, "Write the migration guide");

    // Relationships, both directions, with a type filter; adding one again keeps one.
    let (a, b, c) = (children[0].id, children[1].id, children[2].id);
    m.add_relationship(None, a, b, "precedes", 0.9)
        .expect("rel");
    m.add_relationship(None, a, b, "precedes", 0.7)
        .expect("again");
    m.add_relationship(None, c, a, "depends_on", 0.4)
        .expect("rel");
    let related = m.get_related_memories(None, a, None).expect("related");
    assert_eq!(related.len(), 2);
    assert_eq!(related[0].memory.id, b);
    assert_eq!(related[0].direction, Direction::Outgoing);
    assert_eq!(related[0].relationship.strength, 0.7, "the latest strength");
    assert_eq!(related[1].memory.id, c);
    assert_eq!(related[1].direction, Direction::Incoming);
    let typed = m
        .get_related_memories(None, a, Some("depends_on"))
        .expect("related");
    assert_eq!(typed.len(), 1);
    assert_eq!(typed[0].memory.id, c);

    // Groups: UUID ids, one membership per memory, members in order.
    let group = m
        .create_context_group("release", Some("what we know"), None)
        .expect("group");
    // Memberships are ordered by the time they were added: the frozen clock moves
    // between the two, as a real one would (equal times have no defined order).
    lib.at_hours(3.0);
    m.add_to_group(None, b, group.id).expect("member");
    lib.at_hours(3.5);
    m.add_to_group(None, a, group.id).expect("member");
    let members = m.add_to_group(None, b, group.id).expect("again");
    let ids: Vec<_> = members.memories.iter().map(|x| x.id).collect();
    assert_eq!(ids, [b, a]);
    let in_group = m
        .semantic_search(
            None,
            "release",
            10,
            &MemoryFilters {
                group_id: Some(group.id),
                ..MemoryFilters::default()
            },
        )
        .expect("search");
    assert_eq!(in_group.len(), 2);
    assert!(matches!(
        m.get_memories_by_group(None, PointId::from_u128(9)),
        Err(MemoriesError::UnknownGroup(_))
    ));

    // Sessions: listed for their agent, ended once.
    let other = m
        .create_session(Some("critic"), "user-42", "review", None, None)
        .expect("session");
    let mine = m
        .list_sessions(Some("planner"), Some("user-42"), false, 10)
        .expect("list");
    assert_eq!(mine.iter().map(|s| s.id).collect::<Vec<_>>(), [session.id]);
    assert_eq!(
        m.list_sessions(None, None, false, 10).expect("all").len(),
        2
    );
    lib.at_hours(5.0);
    let ended = m.end_session(Some("planner"), session.id).expect("end");
    assert_eq!(ended.ended_at, Some(T0 + 5 * HOUR));
    lib.at_hours(6.0);
    let again = m.end_session(Some("planner"), session.id).expect("end");
    assert_eq!(
        again.ended_at,
        Some(T0 + 5 * HOUR),
        "the first end time stays"
    );
    let active = m.list_sessions(None, None, true, 10).expect("active");
    assert_eq!(active.iter().map(|s| s.id).collect::<Vec<_>>(), [other.id]);
    assert!(m.get_session(Some("critic"), session.id).is_err());
    // An admin's (agentless) session: every agent sees it, only an admin ends it.
    let shared = m
        .create_session(None, "user-42", "standup", None, None)
        .expect("session");
    assert!(m.get_session(Some("critic"), shared.id).is_ok());
    assert!(matches!(
        m.end_session(Some("critic"), shared.id),
        Err(MemoriesError::NotSessionOwner(_))
    ));
    assert_eq!(
        m.get_session(None, shared.id).expect("read").ended_at,
        None,
        "nothing changed"
    );

    // Batch get: input order, None for the missing.
    let got = m
        .batch_get_memories(None, &[c, PointId::from_u128(1), a])
        .expect("batch get");
    assert_eq!(got[0].as_ref().map(|x| x.id), Some(c));
    assert!(got[1].is_none());
    assert_eq!(got[2].as_ref().map(|x| x.id), Some(a));

    // Delete without cascade: children stay, detached; relationships go.
    let removed = m.delete_memory(None, a, false).expect("delete");
    assert_eq!((removed.deleted, removed.relationships), (1, 2));
    assert!(
        m.get_related_memories(None, b, None)
            .expect("related")
            .is_empty()
    );
    assert_eq!(
        m.get_memories_by_group(None, group.id)
            .expect("group")
            .memories
            .len(),
        1
    );
    let removed = m.delete_memory(None, parent.id, true).expect("cascade");
    assert_eq!(
        removed.deleted, 3,
        "the parent and its two remaining children"
    );
    assert_eq!(m.count().expect("count"), 0);
}

#[test]
fn idempotency_keys_make_a_retried_add_count_once() {
    let lib = Library::new();
    let m = &lib.memories;
    let first = m
        .add_memory(input("Retry me once"), Some("key-0001"))
        .expect("add");
    let again = m
        .add_memory(input("Retry me once"), Some("key-0001"))
        .expect("retry");
    assert_eq!(first.id, again.id);
    assert_eq!(m.count().expect("count"), 1);
    let batch = vec![input("Batch one"), input("Batch two")];
    let first = m
        .batch_add_memories(batch.clone(), Some("batch-0001"))
        .expect("batch");
    let again = m
        .batch_add_memories(batch, Some("batch-0001"))
        .expect("retry");
    assert_eq!(first, again, "the retry answers the first results");
    assert_eq!(m.count().expect("count"), 3);
    let id = first.results[0].memory.as_ref().expect("stored").id;
    m.reinforce_memory(None, id, 2.0, Some("reinforce-0001"))
        .expect("reinforce");
    let retried = m
        .reinforce_memory(None, id, 2.0, Some("reinforce-0001"))
        .expect("retry");
    assert_eq!(
        retried.reinforcements, 1,
        "a retried reinforcement counts once"
    );
    assert!(
        m.add_memory(input("Something else"), Some("key-0001"))
            .is_err(),
        "a key reused for another request is refused"
    );
}

/// A short-term memory whose time to live runs out while it is being stored (here a clock
/// that moves 25 hours, past the 24-hour default, at every reading) is still answered as
/// stored, not as unknown: the write happened and the caller gets its id.
#[test]
fn an_add_answers_the_memory_it_stored_even_when_it_expired_meanwhile() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use engram::memories::{Memories, Scoring};
    use engram::store::Store;

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_edge(&dir.path().join("data")).expect("store");
    let clock = Arc::new(AtomicI64::new(T0));
    let memories = Memories::new(
        &store,
        Arc::clone(crate::common::shared_embedder()) as _,
        Scoring::default(),
    )
    .expect("memories")
    .with_clock(Arc::new(move || {
        clock.fetch_add(25 * HOUR, Ordering::SeqCst)
    }));

    let stored = memories
        .add_memory(MemoryInput::new("A note for the next minute only"), None)
        .expect("an add that stored its memory answers it");
    assert_eq!(stored.content, "A note for the next minute only");
    assert_eq!(stored.version, 1);
    assert_eq!(stored.expires_at, Some(stored.created_at + 24 * HOUR));
    // By any later reading it has expired, and says so.
    assert!(matches!(
        memories.get_memory(None, stored.id),
        Err(MemoriesError::UnknownMemory(_))
    ));
}
