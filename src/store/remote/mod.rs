//! The scale-out backend: a Qdrant server or cluster over gRPC (qdrant-client).
//!
//! The client is async; engram's store API is blocking (callers on an async runtime use
//! `spawn_blocking`, as they must for embedding anyway), so the backend owns a small tokio
//! runtime and blocks on it. Collections are named `<namespace>.<name>` so that several engram
//! deployments can share one cluster. Every request goes through [`Shared::call`]: transient
//! failures are retried with backoff, and repeated failures open a circuit breaker.

mod breaker;
mod convert;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use qdrant_client::qdrant::{
    self, CollectionStatus, CountPointsBuilder, CreateCollectionBuilder,
    CreateFieldIndexCollectionBuilder, DeletePointsBuilder, Distance, FacetCountsBuilder,
    FieldType, GetPointsBuilder, HnswConfigDiffBuilder, Modifier, NamedVectors,
    OptimizersConfigDiffBuilder, OrderByBuilder, PointStruct, PointsIdsList,
    QuantizationSearchParamsBuilder, QuantizationType, QueryBatchPointsBuilder, QueryPointsBuilder,
    ScalarQuantizationBuilder, ScoredPoint, ScrollPointsBuilder, SearchParamsBuilder,
    SetPayloadPointsBuilder, SparseVectorParamsBuilder, SparseVectorsConfigBuilder,
    UpsertPointsBuilder, VectorInput, VectorParamsBuilder, VectorsConfigBuilder,
};
use qdrant_client::{Qdrant, QdrantError};

pub use self::breaker::BreakerStatus;
use self::breaker::{Breaker, backoff};
use self::convert::{
    filter_to_remote, id_from_remote, id_to_remote, payload_from_remote, payload_to_remote,
};
use super::error::{Result, StoreError};
use super::filter::{Condition, Filter};
use super::fusion;
use super::index::{IndexOptions, QUANTIZATION_QUANTILE};
use super::keyword::{KeywordEncoder, SparseVector};
use super::layout::{ClusterLayout, DEFAULT_REPLICATION_FACTOR, ShardReplicas, WantedLayout};
use super::schema::{CollectionSpec, DENSE_VECTOR, FieldKind, KEYWORD_VECTOR, validate_name};
use super::types::{
    CollectionInfo, Hit, Order, Payload, Point, PointId, Query, Record, SearchRequest, StoredPoint,
    WriteMode,
};
use super::validate;

/// Key of the collection metadata entry that holds engram's spec.
const SPEC_METADATA: &str = "engram_spec";
/// Points per upsert request, well under the server's default 32 MiB request limit.
const UPSERT_CHUNK: usize = 256;

/// Where the Qdrant server is and how to talk to it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteConfig {
    /// gRPC URL, e.g. `http://localhost:6334`; or the URLs of several nodes of one cluster,
    /// separated by commas: a request that cannot reach one node is retried on the next, so
    /// losing the node engram talks to loses nothing either.
    pub url: String,
    /// API key, if the server requires one.
    pub api_key: Option<String>,
    /// Prefix of this deployment's collection names. Default: `engram`.
    pub namespace: String,
    /// Timeout of one request. Default: 10 s.
    pub timeout: Duration,
    /// Retries of a request that failed transiently (unavailable, timed out). Default: 3.
    pub retries: u32,
    /// Consecutive failed requests that open the circuit. Default: 5.
    pub breaker_threshold: u32,
    /// How long an open circuit fails fast before letting a request through. Default: 10 s.
    pub breaker_cooldown: Duration,
    /// Index settings of new collections and the search-time beam width; the same defaults
    /// as the embedded store, so both answer alike.
    pub index: IndexOptions,
    /// Copies of each shard kept on a cluster, for new collections. Default:
    /// [`DEFAULT_REPLICATION_FACTOR`] (2), so that one node can be lost; Qdrant places at
    /// most one copy per node, so a single node keeps one.
    pub replication_factor: u32,
    /// Replicas that must acknowledge a write, for new collections (default: the server's).
    pub write_consistency_factor: Option<u32>,
    /// Shards of new collections (default: the server's).
    pub shard_number: Option<u32>,
    /// How writes are ordered among a shard's replicas. Default: `Medium`, which on one
    /// node is the same as `Strong` and on a replicated cluster goes on when a node dies.
    pub write_ordering: WriteOrdering,
    /// How many replicas answer a point read (get, scroll, count, facet). Default:
    /// `Replicas(1)`, which on one node is the same as `Majority` and on a replicated
    /// cluster goes on when a node dies.
    pub read_consistency: ReadConsistency,
}

/// How a write is ordered among a shard's replicas (Qdrant's `WriteOrdering`).
///
/// Conditional writes (compare-and-set, create-if-absent) are only safe when one replica
/// orders all writes to a shard: `Strong` (the replica on the highest peer id, always; writes
/// to a shard fail while that peer is down) or `Medium` (the highest peer id still alive:
/// writes go on when a node dies, at the cost of a short window in which two nodes that
/// disagree about who is alive could order writes differently). `Weak` lets every node
/// write in its own order and is only safe with one writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOrdering {
    /// Each node in its own order.
    Weak,
    /// Through the highest live replica.
    Medium,
    /// Through the highest replica, alive or not.
    Strong,
}

/// How many replicas answer a point read (Qdrant's `ReadConsistency`).
///
/// Qdrant sends every write to all active replicas and takes a replica that fails it out of
/// service before it acknowledges the write (`lib/collection/src/shards/replica_set/
/// update.rs`), so any active replica holds every acknowledged write; `Majority`, `Quorum`
/// and `All` also settle what replicas that are still catching up disagree on, but they need
/// every replica of the shard to answer (`execute_read_operation.rs`): with replication
/// factor 2, one node down stops them until it returns. `Replicas(1)` keeps answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadConsistency {
    /// Every replica answers; points present on all.
    All,
    /// Every replica answers; points present on a majority.
    Majority,
    /// Half the replicas plus one answer.
    Quorum,
    /// This many replicas answer.
    Replicas(u32),
}

impl std::fmt::Display for WriteOrdering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Weak => "weak",
            Self::Medium => "medium",
            Self::Strong => "strong",
        })
    }
}

impl std::fmt::Display for ReadConsistency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Majority => f.write_str("majority"),
            Self::Quorum => f.write_str("quorum"),
            Self::Replicas(n) => write!(f, "{n}"),
        }
    }
}

impl std::str::FromStr for WriteOrdering {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text.trim() {
            "weak" => Ok(Self::Weak),
            "medium" => Ok(Self::Medium),
            "strong" => Ok(Self::Strong),
            other => Err(format!(
                "write ordering {other:?} is not one of weak, medium, strong"
            )),
        }
    }
}

impl std::str::FromStr for ReadConsistency {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text.trim() {
            "all" => Ok(Self::All),
            "majority" => Ok(Self::Majority),
            "quorum" => Ok(Self::Quorum),
            other => match other.parse::<u32>() {
                Ok(n) if n >= 1 => Ok(Self::Replicas(n)),
                _ => Err(format!(
                    "read consistency {other:?} is not all, majority, quorum or a number of \
                     replicas (1 or more)"
                )),
            },
        }
    }
}

impl RemoteConfig {
    /// Settings for the server at `url`, every other field at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            api_key: None,
            namespace: "engram".to_owned(),
            timeout: Duration::from_secs(10),
            retries: 3,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(10),
            index: IndexOptions::default(),
            replication_factor: DEFAULT_REPLICATION_FACTOR,
            write_consistency_factor: None,
            shard_number: None,
            write_ordering: WriteOrdering::Medium,
            read_consistency: ReadConsistency::Replicas(1),
        }
    }
}

/// A connection to a Qdrant server or cluster.
pub struct RemoteStore {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RemoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteStore")
            .field("url", &self.shared.config.url)
            .field("namespace", &self.shared.config.namespace)
            .finish_non_exhaustive()
    }
}

struct Shared {
    /// One client per node URL; requests go to `clients[current]`.
    clients: Vec<Qdrant>,
    /// The node URLs, in the order of `clients` (for messages).
    urls: Vec<String>,
    /// The node requests go to; moved on to the next when one cannot be reached.
    current: AtomicUsize,
    runtime: tokio::runtime::Runtime,
    breaker: Breaker,
    config: RemoteConfig,
}

/// How a failed request should be treated.
enum Failure {
    /// The request is wrong: no retry, and the server is fine.
    Caller(String),
    /// The server or network may recover: retry, then count against the breaker.
    Transient(String, Option<Duration>),
    /// The server failed for good on this request.
    Server(String),
}

fn classify(error: QdrantError) -> Failure {
    use tonic::Code;
    match error {
        QdrantError::ResponseError { status } => {
            let message = format!("{:?}: {}", status.code(), status.message());
            match status.code() {
                Code::InvalidArgument
                | Code::NotFound
                | Code::AlreadyExists
                | Code::FailedPrecondition
                | Code::PermissionDenied
                | Code::Unauthenticated
                | Code::OutOfRange => Failure::Caller(message),
                Code::Unavailable
                | Code::DeadlineExceeded
                | Code::Aborted
                | Code::Unknown
                | Code::Cancelled
                | Code::ResourceExhausted => Failure::Transient(message, None),
                // qdrant-client reports a failed connection as Internal.
                Code::Internal if status.message().starts_with("Failed to connect") => {
                    Failure::Transient(message, None)
                }
                Code::Ok | Code::Internal | Code::DataLoss | Code::Unimplemented => {
                    Failure::Server(message)
                }
            }
        }
        QdrantError::ResourceExhaustedError {
            status,
            retry_after_seconds,
        } => Failure::Transient(
            format!("resource exhausted: {}", status.message()),
            Some(Duration::from_secs(retry_after_seconds.min(5))),
        ),
        QdrantError::Io(error) => Failure::Transient(error.to_string(), None),
        other => Failure::Server(other.to_string()),
    }
}

impl Shared {
    /// Runs one request with retries and the circuit breaker.
    fn call<T, F, Fut>(&self, what: &str, request: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = std::result::Result<T, QdrantError>>,
    {
        self.breaker.check()?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let node = self.current.load(Ordering::Relaxed);
            let failure = match self.runtime.block_on(request()) {
                Ok(value) => {
                    self.breaker.success();
                    return Ok(value);
                }
                Err(error) => classify(error),
            };
            match failure {
                Failure::Caller(message) => {
                    self.breaker.success();
                    return Err(StoreError::Remote {
                        message: format!("{what}: {message}"),
                        caller_fault: true,
                    });
                }
                Failure::Transient(message, wait) if attempt <= self.config.retries => {
                    self.fail_over(node);
                    let delay = wait.unwrap_or_else(|| backoff(attempt));
                    tracing::debug!("{what} failed ({message}); retry {attempt} in {delay:?}");
                    std::thread::sleep(delay);
                }
                Failure::Transient(message, _) | Failure::Server(message) => {
                    let message = format!("{what} (after {attempt} attempts): {message}");
                    self.breaker.failure(&message);
                    return Err(StoreError::Remote {
                        message,
                        caller_fault: false,
                    });
                }
            }
        }
    }

    /// The client of the node requests go to now.
    fn client(&self) -> &Qdrant {
        &self.clients[self.current.load(Ordering::Relaxed) % self.clients.len()]
    }

    /// Moves requests on to the next node after one to node `failed` failed transiently
    /// (unless another request moved them already). With one URL, nothing changes.
    fn fail_over(&self, failed: usize) {
        if self.clients.len() > 1 {
            let next = (failed + 1) % self.clients.len();
            if self
                .current
                .compare_exchange(failed, next, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                tracing::warn!(
                    "Qdrant node {} did not answer; requests go to {} now",
                    self.urls[failed],
                    self.urls[next]
                );
            }
        }
    }

    fn qualified(&self, name: &str) -> String {
        format!("{}.{name}", self.config.namespace)
    }

    /// The layout of collection `qualified` (whose `info` was just read): its parameters,
    /// and each shard's replicas from the node answering (its cluster state, which needs
    /// no other node), compared with what this engram asks of new collections.
    fn layout(&self, qualified: &str, info: &qdrant::CollectionInfo) -> Result<ClusterLayout> {
        let cluster = self.call("collection cluster info", || {
            self.client()
                .collection_cluster_info(qdrant::CollectionClusterInfoRequest {
                    collection_name: qualified.to_owned(),
                })
        })?;
        let params = info.config.as_ref().and_then(|c| c.params.as_ref());
        let active = |state: i32| {
            matches!(
                qdrant::ReplicaState::try_from(state),
                Ok(qdrant::ReplicaState::Active)
            )
        };
        let mut shards: std::collections::BTreeMap<u32, ShardReplicas> = Default::default();
        let mut peers = std::collections::BTreeSet::new();
        let replicas = cluster
            .local_shards
            .iter()
            .map(|s| (s.shard_id, cluster.peer_id, s.state))
            .chain(
                cluster
                    .remote_shards
                    .iter()
                    .map(|s| (s.shard_id, s.peer_id, s.state)),
            );
        for (shard, peer, state) in replicas {
            peers.insert(peer);
            let entry = shards.entry(shard).or_insert(ShardReplicas {
                shard,
                replicas: 0,
                active: 0,
            });
            entry.replicas += 1;
            entry.active += u32::from(active(state));
        }
        let mut layout = ClusterLayout {
            shard_number: params.map(|p| p.shard_number).unwrap_or(1),
            replication_factor: params.and_then(|p| p.replication_factor).unwrap_or(1),
            write_consistency_factor: params.and_then(|p| p.write_consistency_factor).unwrap_or(1),
            peers: peers.len(),
            shards: shards.into_values().collect(),
            write_ordering: self.config.write_ordering.to_string(),
            read_consistency: self.config.read_consistency.to_string(),
            differs: Vec::new(),
        };
        layout.compare(WantedLayout {
            replication_factor: self.config.replication_factor,
            shard_number: self.config.shard_number,
            write_consistency_factor: self.config.write_consistency_factor,
        });
        Ok(layout)
    }
}

impl RemoteStore {
    /// Connects to the server `config` names (lazily: the first request opens the channel).
    pub fn connect(config: RemoteConfig) -> Result<Self> {
        validate_name(&config.namespace)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("engram-qdrant")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Remote {
                message: format!("cannot start the client runtime: {e}"),
                caller_fault: false,
            })?;
        let urls: Vec<String> = config
            .url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        if urls.is_empty() {
            return Err(StoreError::Remote {
                message: "no Qdrant URL given".into(),
                caller_fault: true,
            });
        }
        let clients = {
            let _context = runtime.enter();
            urls.iter()
                .map(|url| {
                    Qdrant::from_url(url)
                        .api_key(config.api_key.clone())
                        .timeout(config.timeout)
                        .connect_timeout(config.timeout)
                        .skip_compatibility_check()
                        .build()
                        .map_err(|e| StoreError::Remote {
                            message: format!("invalid Qdrant URL {url:?}: {e}"),
                            caller_fault: true,
                        })
                })
                .collect::<Result<Vec<_>>>()?
        };
        let breaker = Breaker::new(config.breaker_threshold, config.breaker_cooldown);
        Ok(Self {
            shared: Arc::new(Shared {
                clients,
                urls,
                current: AtomicUsize::new(0),
                runtime,
                breaker,
                config,
            }),
        })
    }

    /// Another connection to the same server with the same settings (a second engram
    /// server, as tests and benchmarks need it).
    pub fn reconnect(&self) -> Result<Self> {
        Self::connect(self.shared.config.clone())
    }

    /// The state of the circuit breaker.
    pub fn breaker_status(&self) -> BreakerStatus {
        self.shared.breaker.status()
    }

    /// Closes the circuit breaker: requests go through again at once.
    pub fn reset_breaker(&self) {
        self.shared.breaker.reset();
    }

    /// The collection `spec` names, created with that schema on first use; an existing
    /// collection with another schema is an error.
    pub fn collection(&self, spec: &CollectionSpec) -> Result<RemoteCollection> {
        spec.validate()?;
        let shared = &self.shared;
        let name = shared.qualified(&spec.name);
        let exists = shared.call("check collection", || {
            shared.client().collection_exists(&name)
        })?;
        if !exists {
            let spec_json = serde_json::to_value(spec)
                .map_err(|e| StoreError::InvalidInput(format!("spec: {e}")))?;
            let mut vectors = VectorsConfigBuilder::default();
            let index = shared.config.index;
            if spec.has_vectors() {
                let mut params = VectorParamsBuilder::new(spec.dimension as u64, Distance::Cosine);
                if index.scalar_quantization {
                    params = params.quantization_config(
                        ScalarQuantizationBuilder::default()
                            .r#type(QuantizationType::Int8.into())
                            .quantile(QUANTIZATION_QUANTILE)
                            .always_ram(true),
                    );
                }
                vectors.add_named_vector_params(DENSE_VECTOR, params);
            }
            let mut sparse = SparseVectorsConfigBuilder::default();
            sparse.add_named_vector_params(
                KEYWORD_VECTOR,
                SparseVectorParamsBuilder::default().modifier(Modifier::Idf),
            );
            let mut request = CreateCollectionBuilder::new(&name)
                .hnsw_config(
                    HnswConfigDiffBuilder::default()
                        .m(index.m as u64)
                        .ef_construct(index.ef_construct as u64)
                        .full_scan_threshold(index.exact_search_kb as u64),
                )
                .optimizers_config(
                    OptimizersConfigDiffBuilder::default()
                        .indexing_threshold(index.exact_search_kb as u64),
                )
                .sparse_vectors_config(sparse)
                .metadata(HashMap::from([(SPEC_METADATA.to_owned(), spec_json)]));
            if spec.has_vectors() {
                request = request.vectors_config(vectors);
            }
            request = request.replication_factor(shared.config.replication_factor);
            if let Some(factor) = shared.config.write_consistency_factor {
                request = request.write_consistency_factor(factor);
            }
            if let Some(shards) = shared.config.shard_number {
                request = request.shard_number(shards);
            }
            match shared.call("create collection", || {
                shared.client().create_collection(request.clone())
            }) {
                Ok(_) => {}
                // Another engram created it first: fine, it is checked below like any other.
                Err(StoreError::Remote {
                    caller_fault: true,
                    message,
                }) if message.contains("already exists") => {}
                Err(error) => return Err(error),
            }
        }
        let collection = RemoteCollection {
            shared: Arc::clone(shared),
            spec: spec.clone(),
            name,
            keyword: Arc::new(KeywordEncoder::new(&spec.keyword)?),
        };
        collection.check_schema_and_indexes()?;
        Ok(collection)
    }

    /// Names of this namespace's collections.
    pub fn collection_names(&self) -> Result<Vec<String>> {
        let shared = &self.shared;
        let prefix = shared.qualified("");
        let response = shared.call("list collections", || shared.client().list_collections())?;
        let mut names: Vec<String> = response
            .collections
            .into_iter()
            .filter_map(|c| c.name.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The collection called `name` with the spec stored in its metadata, if it exists and
    /// was created by engram.
    pub fn open_existing(&self, name: &str) -> Result<Option<RemoteCollection>> {
        validate_name(name)?;
        let shared = &self.shared;
        let qualified = shared.qualified(name);
        if !shared.call("check collection", || {
            shared.client().collection_exists(&qualified)
        })? {
            return Ok(None);
        }
        let info = shared
            .call("collection info", || {
                shared.client().collection_info(&qualified)
            })?
            .result;
        let spec = info
            .as_ref()
            .and_then(|i| i.config.as_ref())
            .and_then(|c| c.metadata.get(SPEC_METADATA))
            .map(|v| serde_json::Value::from(v.clone()))
            .and_then(|v| serde_json::from_value::<CollectionSpec>(v).ok())
            .ok_or_else(|| StoreError::SchemaMismatch {
                collection: qualified.clone(),
                expected: "a collection created by engram (with its spec in the metadata)".into(),
                found: "no engram spec".into(),
            })?;
        self.collection(&spec).map(Some)
    }

    /// Sizes and index state of a collection of this namespace, by name.
    pub fn info_by_name(&self, name: &str) -> Result<CollectionInfo> {
        validate_name(name)?;
        let shared = &self.shared;
        let qualified = shared.qualified(name);
        let info = shared
            .call("collection info", || {
                shared.client().collection_info(&qualified)
            })?
            .result
            .ok_or_else(|| StoreError::Remote {
                message: format!("no info returned for {qualified}"),
                caller_fault: false,
            })?;
        let count = shared.call("count", || {
            shared
                .client()
                .count(CountPointsBuilder::new(&qualified).exact(true))
        })?;
        Ok(CollectionInfo {
            name: name.to_owned(),
            points: count.result.map(|r| r.count as usize).unwrap_or(0),
            indexed_vectors: info.indexed_vectors_count.unwrap_or(0) as usize,
            segments: info.segments_count as usize,
            disk_bytes: None,
            layout: Some(shared.layout(&qualified, &info)?),
        })
    }

    /// Deletes a collection of this namespace.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        validate_name(name)?;
        let shared = &self.shared;
        let qualified = shared.qualified(name);
        shared.call("delete collection", || {
            shared.client().delete_collection(&qualified)
        })?;
        Ok(())
    }
}

/// One collection on a Qdrant server.
#[derive(Clone)]
pub struct RemoteCollection {
    shared: Arc<Shared>,
    spec: CollectionSpec,
    name: String,
    keyword: Arc<KeywordEncoder>,
}

impl std::fmt::Debug for RemoteCollection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteCollection")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RemoteCollection {
    fn ordering(&self) -> qdrant::WriteOrdering {
        qdrant::WriteOrdering {
            r#type: match self.shared.config.write_ordering {
                WriteOrdering::Weak => qdrant::WriteOrderingType::Weak,
                WriteOrdering::Medium => qdrant::WriteOrderingType::Medium,
                WriteOrdering::Strong => qdrant::WriteOrderingType::Strong,
            } as i32,
        }
    }

    fn consistency(&self) -> qdrant::read_consistency::Value {
        use qdrant::read_consistency::Value;
        match self.shared.config.read_consistency {
            ReadConsistency::All => Value::Type(qdrant::ReadConsistencyType::All as i32),
            ReadConsistency::Majority => Value::Type(qdrant::ReadConsistencyType::Majority as i32),
            ReadConsistency::Quorum => Value::Type(qdrant::ReadConsistencyType::Quorum as i32),
            ReadConsistency::Replicas(n) => Value::Factor(u64::from(n)),
        }
    }
}

fn field_type(kind: FieldKind) -> FieldType {
    match kind {
        FieldKind::Keyword => FieldType::Keyword,
        FieldKind::Integer => FieldType::Integer,
        FieldKind::Float => FieldType::Float,
        FieldKind::Bool => FieldType::Bool,
    }
}

/// The type the server reports for an index of `kind` (another enum than the one indexes
/// are created with).
fn schema_type(kind: FieldKind) -> qdrant::PayloadSchemaType {
    match kind {
        FieldKind::Keyword => qdrant::PayloadSchemaType::Keyword,
        FieldKind::Integer => qdrant::PayloadSchemaType::Integer,
        FieldKind::Float => qdrant::PayloadSchemaType::Float,
        FieldKind::Bool => qdrant::PayloadSchemaType::Bool,
    }
}

impl RemoteCollection {
    /// The spec the collection was opened with.
    pub fn spec(&self) -> &CollectionSpec {
        &self.spec
    }

    fn info_raw(&self) -> Result<qdrant::CollectionInfo> {
        let shared = &self.shared;
        let response = shared.call("collection info", || {
            shared.client().collection_info(&self.name)
        })?;
        response.result.ok_or_else(|| StoreError::Remote {
            message: format!("no info returned for {}", self.name),
            caller_fault: false,
        })
    }

    fn check_schema_and_indexes(&self) -> Result<()> {
        let info = self.info_raw()?;
        let mismatch = |expected: String, found: String| StoreError::SchemaMismatch {
            collection: self.name.clone(),
            expected,
            found,
        };
        let params = info.config.as_ref().and_then(|c| c.params.as_ref());
        let dense = params
            .and_then(|p| p.vectors_config.as_ref())
            .and_then(|v| v.config.as_ref())
            .and_then(|config| match config {
                qdrant::vectors_config::Config::ParamsMap(map) => {
                    map.map.get(DENSE_VECTOR).cloned()
                }
                qdrant::vectors_config::Config::Params(_) => None,
            });
        match dense {
            None if !self.spec.has_vectors() => {}
            Some(_) if !self.spec.has_vectors() => {
                return Err(mismatch(
                    "no dense vectors".into(),
                    format!("a vector named {DENSE_VECTOR}"),
                ));
            }
            Some(p)
                if p.size == self.spec.dimension as u64
                    && p.distance == Distance::Cosine as i32 => {}
            Some(p) => {
                return Err(mismatch(
                    format!("{}-dimensional cosine vectors", self.spec.dimension),
                    format!("{}-dimensional vectors (distance {})", p.size, p.distance),
                ));
            }
            None => {
                return Err(mismatch(
                    format!("a vector named {DENSE_VECTOR}"),
                    "no such vector".into(),
                ));
            }
        }
        let sparse_idf = params
            .and_then(|p| p.sparse_vectors_config.as_ref())
            .and_then(|s| s.map.get(KEYWORD_VECTOR))
            .and_then(|s| s.modifier);
        if sparse_idf != Some(Modifier::Idf as i32) {
            return Err(mismatch(
                format!("a sparse vector named {KEYWORD_VECTOR} with IDF"),
                format!("modifier {sparse_idf:?}"),
            ));
        }
        if let Some(stored) = info
            .config
            .as_ref()
            .and_then(|c| c.metadata.get(SPEC_METADATA))
            .map(|v| serde_json::Value::from(v.clone()))
            .and_then(|v| serde_json::from_value::<CollectionSpec>(v).ok())
        {
            self.spec.check_compatible(&CollectionSpec {
                name: self.spec.name.clone(),
                ..stored
            })?;
        }
        for index in &self.spec.indexes {
            let wanted = schema_type(index.kind) as i32;
            match info.payload_schema.get(&index.field) {
                Some(existing) if existing.data_type == wanted => {}
                Some(existing) => {
                    return Err(mismatch(
                        format!("field {} indexed as {:?}", index.field, index.kind),
                        format!(
                            "field {} indexed as type {}",
                            index.field, existing.data_type
                        ),
                    ));
                }
                None => {
                    let shared = &self.shared;
                    let request = CreateFieldIndexCollectionBuilder::new(
                        &self.name,
                        &index.field,
                        field_type(index.kind),
                    )
                    .wait(true);
                    shared.call("create index", || {
                        shared.client().create_field_index(request.clone())
                    })?;
                }
            }
        }
        Ok(())
    }

    /// Stores points, replacing those with the same ids; acknowledged by the server once
    /// applied (`wait=true`).
    pub fn upsert(&self, points: Vec<Point>) -> Result<()> {
        let structs = self.point_structs(points)?;
        let shared = &self.shared;
        for chunk in structs.chunks(UPSERT_CHUNK) {
            let request = UpsertPointsBuilder::new(&self.name, chunk.to_vec())
                .wait(true)
                .ordering(self.ordering());
            shared.call("upsert", || shared.client().upsert_points(request.clone()))?;
        }
        Ok(())
    }

    /// Qdrant's conditional upsert: `update_mode`, and `update_filter` for points that
    /// exist, checked by the server in the shard's write order. The server does not say which
    /// points were written; callers that need to know read back.
    pub fn upsert_with(
        &self,
        points: Vec<Point>,
        mode: WriteMode,
        condition: Option<&Filter>,
    ) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let condition = condition.map(filter_to_remote).transpose()?;
        let structs = self.point_structs(points)?;
        let update_mode = match mode {
            WriteMode::Upsert => qdrant::UpdateMode::Upsert,
            WriteMode::InsertOnly => qdrant::UpdateMode::InsertOnly,
            WriteMode::UpdateOnly => qdrant::UpdateMode::UpdateOnly,
        };
        let shared = &self.shared;
        for chunk in structs.chunks(UPSERT_CHUNK) {
            let mut request = UpsertPointsBuilder::new(&self.name, chunk.to_vec())
                .wait(true)
                .ordering(self.ordering())
                .update_mode(update_mode);
            if let Some(condition) = &condition {
                request = request.update_filter(condition.clone());
            }
            shared.call("conditional upsert", || {
                shared.client().upsert_points(request.clone())
            })?;
        }
        Ok(())
    }

    /// Validates points and turns them into the server's points (BM25 computed here).
    fn point_structs(&self, points: Vec<Point>) -> Result<Vec<PointStruct>> {
        let mut structs = Vec::with_capacity(points.len());
        for point in points {
            validate::vector(&point.vector, self.spec.dimension, &point.id)?;
            let sparse = self.keyword.document(&point.text);
            structs.push(point_struct(point.id, point.vector, sparse, point.payload));
        }
        Ok(structs)
    }

    /// A page of points in id order with both vectors as stored, and the next page's offset.
    pub fn export(
        &self,
        limit: usize,
        offset: Option<PointId>,
    ) -> Result<(Vec<StoredPoint>, Option<PointId>)> {
        validate::limit(limit)?;
        let names = self.spec.vector_names();
        let mut request = ScrollPointsBuilder::new(&self.name)
            .limit(limit as u32)
            .with_payload(true)
            .with_vectors(qdrant::VectorsSelector { names })
            .read_consistency(self.consistency());
        if let Some(offset) = offset {
            request = request.offset(id_to_remote(offset));
        }
        let shared = &self.shared;
        let response = shared.call("export", || shared.client().scroll(request.clone()))?;
        let points = response
            .result
            .into_iter()
            .map(|point| {
                let (vector, keyword) = stored_vectors(point.vectors);
                Ok(StoredPoint {
                    id: id_from_remote(point.id)?,
                    vector,
                    keyword,
                    payload: payload_from_remote(point.payload),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let next = response
            .next_page_offset
            .map(|id| id_from_remote(Some(id)))
            .transpose()?;
        Ok((points, next))
    }

    /// Stores points with the vectors they were exported with (the keyword vector is not
    /// recomputed), replacing those with the same ids.
    pub fn import(&self, points: Vec<StoredPoint>) -> Result<()> {
        let mut structs = Vec::with_capacity(points.len());
        for point in points {
            validate::vector(&point.vector, self.spec.dimension, &point.id)?;
            validate::sparse(&point.keyword, &point.id)?;
            structs.push(point_struct(
                point.id,
                point.vector,
                point.keyword,
                point.payload,
            ));
        }
        let shared = &self.shared;
        for chunk in structs.chunks(UPSERT_CHUNK) {
            let request = UpsertPointsBuilder::new(&self.name, chunk.to_vec())
                .wait(true)
                .ordering(self.ordering());
            shared.call("import", || shared.client().upsert_points(request.clone()))?;
        }
        Ok(())
    }

    /// Reads points by id, skipping unknown ids, in the order of `ids`.
    pub fn get(&self, ids: &[PointId], with_vectors: bool) -> Result<Vec<Record>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let shared = &self.shared;
        let mut request = GetPointsBuilder::new(
            &self.name,
            ids.iter().copied().map(id_to_remote).collect::<Vec<_>>(),
        )
        .with_payload(true)
        .read_consistency(self.consistency());
        if with_vectors && self.spec.has_vectors() {
            request = request.with_vectors(qdrant::VectorsSelector {
                names: vec![DENSE_VECTOR.to_owned()],
            });
        }
        let response = shared.call("get points", || shared.client().get_points(request.clone()))?;
        let mut by_id: HashMap<PointId, Record> = HashMap::new();
        for point in response.result {
            let record = Record {
                id: id_from_remote(point.id)?,
                payload: payload_from_remote(point.payload),
                vector: dense_output(point.vectors),
            };
            by_id.insert(record.id, record);
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    /// Deletes points by id.
    pub fn delete(&self, ids: &[PointId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let shared = &self.shared;
        let request = DeletePointsBuilder::new(&self.name)
            .points(PointsIdsList {
                ids: ids.iter().copied().map(id_to_remote).collect(),
            })
            .wait(true)
            .ordering(self.ordering());
        shared.call("delete points", || {
            shared.client().delete_points(request.clone())
        })?;
        Ok(())
    }

    /// Deletes those of `ids` that pass `condition`, checked by the server in the shard's
    /// write order.
    pub fn delete_if(&self, ids: &[PointId], condition: &Filter) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let selector = filter_to_remote(&of_ids(ids, condition))?;
        let shared = &self.shared;
        let request = DeletePointsBuilder::new(&self.name)
            .points(selector)
            .wait(true)
            .ordering(self.ordering());
        shared.call("conditional delete", || {
            shared.client().delete_points(request.clone())
        })?;
        Ok(())
    }

    /// Deletes every point passing a (non-empty) filter.
    pub fn delete_by_filter(&self, filter: &Filter) -> Result<()> {
        if filter.is_empty() {
            return Err(StoreError::InvalidInput(
                "refusing to delete by an empty filter (it matches every point)".into(),
            ));
        }
        let shared = &self.shared;
        let request = DeletePointsBuilder::new(&self.name)
            .points(filter_to_remote(filter)?)
            .wait(true)
            .ordering(self.ordering());
        shared.call("delete by filter", || {
            shared.client().delete_points(request.clone())
        })?;
        Ok(())
    }

    /// Sets payload fields on points, keeping the others.
    pub fn set_payload(&self, ids: &[PointId], payload: Payload) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let shared = &self.shared;
        let request = SetPayloadPointsBuilder::new(&self.name, payload_to_remote(payload))
            .points_selector(PointsIdsList {
                ids: ids.iter().copied().map(id_to_remote).collect(),
            })
            .wait(true)
            .ordering(self.ordering());
        shared.call("set payload", || {
            shared.client().set_payload(request.clone())
        })?;
        Ok(())
    }

    /// Sets payload fields on those of `ids` that pass `condition`, checked by the server in
    /// the shard's write order.
    pub fn set_payload_if(
        &self,
        ids: &[PointId],
        payload: Payload,
        condition: &Filter,
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let selector = filter_to_remote(&of_ids(ids, condition))?;
        let shared = &self.shared;
        let request = SetPayloadPointsBuilder::new(&self.name, payload_to_remote(payload))
            .points_selector(selector)
            .wait(true)
            .ordering(self.ordering());
        shared.call("conditional set payload", || {
            shared.client().set_payload(request.clone())
        })?;
        Ok(())
    }

    /// A page of points in id order and the offset of the next page.
    pub fn scroll(
        &self,
        filter: Option<&Filter>,
        limit: usize,
        offset: Option<PointId>,
        with_vectors: bool,
    ) -> Result<(Vec<Record>, Option<PointId>)> {
        validate::limit(limit)?;
        let mut request = ScrollPointsBuilder::new(&self.name)
            .limit(limit as u32)
            .with_payload(true)
            .read_consistency(self.consistency());
        if let Some(filter) = filter {
            request = request.filter(filter_to_remote(filter)?);
        }
        if let Some(offset) = offset {
            request = request.offset(id_to_remote(offset));
        }
        if with_vectors && self.spec.has_vectors() {
            request = request.with_vectors(qdrant::VectorsSelector {
                names: vec![DENSE_VECTOR.to_owned()],
            });
        }
        let shared = &self.shared;
        let response = shared.call("scroll", || shared.client().scroll(request.clone()))?;
        let records = response
            .result
            .into_iter()
            .map(|point| {
                Ok(Record {
                    id: id_from_remote(point.id)?,
                    payload: payload_from_remote(point.payload),
                    vector: dense_output(point.vectors),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let next = response
            .next_page_offset
            .map(|id| id_from_remote(Some(id)))
            .transpose()?;
        Ok((records, next))
    }

    /// The most frequent values of an indexed keyword or integer field among the points
    /// passing `filter`, with how many points hold each (exact counts).
    pub fn facet(
        &self,
        field: &str,
        filter: Option<&Filter>,
        limit: usize,
    ) -> Result<Vec<(String, usize)>> {
        super::schema::validate_field(field)?;
        validate::limit(limit)?;
        let shared = &self.shared;
        let mut request = FacetCountsBuilder::new(&self.name, field)
            .limit(limit as u64)
            .exact(true)
            .read_consistency(self.consistency());
        if let Some(filter) = filter {
            request = request.filter(filter_to_remote(filter)?);
        }
        let response = shared.call("facet", || shared.client().facet(request.clone()))?;
        Ok(response
            .hits
            .into_iter()
            .filter_map(|hit| {
                use qdrant::facet_value::Variant;
                let value = match hit.value?.variant? {
                    Variant::StringValue(s) => s,
                    Variant::IntegerValue(i) => i.to_string(),
                    Variant::BoolValue(b) => b.to_string(),
                };
                Some((value, hit.count as usize))
            })
            .collect())
    }

    /// The first `limit` points passing `filter` in the order of a numeric field.
    pub fn scroll_ordered(
        &self,
        filter: Option<&Filter>,
        order: &Order,
        limit: usize,
    ) -> Result<Vec<Record>> {
        validate::limit(limit)?;
        super::schema::validate_field(&order.field)?;
        let direction = if order.descending {
            qdrant::Direction::Desc
        } else {
            qdrant::Direction::Asc
        };
        let mut request = ScrollPointsBuilder::new(&self.name)
            .limit(limit as u32)
            .with_payload(true)
            .read_consistency(self.consistency())
            .order_by(OrderByBuilder::new(&order.field).direction(direction as i32));
        if let Some(filter) = filter {
            request = request.filter(filter_to_remote(filter)?);
        }
        let shared = &self.shared;
        let response = shared.call("ordered scroll", || shared.client().scroll(request.clone()))?;
        response
            .result
            .into_iter()
            .map(|point| {
                Ok(Record {
                    id: id_from_remote(point.id)?,
                    payload: payload_from_remote(point.payload),
                    vector: None,
                })
            })
            .collect()
    }

    /// How many points pass `filter`.
    pub fn count(&self, filter: Option<&Filter>) -> Result<usize> {
        let mut request = CountPointsBuilder::new(&self.name)
            .exact(true)
            .read_consistency(self.consistency());
        if let Some(filter) = filter {
            request = request.filter(filter_to_remote(filter)?);
        }
        let shared = &self.shared;
        let response = shared.call("count", || shared.client().count(request.clone()))?;
        Ok(response.result.map(|r| r.count as usize).unwrap_or(0))
    }

    fn query_request(
        &self,
        vector: VectorInput,
        using: &str,
        filter: Option<&qdrant::Filter>,
        limit: usize,
        threshold: Option<f32>,
        with_payload: bool,
    ) -> QueryPointsBuilder {
        let mut request = QueryPointsBuilder::new(&self.name)
            .query(qdrant::Query::new_nearest(vector))
            .using(using)
            .limit(limit as u64)
            .with_payload(with_payload)
            .params(self.search_params(using));
        if let Some(filter) = filter {
            request = request.filter(filter.clone());
        }
        if let Some(threshold) = threshold {
            request = request.score_threshold(threshold);
        }
        request
    }

    /// The beam width, and for dense searches the int8 search's oversampling, rescored with
    /// the f32 vectors so that the scores returned are exact.
    fn search_params(&self, using: &str) -> SearchParamsBuilder {
        let index = self.shared.config.index;
        let params = SearchParamsBuilder::default().hnsw_ef(index.ef as u64);
        if using != DENSE_VECTOR {
            return params;
        }
        params.quantization(
            QuantizationSearchParamsBuilder::default()
                .rescore(true)
                .oversampling(index.oversampling_factor()),
        )
    }

    fn sparse_input(sparse: &SparseVector) -> VectorInput {
        VectorInput::new_sparse(sparse.indices.clone(), sparse.values.clone())
    }

    /// Dense, keyword or hybrid search.
    pub fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>> {
        validate::search(request, self.spec.dimension)?;
        let filter = request.filter.as_ref().map(filter_to_remote).transpose()?;
        let shared = &self.shared;
        let threshold = request.score_threshold;
        match &request.query {
            Query::Dense(vector) => {
                let query = self.query_request(
                    VectorInput::new_dense(vector.clone()),
                    DENSE_VECTOR,
                    filter.as_ref(),
                    request.limit,
                    threshold,
                    true,
                );
                let response = shared.call("search", || shared.client().query(query.clone()))?;
                response.result.into_iter().map(|p| hit(p, true)).collect()
            }
            Query::Keyword(text) => {
                let sparse = self.keyword.query(text);
                if sparse.is_empty() {
                    return Ok(Vec::new());
                }
                let query = self.query_request(
                    Self::sparse_input(&sparse),
                    KEYWORD_VECTOR,
                    filter.as_ref(),
                    request.limit,
                    threshold,
                    true,
                );
                let response = shared.call("search", || shared.client().query(query.clone()))?;
                response.result.into_iter().map(|p| hit(p, false)).collect()
            }
            Query::Hybrid { vector, text } => {
                let depth = fusion::DEPTH.max(request.limit);
                let sparse = self.keyword.query(text);
                let mut queries = vec![
                    self.query_request(
                        VectorInput::new_dense(vector.clone()),
                        DENSE_VECTOR,
                        filter.as_ref(),
                        depth,
                        None,
                        false,
                    )
                    .build(),
                ];
                if !sparse.is_empty() {
                    queries.push(
                        self.query_request(
                            Self::sparse_input(&sparse),
                            KEYWORD_VECTOR,
                            filter.as_ref(),
                            fusion::keyword_fetch(depth),
                            None,
                            false,
                        )
                        .build(),
                    );
                }
                let batch = QueryBatchPointsBuilder::new(&self.name, queries);
                let response = shared.call("hybrid search", || {
                    shared.client().query_batch(batch.clone())
                })?;
                let mut lists = response.result.into_iter().map(|batch| {
                    batch
                        .result
                        .into_iter()
                        .map(|p| Ok((id_from_remote(p.id)?, p.score)))
                        .collect::<Result<Vec<_>>>()
                });
                let dense = lists.next().transpose()?.unwrap_or_default();
                let keyword =
                    fusion::cut_ties_by_id(lists.next().transpose()?.unwrap_or_default(), depth);
                fusion::hybrid_hits(
                    self.spec.fusion,
                    vector,
                    &dense,
                    &keyword,
                    request.limit,
                    threshold,
                    |ids, with_vectors| self.get(ids, with_vectors),
                )
            }
        }
    }

    /// Points, indexed vectors and segments as the server counts them.
    pub fn info(&self) -> Result<CollectionInfo> {
        let info = self.info_raw()?;
        Ok(CollectionInfo {
            name: self.spec.name.clone(),
            points: self.count(None)?,
            indexed_vectors: info.indexed_vectors_count.unwrap_or(0) as usize,
            segments: info.segments_count as usize,
            disk_bytes: None,
            layout: Some(self.shared.layout(&self.name, &info)?),
        })
    }

    /// Waits (up to ten minutes) until the server's optimisers have caught up (status green).
    pub fn optimize(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let info = self.info_raw()?;
            if info.status == CollectionStatus::Green as i32 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(StoreError::Remote {
                    message: format!("{} is still optimising after ten minutes", self.name),
                    caller_fault: false,
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// `HasId(ids) AND condition`: a conditional write's point selector.
fn of_ids(ids: &[PointId], condition: &Filter) -> Filter {
    Filter::all([
        Condition::HasId(ids.to_vec()),
        Condition::Filter(Box::new(condition.clone())),
    ])
}

fn hit(point: ScoredPoint, dense: bool) -> Result<Hit> {
    Ok(Hit {
        id: id_from_remote(point.id)?,
        score: point.score,
        dense_score: dense.then_some(point.score),
        keyword_score: (!dense).then_some(point.score),
        payload: payload_from_remote(point.payload),
    })
}

/// The dense vector of a point read back with vectors.
/// The server's point with its named vectors: `dense` unless empty, `bm25` unless the text
/// had no terms.
fn point_struct(
    id: PointId,
    dense: Vec<f32>,
    sparse: SparseVector,
    payload: Payload,
) -> PointStruct {
    let mut vectors = NamedVectors::default();
    if !dense.is_empty() {
        vectors = vectors.add_vector(DENSE_VECTOR, qdrant::Vector::new_dense(dense));
    }
    if !sparse.is_empty() {
        vectors = vectors.add_vector(
            KEYWORD_VECTOR,
            qdrant::Vector::new_sparse(sparse.indices, sparse.values),
        );
    }
    PointStruct::new(id_to_remote(id), vectors, payload_to_remote(payload))
}

/// Both vectors of a point read back with them: the dense one (empty if none) and the
/// keyword one (empty if its text had no terms).
fn stored_vectors(vectors: Option<qdrant::VectorsOutput>) -> (Vec<f32>, SparseVector) {
    use qdrant::vectors_output::VectorsOptions;
    let mut dense = Vec::new();
    let mut keyword = SparseVector::default();
    let named = match vectors.and_then(|v| v.vectors_options) {
        Some(VectorsOptions::Vectors(named)) => named.vectors,
        Some(VectorsOptions::Vector(single)) => HashMap::from([(DENSE_VECTOR.to_owned(), single)]),
        None => HashMap::new(),
    };
    for (name, output) in named {
        match output.into_vector() {
            qdrant::vector_output::Vector::Dense(v) if name == DENSE_VECTOR => dense = v.data,
            qdrant::vector_output::Vector::Sparse(v) if name == KEYWORD_VECTOR => {
                keyword = SparseVector {
                    indices: v.indices,
                    values: v.values,
                };
            }
            _ => {}
        }
    }
    (dense, keyword)
}

fn dense_output(vectors: Option<qdrant::VectorsOutput>) -> Option<Vec<f32>> {
    use qdrant::vectors_output::VectorsOptions;
    let output = match vectors?.vectors_options? {
        VectorsOptions::Vector(v) => v,
        VectorsOptions::Vectors(mut named) => named.vectors.remove(DENSE_VECTOR)?,
    };
    match output.into_vector() {
        qdrant::vector_output::Vector::Dense(dense) => Some(dense.data),
        _ => None,
    }
}
