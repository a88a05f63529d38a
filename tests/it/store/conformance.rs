//! One suite, two backends: every case runs against Qdrant Edge in a temp dir, and against
//! the Qdrant server at `ENGRAM_TEST_QDRANT_URL` when that is set at build time (otherwise
//! `cargo test` lists those cases as ignored, with the reason).

use std::collections::BTreeSet;

use engram::store::{
    Collection, CollectionSpec, Condition, FieldKind, Filter, IndexOptions, Payload, Point,
    PointId, Query, Range, SearchRequest, StoreError,
};
use serde_json::json;

use super::fixture::{Backend, Fixture};
use super::reference::{Rng, dot, exact_top_k, passes};

conformance!(
    reopening_a_collection_keeps_its_points_and_indexes,
    a_collection_of_records_without_vectors_is_filtered_and_keyword_searched,
    search_over_20000_random_points_agrees_with_exact_top_10,
    hnsw_search_over_clustered_points_agrees_with_exact_top_10,
    filters_return_exactly_what_a_brute_force_filter_returns,
    delete_by_filter_removes_exactly_the_matching_points,
    upserting_an_existing_id_replaces_it,
    get_delete_set_payload_scroll_and_count,
    keyword_and_hybrid_search_find_the_right_points,
    a_collection_with_another_dimension_is_a_schema_error,
    bad_input_is_refused_and_changes_nothing,
    searching_an_empty_collection_returns_nothing,
    integers_are_kept_exactly_within_i64_and_refused_beyond,
);

fn point(id: u128, vector: Vec<f32>, text: &str, payload: serde_json::Value) -> Point {
    let serde_json::Value::Object(payload) = payload else {
        panic!("payload must be an object");
    };
    Point {
        id: PointId::from_u128(id),
        vector,
        text: text.to_owned(),
        payload,
    }
}

fn ids_of_scroll(collection: &Collection, filter: Option<&Filter>) -> BTreeSet<PointId> {
    let records = collection.scroll_all(filter).expect("scroll");
    let ids: BTreeSet<PointId> = records.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), records.len(), "every point once");
    ids
}

/// Stores `points`, optimises, and returns the mean recall@10 of the store's dense search
/// against exact cosine top-10 over `queries`. Checks on the way that every score returned
/// is the exact cosine: where a segment searched an int8 copy of the vectors first, its
/// candidates were rescored on the f32 vectors (an int8 score is off by about 1e-3).
fn recall_at_10(
    collection: &Collection,
    points: &[(PointId, Vec<f32>)],
    queries: &[Vec<f32>],
) -> f64 {
    for chunk in points.chunks(1000) {
        collection
            .upsert(
                chunk
                    .iter()
                    .map(|(id, v)| Point {
                        id: *id,
                        vector: v.clone(),
                        text: String::new(),
                        payload: Payload::new(),
                    })
                    .collect(),
            )
            .expect("upsert");
    }
    collection.optimize().expect("optimize");
    let vectors: std::collections::HashMap<PointId, &Vec<f32>> =
        points.iter().map(|(id, v)| (*id, v)).collect();
    let mut found = 0;
    for query in queries {
        let exact: BTreeSet<PointId> = exact_top_k(points, query, 10).into_iter().collect();
        let hits = collection
            .search(&SearchRequest::new(Query::Dense(query.clone()), 10))
            .expect("search");
        assert_eq!(hits.len(), 10);
        found += hits.iter().filter(|h| exact.contains(&h.id)).count();
        for hit in &hits {
            let cosine = vectors
                .get(&hit.id)
                .map(|v| dot(v, query))
                .expect("a hit is a stored point");
            assert!(
                (hit.score - cosine).abs() < 1e-4,
                "score {} of {} is not its cosine {cosine}",
                hit.score,
                hit.id
            );
        }
    }
    found as f64 / (queries.len() * 10) as f64
}

/// The acceptance case: 20,000 random 384-d points, default settings. Random vectors are the
/// worst case for HNSW (no structure to navigate); at this size engram searches segments
/// exhaustively (see `IndexOptions`), so the answer must be the exact one.
fn search_over_20000_random_points_agrees_with_exact_top_10(backend: Backend) {
    let f = &Fixture::new(backend);
    let collection = f
        .store
        .collection(&CollectionSpec::new("random", 384))
        .expect("collection");
    let mut rng = Rng::new(7);
    let points: Vec<(PointId, Vec<f32>)> = (0..20_000u128)
        .map(|i| (PointId::from_u128(i), rng.unit_vector(384)))
        .collect();
    let queries: Vec<Vec<f32>> = (0..100).map(|_| rng.unit_vector(384)).collect();
    let recall = recall_at_10(&collection, &points, &queries);
    let info = collection.info().expect("info");
    eprintln!("recall@10 over 20,000 random 384-d points: {recall:.4} ({info:?})");
    assert_eq!(info.points, 20_000);
    assert!(recall >= 0.99, "recall@10 {recall} < 0.99");
}

/// The HNSW path itself: an index forced on (tiny exhaustive threshold) over 20,000 points
/// with the structure real embeddings have (clusters around topics), searched with the
/// default beam width.
fn hnsw_search_over_clustered_points_agrees_with_exact_top_10(backend: Backend) {
    let f = &Fixture::with_index(
        backend,
        IndexOptions {
            exact_search_kb: 100,
            ..IndexOptions::default()
        },
    );
    let collection = f
        .store
        .collection(&CollectionSpec::new("clustered", 384))
        .expect("collection");
    let mut rng = Rng::new(17);
    let centers: Vec<Vec<f32>> = (0..200).map(|_| rng.unit_vector(384)).collect();
    let around = |rng: &mut Rng| -> Vec<f32> {
        let center = &centers[rng.below(centers.len() as u64) as usize];
        let noise = rng.unit_vector(384);
        let mut v: Vec<f32> = center
            .iter()
            .zip(&noise)
            .map(|(c, n)| c + 0.8 * n)
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    };
    let points: Vec<(PointId, Vec<f32>)> = (0..20_000u128)
        .map(|i| (PointId::from_u128(i), around(&mut rng)))
        .collect();
    let queries: Vec<Vec<f32>> = (0..100).map(|_| around(&mut rng)).collect();
    let recall = recall_at_10(&collection, &points, &queries);
    let info = collection.info().expect("info");
    eprintln!("HNSW recall@10 over 20,000 clustered 384-d points: {recall:.4} ({info:?})");
    // These points have no text, so every indexed vector is a dense one in an HNSW graph.
    assert!(
        info.indexed_vectors >= 15_000,
        "the HNSW index was built, so this measured ANN: {info:?}"
    );
    assert!(recall >= 0.99, "recall@10 {recall} < 0.99");
}

/// 2,000 points whose payloads exercise every field type, some fields missing, arrays.
fn filter_fixture(collection: &Collection) -> Vec<(PointId, Vec<f32>, Payload)> {
    let mut rng = Rng::new(11);
    let kinds = ["alpha", "beta", "gamma", "delta", "epsilon"];
    let tags = ["x", "y", "z", "w"];
    let mut all = Vec::new();
    for i in 0..2000u128 {
        let mut payload = Payload::new();
        payload.insert("kind".into(), json!(kinds[rng.below(5) as usize]));
        let tag_list: Vec<&str> = tags.iter().copied().filter(|_| rng.below(3) == 0).collect();
        payload.insert("tags".into(), json!(tag_list));
        if rng.below(10) != 0 {
            payload.insert("n".into(), json!(rng.below(100) as i64 - 20));
        }
        if rng.below(10) != 0 {
            payload.insert("rate".into(), json!(rng.unit()));
        }
        payload.insert("flag".into(), json!(rng.below(2) == 0));
        payload.insert("label".into(), json!(format!("item {i}")));
        let vector = rng.unit_vector(8);
        all.push((PointId::from_u128(i), vector, payload));
    }
    collection
        .upsert(
            all.iter()
                .map(|(id, v, p)| Point {
                    id: *id,
                    vector: v.clone(),
                    text: String::new(),
                    payload: p.clone(),
                })
                .collect(),
        )
        .expect("upsert");
    all
}

fn filter_spec(name: &str) -> CollectionSpec {
    CollectionSpec::new(name, 8)
        .with_index("kind", FieldKind::Keyword)
        .with_index("tags", FieldKind::Keyword)
        .with_index("n", FieldKind::Integer)
        .with_index("rate", FieldKind::Float)
        .with_index("flag", FieldKind::Bool)
}

fn filters() -> Vec<Filter> {
    let kw = Condition::keyword;
    let range = |field: &str, range: Range| Condition::Range {
        field: field.into(),
        range,
    };
    vec![
        Filter::all([kw("kind", "alpha")]),
        Filter::all([kw("tags", "x")]),
        Filter::all([Condition::KeywordAny {
            field: "kind".into(),
            values: vec!["beta".into(), "gamma".into()],
        }]),
        Filter::all([Condition::Integer {
            field: "n".into(),
            value: 5,
        }]),
        Filter::all([range(
            "n",
            Range {
                gte: Some(-5.0),
                lt: Some(10.0),
                ..Range::default()
            },
        )]),
        Filter::all([range(
            "rate",
            Range {
                gt: Some(0.25),
                lte: Some(0.5),
                ..Range::default()
            },
        )]),
        Filter::all([Condition::Bool {
            field: "flag".into(),
            value: true,
        }]),
        Filter::all([kw("kind", "alpha"), kw("tags", "y")]),
        Filter::any([
            kw("kind", "delta"),
            range(
                "rate",
                Range {
                    gte: Some(0.9),
                    ..Range::default()
                },
            ),
        ]),
        Filter::all([kw("tags", "z")]).and_not(kw("kind", "epsilon")),
        Filter::all([Condition::Bool {
            field: "flag".into(),
            value: false,
        }])
        .and(Condition::Filter(Box::new(Filter::any([
            kw("tags", "w"),
            Condition::Integer {
                field: "n".into(),
                value: 42,
            },
        ])))),
        Filter {
            must_not: vec![kw("kind", "alpha"), kw("kind", "beta")],
            ..Filter::default()
        },
        Filter::all([Condition::HasId(
            (0..50u128).map(|i| PointId::from_u128(i * 7)).collect(),
        )])
        .and_not(kw("kind", "gamma")),
        Filter::all([kw("kind", "no such kind")]),
        // Missing fields (n and rate are absent on about a tenth of the points) and empty
        // arrays (tags).
        Filter::all([Condition::is_empty("n")]),
        Filter::all([Condition::is_empty("tags")]).and_not(Condition::is_empty("rate")),
        Filter::all([Condition::either([
            Condition::below("n", 0.0),
            Condition::is_empty("n"),
        ])]),
        // An unindexed keyword field holding values with spaces.
        Filter::all([kw("label", "item 17")]),
        Filter::all([range(
            "n",
            Range {
                lt: Some(0.0),
                ..Range::default()
            },
        )])
        .and(Condition::Filter(Box::new(Filter::any([
            kw("tags", "x"),
            kw("tags", "y"),
        ]))))
        .and_not(Condition::Bool {
            field: "flag".into(),
            value: true,
        }),
    ]
}

fn filters_return_exactly_what_a_brute_force_filter_returns(backend: Backend) {
    let f = &Fixture::new(backend);
    let collection = f
        .store
        .collection(&filter_spec("filters"))
        .expect("collection");
    let all = filter_fixture(&collection);
    let mut rng = Rng::new(3);
    for filter in filters() {
        let expected: BTreeSet<PointId> = all
            .iter()
            .filter(|(id, _, payload)| passes(&filter, *id, payload))
            .map(|(id, _, _)| *id)
            .collect();
        assert_eq!(
            ids_of_scroll(&collection, Some(&filter)),
            expected,
            "scroll {filter:?}"
        );
        assert_eq!(
            collection.count(Some(&filter)).expect("count"),
            expected.len(),
            "count {filter:?}"
        );
        // A filtered search returns the best matches among exactly the passing points.
        let query = rng.unit_vector(8);
        let passing: Vec<(PointId, Vec<f32>)> = all
            .iter()
            .filter(|(id, _, _)| expected.contains(id))
            .map(|(id, v, _)| (*id, v.clone()))
            .collect();
        let best = exact_top_k(&passing, &query, 20);
        let hits = collection
            .search(&SearchRequest::new(Query::Dense(query), 20).with_filter(filter.clone()))
            .expect("search");
        let got: Vec<PointId> = hits.iter().map(|h| h.id).collect();
        assert_eq!(got, best, "filtered search {filter:?}");
    }
}

fn delete_by_filter_removes_exactly_the_matching_points(backend: Backend) {
    let f = &Fixture::new(backend);
    let collection = f
        .store
        .collection(&filter_spec("deletes"))
        .expect("collection");
    let all = filter_fixture(&collection);
    let filter =
        Filter::all([Condition::keyword("kind", "beta")]).and(Condition::at_least("rate", 0.3));
    let doomed: BTreeSet<PointId> = all
        .iter()
        .filter(|(id, _, p)| passes(&filter, *id, p))
        .map(|(id, _, _)| *id)
        .collect();
    assert!(!doomed.is_empty());
    collection.delete_by_filter(&filter).expect("delete");
    let left = ids_of_scroll(&collection, None);
    let expected: BTreeSet<PointId> = all
        .iter()
        .map(|(id, _, _)| *id)
        .filter(|id| !doomed.contains(id))
        .collect();
    assert_eq!(left, expected);
    assert_eq!(collection.count(Some(&filter)).expect("count"), 0);
    let error = collection
        .delete_by_filter(&Filter::default())
        .expect_err("an empty filter would delete everything");
    assert!(error.is_caller_fault());
    assert_eq!(collection.count(None).expect("count"), expected.len());
}

fn upserting_an_existing_id_replaces_it(backend: Backend) {
    let f = &Fixture::new(backend);
    let collection = f
        .store
        .collection(&CollectionSpec::new("replace", 4).with_index("v", FieldKind::Integer))
        .expect("collection");
    collection
        .upsert(vec![
            point(
                1,
                vec![1.0, 0.0, 0.0, 0.0],
                "postgres connection pool",
                json!({"v": 1, "old": true}),
            ),
            point(
                2,
                vec![0.0, 1.0, 0.0, 0.0],
                "unrelated words",
                json!({"v": 1}),
            ),
        ])
        .expect("upsert");
    collection
        .upsert(vec![point(
            1,
            vec![0.0, 0.0, 1.0, 0.0],
            "kubernetes deployment rollout",
            json!({"v": 2}),
        )])
        .expect("replace");
    assert_eq!(collection.count(None).expect("count"), 2);
    let record = &collection.get(&[PointId::from_u128(1)], true).expect("get")[0];
    assert_eq!(record.payload.get("v"), Some(&json!(2)));
    assert!(
        !record.payload.contains_key("old"),
        "the old payload is gone"
    );
    assert_eq!(record.vector.as_deref(), Some(&[0.0, 0.0, 1.0, 0.0][..]));
    let dense = collection
        .search(&SearchRequest::new(
            Query::Dense(vec![0.0, 0.0, 1.0, 0.0]),
            1,
        ))
        .expect("search");
    assert_eq!(dense[0].id, PointId::from_u128(1));
    assert!((dense[0].score - 1.0).abs() < 1e-5);
    let old_words = collection
        .search(&SearchRequest::new(
            Query::Keyword("postgres pool".into()),
            5,
        ))
        .expect("keyword");
    assert!(
        old_words.is_empty(),
        "the old text is no longer indexed: {old_words:?}"
    );
    let new_words = collection
        .search(&SearchRequest::new(
            Query::Keyword("kubernetes rollout".into()),
            5,
        ))
        .expect("keyword");
    assert_eq!(new_words.len(), 1);
    assert_eq!(new_words[0].id, PointId::from_u128(1));
    let by_version = Filter::all([Condition::Integer {
        field: "v".into(),
        value: 1,
    }]);
    assert_eq!(
        ids_of_scroll(&collection, Some(&by_version)),
        BTreeSet::from([PointId::from_u128(2)])
    );
}

fn get_delete_set_payload_scroll_and_count(backend: Backend) {
    let f = &Fixture::new(backend);
    let collection = f
        .store
        .collection(&CollectionSpec::new("crud", 3).with_index("group", FieldKind::Keyword))
        .expect("collection");
    let mut rng = Rng::new(5);
    let points: Vec<Point> = (0..1234u128)
        .map(|i| {
            point(
                i,
                rng.unit_vector(3),
                "",
                json!({"group": if i % 2 == 0 { "even" } else { "odd" }, "i": i as u64}),
            )
        })
        .collect();
    collection.upsert(points).expect("upsert");
    assert_eq!(collection.count(None).expect("count"), 1234);
    // Scrolling in pages visits every point exactly once.
    let mut seen = Vec::new();
    let mut offset = None;
    loop {
        let (page, next) = collection.scroll(None, 100, offset, false).expect("scroll");
        assert!(page.len() <= 100);
        seen.extend(page.into_iter().map(|r| r.id));
        match next {
            Some(next) => offset = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1234);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 1234);
    // get keeps the order of the ids asked for and skips unknown ones.
    let ask = [
        PointId::from_u128(7),
        PointId::from_u128(99_999),
        PointId::from_u128(3),
    ];
    let got = collection.get(&ask, false).expect("get");
    assert_eq!(
        got.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ask[0], ask[2]]
    );
    assert_eq!(got[0].payload.get("i"), Some(&json!(7)));
    // set_payload merges.
    let mut extra = Payload::new();
    extra.insert("seen".into(), json!(3));
    collection
        .set_payload(&[ask[0]], extra)
        .expect("set payload");
    let after = &collection.get(&[ask[0]], false).expect("get")[0];
    assert_eq!(after.payload.get("seen"), Some(&json!(3)));
    assert_eq!(after.payload.get("group"), Some(&json!("odd")));
    // delete by ids.
    collection
        .delete(&[ask[0], ask[2], PointId::from_u128(424_242)])
        .expect("delete");
    assert_eq!(collection.count(None).expect("count"), 1232);
    assert!(collection.get(&ask, false).expect("get").is_empty());
    let odd = Filter::all([Condition::keyword("group", "odd")]);
    assert_eq!(collection.count(Some(&odd)).expect("count"), 617 - 2);
}

fn keyword_and_hybrid_search_find_the_right_points(backend: Backend) {
    let f = &Fixture::new(backend);
    let collection = f
        .store
        .collection(&CollectionSpec::new("hybrid", 4))
        .expect("collection");
    collection
        .upsert(vec![
            point(
                1,
                vec![1.0, 0.0, 0.0, 0.0],
                "ModuleNotFoundError: No module named 'fastapi'",
                json!({"t": 1}),
            ),
            point(
                2,
                vec![0.0, 1.0, 0.0, 0.0],
                "TypeError: 'NoneType' object is not subscriptable",
                json!({"t": 2}),
            ),
            point(
                3,
                vec![0.0, 0.0, 1.0, 0.0],
                "connection refused while connecting to the database",
                json!({"t": 3}),
            ),
            point(4, vec![0.7, 0.7, 0.0, 0.0], "", json!({"t": 4})),
        ])
        .expect("upsert");
    let keyword = collection
        .search(&SearchRequest::new(
            Query::Keyword("databases connections".into()),
            10,
        ))
        .expect("keyword");
    assert_eq!(
        keyword.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![PointId::from_u128(3)],
        "stemmed match"
    );
    assert!(keyword[0].keyword_score.is_some() && keyword[0].dense_score.is_none());
    assert_eq!(keyword[0].payload.get("t"), Some(&json!(3)));
    let nothing = collection
        .search(&SearchRequest::new(Query::Keyword("the of and".into()), 10))
        .expect("stop words only");
    assert!(nothing.is_empty());
    let hybrid = collection
        .search(&SearchRequest::new(
            Query::Hybrid {
                vector: vec![0.0, 0.0, 0.9, 0.1],
                text: "database connection".into(),
            },
            3,
        ))
        .expect("hybrid");
    assert_eq!(hybrid.len(), 3);
    assert_eq!(
        hybrid[0].id,
        PointId::from_u128(3),
        "first in both halves: {hybrid:?}"
    );
    assert!(hybrid[0].dense_score.is_some() && hybrid[0].keyword_score.is_some());
    assert_eq!(hybrid[0].payload.get("t"), Some(&json!(3)));
    assert!(hybrid.windows(2).all(|w| w[0].score >= w[1].score));
    // Hybrid scores are absolute: without a keyword match, a point's score is its cosine,
    // whatever else is stored; a keyword match adds to it.
    let unmatched = collection
        .search(&SearchRequest::new(
            Query::Hybrid {
                vector: vec![0.0, 0.0, 0.6, 0.8],
                text: "sourdough".into(),
            },
            4,
        ))
        .expect("hybrid without keyword results");
    assert_eq!(unmatched[0].id, PointId::from_u128(3));
    assert!((unmatched[0].score - 0.6).abs() < 1e-4, "{unmatched:?}");
    assert_eq!(unmatched[0].dense_score, Some(unmatched[0].score));
    assert!(unmatched.iter().all(|h| (0.0..=1.0).contains(&h.score)));
    let keyword_only = collection
        .search(&SearchRequest::new(
            Query::Hybrid {
                vector: vec![0.0, 0.0, 0.6, 0.8],
                text: "fastapi".into(),
            },
            4,
        ))
        .expect("hybrid with a keyword match");
    let fastapi = keyword_only
        .iter()
        .find(|h| h.id == PointId::from_u128(1))
        .expect("the keyword match is a result");
    assert_eq!(
        fastapi.dense_score,
        Some(0.0),
        "its cosine is known: {fastapi:?}"
    );
    assert!(fastapi.score > 0.0 && fastapi.keyword_score.is_some());
    let thresholded = collection
        .search(&SearchRequest {
            score_threshold: Some(0.5),
            ..SearchRequest::new(Query::Dense(vec![1.0, 0.0, 0.0, 0.0]), 10)
        })
        .expect("threshold");
    assert_eq!(
        thresholded.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![PointId::from_u128(1), PointId::from_u128(4)]
    );
}

fn a_collection_of_records_without_vectors_is_filtered_and_keyword_searched(backend: Backend) {
    let f = &Fixture::new(backend);
    let spec = CollectionSpec::records("events").with_index("group", FieldKind::Keyword);
    let records = f.store.collection(&spec).expect("collection");
    records
        .upsert(
            (0..300u128)
                .map(|i| {
                    point(
                        i,
                        Vec::new(),
                        if i % 3 == 0 {
                            "deploy failed with timeout"
                        } else {
                            ""
                        },
                        json!({"group": if i % 2 == 0 { "even" } else { "odd" }, "i": i as u64}),
                    )
                })
                .collect(),
        )
        .expect("upsert records");
    assert_eq!(records.count(None).expect("count"), 300);
    let even = Filter::all([Condition::keyword("group", "even")]);
    assert_eq!(ids_of_scroll(&records, Some(&even)).len(), 150);
    let got = records.get(&[PointId::from_u128(7)], true).expect("get");
    assert_eq!(got[0].payload.get("i"), Some(&json!(7)));
    assert_eq!(got[0].vector, None);
    let found = records
        .search(&SearchRequest::new(Query::Keyword("timeouts".into()), 500))
        .expect("keyword search");
    assert_eq!(found.len(), 100);
    let dense = records.search(&SearchRequest::new(Query::Dense(vec![1.0]), 5));
    assert!(dense.expect_err("no vectors to search").is_caller_fault());
    let with_vector = records.upsert(vec![point(999, vec![1.0], "", json!({}))]);
    assert!(
        with_vector
            .expect_err("records have no vectors")
            .is_caller_fault()
    );
    assert_eq!(records.count(None).expect("count"), 300);
    drop(records);
    let error = f
        .store
        .collection(&CollectionSpec::new("events", 4))
        .expect_err("records are not a vector collection");
    assert!(
        matches!(error, StoreError::SchemaMismatch { .. }),
        "{error}"
    );
    assert!(f.store.collection(&spec).is_ok());
}

fn reopening_a_collection_keeps_its_points_and_indexes(backend: Backend) {
    let f = &Fixture::new(backend);
    let spec = filter_spec("reopen");
    let collection = f.store.collection(&spec).expect("create");
    let all = filter_fixture(&collection);
    drop(collection);
    for _ in 0..2 {
        let again = f
            .store
            .collection(&spec)
            .expect("reopen with the same spec");
        assert_eq!(again.count(None).expect("count"), all.len());
        let facets = again
            .facet("kind", None, 10)
            .expect("facet on an indexed field");
        assert_eq!(facets.iter().map(|(_, n)| n).sum::<usize>(), all.len());
        assert_eq!(facets.len(), 5);
    }
    // A spec with one more index is fine: the index is added.
    let wider = spec.clone().with_index("extra", FieldKind::Integer);
    let widened = f.store.collection(&wider).expect("open with a new index");
    assert_eq!(widened.count(None).expect("count"), all.len());
    assert!(
        f.store.collection(&spec).is_ok(),
        "and the narrower spec still opens"
    );
}

fn a_collection_with_another_dimension_is_a_schema_error(backend: Backend) {
    let f = &Fixture::new(backend);
    f.store
        .collection(&CollectionSpec::new("shape", 8))
        .expect("create");
    let error = f
        .store
        .collection(&CollectionSpec::new("shape", 16))
        .expect_err("another dimension");
    assert!(
        matches!(error, StoreError::SchemaMismatch { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("8-dimensional"), "{error}");
    let error = f
        .store
        .collection(&CollectionSpec::new("shape", 8).with_index("x", FieldKind::Integer))
        .and_then(|_| {
            f.store
                .collection(&CollectionSpec::new("shape", 8).with_index("x", FieldKind::Keyword))
        })
        .expect_err("an index of another type");
    assert!(
        matches!(error, StoreError::SchemaMismatch { .. }),
        "{error}"
    );
    assert_eq!(
        f.store.collection_names().expect("names"),
        vec!["shape".to_owned()]
    );
}

/// A named request that must be refused.
type Case<'a> = (&'a str, Box<dyn Fn() -> Result<(), StoreError> + 'a>);

fn integers_are_kept_exactly_within_i64_and_refused_beyond(backend: Backend) {
    let f = &Fixture::new(backend);
    let collection = f
        .store
        .collection(&CollectionSpec::new("numbers", 4))
        .expect("collection");
    let exact = json!({
        "max": i64::MAX,
        "min": i64::MIN,
        "beyond_doubles": (1_i64 << 53) + 1,
        "nested": {"list": [i64::MAX, -1, 0.1]},
    });
    collection
        .upsert(vec![point(1, vec![1.0, 0.0, 0.0, 0.0], "", exact.clone())])
        .expect("i64 integers are stored");
    let stored = collection
        .get(&[PointId::from_u128(1)], false)
        .expect("get");
    assert_eq!(serde_json::Value::Object(stored[0].payload.clone()), exact);
    // Beyond i64 (serde_json holds these as u64): refused on both backends, nothing stored.
    let too_big = i64::MAX as u64 + 1;
    let refused = collection
        .upsert(vec![point(
            2,
            vec![0.0, 1.0, 0.0, 0.0],
            "",
            json!({"n": {"deep": [too_big]}}),
        )])
        .expect_err("u64 above i64::MAX");
    assert!(matches!(refused, StoreError::InvalidInput(_)), "{refused}");
    assert!(
        refused.to_string().contains(&too_big.to_string()),
        "{refused}"
    );
    assert!(
        collection
            .get(&[PointId::from_u128(2)], false)
            .expect("get")
            .is_empty()
    );
    let mut payload = Payload::new();
    payload.insert("n".into(), json!(u64::MAX));
    assert!(matches!(
        collection.set_payload(&[PointId::from_u128(1)], payload),
        Err(StoreError::InvalidInput(_))
    ));
    let unchanged = collection
        .get(&[PointId::from_u128(1)], false)
        .expect("get");
    assert_eq!(
        serde_json::Value::Object(unchanged[0].payload.clone()),
        exact
    );
}

fn bad_input_is_refused_and_changes_nothing(backend: Backend) {
    let f = &Fixture::new(backend);
    let collection = f
        .store
        .collection(&CollectionSpec::new("bad", 4))
        .expect("collection");
    collection
        .upsert(vec![point(1, vec![1.0, 0.0, 0.0, 0.0], "x", json!({}))])
        .expect("upsert");
    let cases: Vec<Case<'_>> = vec![
        (
            "wrong dimension",
            Box::new(|| collection.upsert(vec![point(2, vec![1.0; 5], "", json!({}))])),
        ),
        (
            "NaN component",
            Box::new(|| {
                collection.upsert(vec![point(2, vec![f32::NAN, 0.0, 0.0, 0.0], "", json!({}))])
            }),
        ),
        (
            "one bad point in a batch",
            Box::new(|| {
                collection.upsert(vec![
                    point(2, vec![0.0, 1.0, 0.0, 0.0], "", json!({})),
                    point(3, vec![f32::INFINITY, 0.0, 0.0, 0.0], "", json!({})),
                ])
            }),
        ),
        (
            "limit 0",
            Box::new(|| {
                collection
                    .search(&SearchRequest::new(
                        Query::Dense(vec![1.0, 0.0, 0.0, 0.0]),
                        0,
                    ))
                    .map(|_| ())
            }),
        ),
        (
            "limit 10^9",
            Box::new(|| {
                collection
                    .search(&SearchRequest::new(
                        Query::Dense(vec![1.0, 0.0, 0.0, 0.0]),
                        1_000_000_000,
                    ))
                    .map(|_| ())
            }),
        ),
        (
            "query dimension",
            Box::new(|| {
                collection
                    .search(&SearchRequest::new(Query::Dense(vec![1.0; 3]), 5))
                    .map(|_| ())
            }),
        ),
        (
            "NaN range bound",
            Box::new(|| {
                collection
                    .count(Some(&Filter::all([Condition::at_least("n", f64::NAN)])))
                    .map(|_| ())
            }),
        ),
        (
            "a filter on a key that is not an identifier",
            Box::new(|| {
                collection
                    .count(Some(&Filter::all([Condition::keyword(
                        "name with space",
                        "x",
                    )])))
                    .map(|_| ())
            }),
        ),
        (
            "bad collection name",
            Box::new(|| {
                f.store
                    .collection(&CollectionSpec::new("Bad Name", 4))
                    .map(|_| ())
            }),
        ),
        (
            "dimension over the limit",
            Box::new(|| {
                f.store
                    .collection(&CollectionSpec::new("huge", 70_000))
                    .map(|_| ())
            }),
        ),
    ];
    for (what, case) in cases {
        let error = case().expect_err(what);
        assert!(error.is_caller_fault(), "{what}: {error}");
    }
    assert_eq!(
        collection.count(None).expect("count"),
        1,
        "nothing was written"
    );
}

fn searching_an_empty_collection_returns_nothing(backend: Backend) {
    let f = &Fixture::new(backend);
    let collection = f
        .store
        .collection(&CollectionSpec::new("empty", 4))
        .expect("collection");
    for query in [
        Query::Dense(vec![1.0, 0.0, 0.0, 0.0]),
        Query::Keyword("anything at all".into()),
        Query::Hybrid {
            vector: vec![1.0, 0.0, 0.0, 0.0],
            text: "anything".into(),
        },
    ] {
        assert!(
            collection
                .search(&SearchRequest::new(query, 10))
                .expect("search")
                .is_empty()
        );
    }
    assert_eq!(collection.count(None).expect("count"), 0);
    let (page, next) = collection.scroll(None, 10, None, false).expect("scroll");
    assert!(page.is_empty() && next.is_none());
}
