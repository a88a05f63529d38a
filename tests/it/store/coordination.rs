//! The coordination primitives (DESIGN.md, "Milestone 2"), one suite over both backends:
//! conditional writes, compare-and-set with read-back, conditional delete, "raise only if
//! larger", exact count and facet over a filter, ordered scrolls, leases with fencing, and
//! idempotency keys. Each concurrent case runs writers on threads; on a Qdrant server each
//! thread has its own connection, as separate engram servers would.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engram::store::coord::{Acquire, Attempt, IdempotencyKeys, LeaseMode, Leases, lease};
use engram::store::{
    Collection, CollectionSpec, Condition, FieldKind, Filter, Order, Payload, Point, PointId,
    Store, StoreError, WriteMode,
};
use serde_json::{Value, json};

use super::fixture::{Backend, Fixture};

conformance!(
    conditional_upserts_follow_qdrant_update_modes,
    create_if_absent_creates_once,
    compare_and_set_lets_one_writer_win_each_version,
    concurrent_compare_and_set_increments_lose_nothing,
    compare_and_set_payload_keeps_the_other_fields,
    conditional_delete_removes_only_the_expected_version,
    raise_only_moves_a_field_up_even_under_contention,
    count_and_facet_over_a_filter_are_exact,
    ordered_scrolls_follow_the_field,
    an_exclusive_lease_has_one_holder_and_every_grant_a_larger_epoch,
    shared_leases_coexist_and_keep_an_exclusive_one_out,
    a_lapsed_holder_is_fenced_out_by_its_successor,
    contended_leases_never_have_two_holders,
    an_idempotency_key_runs_the_operation_once,
);

fn spec() -> CollectionSpec {
    CollectionSpec::records("coord")
        .with_index("kind", FieldKind::Keyword)
        .with_index("n", FieldKind::Integer)
        .with_index("tags", FieldKind::Keyword)
}

fn record(id: u128, payload: Value) -> Point {
    let Value::Object(payload) = payload else {
        panic!("payload must be an object");
    };
    Point {
        id: PointId::from_u128(id),
        vector: Vec::new(),
        text: String::new(),
        payload,
    }
}

fn field(collection: &Collection, id: u128, name: &str) -> Value {
    collection
        .get(&[PointId::from_u128(id)], false)
        .expect("get")
        .into_iter()
        .next()
        .map(|r| r.payload.get(name).cloned().unwrap_or(Value::Null))
        .unwrap_or(Value::Null)
}

/// A second handle on the same store, as another engram server would have: its own
/// connection on a server, the same store on Edge (one process holds a data directory).
fn second_handle(f: &Fixture) -> Store {
    match &f.store {
        Store::Edge(_) => panic!("Edge has one handle per process: share the store"),
        Store::Remote(remote) => Store::Remote(remote.reconnect().expect("reconnect")),
    }
}

/// The collection `spec()` names, on a handle of its own per thread where the backend has
/// connections.
fn handles(f: &Fixture, n: usize) -> Vec<Collection> {
    (0..n)
        .map(|_| match &f.store {
            Store::Edge(_) => f.store.collection(&spec()).expect("collection"),
            Store::Remote(_) => second_handle(f).collection(&spec()).expect("collection"),
        })
        .collect()
}

fn conflict_current(error: StoreError) -> Option<u64> {
    match error {
        StoreError::Conflict { current, .. } => current,
        other => panic!("expected a conflict, got {other}"),
    }
}

fn conditional_upserts_follow_qdrant_update_modes(backend: Backend) {
    let f = Fixture::new(backend);
    let c = f.store.collection(&spec()).expect("collection");
    c.upsert(vec![record(1, json!({"n": 1})), record(2, json!({"n": 2}))])
        .expect("upsert");
    // insert_only: 1 exists and stays, 3 is new.
    c.upsert_with(
        vec![record(1, json!({"n": 100})), record(3, json!({"n": 3}))],
        WriteMode::InsertOnly,
        None,
    )
    .expect("insert only");
    assert_eq!(field(&c, 1, "n"), 1);
    assert_eq!(field(&c, 3, "n"), 3);
    // update_only: 4 is never inserted; 2 is replaced only where the condition holds.
    let n_is = |n: i64| {
        Filter::all([Condition::Integer {
            field: "n".into(),
            value: n,
        }])
    };
    c.upsert_with(
        vec![record(2, json!({"n": 20})), record(4, json!({"n": 4}))],
        WriteMode::UpdateOnly,
        Some(&n_is(999)),
    )
    .expect("update only, condition false");
    assert_eq!(field(&c, 2, "n"), 2);
    assert_eq!(field(&c, 4, "n"), Value::Null, "update_only never inserts");
    c.upsert_with(
        vec![record(2, json!({"n": 20}))],
        WriteMode::UpdateOnly,
        Some(&n_is(2)),
    )
    .expect("update only, condition true");
    assert_eq!(field(&c, 2, "n"), 20);
    // upsert with a condition: the condition gates existing points, new ones are inserted.
    c.upsert_with(
        vec![record(1, json!({"n": 10})), record(5, json!({"n": 5}))],
        WriteMode::Upsert,
        Some(&Filter::all([Condition::below("n", 1.0)])),
    )
    .expect("conditional upsert");
    assert_eq!(field(&c, 1, "n"), 1, "1 failed the condition");
    assert_eq!(field(&c, 5, "n"), 5, "5 is new");
    assert_eq!(c.count(None).expect("count"), 4);
    // The condition's fields are checked like any filter's.
    assert!(matches!(
        c.upsert_with(
            vec![record(9, json!({}))],
            WriteMode::Upsert,
            Some(&Filter::all([Condition::keyword("bad field!", "x")])),
        ),
        Err(StoreError::InvalidInput(_))
    ));
    assert_eq!(
        c.count(None).expect("count"),
        4,
        "a refused write changes nothing"
    );
}

fn create_if_absent_creates_once(backend: Backend) {
    let f = Fixture::new(backend);
    let c = f.store.collection(&spec()).expect("collection");
    assert_eq!(
        c.create(record(1, json!({"owner": "a"}))).expect("create"),
        1
    );
    let error = c
        .create(record(1, json!({"owner": "b"})))
        .expect_err("exists");
    assert_eq!(conflict_current(error), Some(1));
    assert_eq!(field(&c, 1, "owner"), "a", "the loser wrote nothing");
    // Many creators at once: exactly one wins.
    let winners = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|scope| {
        for (i, handle) in handles(&f, 8).into_iter().enumerate() {
            let winners = Arc::clone(&winners);
            scope.spawn(
                move || match handle.create(record(2, json!({"owner": i}))) {
                    Ok(version) => winners.lock().expect("lock").push((i, version)),
                    Err(StoreError::Conflict { current, .. }) => assert_eq!(current, Some(1)),
                    Err(other) => panic!("{other}"),
                },
            );
        }
    });
    let winners = winners.lock().expect("lock").clone();
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(field(&c, 2, "owner"), winners[0].0);
}

fn compare_and_set_lets_one_writer_win_each_version(backend: Backend) {
    let f = Fixture::new(backend);
    let c = f.store.collection(&spec()).expect("collection");
    c.create(record(1, json!({"value": "first"})))
        .expect("create");
    assert_eq!(
        c.compare_and_set(record(1, json!({"value": "second"})), 1)
            .expect("cas"),
        2
    );
    let stale = c
        .compare_and_set(record(1, json!({"value": "stale"})), 1)
        .expect_err("stale version");
    assert!(matches!(
        stale,
        StoreError::Conflict {
            expected: Some(1),
            current: Some(2),
            ..
        }
    ));
    assert!(stale.is_caller_fault());
    assert_eq!(field(&c, 1, "value"), "second");
    let absent = c
        .compare_and_set(record(7, json!({})), 1)
        .expect_err("absent");
    assert_eq!(conflict_current(absent), None);
    assert_eq!(
        c.count(None).expect("count"),
        1,
        "compare-and-set never inserts"
    );
    // A record written without a version is version 0.
    c.upsert(vec![record(3, json!({"value": "plain"}))])
        .expect("upsert");
    assert_eq!(
        c.read_versioned(PointId::from_u128(3))
            .expect("read")
            .expect("present")
            .version,
        0
    );
    assert_eq!(
        c.compare_and_set(record(3, json!({"value": "versioned"})), 0)
            .expect("cas from 0"),
        1
    );
}

/// The classic lost update: many writers increment one number. With compare-and-set and a
/// retry on conflict, every increment lands.
fn concurrent_compare_and_set_increments_lose_nothing(backend: Backend) {
    let f = Fixture::new(backend);
    let c = f.store.collection(&spec()).expect("collection");
    c.create(record(1, json!({"count": 0}))).expect("create");
    const WRITERS: usize = 6;
    const EACH: usize = 25;
    let conflicts = Arc::new(Mutex::new(0usize));
    std::thread::scope(|scope| {
        for handle in handles(&f, WRITERS) {
            let conflicts = Arc::clone(&conflicts);
            scope.spawn(move || {
                for _ in 0..EACH {
                    loop {
                        let current = handle
                            .read_versioned(PointId::from_u128(1))
                            .expect("read")
                            .expect("present");
                        let count = current.record.payload["count"].as_u64().expect("count");
                        match handle.compare_and_set(
                            record(1, json!({"count": count + 1})),
                            current.version,
                        ) {
                            Ok(_) => break,
                            Err(StoreError::Conflict { .. }) => {
                                *conflicts.lock().expect("lock") += 1;
                            }
                            Err(other) => panic!("{other}"),
                        }
                    }
                }
            });
        }
    });
    let total = (WRITERS * EACH) as u64;
    let current = c
        .read_versioned(PointId::from_u128(1))
        .expect("read")
        .expect("present");
    assert_eq!(current.record.payload["count"], total);
    assert_eq!(current.version, total + 1);
    eprintln!(
        "{total} increments by {WRITERS} writers, {} conflicts retried",
        conflicts.lock().expect("lock")
    );
}

fn compare_and_set_payload_keeps_the_other_fields(backend: Backend) {
    let f = Fixture::new(backend);
    let c = f.store.collection(&spec()).expect("collection");
    c.create(record(1, json!({"a": 1, "b": 2})))
        .expect("create");
    let mut patch = Payload::new();
    patch.insert("b".into(), json!(20));
    assert_eq!(
        c.compare_and_set_payload(PointId::from_u128(1), patch.clone(), 1)
            .expect("cas"),
        2
    );
    assert_eq!(field(&c, 1, "a"), 1);
    assert_eq!(field(&c, 1, "b"), 20);
    let error = c
        .compare_and_set_payload(PointId::from_u128(1), patch, 1)
        .expect_err("stale");
    assert_eq!(conflict_current(error), Some(2));
}

fn conditional_delete_removes_only_the_expected_version(backend: Backend) {
    let f = Fixture::new(backend);
    let c = f.store.collection(&spec()).expect("collection");
    c.create(record(1, json!({}))).expect("create");
    c.compare_and_set(record(1, json!({"x": 1})), 1)
        .expect("cas");
    let error = c
        .delete_if_version(PointId::from_u128(1), 1)
        .expect_err("stale");
    assert_eq!(conflict_current(error), Some(2));
    assert_eq!(c.count(None).expect("count"), 1, "not deleted");
    c.delete_if_version(PointId::from_u128(1), 2)
        .expect("delete");
    assert_eq!(c.count(None).expect("count"), 0);
    c.delete_if_version(PointId::from_u128(1), 2)
        .expect("deleting what is gone is no error");
    // delete_if and set_payload_if by a condition.
    c.upsert(
        (10..20)
            .map(|i| record(i, json!({"n": i as i64})))
            .collect(),
    )
    .expect("upsert");
    let ids: Vec<PointId> = (10..20).map(PointId::from_u128).collect();
    c.delete_if(&ids, &Filter::all([Condition::below("n", 15.0)]))
        .expect("delete_if");
    assert_eq!(c.count(None).expect("count"), 5);
    let mut patch = Payload::new();
    patch.insert("kind".into(), json!("big"));
    c.set_payload_if(&ids, patch, &Filter::all([Condition::at_least("n", 18.0)]))
        .expect("set_payload_if");
    assert_eq!(
        c.count(Some(&Filter::all([Condition::keyword("kind", "big")])))
            .expect("count"),
        2
    );
}

fn raise_only_moves_a_field_up_even_under_contention(backend: Backend) {
    let f = Fixture::new(backend);
    let c = f.store.collection(&spec()).expect("collection");
    c.create(record(1, json!({}))).expect("create");
    let id = PointId::from_u128(1);
    assert_eq!(
        c.raise(id, "last", 5).expect("raise"),
        Some(5),
        "a missing field is set"
    );
    assert_eq!(
        c.raise(id, "last", 3).expect("raise"),
        Some(5),
        "never lowered"
    );
    assert_eq!(c.raise(id, "last", 9).expect("raise"), Some(9));
    assert_eq!(
        c.raise(PointId::from_u128(2), "last", 1).expect("raise"),
        None
    );
    assert_eq!(
        c.read_versioned(id)
            .expect("read")
            .expect("present")
            .version,
        1,
        "raising does not change the version"
    );
    let highest = Arc::new(Mutex::new(0i64));
    std::thread::scope(|scope| {
        for (t, handle) in handles(&f, 6).into_iter().enumerate() {
            let highest = Arc::clone(&highest);
            scope.spawn(move || {
                let mut x = 0x9E37_79B9u64.wrapping_mul(t as u64 + 1);
                for _ in 0..30 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let value = 10 + (x % 100_000) as i64;
                    let after = handle
                        .raise(id, "last", value)
                        .expect("raise")
                        .expect("present");
                    assert!(after >= value);
                    let mut top = highest.lock().expect("lock");
                    *top = (*top).max(value);
                }
            });
        }
    });
    assert_eq!(field(&c, 1, "last"), *highest.lock().expect("lock"));
}

fn count_and_facet_over_a_filter_are_exact(backend: Backend) {
    let f = Fixture::new(backend);
    let c = f.store.collection(&spec()).expect("collection");
    let mut expected_kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut expected_n: BTreeMap<i64, usize> = BTreeMap::new();
    let mut expected_tags: BTreeMap<String, usize> = BTreeMap::new();
    let mut points = Vec::new();
    for i in 0..3000u128 {
        let kind = ["a", "b", "c"][(i % 3) as usize];
        let n = (i % 7) as i64;
        let tags: Vec<String> = (0..(i % 4)).map(|t| format!("t{t}")).collect();
        if kind != "c" {
            *expected_kinds.entry(kind.into()).or_default() += 1;
            *expected_n.entry(n).or_default() += 1;
            for tag in &tags {
                *expected_tags.entry(tag.clone()).or_default() += 1;
            }
        }
        points.push(record(i, json!({"kind": kind, "n": n, "tags": tags})));
    }
    for chunk in points.chunks(500) {
        c.upsert(chunk.to_vec()).expect("upsert");
    }
    let not_c = Filter::default().and_not(Condition::keyword("kind", "c"));
    assert_eq!(c.count(Some(&not_c)).expect("count"), 2000);
    let kinds: BTreeMap<String, usize> = c
        .facet("kind", Some(&not_c), 10)
        .expect("facet")
        .into_iter()
        .collect();
    assert_eq!(kinds, expected_kinds);
    let n: BTreeMap<i64, usize> = c
        .facet("n", Some(&not_c), 100)
        .expect("facet on an integer field")
        .into_iter()
        .map(|(v, count)| (v.parse().expect("integer"), count))
        .collect();
    assert_eq!(n, expected_n);
    let tags: BTreeMap<String, usize> = c
        .facet("tags", Some(&not_c), 100)
        .expect("facet on an array field")
        .into_iter()
        .collect();
    assert_eq!(tags, expected_tags);
}

fn ordered_scrolls_follow_the_field(backend: Backend) {
    let f = Fixture::new(backend);
    let c = f.store.collection(&spec()).expect("collection");
    let values: Vec<i64> = (0..200).map(|i| (i * 7919 % 1000) as i64).collect();
    c.upsert(
        values
            .iter()
            .enumerate()
            .map(|(i, n)| {
                record(
                    i as u128,
                    json!({"n": n, "kind": if n % 2 == 0 {"even"} else {"odd"}}),
                )
            })
            .collect(),
    )
    .expect("upsert");
    let n_of = |records: Vec<engram::store::Record>| -> Vec<i64> {
        records
            .iter()
            .map(|r| r.payload["n"].as_i64().expect("n"))
            .collect()
    };
    let mut sorted = values.clone();
    sorted.sort();
    let ascending = n_of(
        c.scroll_ordered(None, &Order::ascending("n"), 10)
            .expect("scroll"),
    );
    assert_eq!(ascending, sorted[..10]);
    let odd = Filter::all([Condition::keyword("kind", "odd")]);
    let descending = n_of(
        c.scroll_ordered(Some(&odd), &Order::descending("n"), 5)
            .expect("scroll"),
    );
    let mut odd_values: Vec<i64> = values.iter().copied().filter(|n| n % 2 == 1).collect();
    odd_values.sort_by(|a, b| b.cmp(a));
    assert_eq!(descending, odd_values[..5]);
}

fn acquire(name: &str, mode: LeaseMode, ttl_ms: u64, wait_ms: u64, owner: &str) -> Acquire {
    Acquire {
        name: name.into(),
        mode,
        ttl: Duration::from_millis(ttl_ms),
        wait: Duration::from_millis(wait_ms),
        owner: owner.into(),
    }
}

fn an_exclusive_lease_has_one_holder_and_every_grant_a_larger_epoch(backend: Backend) {
    let f = Fixture::new(backend);
    let leases = Leases::open(&f.store).expect("leases");
    let first = leases
        .acquire(&acquire("build", LeaseMode::Exclusive, 60_000, 0, "a"))
        .expect("free");
    assert_eq!(first.epoch, 1);
    let held = leases
        .acquire(&acquire("build", LeaseMode::Exclusive, 60_000, 50, "b"))
        .expect_err("held");
    assert!(
        matches!(held, StoreError::LeaseHeld { holders: 1, .. }),
        "{held}"
    );
    let shared = leases
        .acquire(&acquire("build", LeaseMode::Shared, 60_000, 0, "c"))
        .expect_err("an exclusive holder keeps readers out");
    assert!(matches!(shared, StoreError::LeaseHeld { .. }));
    let renewed = leases
        .renew(&first, Duration::from_secs(120))
        .expect("renew");
    assert!(renewed.expires_at > first.expires_at);
    assert_eq!(renewed.epoch, first.epoch);
    let state = leases.state("build").expect("state").expect("exists");
    assert_eq!(state.holders.len(), 1);
    assert_eq!(state.holders[0].owner, "a");
    assert!(
        !serde_json::to_string(&state)
            .expect("json")
            .contains(&first.token),
        "others never see a holder's token"
    );
    assert!(leases.release(&first).expect("release"));
    assert!(
        !leases.release(&first).expect("release again"),
        "already released"
    );
    let lost = leases
        .renew(&first, Duration::from_secs(1))
        .expect_err("released");
    assert!(matches!(lost, StoreError::LeaseLost { .. }));
    let second = leases
        .acquire(&acquire("build", LeaseMode::Exclusive, 60_000, 0, "b"))
        .expect("free again");
    assert_eq!(second.epoch, 2, "the epoch survives the release");
    assert!(leases.state("never").expect("state").is_none());
    // Bad requests are refused before anything is written.
    for bad in [
        acquire("", LeaseMode::Exclusive, 1000, 0, "a"),
        acquire("x", LeaseMode::Exclusive, 1, 0, "a"),
        acquire("x", LeaseMode::Exclusive, 1000, 120_000, "a"),
        acquire("x\n", LeaseMode::Exclusive, 1000, 0, "a"),
    ] {
        assert!(matches!(
            leases.acquire(&bad),
            Err(StoreError::InvalidInput(_))
        ));
    }
}

fn shared_leases_coexist_and_keep_an_exclusive_one_out(backend: Backend) {
    let f = Fixture::new(backend);
    let leases = Leases::open(&f.store).expect("leases");
    let r1 = leases
        .acquire(&acquire("index", LeaseMode::Shared, 60_000, 0, "r1"))
        .expect("shared");
    let r2 = leases
        .acquire(&acquire("index", LeaseMode::Shared, 60_000, 0, "r2"))
        .expect("shared beside shared");
    assert!(r2.epoch > r1.epoch);
    assert!(matches!(
        leases.acquire(&acquire("index", LeaseMode::Exclusive, 60_000, 20, "w")),
        Err(StoreError::LeaseHeld { holders: 2, .. })
    ));
    leases.release(&r1).expect("release");
    leases.release(&r2).expect("release");
    let w = leases
        .acquire(&acquire("index", LeaseMode::Exclusive, 60_000, 0, "w"))
        .expect("exclusive once the readers left");
    assert!(w.epoch > r2.epoch);
}

/// A holder paused past its time to live comes back after another took the lease over: its
/// renewals and writes are refused, and the value keeps the successor's write.
fn a_lapsed_holder_is_fenced_out_by_its_successor(backend: Backend) {
    let f = Fixture::new(backend);
    let now = Arc::new(std::sync::atomic::AtomicI64::new(1_000_000));
    let clock_now = Arc::clone(&now);
    let leases = Leases::open(&f.store)
        .expect("leases")
        .with_clock(Arc::new(move || {
            clock_now.load(std::sync::atomic::Ordering::SeqCst)
        }));
    let old = leases
        .acquire(&acquire("task-7", LeaseMode::Exclusive, 1000, 0, "old"))
        .expect("acquire");
    leases
        .write_value(&old, json!({"by": "old"}))
        .expect("write while held");
    now.fetch_add(1500, std::sync::atomic::Ordering::SeqCst); // the holder "pauses" past its TTL
    let new = leases
        .acquire(&acquire("task-7", LeaseMode::Exclusive, 1000, 0, "new"))
        .expect("the lapsed lease is taken over");
    assert!(new.epoch > old.epoch);
    assert!(matches!(
        leases.write_value(&old, json!({"by": "old, late"})),
        Err(StoreError::LeaseLost { .. })
    ));
    assert!(matches!(
        leases.renew(&old, Duration::from_secs(1)),
        Err(StoreError::LeaseLost { .. })
    ));
    leases
        .write_value(&new, json!({"by": "new"}))
        .expect("successor writes");
    // Even a write that passed the holder check before the takeover is refused by the fence.
    let c = f
        .store
        .collection(&lease::leases_spec())
        .expect("collection");
    let value_point = Point {
        id: PointId::from_content(&[b"lease-value", b"task-7"]),
        vector: Vec::new(),
        text: String::new(),
        payload: json!({"kind": "value", "name": "task-7", "value": {"by": "old, racing"}})
            .as_object()
            .cloned()
            .expect("object"),
    };
    assert!(matches!(
        c.upsert_fenced(value_point, &old.fence()),
        Err(StoreError::Fenced { .. })
    ));
    let value = leases.read_value("task-7").expect("read").expect("written");
    assert_eq!(value.value, json!({"by": "new"}));
    assert_eq!(value.epoch, new.epoch);
}

/// Many clients contend for one exclusive lease with random pauses (some past the TTL): no
/// two grants ever overlap in time, every grant has its own epoch, and every holder that
/// overslept its TTL is refused when it writes.
fn contended_leases_never_have_two_holders(backend: Backend) {
    let f = Fixture::new(backend);
    const CLIENTS: usize = 6;
    const ROUNDS: usize = 12;
    let leases: Vec<Arc<Leases>> = (0..CLIENTS)
        .map(|_| {
            Arc::new(match &f.store {
                Store::Edge(_) => Leases::open(&f.store).expect("leases"),
                Store::Remote(_) => Leases::open(&second_handle(&f)).expect("leases"),
            })
        })
        .collect();
    // (epoch, held from, held until, wrote while held)
    let grants = Arc::new(Mutex::new(Vec::<(u64, Instant, Instant, bool)>::new()));
    let ttl = Duration::from_millis(300);
    std::thread::scope(|scope| {
        for (client, leases) in leases.iter().enumerate() {
            let grants = Arc::clone(&grants);
            let leases = Arc::clone(leases);
            scope.spawn(move || {
                let mut x = 0x2545_F491u64.wrapping_mul(client as u64 + 7);
                for round in 0..ROUNDS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Waits the longest a request may (10 s) and asks again if it was
                    // still held: with eight contenders a turn can take longer.
                    let asked = Instant::now();
                    let lease = loop {
                        match leases.acquire(&Acquire {
                            name: "contended".into(),
                            mode: LeaseMode::Exclusive,
                            ttl,
                            wait: lease::MAX_WAIT,
                            owner: format!("client-{client}"),
                        }) {
                            Ok(lease) => break lease,
                            Err(StoreError::LeaseHeld { .. })
                                if asked.elapsed() < Duration::from_secs(120) => {}
                            Err(error) => panic!("acquire: {error}"),
                        }
                    };
                    let from = Instant::now();
                    let oversleep = x.is_multiple_of(5);
                    let pause = if oversleep {
                        ttl + Duration::from_millis(150)
                    } else {
                        Duration::from_millis(x % 40)
                    };
                    std::thread::sleep(pause);
                    let until = Instant::now();
                    let wrote =
                        leases.write_value(&lease, json!({"client": client, "round": round}));
                    match (&wrote, oversleep) {
                        (Ok(_), false) => {}
                        (Err(StoreError::LeaseLost { .. } | StoreError::Fenced { .. }), true) => {}
                        // A holder that overslept but whose lease nobody took meanwhile is
                        // still refused: its own lease lapsed.
                        (Ok(_), true) => panic!("a lapsed holder wrote"),
                        (Err(error), false) => panic!("a live holder was refused: {error}"),
                        (Err(error), true) => panic!("unexpected error: {error}"),
                    }
                    // A holder that overslept held it until its TTL ran out, some time after
                    // half of it (the grant happened just before `from`).
                    let held_until = if oversleep { from + ttl / 2 } else { until };
                    grants.lock().expect("lock").push((
                        lease.epoch,
                        from,
                        held_until,
                        wrote.is_ok(),
                    ));
                    let _ = leases.release(&lease);
                }
            });
        }
    });
    let mut grants = grants.lock().expect("lock").clone();
    assert_eq!(grants.len(), CLIENTS * ROUNDS);
    let epochs: BTreeSet<u64> = grants.iter().map(|g| g.0).collect();
    assert_eq!(epochs.len(), grants.len(), "every grant has its own epoch");
    grants.sort_by_key(|g| g.0);
    for pair in grants.windows(2) {
        let (earlier, later) = (&pair[0], &pair[1]);
        assert!(
            earlier.2 <= later.1,
            "epoch {} held until {:?} but epoch {} was granted at {:?}",
            earlier.0,
            earlier.2,
            later.0,
            later.1
        );
    }
    let value = leases[0]
        .read_value("contended")
        .expect("read")
        .expect("written");
    let last_writer = grants.iter().filter(|g| g.3).map(|g| g.0).max();
    assert_eq!(
        Some(value.epoch),
        last_writer,
        "the value holds the newest holder's write"
    );
}

fn an_idempotency_key_runs_the_operation_once(backend: Backend) {
    let f = Fixture::new(backend);
    let keys = IdempotencyKeys::open(&f.store).expect("keys");
    let runs = Arc::new(Mutex::new(0u32));
    let op = |runs: &Arc<Mutex<u32>>| {
        let runs = Arc::clone(runs);
        move |attempt: Attempt| -> Result<u32, StoreError> {
            assert_eq!(attempt, Attempt::First);
            let mut n = runs.lock().expect("lock");
            *n += 1;
            Ok(41 + *n)
        }
    };
    let first: u32 = keys
        .run("test/op", Some("key-1"), &"request", op(&runs))
        .expect("first");
    let again: u32 = keys
        .run("test/op", Some("key-1"), &"request", op(&runs))
        .expect("repeat");
    assert_eq!((first, again), (42, 42), "the repeat gets the first answer");
    assert_eq!(*runs.lock().expect("lock"), 1);
    let other_scope: u32 = keys
        .run("test/other", Some("key-1"), &"request", op(&runs))
        .expect("another scope");
    assert_eq!(other_scope, 43, "keys are scoped by operation");
    let mismatch = keys
        .run("test/op", Some("key-1"), &"another request", op(&runs))
        .expect_err("same key, other request");
    assert!(matches!(mismatch, StoreError::IdempotencyMismatch { .. }));
    // A failed operation releases its key: the retry runs it again.
    let failed: Result<u32, StoreError> = keys.run("test/op", Some("key-2"), &"r", |_| {
        Err(StoreError::InvalidInput("no".into()))
    });
    assert!(failed.is_err());
    let retried: u32 = keys
        .run("test/op", Some("key-2"), &"r", |_| Ok::<u32, StoreError>(7))
        .expect("retry after a failure");
    assert_eq!(retried, 7);
    // Concurrent requests with one key: the operation runs once, all get its answer.
    let concurrent_runs = Arc::new(Mutex::new(0u32));
    let answers = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|scope| {
        for _ in 0..6 {
            let keys = match &f.store {
                Store::Edge(_) => keys.clone(),
                Store::Remote(_) => IdempotencyKeys::open(&second_handle(&f)).expect("keys"),
            };
            let concurrent_runs = Arc::clone(&concurrent_runs);
            let answers = Arc::clone(&answers);
            scope.spawn(move || {
                let answer: u32 = keys
                    .run("test/op", Some("key-3"), &"r", |_| {
                        std::thread::sleep(Duration::from_millis(50));
                        let mut n = concurrent_runs.lock().expect("lock");
                        *n += 1;
                        Ok::<u32, StoreError>(100 + *n)
                    })
                    .expect("run");
                answers.lock().expect("lock").push(answer);
            });
        }
    });
    assert_eq!(*concurrent_runs.lock().expect("lock"), 1);
    assert_eq!(*answers.lock().expect("lock"), vec![101; 6]);
    assert!(matches!(
        keys.run("test/op", Some("bad key"), &"r", |_| Ok::<u32, StoreError>(
            1
        )),
        Err(StoreError::InvalidInput(_))
    ));
}
