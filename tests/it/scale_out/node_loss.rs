//! One node of a three-node Qdrant cluster dies, each of the three in turn, under engram's
//! default cluster layout (replication factor 2, medium write ordering, reads from one
//! replica) with every node's URL given: recalls answer the same top-10, stores go on being
//! acknowledged, and once the node is back and its replicas are active again every
//! acknowledged write is there. Prints recall and store latencies before, during and after
//! each loss (BENCHMARKS.md, "A node lost"). Built in when `ENGRAM_TEST_QDRANT_BIN` is set
//! at build time.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use engram::memories::{Memories, MemoryFilters, MemoryInput, Scoring, Tier};
use engram::store::{PointId, RemoteConfig, Store};

use super::cluster::{Node, start_cluster};
use super::percentile;
use super::remote::namespace;
use crate::common::{engram_at, locomo_texts, shared_embedder, success_stdout};

const CORPUS: usize = 1_000;
const QUERIES: usize = 50;
const STORES_PER_PHASE: usize = 50;
const NOW: i64 = 1_767_225_600_000;

/// Latencies of one phase, in milliseconds.
struct Phase {
    name: String,
    recall: Vec<f64>,
    store: Vec<f64>,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            self.name,
            percentile(&self.recall, 50.0),
            percentile(&self.recall, 99.0),
            percentile(&self.store, 50.0),
            percentile(&self.store, 99.0)
        )
    }
}

struct Cluster<'a> {
    memories: Memories,
    store: &'a Store,
    queries: Vec<String>,
    expected: Vec<Vec<PointId>>,
    acknowledged: Vec<PointId>,
}

fn corpus_filter() -> MemoryFilters {
    MemoryFilters {
        tags: vec!["corpus".into()],
        ..MemoryFilters::default()
    }
}

impl Cluster<'_> {
    fn top10(&self, query: &str) -> Vec<PointId> {
        self.memories
            .semantic_search(None, query, 10, &corpus_filter())
            .unwrap_or_else(|e| panic!("recall {query:?}: {e}"))
            .into_iter()
            .map(|m| m.memory.id)
            .collect()
    }

    /// Every query answers the top-10 it answered at the end of the previous phase (on the
    /// same points), then every store is acknowledged; the answers after the stores (which
    /// change BM25's IDF, so the ranks can move) are what the next phase must answer.
    fn phase(&mut self, name: &str) -> Phase {
        let mut phase = Phase {
            name: name.to_owned(),
            recall: Vec::new(),
            store: Vec::new(),
        };
        for (query, expected) in self.queries.iter().zip(&self.expected) {
            let started = Instant::now();
            let found = self.top10(query);
            phase.recall.push(started.elapsed().as_secs_f64() * 1e3);
            assert_eq!(&found, expected, "{name}: the top-10 of {query:?}");
        }
        for n in 0..STORES_PER_PHASE {
            let input = MemoryInput {
                memory_tier: Some(Tier::Long),
                tags: vec![format!("written {name}")],
                ..MemoryInput::new(format!(
                    "Note {n} written {name}: the deploy of service {n} needs a canary first"
                ))
            };
            let key = format!("{}-{n}", name.replace(' ', "-"));
            let started = Instant::now();
            let memory = self
                .memories
                .add_memory(input, Some(&key))
                .unwrap_or_else(|e| panic!("{name}: store {n} not acknowledged: {e}"));
            phase.store.push(started.elapsed().as_secs_f64() * 1e3);
            self.acknowledged.push(memory.id);
        }
        self.expected = self.queries.iter().map(|q| self.top10(q)).collect();
        eprintln!("{phase}");
        phase
    }

    /// Every acknowledged memory is stored, and nothing else.
    fn check_every_write(&self, after: &str) {
        let collection = self
            .store
            .open_existing("memories")
            .expect("open")
            .expect("the memories collection");
        let found = collection.get(&self.acknowledged, false).expect("get");
        assert_eq!(
            found.len(),
            self.acknowledged.len(),
            "{after}: every acknowledged memory is there"
        );
        assert_eq!(
            collection.count(None).expect("count"),
            self.acknowledged.len(),
            "{after}: and nothing else"
        );
    }

    /// Waits until every shard of every collection has its two replicas active again.
    fn wait_until_healed(&self, after: &str) -> Duration {
        let started = Instant::now();
        loop {
            let stats = self.store.stats().expect("stats");
            let healed = stats.iter().all(|c| {
                c.layout.as_ref().is_some_and(|l| {
                    l.shards.len() == 3 && l.shards.iter().all(|s| s.replicas == 2 && s.active == 2)
                })
            });
            if healed {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "{after}: the cluster did not heal: {stats:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

#[test]
#[cfg_attr(
    not(engram_cluster_tests),
    ignore = "set ENGRAM_TEST_QDRANT_BIN (a qdrant binary; see docs/cluster.md) when building to run against a three-node cluster"
)]
fn losing_any_one_node_of_three_keeps_every_answer_and_every_write() {
    let bin = std::env::var("ENGRAM_TEST_QDRANT_BIN").expect("ENGRAM_TEST_QDRANT_BIN");
    let bin = Path::new(&bin);
    let mut nodes: Vec<Node> = start_cluster(bin);
    let urls: Vec<String> = nodes
        .iter()
        .map(|n| format!("http://127.0.0.1:{}", n.grpc))
        .collect();
    let mut config = RemoteConfig::new(urls.join(","));
    config.namespace = namespace("node-loss");
    config.shard_number = Some(3);
    an_existing_layout_that_differs_is_reported_and_kept(&config);
    // The collections `engram stats` counts (patterns, solutions, errors, experiences).
    engram::memory::Memory::new(
        Store::connect_remote(config.clone()).expect("connect"),
        Arc::clone(shared_embedder()) as _,
    )
    .expect("memory");
    let store = Store::connect_remote(config.clone()).expect("connect");
    let memories = open_memories(&store).with_clock(Arc::new(|| NOW));

    let (texts, queries) = locomo_texts(CORPUS, QUERIES);
    let inputs = texts
        .iter()
        .map(|text| MemoryInput {
            memory_tier: Some(Tier::Long),
            tags: vec!["corpus".into()],
            ..MemoryInput::new(text.clone())
        })
        .collect();
    let added = memories.batch_add_memories(inputs, None).expect("batch");
    assert_eq!(added.failed, 0);
    let acknowledged: Vec<PointId> = added
        .results
        .iter()
        .map(|r| r.memory.as_ref().expect("stored").id)
        .collect();

    let layout = memories_layout(&store);
    eprintln!("layout: {layout:?}");
    assert_eq!(
        (layout.replication_factor, layout.peers, layout.shards.len()),
        (2, 3, 3)
    );
    assert!(layout.differs.is_empty(), "{:?}", layout.differs);

    let mut cluster = Cluster {
        memories,
        store: &store,
        queries,
        expected: Vec::new(),
        acknowledged,
    };
    cluster.expected = cluster.queries.iter().map(|q| cluster.top10(q)).collect();
    assert!(cluster.expected.iter().all(|top| top.len() == 10));

    let mut phases = vec![cluster.phase("before")];
    let first = nodes[0].p2p;
    for (victim, node) in nodes.iter_mut().enumerate() {
        node.kill();
        phases.push(cluster.phase(&format!("node {} down", victim + 1)));
        let during = memories_layout(&store);
        assert!(
            during.degraded_shards() >= 1,
            "stats show the shards that lost a replica: {during:?}"
        );
        if victim == 0 {
            engram_stats_answers_with_a_node_down(&config);
        }
        let bootstrap = if victim == 0 { None } else { Some(first) };
        node.start(bin, bootstrap);
        let healed = cluster.wait_until_healed(&format!("node {} back", victim + 1));
        eprintln!(
            "node {} back: healed in {:.1} s",
            victim + 1,
            healed.as_secs_f64()
        );
        cluster.check_every_write(&format!("node {} back", victim + 1));
        phases.push(cluster.phase(&format!("node {} back", victim + 1)));
    }
    cluster.check_every_write("the end");
    eprintln!("| phase | recall p50 ms | recall p99 ms | store p50 ms | store p99 ms |");
    for phase in &phases {
        eprintln!("{phase}");
    }
}

/// General memory on `store`, its collections created if absent.
fn open_memories(store: &Store) -> Memories {
    Memories::new(
        store,
        Arc::clone(shared_embedder()) as _,
        Scoring::default(),
    )
    .expect("memories")
}

fn memories_layout(store: &Store) -> engram::store::ClusterLayout {
    store
        .stats()
        .expect("stats")
        .into_iter()
        .find(|c| c.name == "memories")
        .and_then(|c| c.layout)
        .expect("the memories collection has a layout")
}

/// A namespace whose collections were created with one copy of each shard, opened with
/// engram's defaults: the layout is reported as differing and left as it is.
fn an_existing_layout_that_differs_is_reported_and_kept(config: &RemoteConfig) {
    let mut single = config.clone();
    single.namespace = format!("{}-single", config.namespace);
    single.replication_factor = 1;
    let created = Store::connect_remote(single.clone()).expect("connect");
    open_memories(&created);
    let as_created = memories_layout(&created);
    assert!(
        as_created.differs.is_empty(),
        "one copy is what this store asked for: {as_created:?}"
    );
    let reopened = Store::connect_remote(RemoteConfig {
        replication_factor: config.replication_factor,
        ..single
    })
    .expect("connect");
    open_memories(&reopened);
    let layout = memories_layout(&reopened);
    assert_eq!(layout.replication_factor, 1, "kept as it was");
    assert!(layout.shards.iter().all(|s| s.replicas == 1), "{layout:?}");
    assert_eq!(layout.differs.len(), 1, "reported: {:?}", layout.differs);
    assert!(
        layout.differs[0].starts_with("replication factor 1 (engram asks for 2)"),
        "{:?}",
        layout.differs
    );
}

/// The JSON `engram <command> --json` prints on the cluster `config` names.
fn engram_json(config: &RemoteConfig, command: &str) -> serde_json::Value {
    let home = tempfile::tempdir().expect("tempdir");
    let output = engram_at(home.path())
        .args([command, "--json"])
        .env("ENGRAM_QDRANT_URL", &config.url)
        .env("ENGRAM_NAMESPACE", &config.namespace)
        .output()
        .unwrap_or_else(|e| panic!("engram {command}: {e}"));
    serde_json::from_str(&success_stdout(&output)).expect("json")
}

/// `engram stats` and `engram health` on the cluster with the first node down answer
/// (through the next URL) and show every collection's layout; the health report names the
/// shards of the memories collection that lost a replica. (Whether a replica shows as down
/// is Qdrant's record: it marks a replica dead when a write to it fails, and the collections
/// `engram stats` counts take none while the node is down.)
fn engram_stats_answers_with_a_node_down(config: &RemoteConfig) {
    let stats = engram_json(config, "stats");
    let collections = stats["collections"].as_array().expect("collections");
    assert_eq!(collections.len(), 4, "{stats}");
    for collection in collections {
        let shards = collection["layout"]["shards"].as_array().expect("shards");
        assert_eq!(shards.len(), 3, "{collection}");
        assert!(
            shards.iter().all(|s| s["replicas"] == 2),
            "two copies of each shard: {collection}"
        );
        assert_eq!(collection["layout"]["write_ordering"], "medium");
        assert_eq!(collection["layout"]["differs"], serde_json::json!([]));
    }
    let health = engram_json(config, "health");
    assert_eq!(health["overall_health"], "needs_attention", "{health}");
    let findings = health["findings"].as_array().expect("findings");
    assert!(
        findings.iter().any(|f| f
            .as_str()
            .is_some_and(|f| f.starts_with("memories: ") && f.contains("not active"))),
        "the health report names the memories shards that lost a replica: {findings:?}"
    );
}
