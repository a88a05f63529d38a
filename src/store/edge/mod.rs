//! The embedded backend: one Qdrant Edge shard per collection, in this process.
//!
//! Layout of a data directory:
//!
//! ```text
//! <data_dir>/engram.lock                  one writer process at a time
//! <data_dir>/collections/<name>/collection.json   the collection's spec
//! <data_dir>/collections/<name>/oplog             writes not yet checkpointed (see oplog.rs)
//! <data_dir>/collections/<name>/shard/            the qdrant-edge shard
//! ```
//!
//! Concurrency: searches and writes share a collection's `gate` (read side); a checkpoint
//! takes it exclusively for the moment the shard flushes. Optimisation (HNSW builds) runs on a
//! background thread next to searches and writes, and is serialised with checkpoints by
//! `maintenance`, so a long index build never holds up a search.

mod convert;
mod oplog;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, Weak, mpsc};
use std::thread::JoinHandle;

use qdrant_edge::external::ordered_float::OrderedFloat;
use qdrant_edge::{
    CountRequest, CreateIndex, Direction, Distance, EdgeConfig, EdgeOptimizersConfig, EdgeShard,
    EdgeSparseVectorParams, EdgeVectorParams, FacetRequest, FacetValue, FieldIndexOperations,
    HnswIndexConfig, Modifier, NamedQuery, OrderBy, OrderByInterface, PayloadOps,
    PointInsertOperations, PointOperations, PointStructPersisted, QuantizationSearchParams,
    QueryEnum, QueryRequest, ScalarQuantizationConfig, ScalarType, ScoredPoint, ScoringQuery,
    ScrollRequest, SearchParams, SetPayloadOp, UpdateOperation, VectorInternal,
    WithPayloadInterface, WithVector,
};

use self::convert::{
    dense_from_edge, field_path, field_schema, filter_to_edge, id_from_edge, id_to_edge,
    payload_from_edge, payload_to_edge, sparse_to_edge, stored_vectors, vectors_to_edge,
};
use self::oplog::{LoggedOp, LoggedPoint, OpLog};
use super::error::{Result, StoreError};
use super::filter::{Condition, Filter};
use super::fusion;
use super::index::IndexOptions;
use super::keyword::{KeywordEncoder, SparseVector};
use super::lock::DirLock;
use super::schema::{CollectionSpec, DENSE_VECTOR, KEYWORD_VECTOR, validate_name};
use super::types::{
    CollectionInfo, Hit, Order, Payload, Point, PointId, Query, Record, SearchRequest, StoredPoint,
    WriteMode,
};
use super::validate;

const COLLECTIONS_DIR: &str = "collections";
const SPEC_FILE: &str = "collection.json";
const OPLOG_FILE: &str = "oplog";
const SHARD_DIR: &str = "shard";

/// How the embedded store trades durability, indexing and memory. Defaults suit a server
/// that must not lose an acknowledged write.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeOptions {
    /// fdatasync every write before acknowledging it, so it survives a power cut, not just a
    /// crash of the process. Default: true.
    pub sync_writes: bool,
    /// Points written to a collection before a background optimisation (HNSW build) is
    /// scheduled. Default: 4096.
    pub optimize_after: usize,
    /// Size of the operation log at which the shard is flushed and the log emptied.
    /// Default: 64 MiB.
    pub checkpoint_bytes: u64,
    /// When segments switch from exhaustive search to HNSW, and the HNSW parameters.
    pub index: IndexOptions,
    /// When the store closes, leave its open collections to the process's exit instead of
    /// dropping them (collections written to are still checkpointed first). A qdrant-edge
    /// segment that drops evicts its files from the page cache (`MADV_PAGEOUT`) and its
    /// shard flushes once more, so the next short-lived process would read them from disk
    /// again. The data directory then stays locked until the process exits. For processes
    /// that exit as soon as the store closes: the CLI. Default: false.
    pub keep_cached_at_close: bool,
}

impl Default for EdgeOptions {
    fn default() -> Self {
        Self {
            sync_writes: true,
            optimize_after: 4096,
            checkpoint_bytes: 64 << 20,
            index: IndexOptions::default(),
            keep_cached_at_close: false,
        }
    }
}

/// Qdrant Edge in process: a data directory of collections, locked against other writers.
pub struct EdgeStore {
    dir: PathBuf,
    options: EdgeOptions,
    collections: Mutex<HashMap<String, Arc<EdgeCollection>>>,
    optimizer: Optimizer,
    lock: Arc<DirLock>,
}

impl std::fmt::Debug for EdgeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeStore")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl EdgeStore {
    /// Opens (creating it if needed) the data directory `dir`; fails at once if another
    /// process has it open.
    pub fn open(dir: &Path, options: EdgeOptions) -> Result<Self> {
        Self::with_lock(dir, options, DirLock::acquire(dir)?)
    }

    /// Opens `dir` like [`EdgeStore::open`], waiting up to `timeout` for another process
    /// holding it to let go.
    pub fn open_waiting(
        dir: &Path,
        options: EdgeOptions,
        timeout: std::time::Duration,
    ) -> Result<Self> {
        Self::with_lock(dir, options, DirLock::acquire_waiting(dir, timeout)?)
    }

    fn with_lock(dir: &Path, options: EdgeOptions, lock: DirLock) -> Result<Self> {
        let collections = dir.join(COLLECTIONS_DIR);
        fs_err::create_dir_all(&collections)
            .map_err(|e| StoreError::io("create", &collections, e))?;
        remove_staging_leftovers(&collections)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            options,
            collections: Mutex::new(HashMap::new()),
            optimizer: Optimizer::start(),
            lock: Arc::new(lock),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Records in the lock file that this process serves engram's HTTP API at `addr`.
    pub fn advertise(&self, addr: std::net::SocketAddr) -> Result<()> {
        self.lock.advertise(addr)
    }

    /// The collection `spec` names, created with that schema on first use; an existing
    /// collection whose schema differs is an error.
    pub fn collection(&self, spec: &CollectionSpec) -> Result<Arc<EdgeCollection>> {
        spec.validate()?;
        let mut open = lock(&self.collections);
        if let Some(collection) = open.get(&spec.name) {
            collection.ensure_spec(spec)?;
            return Ok(Arc::clone(collection));
        }
        let dir = self.dir.join(COLLECTIONS_DIR).join(&spec.name);
        if !dir.exists() {
            self.create_on_disk(spec, &dir)?;
        }
        let collection = EdgeCollection::open(
            &dir,
            spec,
            &self.options,
            self.optimizer.sender(),
            Arc::clone(&self.lock),
        )?;
        open.insert(spec.name.clone(), Arc::clone(&collection));
        Ok(collection)
    }

    /// Names of the collections on disk.
    pub fn collection_names(&self) -> Result<Vec<String>> {
        let root = self.dir.join(COLLECTIONS_DIR);
        let entries = fs_err::read_dir(&root).map_err(|e| StoreError::io("list", &root, e))?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().join(SPEC_FILE).is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| validate_name(name).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The spec a collection on disk was created with, without opening it.
    pub fn stored_spec(&self, name: &str) -> Result<Option<CollectionSpec>> {
        validate_name(name)?;
        let path = self.dir.join(COLLECTIONS_DIR).join(name).join(SPEC_FILE);
        if !path.exists() {
            return Ok(None);
        }
        read_spec(&path).map(Some)
    }

    /// Deletes a collection and everything in it. Fails if a handle to it is still in use
    /// elsewhere (drop the handles first): its shard would go on writing into deleted files.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        validate_name(name)?;
        let mut open = lock(&self.collections);
        if let Some(collection) = open.remove(name) {
            // The optimizer thread may hold a handle for the length of one optimisation.
            drop(lock(&collection.maintenance));
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
            while Arc::strong_count(&collection) > 1 && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            if Arc::strong_count(&collection) > 1 {
                open.insert(name.to_owned(), collection);
                return Err(StoreError::InvalidInput(format!(
                    "collection {name} is still in use; drop its handles before deleting it"
                )));
            }
            drop(collection);
        }
        let dir = self.dir.join(COLLECTIONS_DIR).join(name);
        match fs_err::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::io("delete", &dir, e)),
        }
    }

    /// Flushes every open collection to its segments and empties their operation logs.
    pub fn flush(&self) -> Result<()> {
        let open: Vec<Arc<EdgeCollection>> = lock(&self.collections).values().cloned().collect();
        for collection in open {
            collection.checkpoint()?;
        }
        Ok(())
    }

    fn create_on_disk(&self, spec: &CollectionSpec, dir: &Path) -> Result<()> {
        let parent = dir.parent().unwrap_or(Path::new("."));
        let staging = parent.join(format!(".{}.creating-{}", spec.name, std::process::id()));
        if staging.exists() {
            fs_err::remove_dir_all(&staging).map_err(|e| StoreError::io("clean", &staging, e))?;
        }
        let shard_dir = staging.join(SHARD_DIR);
        fs_err::create_dir_all(&shard_dir).map_err(|e| StoreError::io("create", &shard_dir, e))?;
        let mut vectors = HashMap::new();
        if spec.has_vectors() {
            vectors.insert(
                DENSE_VECTOR.to_owned(),
                EdgeVectorParams {
                    size: spec.dimension,
                    distance: Distance::Cosine,
                    on_disk: None,
                    multivector_config: None,
                    datatype: None,
                    quantization_config: self
                        .options
                        .index
                        .scalar_quantization
                        .then(int8_quantization),
                    hnsw_config: None,
                },
            );
        }
        let config = EdgeConfig {
            vectors,
            sparse_vectors: HashMap::from([(
                KEYWORD_VECTOR.to_owned(),
                EdgeSparseVectorParams {
                    modifier: Some(Modifier::Idf),
                    ..EdgeSparseVectorParams::default()
                },
            )]),
            hnsw_config: HnswIndexConfig {
                m: self.options.index.m,
                ef_construct: self.options.index.ef_construct,
                full_scan_threshold: self.options.index.exact_search_kb,
                ..HnswIndexConfig::default()
            },
            optimizers: EdgeOptimizersConfig {
                indexing_threshold: Some(self.options.index.exact_search_kb),
                ..EdgeOptimizersConfig::default()
            },
            ..EdgeConfig::default()
        };
        let shard = EdgeShard::new(&shard_dir, config).map_err(edge_error)?;
        for index in &spec.indexes {
            shard.update(create_index_op(index)?).map_err(edge_error)?;
        }
        flush_shard(&shard)?;
        drop(shard);
        write_spec(&staging.join(SPEC_FILE), spec)?;
        fs_err::rename(&staging, dir).map_err(|e| StoreError::io("create", dir, e))?;
        sync_dir(parent)
    }
}

/// What a data directory holds, read from its files without opening it: works while
/// another process holds the directory.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Inspection {
    /// The data directory.
    pub dir: PathBuf,
    /// Who holds it, if anyone.
    pub holder: Option<String>,
    /// Its collections.
    pub collections: Vec<CollectionFiles>,
}

/// One collection as its files describe it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CollectionFiles {
    /// Its name.
    pub name: String,
    /// Its spec, if `collection.json` is readable.
    pub spec: Option<CollectionSpec>,
    /// Bytes on disk (allocated, not apparent: the files are sparse).
    pub disk_bytes: u64,
}

impl EdgeStore {
    /// Reads what `dir` holds without taking its lock or opening any shard.
    pub fn inspect(dir: &Path) -> Result<Inspection> {
        let root = dir.join(COLLECTIONS_DIR);
        let mut collections = Vec::new();
        if root.is_dir() {
            let entries = fs_err::read_dir(&root).map_err(|e| StoreError::io("list", &root, e))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if validate_name(&name).is_err() {
                    continue;
                }
                collections.push(CollectionFiles {
                    spec: read_spec(&entry.path().join(SPEC_FILE)).ok(),
                    disk_bytes: dir_size(&entry.path()),
                    name,
                });
            }
        }
        collections.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Inspection {
            dir: dir.to_path_buf(),
            holder: DirLock::holder(dir),
            collections,
        })
    }
}

impl Drop for EdgeStore {
    fn drop(&mut self) {
        self.optimizer.stop();
        let open: Vec<Arc<EdgeCollection>> =
            lock(&self.collections).drain().map(|(_, c)| c).collect();
        for collection in open {
            // A collection nothing was written to since its last checkpoint has nothing to
            // flush: read-only commands (a CLI recall) close without writing to disk.
            if collection.needs_checkpoint()
                && let Err(error) = collection.checkpoint()
            {
                tracing::error!(
                    "closing collection {}: {error}; its operation log will be replayed on the \
                     next open",
                    collection.spec().name
                );
            }
            if self.options.keep_cached_at_close {
                // Never dropped: its files stay cached for the next process (see the option).
                std::mem::forget(collection);
            }
        }
    }
}

/// One collection of an [`EdgeStore`].
pub struct EdgeCollection {
    spec: RwLock<CollectionSpec>,
    dir: PathBuf,
    /// Loaded on first use ([`EdgeCollection::shard`]).
    shard: OnceLock<EdgeShard>,
    /// What the operation log held at open, replayed when the shard loads; also serialises
    /// that load.
    pending: Mutex<Vec<LoggedOp>>,
    keyword: KeywordEncoder,
    options: EdgeOptions,
    /// Read side: searches and writes. Write side: the instant of a checkpoint.
    gate: RwLock<()>,
    /// Serialises writes so that the log's order is the order they were applied in.
    oplog: Mutex<OpLog>,
    /// Serialises optimisation and checkpoints (qdrant-edge's flush panics if they overlap).
    maintenance: Mutex<()>,
    written_since_optimize: AtomicUsize,
    optimize_scheduled: AtomicBool,
    /// An optimisation ran since the last checkpoint (its segments are not flushed yet).
    optimized_since_checkpoint: AtomicBool,
    scheduler: Schedule,
    this: Weak<EdgeCollection>,
    /// Keeps the data directory locked for as long as any handle to the collection lives.
    _dir_lock: Arc<DirLock>,
}

impl std::fmt::Debug for EdgeCollection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeCollection")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl EdgeCollection {
    fn open(
        dir: &Path,
        spec: &CollectionSpec,
        options: &EdgeOptions,
        scheduler: Schedule,
        dir_lock: Arc<DirLock>,
    ) -> Result<Arc<Self>> {
        let stored = read_spec(&dir.join(SPEC_FILE))?;
        spec.check_compatible(&stored)?;
        let (oplog, pending) = OpLog::open(&dir.join(OPLOG_FILE), options.sync_writes)?;
        let keyword = KeywordEncoder::new(&stored.keyword)?;
        let collection = Arc::new_cyclic(|this| Self {
            spec: RwLock::new(stored),
            dir: dir.to_path_buf(),
            shard: OnceLock::new(),
            pending: Mutex::new(pending),
            keyword,
            options: options.clone(),
            gate: RwLock::new(()),
            oplog: Mutex::new(oplog),
            maintenance: Mutex::new(()),
            written_since_optimize: AtomicUsize::new(0),
            optimize_scheduled: AtomicBool::new(false),
            optimized_since_checkpoint: AtomicBool::new(false),
            scheduler,
            this: this.clone(),
            _dir_lock: dir_lock,
        });
        collection.ensure_spec(spec)?;
        Ok(collection)
    }

    /// Loads the shard now rather than at first use: a caller that knows it is about to
    /// search this collection can have it load while something else (the model) loads.
    pub fn load(&self) -> Result<()> {
        self.shard().map(|_| ())
    }

    /// The qdrant-edge shard, loaded on first use: a command that names a collection but
    /// never reads or writes it (a CLI recall opens every memory collection and searches
    /// one) does not pay for loading it. Loading replays what the operation log still
    /// holds and checkpoints it, before any caller sees the shard.
    fn shard(&self) -> Result<&EdgeShard> {
        if let Some(shard) = self.shard.get() {
            return Ok(shard);
        }
        let mut pending = lock(&self.pending);
        if let Some(shard) = self.shard.get() {
            return Ok(shard);
        }
        let name = read_lock(&self.spec).name.clone();
        let shard_dir = self.dir.join(SHARD_DIR);
        prune_edge_wal(&shard_dir.join("wal"))?;
        let shard = load_shard(&shard_dir)?;
        check_shard_config(&shard, &read_lock(&self.spec))?;
        if !pending.is_empty() {
            tracing::info!(
                "collection {name}: replaying {} logged writes",
                pending.len()
            );
            for op in pending.iter() {
                if let Err(error) = self.apply_to(&shard, op) {
                    tracing::error!("collection {name}: a logged write failed again: {error}");
                }
            }
            flush_shard(&shard)?;
            lock(&self.oplog).reset()?;
            pending.clear();
        }
        Ok(self.shard.get_or_init(|| shard))
    }

    /// The collection's current spec.
    pub fn spec(&self) -> CollectionSpec {
        read_lock(&self.spec).clone()
    }

    /// Checks `spec` against the stored one and adds the indexes it lacks.
    fn ensure_spec(&self, spec: &CollectionSpec) -> Result<()> {
        let current = self.spec();
        spec.check_compatible(&current)?;
        let missing: Vec<_> = spec
            .indexes
            .iter()
            .filter(|wanted| !current.indexes.iter().any(|i| i.field == wanted.field))
            .cloned()
            .collect();
        if missing.is_empty() && spec.fusion == current.fusion {
            return Ok(());
        }
        for index in &missing {
            self.write(LoggedOp::CreateIndex(index.clone()))?;
        }
        let mut updated = current;
        updated.indexes.extend(missing);
        updated.fusion = spec.fusion;
        write_spec(&self.dir.join(SPEC_FILE), &updated)?;
        *write_lock(&self.spec) = updated;
        Ok(())
    }

    /// Stores `points`, replacing any with the same ids. Durable when it returns.
    pub fn upsert(&self, points: Vec<Point>) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let logged = self.prepare(points)?;
        let count = logged.len();
        self.write(LoggedOp::Upsert(logged))?;
        self.after_points_written(count);
        Ok(())
    }

    /// Stores the `points` that `mode` and `condition` let through (Qdrant's conditional
    /// upsert: `update_mode` and `update_filter`, the condition applying to points that
    /// exist). The check and the write happen under the collection's write lock, so no other
    /// write comes between them. Returns how many points were written.
    pub fn upsert_with(
        &self,
        points: Vec<Point>,
        mode: WriteMode,
        condition: Option<&Filter>,
    ) -> Result<usize> {
        if points.is_empty() {
            return Ok(0);
        }
        if let Some(condition) = condition {
            filter_to_edge(condition)?;
        }
        let logged = self.prepare(points)?;
        let written = self.write_with(|| {
            let ids: Vec<PointId> = logged.iter().map(|p| p.id).collect();
            let existing = self.existing(&ids)?;
            let passing = match condition {
                Some(condition) => self.matching(&ids, condition)?,
                None => existing.clone(),
            };
            let kept: Vec<LoggedPoint> = logged
                .iter()
                .filter(|p| match mode {
                    WriteMode::Upsert => !existing.contains(&p.id) || passing.contains(&p.id),
                    WriteMode::InsertOnly => !existing.contains(&p.id),
                    WriteMode::UpdateOnly => passing.contains(&p.id),
                })
                .cloned()
                .collect();
            Ok((!kept.is_empty()).then_some(LoggedOp::Upsert(kept)))
        })?;
        self.after_points_written(written);
        Ok(written)
    }

    /// Validates points and turns them into log records (vectors checked, BM25 computed).
    fn prepare(&self, points: Vec<Point>) -> Result<Vec<LoggedPoint>> {
        let dimension = read_lock(&self.spec).dimension;
        let mut logged = Vec::with_capacity(points.len());
        for point in points {
            validate::vector(&point.vector, dimension, &point.id)?;
            let sparse = self.keyword.document(&point.text);
            logged.push(logged_point(
                point.id,
                point.vector,
                sparse,
                &point.payload,
            )?);
        }
        Ok(logged)
    }

    /// Which of `ids` are stored (callers hold the gate).
    fn existing(&self, ids: &[PointId]) -> Result<std::collections::HashSet<PointId>> {
        let edge_ids: Vec<_> = ids.iter().copied().map(id_to_edge).collect();
        Ok(self
            .shard()?
            .retrieve(
                &edge_ids,
                Some(WithPayloadInterface::Bool(false)),
                Some(WithVector::Bool(false)),
            )
            .map_err(edge_error)?
            .into_iter()
            .map(|r| id_from_edge(r.id))
            .collect())
    }

    /// Which of `ids` are stored and pass `condition` (callers hold the gate).
    fn matching(
        &self,
        ids: &[PointId],
        condition: &Filter,
    ) -> Result<std::collections::HashSet<PointId>> {
        if ids.is_empty() {
            return Ok(std::collections::HashSet::new());
        }
        let filter = Filter::all([
            Condition::HasId(ids.to_vec()),
            Condition::Filter(Box::new(condition.clone())),
        ]);
        let (records, _) = self
            .shard()?
            .scroll(ScrollRequest {
                offset: None,
                limit: Some(ids.len()),
                filter: Some(filter_to_edge(&filter)?),
                with_payload: Some(WithPayloadInterface::Bool(false)),
                with_vector: WithVector::Bool(false),
                order_by: None,
            })
            .map_err(edge_error)?;
        Ok(records.into_iter().map(|r| id_from_edge(r.id)).collect())
    }

    /// Reads points by id; missing ids are skipped. Results follow the order of `ids`.
    pub fn get(&self, ids: &[PointId], with_vectors: bool) -> Result<Vec<Record>> {
        let _gate = read_lock(&self.gate);
        self.retrieve(ids, with_vectors)
    }

    /// `get` for callers that already hold the gate.
    fn retrieve(&self, ids: &[PointId], with_vectors: bool) -> Result<Vec<Record>> {
        let with_vectors = with_vectors && read_lock(&self.spec).has_vectors();
        let edge_ids: Vec<_> = ids.iter().copied().map(id_to_edge).collect();
        let records = self
            .shard()?
            .retrieve(
                &edge_ids,
                Some(WithPayloadInterface::Bool(true)),
                Some(with_vector(with_vectors)),
            )
            .map_err(edge_error)?;
        Ok(records
            .into_iter()
            .map(|r| Record {
                id: id_from_edge(r.id),
                payload: payload_from_edge(r.payload),
                vector: dense_from_edge(r.vector),
            })
            .collect())
    }

    /// Deletes points by id; unknown ids are ignored.
    pub fn delete(&self, ids: &[PointId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.write(LoggedOp::Delete(ids.to_vec()))
    }

    /// Deletes those of `ids` that pass `condition`, checked under the write lock. Returns
    /// how many were deleted.
    pub fn delete_if(&self, ids: &[PointId], condition: &Filter) -> Result<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        filter_to_edge(condition)?;
        self.write_with(|| {
            let matching: Vec<PointId> = self.matching(ids, condition)?.into_iter().collect();
            Ok((!matching.is_empty()).then_some(LoggedOp::Delete(matching)))
        })
    }

    /// Deletes every point that passes `filter`.
    pub fn delete_by_filter(&self, filter: &Filter) -> Result<()> {
        if filter.is_empty() {
            return Err(StoreError::InvalidInput(
                "refusing to delete by an empty filter (it matches every point)".into(),
            ));
        }
        filter_to_edge(filter)?;
        self.write(LoggedOp::DeleteByFilter(filter.clone()))
    }

    /// Sets payload fields on points, keeping the fields `payload` does not mention.
    pub fn set_payload(&self, ids: &[PointId], payload: Payload) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let payload_json = serde_json::to_string(&payload)
            .map_err(|e| StoreError::InvalidInput(format!("payload: {e}")))?;
        self.write(LoggedOp::SetPayload {
            ids: ids.to_vec(),
            payload_json,
        })
    }

    /// Sets payload fields on those of `ids` that pass `condition`, checked under the write
    /// lock. Returns how many points were changed.
    pub fn set_payload_if(
        &self,
        ids: &[PointId],
        payload: Payload,
        condition: &Filter,
    ) -> Result<usize> {
        if ids.is_empty() {
            return Ok(0);
        }
        filter_to_edge(condition)?;
        let payload_json = serde_json::to_string(&payload)
            .map_err(|e| StoreError::InvalidInput(format!("payload: {e}")))?;
        self.write_with(|| {
            let matching: Vec<PointId> = self.matching(ids, condition)?.into_iter().collect();
            Ok((!matching.is_empty()).then(|| LoggedOp::SetPayload {
                ids: matching,
                payload_json: payload_json.clone(),
            }))
        })
    }

    /// A page of points passing `filter`, in id order, starting at `offset`; also returns
    /// the offset of the next page, if any.
    pub fn scroll(
        &self,
        filter: Option<&Filter>,
        limit: usize,
        offset: Option<PointId>,
        with_vectors: bool,
    ) -> Result<(Vec<Record>, Option<PointId>)> {
        validate::limit(limit)?;
        let filter = filter.map(filter_to_edge).transpose()?;
        let with_vectors = with_vectors && read_lock(&self.spec).has_vectors();
        let _gate = read_lock(&self.gate);
        let (records, next) = self
            .shard()?
            .scroll(ScrollRequest {
                offset: offset.map(id_to_edge),
                limit: Some(limit),
                filter,
                with_payload: Some(WithPayloadInterface::Bool(true)),
                with_vector: with_vector(with_vectors),
                order_by: None,
            })
            .map_err(edge_error)?;
        Ok((
            records
                .into_iter()
                .map(|r| Record {
                    id: id_from_edge(r.id),
                    payload: payload_from_edge(r.payload),
                    vector: dense_from_edge(r.vector),
                })
                .collect(),
            next.map(id_from_edge),
        ))
    }

    /// A page of points in id order with both vectors as stored, and the next page's offset.
    pub fn export(
        &self,
        limit: usize,
        offset: Option<PointId>,
    ) -> Result<(Vec<StoredPoint>, Option<PointId>)> {
        validate::limit(limit)?;
        let names = read_lock(&self.spec).vector_names();
        let _gate = read_lock(&self.gate);
        let (records, next) = self
            .shard()?
            .scroll(ScrollRequest {
                offset: offset.map(id_to_edge),
                limit: Some(limit),
                filter: None,
                with_payload: Some(WithPayloadInterface::Bool(true)),
                with_vector: WithVector::Selector(names),
                order_by: None,
            })
            .map_err(edge_error)?;
        Ok((
            records
                .into_iter()
                .map(|r| {
                    let (vector, keyword) = stored_vectors(r.vector);
                    StoredPoint {
                        id: id_from_edge(r.id),
                        vector,
                        keyword,
                        payload: payload_from_edge(r.payload),
                    }
                })
                .collect(),
            next.map(id_from_edge),
        ))
    }

    /// Stores points with the vectors they were exported with (the keyword vector is not
    /// recomputed), replacing those with the same ids.
    pub fn import(&self, points: Vec<StoredPoint>) -> Result<()> {
        if points.is_empty() {
            return Ok(());
        }
        let dimension = read_lock(&self.spec).dimension;
        let mut logged = Vec::with_capacity(points.len());
        for point in points {
            validate::vector(&point.vector, dimension, &point.id)?;
            validate::sparse(&point.keyword, &point.id)?;
            logged.push(logged_point(
                point.id,
                point.vector,
                point.keyword,
                &point.payload,
            )?);
        }
        let count = logged.len();
        self.write(LoggedOp::Upsert(logged))?;
        self.after_points_written(count);
        Ok(())
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
        let filter = filter.map(filter_to_edge).transpose()?;
        let _gate = read_lock(&self.gate);
        let response = self
            .shard()?
            .facet(FacetRequest {
                key: field_path(field)?,
                limit,
                filter,
                exact: true,
            })
            .map_err(edge_error)?;
        Ok(response
            .hits
            .into_iter()
            .map(|hit| {
                let value = match hit.value {
                    FacetValue::Keyword(s) => s,
                    FacetValue::Int(i) => i.to_string(),
                    FacetValue::Uuid(u) => uuid::Uuid::from_u128(u).to_string(),
                    FacetValue::Bool(b) => b.to_string(),
                };
                (value, hit.count)
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
        let filter = filter.map(filter_to_edge).transpose()?;
        let _gate = read_lock(&self.gate);
        let (records, _) = self
            .shard()?
            .scroll(ScrollRequest {
                offset: None,
                limit: Some(limit),
                filter,
                with_payload: Some(WithPayloadInterface::Bool(true)),
                with_vector: WithVector::Bool(false),
                order_by: Some(OrderByInterface::Struct(OrderBy {
                    key: field_path(&order.field)?,
                    direction: Some(if order.descending {
                        Direction::Desc
                    } else {
                        Direction::Asc
                    }),
                    start_from: None,
                })),
            })
            .map_err(edge_error)?;
        Ok(records
            .into_iter()
            .map(|r| Record {
                id: id_from_edge(r.id),
                payload: payload_from_edge(r.payload),
                vector: None,
            })
            .collect())
    }

    /// How many points pass `filter` (all points without one).
    pub fn count(&self, filter: Option<&Filter>) -> Result<usize> {
        let filter = filter.map(filter_to_edge).transpose()?;
        let _gate = read_lock(&self.gate);
        self.shard()?
            .count(CountRequest {
                filter,
                exact: true,
            })
            .map_err(edge_error)
    }

    /// Searches the collection.
    pub fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>> {
        validate::search(request, read_lock(&self.spec).dimension)?;
        let filter = request.filter.as_ref().map(filter_to_edge).transpose()?;
        let threshold = request.score_threshold;
        let _gate = read_lock(&self.gate);
        match &request.query {
            Query::Dense(vector) => Ok(self
                .query_dense(vector, filter, request.limit, threshold, true)?
                .into_iter()
                .map(|p| hit(p, true))
                .collect()),
            Query::Keyword(text) => {
                let sparse = self.keyword.query(text);
                Ok(self
                    .query_keyword(&sparse, filter, request.limit, threshold, true)?
                    .into_iter()
                    .map(|p| hit(p, false))
                    .collect())
            }
            Query::Hybrid { vector, text } => {
                let depth = fusion::DEPTH.max(request.limit);
                let dense: Vec<(PointId, f32)> = self
                    .query_dense(vector, filter.clone(), depth, None, false)?
                    .into_iter()
                    .map(|p| (id_from_edge(p.id), p.score))
                    .collect();
                let sparse = self.keyword.query(text);
                let keyword: Vec<(PointId, f32)> = self
                    .query_keyword(&sparse, filter, fusion::keyword_fetch(depth), None, false)?
                    .into_iter()
                    .map(|p| (id_from_edge(p.id), p.score))
                    .collect();
                let keyword = fusion::cut_ties_by_id(keyword, depth);
                let weights = read_lock(&self.spec).fusion;
                fusion::hybrid_hits(
                    weights,
                    vector,
                    &dense,
                    &keyword,
                    request.limit,
                    threshold,
                    |ids, with_vectors| self.retrieve(ids, with_vectors),
                )
            }
        }
    }

    /// Points, indexed vectors, segments and bytes on disk.
    pub fn info(&self) -> Result<CollectionInfo> {
        let info = {
            let _gate = read_lock(&self.gate);
            self.shard()?.info()
        };
        Ok(CollectionInfo {
            name: read_lock(&self.spec).name.clone(),
            points: self.count(None)?,
            indexed_vectors: info.indexed_vectors_count,
            segments: info.segments_count,
            disk_bytes: Some(dir_size(&self.dir)),
            layout: None,
        })
    }

    /// Flushes the shard and empties the operation log.
    pub fn checkpoint(&self) -> Result<()> {
        let maintenance = lock(&self.maintenance);
        self.checkpoint_locked(&maintenance)
    }

    fn checkpoint_locked(&self, _maintenance: &MutexGuard<'_, ()>) -> Result<()> {
        let Some(shard) = self.shard.get() else {
            // Never loaded: nothing was written, and the log replays on the next load.
            return Ok(());
        };
        let _gate = write_lock(&self.gate);
        flush_shard(shard)?;
        self.optimized_since_checkpoint
            .store(false, Ordering::Release);
        lock(&self.oplog).reset()
    }

    /// Whether anything happened since the last checkpoint that a checkpoint would make
    /// durable: a logged write, or an optimisation.
    fn needs_checkpoint(&self) -> bool {
        self.shard.get().is_some()
            && (lock(&self.oplog).len() > 0
                || self.optimized_since_checkpoint.load(Ordering::Acquire))
    }

    /// Runs the optimisers (HNSW index builds, segment merges) now, blocking until done.
    /// Searches and writes go on meanwhile. Returns whether anything changed.
    pub fn optimize(&self) -> Result<bool> {
        let shard = self.shard()?;
        let maintenance = lock(&self.maintenance);
        self.written_since_optimize.store(0, Ordering::Relaxed);
        self.optimized_since_checkpoint
            .store(true, Ordering::Release);
        let result = catch_unwind(AssertUnwindSafe(|| shard.optimize()))
            .map_err(|_| StoreError::Edge("the optimizer panicked".into()))?
            .map_err(edge_error);
        self.optimize_scheduled.store(false, Ordering::Release);
        if lock(&self.oplog).len() >= self.options.checkpoint_bytes {
            self.checkpoint_locked(&maintenance)?;
        }
        result
    }

    fn write(&self, op: LoggedOp) -> Result<()> {
        self.write_with(|| Ok(Some(op))).map(|_| ())
    }

    /// Logs and applies the operation `build` decides on, with writes serialised: `build`
    /// runs under the log's lock, so what it reads from the shard is what the operation
    /// applies to (conditional writes check their condition here). Returns the number of
    /// points the operation names (upserted, deleted or changed; 0 for the others).
    fn write_with(&self, build: impl FnOnce() -> Result<Option<LoggedOp>>) -> Result<usize> {
        // Loaded before the log's lock is taken: loading empties the log.
        let shard = self.shard()?;
        let (upserted, position, group) = {
            let _gate = read_lock(&self.gate);
            let mut log = lock(&self.oplog);
            let Some(op) = build()? else {
                return Ok(0);
            };
            let position = log.append(&op)?;
            self.apply_to(shard, &op)?;
            let upserted = match &op {
                LoggedOp::Upsert(points) => points.len(),
                LoggedOp::Delete(ids) | LoggedOp::SetPayload { ids, .. } => ids.len(),
                LoggedOp::DeleteByFilter(_) | LoggedOp::CreateIndex(_) => 0,
            };
            (upserted, position, log.syncs().then(|| log.group()))
        };
        // Outside the lock, so that writers queued behind this one share its fdatasync
        // (group commit, see oplog.rs).
        if let Some(group) = group {
            group.wait_durable(position)?;
        }
        if lock(&self.oplog).len() >= self.options.checkpoint_bytes
            && let Ok(maintenance) = self.maintenance.try_lock()
        {
            self.checkpoint_locked(&maintenance)?;
        }
        Ok(upserted)
    }

    fn after_points_written(&self, count: usize) {
        let written = self
            .written_since_optimize
            .fetch_add(count, Ordering::Relaxed)
            + count;
        if written >= self.options.optimize_after
            && !self.optimize_scheduled.swap(true, Ordering::AcqRel)
            && self.scheduler.send(Some(self.this.clone())).is_err()
        {
            self.optimize_scheduled.store(false, Ordering::Release);
        }
    }

    fn apply_to(&self, shard: &EdgeShard, op: &LoggedOp) -> Result<()> {
        let operation = match op {
            LoggedOp::Upsert(points) => {
                let points = points
                    .iter()
                    .map(|p| {
                        let payload: Payload = serde_json::from_str(&p.payload_json)
                            .map_err(|e| StoreError::Edge(format!("logged payload: {e}")))?;
                        Ok(PointStructPersisted {
                            id: id_to_edge(p.id),
                            vector: vectors_to_edge(&p.vector, &p.sparse)?,
                            payload: Some(payload_to_edge(payload)),
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                UpdateOperation::PointOperation(PointOperations::UpsertPoints(
                    PointInsertOperations::PointsList(points),
                ))
            }
            LoggedOp::Delete(ids) => {
                UpdateOperation::PointOperation(PointOperations::DeletePoints {
                    ids: ids.iter().copied().map(id_to_edge).collect(),
                })
            }
            LoggedOp::DeleteByFilter(filter) => UpdateOperation::PointOperation(
                PointOperations::DeletePointsByFilter(filter_to_edge(filter)?),
            ),
            LoggedOp::SetPayload { ids, payload_json } => {
                let payload: Payload = serde_json::from_str(payload_json)
                    .map_err(|e| StoreError::Edge(format!("logged payload: {e}")))?;
                UpdateOperation::PayloadOperation(PayloadOps::SetPayload(SetPayloadOp {
                    payload: payload_to_edge(payload),
                    points: Some(ids.iter().copied().map(id_to_edge).collect()),
                    filter: None,
                    key: None,
                }))
            }
            LoggedOp::CreateIndex(index) => create_index_op(index)?,
        };
        shard.update(operation).map_err(edge_error)
    }

    fn query_dense(
        &self,
        vector: &[f32],
        filter: Option<qdrant_edge::Filter>,
        limit: usize,
        threshold: Option<f32>,
        with_payload: bool,
    ) -> Result<Vec<ScoredPoint>> {
        self.query(
            VectorInternal::Dense(vector.to_vec()),
            DENSE_VECTOR,
            filter,
            limit,
            threshold,
            with_payload,
        )
    }

    fn query_keyword(
        &self,
        sparse: &SparseVector,
        filter: Option<qdrant_edge::Filter>,
        limit: usize,
        threshold: Option<f32>,
        with_payload: bool,
    ) -> Result<Vec<ScoredPoint>> {
        if sparse.is_empty() {
            return Ok(Vec::new());
        }
        self.query(
            VectorInternal::Sparse(sparse_to_edge(sparse)?),
            KEYWORD_VECTOR,
            filter,
            limit,
            threshold,
            with_payload,
        )
    }

    fn query(
        &self,
        vector: VectorInternal,
        using: &str,
        filter: Option<qdrant_edge::Filter>,
        limit: usize,
        threshold: Option<f32>,
        with_payload: bool,
    ) -> Result<Vec<ScoredPoint>> {
        self.shard()?
            .query(QueryRequest {
                prefetches: vec![],
                query: Some(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
                    query: vector,
                    using: Some(using.to_owned()),
                }))),
                filter,
                score_threshold: threshold.map(OrderedFloat),
                limit,
                offset: 0,
                params: Some(SearchParams {
                    hnsw_ef: Some(self.options.index.ef),
                    // Rescored with the f32 vectors: the scores returned are exact.
                    quantization: (using == DENSE_VECTOR).then_some(QuantizationSearchParams {
                        ignore: false,
                        rescore: Some(true),
                        oversampling: Some(self.options.index.oversampling_factor()),
                    }),
                    ..SearchParams::default()
                }),
                with_vector: WithVector::Bool(false),
                with_payload: WithPayloadInterface::Bool(with_payload),
            })
            .map_err(edge_error)
    }
}

fn hit(point: ScoredPoint, dense: bool) -> Hit {
    Hit {
        id: id_from_edge(point.id),
        score: point.score,
        dense_score: dense.then_some(point.score),
        keyword_score: (!dense).then_some(point.score),
        payload: payload_from_edge(point.payload),
    }
}

/// Int8 scalar quantization of the dense vectors, kept in RAM (see `IndexOptions`).
fn int8_quantization() -> qdrant_edge::QuantizationConfig {
    ScalarQuantizationConfig {
        r#type: ScalarType::Int8,
        quantile: Some(super::index::QUANTIZATION_QUANTILE),
        always_ram: Some(true),
    }
    .into()
}

/// A point as the operation log keeps it (its payload as JSON text).
fn logged_point(
    id: PointId,
    vector: Vec<f32>,
    sparse: SparseVector,
    payload: &Payload,
) -> Result<LoggedPoint> {
    let payload_json = serde_json::to_string(payload)
        .map_err(|e| StoreError::InvalidInput(format!("payload of {id}: {e}")))?;
    Ok(LoggedPoint {
        id,
        vector,
        sparse,
        payload_json,
    })
}

fn with_vector(with_vectors: bool) -> WithVector {
    if with_vectors {
        WithVector::Selector(vec![DENSE_VECTOR.to_owned()])
    } else {
        WithVector::Bool(false)
    }
}

fn create_index_op(index: &super::schema::FieldIndex) -> Result<UpdateOperation> {
    Ok(UpdateOperation::FieldIndexOperation(
        FieldIndexOperations::CreateIndex(CreateIndex {
            field_name: field_path(&index.field)?,
            field_schema: Some(field_schema(index.kind)),
        }),
    ))
}

fn check_shard_config(shard: &EdgeShard, spec: &CollectionSpec) -> Result<()> {
    let config = shard.config();
    let found = config
        .vectors
        .get(DENSE_VECTOR)
        .map(|v| (v.size, v.distance));
    let expected = spec
        .has_vectors()
        .then_some((spec.dimension, Distance::Cosine));
    if found != expected {
        return Err(StoreError::SchemaMismatch {
            collection: spec.name.clone(),
            expected: match expected {
                Some((size, _)) => {
                    format!("a {size}-dimensional cosine vector named {DENSE_VECTOR}")
                }
                None => "no dense vectors".to_owned(),
            },
            found: match found {
                Some((size, distance)) => format!("{size}-dimensional {distance:?} vectors"),
                None => format!("no vector named {DENSE_VECTOR}"),
            },
        });
    }
    let sparse = config
        .sparse_vectors
        .get(KEYWORD_VECTOR)
        .and_then(|s| s.modifier);
    if sparse != Some(Modifier::Idf) {
        return Err(StoreError::SchemaMismatch {
            collection: spec.name.clone(),
            expected: format!("a sparse vector named {KEYWORD_VECTOR} with IDF"),
            found: format!("{sparse:?}"),
        });
    }
    Ok(())
}

/// qdrant-edge 0.7.0 never truncates its WAL and never reads it back (engram's oplog does
/// that job), so closed WAL segments only cost disk. Keep the newest one so that operation
/// numbers go on increasing (Qdrant ignores an update older than the point it would change).
fn prune_edge_wal(wal: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(wal) else {
        return Ok(());
    };
    let mut closed: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let start = name.strip_prefix("closed-")?.parse().ok()?;
            Some((start, e.path()))
        })
        .collect();
    closed.sort();
    closed.pop();
    for (_, path) in closed {
        fs_err::remove_file(&path).map_err(|e| StoreError::io("prune", &path, e))?;
    }
    Ok(())
}

/// qdrant-edge's flush panics instead of returning errors; keep a panic inside the store.
fn flush_shard(shard: &EdgeShard) -> Result<()> {
    catch_unwind(AssertUnwindSafe(|| shard.flush()))
        .map_err(|_| StoreError::Edge("flushing the shard failed".into()))
}

fn read_spec(path: &Path) -> Result<CollectionSpec> {
    let text = fs_err::read_to_string(path).map_err(|e| StoreError::io("read", path, e))?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

fn write_spec(path: &Path, spec: &CollectionSpec) -> Result<()> {
    let text = serde_json::to_string_pretty(spec)
        .map_err(|e| StoreError::Edge(format!("cannot encode spec: {e}")))?;
    let tmp = path.with_extension("json.tmp");
    let write = || -> std::io::Result<()> {
        let mut file = fs_err::File::create(&tmp)?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        file.sync_all()?;
        fs_err::rename(&tmp, path)
    };
    write().map_err(|e| StoreError::io("write", path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<()> {
    fs_err::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io("sync", dir, e))
}

/// Removes what a process killed while creating a collection left behind: its staging
/// folder (`.NAME.creating-PID`, see `create_on_disk`). Called with the directory lock
/// held, so no other process is creating one.
fn remove_staging_leftovers(collections: &Path) -> Result<()> {
    let entries =
        fs_err::read_dir(collections).map_err(|e| StoreError::io("list", collections, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".creating-") {
            let path = entry.path();
            tracing::info!(path = %path.display(), "removing an interrupted collection creation");
            fs_err::remove_dir_all(&path).map_err(|e| StoreError::io("clean", &path, e))?;
        }
    }
    Ok(())
}

/// Bytes the files under `dir` occupy on disk: allocated blocks, not apparent sizes
/// (qdrant-edge's memory-mapped files are sparse, their apparent size far beyond what
/// they hold).
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => dir_size(&entry.path()),
            Ok(_) => entry.metadata().map(|m| allocated(&m)).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(unix)]
fn allocated(metadata: &std::fs::Metadata) -> u64 {
    // st_blocks counts 512-byte units whatever the file system's block size (stat(2)).
    std::os::unix::fs::MetadataExt::blocks(metadata) * 512
}

#[cfg(not(unix))]
fn allocated(metadata: &std::fs::Metadata) -> u64 {
    metadata.len()
}

/// Loads a shard, waiting out a lock on its WAL directory that a child process holds for a
/// moment: qdrant-edge locks the directory with `flock`, and a process that forks (any
/// thread spawning a subprocess) shares the lock of every file the parent has open until the
/// child execs, which closes them (`O_CLOEXEC`). A shard closed just before (as a collection
/// is, between its creation and its first open) can so stay locked for the few milliseconds
/// between a fork and its exec. Another engram process holding the directory is kept out by
/// the data directory's own lock before any shard is opened, so a held WAL here is only ever
/// this.
fn load_shard(shard_dir: &Path) -> Result<EdgeShard> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match EdgeShard::load(shard_dir, None) {
            Ok(shard) => return Ok(shard),
            Err(error)
                if error.to_string().contains("WouldBlock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(error) => return Err(edge_error(error)),
        }
    }
}

fn edge_error(error: qdrant_edge::OperationError) -> StoreError {
    StoreError::Edge(error.to_string())
}

/// Locks that survive a panicked holder: the data they guard stays consistent because every
/// critical section either completes or returns an error before changing it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Messages to the optimizer thread: a collection to optimise, or `None` to stop.
type Schedule = mpsc::Sender<Option<Weak<EdgeCollection>>>;

/// The background thread that runs scheduled optimisations, one at a time.
struct Optimizer {
    sender: Schedule,
    handle: Option<JoinHandle<()>>,
}

impl Optimizer {
    fn start() -> Self {
        let (sender, receiver) = mpsc::channel::<Option<Weak<EdgeCollection>>>();
        let handle = std::thread::Builder::new()
            .name("engram-optimizer".into())
            .spawn(move || {
                while let Ok(Some(collection)) = receiver.recv() {
                    if let Some(collection) = collection.upgrade()
                        && let Err(error) = collection.optimize()
                    {
                        tracing::warn!(
                            "optimising collection {} failed: {error}",
                            collection.spec().name
                        );
                    }
                }
            })
            .ok();
        if handle.is_none() {
            tracing::warn!("could not start the optimizer thread; indexes build only on demand");
        }
        Self { sender, handle }
    }

    fn sender(&self) -> Schedule {
        self.sender.clone()
    }

    /// Lets the optimisation under way finish, then stops the thread; what is still queued
    /// is dropped (it is rescheduled by the next writes after reopening).
    fn stop(&mut self) {
        let _ = self.sender.send(None);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
