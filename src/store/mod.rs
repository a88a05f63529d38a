//! Storage: collections of points (a dense vector, a BM25 vector and a JSON payload) with
//! dense, keyword and hybrid search, filters, and two backends that pass one conformance
//! suite: [`EdgeStore`] (Qdrant Edge in process, the default) and, for scaling out, a
//! Qdrant server or cluster over gRPC.
//!
//! Domain modules speak this module's types; only the backends know Qdrant's.

pub mod coord;
mod edge;
mod error;
mod filter;
pub mod fusion;
mod index;
mod keyword;
mod layout;
mod lock;
pub mod migrate;
mod remote;
mod schema;
pub mod snapshot;
mod typed;
mod types;
mod validate;

use std::path::Path;
use std::sync::Arc;

pub use edge::{CollectionFiles, EdgeCollection, EdgeOptions, EdgeStore, Inspection};
pub use error::{Result, StoreError};
pub use filter::{Condition, Filter, Range};
pub use fusion::Fusion;
pub use index::IndexOptions;
pub use keyword::{KeywordEncoder, LANGUAGES, SparseVector, TERM_WEIGHT_CEILING, keyword_coverage};
pub use layout::{ClusterLayout, DEFAULT_REPLICATION_FACTOR, ShardReplicas, WantedLayout};
pub use lock::DirLock;
pub use remote::{
    BreakerStatus, ReadConsistency, RemoteCollection, RemoteConfig, RemoteStore, WriteOrdering,
};
pub use schema::{
    CollectionSpec, DENSE_VECTOR, FieldIndex, FieldKind, KEYWORD_VECTOR, KeywordSettings,
    validate_name,
};
pub use typed::{from_payload, to_payload};
pub use types::{
    Applied, CollectionInfo, Hit, MAX_LIMIT, Order, Payload, Point, PointId, Query, Record,
    SearchMode, SearchRequest, StoredPoint, WriteMode,
};

/// A store: the embedded default or a Qdrant server.
#[derive(Debug)]
pub enum Store {
    /// Qdrant Edge in this process.
    Edge(EdgeStore),
    /// A Qdrant server or cluster over gRPC.
    Remote(RemoteStore),
}

impl Store {
    /// Opens the embedded store in `dir` with default options.
    pub fn open_edge(dir: &Path) -> Result<Self> {
        EdgeStore::open(dir, EdgeOptions::default()).map(Self::Edge)
    }

    /// Opens the embedded store in `dir` with default options, waiting up to `timeout` for
    /// another process holding it to let go.
    pub fn open_edge_waiting(dir: &Path, timeout: std::time::Duration) -> Result<Self> {
        EdgeStore::open_waiting(dir, EdgeOptions::default(), timeout).map(Self::Edge)
    }

    /// Tells other engram commands on the same data directory that this process serves the
    /// HTTP API at `addr` (embedded store; nothing to do for a server store, which any
    /// number of processes share).
    pub fn advertise(&self, addr: std::net::SocketAddr) -> Result<()> {
        match self {
            Self::Edge(store) => store.advertise(addr),
            Self::Remote(_) => Ok(()),
        }
    }

    /// Connects to a Qdrant server or cluster.
    pub fn connect_remote(config: RemoteConfig) -> Result<Self> {
        RemoteStore::connect(config).map(Self::Remote)
    }

    /// The collection `spec` names, created on first use.
    pub fn collection(&self, spec: &CollectionSpec) -> Result<Collection> {
        match self {
            Self::Edge(store) => store.collection(spec).map(Collection::Edge),
            Self::Remote(store) => store.collection(spec).map(Collection::Remote),
        }
    }

    /// Names of the collections this store holds.
    pub fn collection_names(&self) -> Result<Vec<String>> {
        match self {
            Self::Edge(store) => store.collection_names(),
            Self::Remote(store) => store.collection_names(),
        }
    }

    /// Deletes a collection.
    pub fn drop_collection(&self, name: &str) -> Result<()> {
        match self {
            Self::Edge(store) => store.drop_collection(name),
            Self::Remote(store) => store.drop_collection(name),
        }
    }

    /// The collection called `name` with the schema it was created with, if it exists;
    /// for callers that read without knowing the schema (stats, inspection).
    pub fn open_existing(&self, name: &str) -> Result<Option<Collection>> {
        match self {
            Self::Edge(store) => match store.stored_spec(name)? {
                Some(spec) => store.collection(&spec).map(|c| Some(Collection::Edge(c))),
                None => Ok(None),
            },
            Self::Remote(store) => store.open_existing(name).map(|c| c.map(Collection::Remote)),
        }
    }

    /// Sizes and index state of every collection.
    pub fn stats(&self) -> Result<Vec<CollectionInfo>> {
        match self {
            Self::Edge(store) => store
                .collection_names()?
                .into_iter()
                .filter_map(|name| store.stored_spec(&name).transpose())
                .map(|spec| store.collection(&spec?)?.info())
                .collect(),
            Self::Remote(store) => store
                .collection_names()?
                .iter()
                .map(|name| store.info_by_name(name))
                .collect(),
        }
    }

    /// The circuit breaker guarding a Qdrant server (`None` for the embedded store, which
    /// has no connection to guard).
    pub fn breaker_status(&self) -> Option<BreakerStatus> {
        match self {
            Self::Edge(_) => None,
            Self::Remote(store) => Some(store.breaker_status()),
        }
    }

    /// Closes the circuit breaker of a Qdrant server's connection (nothing for the embedded
    /// store).
    pub fn reset_breaker(&self) {
        if let Self::Remote(store) = self {
            store.reset_breaker();
        }
    }

    /// Makes every acknowledged write durable in the backend's own files.
    pub fn flush(&self) -> Result<()> {
        match self {
            Self::Edge(store) => store.flush(),
            // Every acknowledged write is already applied by the server (wait=true).
            Self::Remote(_) => Ok(()),
        }
    }
}

/// A handle to one collection.
#[derive(Debug, Clone)]
pub enum Collection {
    /// An embedded collection.
    Edge(Arc<EdgeCollection>),
    /// A collection on a Qdrant server.
    Remote(RemoteCollection),
}

/// Every point's payload, as [`validate::payload`] wants it.
fn payloads(points: &[Point]) -> Result<()> {
    points
        .iter()
        .try_for_each(|p| validate::payload(&p.payload, Some(&p.id)))
}

impl Collection {
    /// The collection's name (without a deployment namespace).
    pub fn name(&self) -> String {
        match self {
            Self::Edge(c) => c.spec().name,
            Self::Remote(c) => c.spec().name.clone(),
        }
    }

    /// The schema it was created with.
    pub fn spec(&self) -> CollectionSpec {
        match self {
            Self::Edge(c) => c.spec(),
            Self::Remote(c) => c.spec().clone(),
        }
    }

    /// Stores points, replacing those with the same ids. Durable when it returns.
    pub fn upsert(&self, points: Vec<Point>) -> Result<()> {
        payloads(&points)?;
        match self {
            Self::Edge(c) => c.upsert(points),
            Self::Remote(c) => c.upsert(points),
        }
    }

    /// Stores the points that `mode` and `condition` let through: Qdrant's conditional
    /// upsert (`update_mode`; `update_filter`, which applies to points that exist). The check
    /// and the write are one step for the backend (under the write lock on Edge, in the
    /// shard's write order on a server); only Edge can say how many points were written
    /// ([`Applied`]): otherwise read back, as [`coord`] does.
    pub fn upsert_with(
        &self,
        points: Vec<Point>,
        mode: WriteMode,
        condition: Option<&Filter>,
    ) -> Result<Applied> {
        payloads(&points)?;
        match self {
            Self::Edge(c) => c.upsert_with(points, mode, condition).map(Applied::Points),
            Self::Remote(c) => c
                .upsert_with(points, mode, condition)
                .map(|()| Applied::Unknown),
        }
    }

    /// Deletes those of `ids` that pass `condition`, in one step with the check.
    pub fn delete_if(&self, ids: &[PointId], condition: &Filter) -> Result<Applied> {
        match self {
            Self::Edge(c) => c.delete_if(ids, condition).map(Applied::Points),
            Self::Remote(c) => c.delete_if(ids, condition).map(|()| Applied::Unknown),
        }
    }

    /// Sets payload fields on those of `ids` that pass `condition`, in one step with the
    /// check; the fields `payload` does not mention are kept.
    pub fn set_payload_if(
        &self,
        ids: &[PointId],
        payload: Payload,
        condition: &Filter,
    ) -> Result<Applied> {
        validate::payload(&payload, None)?;
        match self {
            Self::Edge(c) => c
                .set_payload_if(ids, payload, condition)
                .map(Applied::Points),
            Self::Remote(c) => c
                .set_payload_if(ids, payload, condition)
                .map(|()| Applied::Unknown),
        }
    }

    /// Reads points by id, skipping unknown ids, in the order of `ids`.
    pub fn get(&self, ids: &[PointId], with_vectors: bool) -> Result<Vec<Record>> {
        match self {
            Self::Edge(c) => c.get(ids, with_vectors),
            Self::Remote(c) => c.get(ids, with_vectors),
        }
    }

    /// Deletes points by id.
    pub fn delete(&self, ids: &[PointId]) -> Result<()> {
        match self {
            Self::Edge(c) => c.delete(ids),
            Self::Remote(c) => c.delete(ids),
        }
    }

    /// Deletes every point passing a (non-empty) filter.
    pub fn delete_by_filter(&self, filter: &Filter) -> Result<()> {
        match self {
            Self::Edge(c) => c.delete_by_filter(filter),
            Self::Remote(c) => c.delete_by_filter(filter),
        }
    }

    /// Sets payload fields on points, keeping the others.
    pub fn set_payload(&self, ids: &[PointId], payload: Payload) -> Result<()> {
        validate::payload(&payload, None)?;
        match self {
            Self::Edge(c) => c.set_payload(ids, payload),
            Self::Remote(c) => c.set_payload(ids, payload),
        }
    }

    /// A page of points in id order and the offset of the next page.
    pub fn scroll(
        &self,
        filter: Option<&Filter>,
        limit: usize,
        offset: Option<PointId>,
        with_vectors: bool,
    ) -> Result<(Vec<Record>, Option<PointId>)> {
        match self {
            Self::Edge(c) => c.scroll(filter, limit, offset, with_vectors),
            Self::Remote(c) => c.scroll(filter, limit, offset, with_vectors),
        }
    }

    /// A page of points in id order with every vector, exactly as stored, and the offset of
    /// the next page: what snapshots and migrations copy.
    pub fn export(
        &self,
        limit: usize,
        offset: Option<PointId>,
    ) -> Result<(Vec<StoredPoint>, Option<PointId>)> {
        match self {
            Self::Edge(c) => c.export(limit, offset),
            Self::Remote(c) => c.export(limit, offset),
        }
    }

    /// Stores points exactly as [`Collection::export`] read them (their keyword vectors
    /// included, not recomputed), replacing those with the same ids. Durable when it returns.
    pub fn import(&self, points: Vec<StoredPoint>) -> Result<()> {
        points
            .iter()
            .try_for_each(|p| validate::payload(&p.payload, Some(&p.id)))?;
        match self {
            Self::Edge(c) => c.import(points),
            Self::Remote(c) => c.import(points),
        }
    }

    /// The most frequent values of an indexed keyword or integer field among the points
    /// passing `filter`, and their exact point counts, most frequent first.
    pub fn facet(
        &self,
        field: &str,
        filter: Option<&Filter>,
        limit: usize,
    ) -> Result<Vec<(String, usize)>> {
        match self {
            Self::Edge(c) => c.facet(field, filter, limit),
            Self::Remote(c) => c.facet(field, filter, limit),
        }
    }

    /// The first `limit` points passing `filter`, in the order of an indexed numeric field
    /// (ties in no particular order), without vectors.
    pub fn scroll_ordered(
        &self,
        filter: Option<&Filter>,
        order: &Order,
        limit: usize,
    ) -> Result<Vec<Record>> {
        match self {
            Self::Edge(c) => c.scroll_ordered(filter, order, limit),
            Self::Remote(c) => c.scroll_ordered(filter, order, limit),
        }
    }

    /// Every point passing `filter` (all points without one), read page by page, without
    /// vectors.
    pub fn scroll_all(&self, filter: Option<&Filter>) -> Result<Vec<Record>> {
        const PAGE: usize = 1000;
        let mut records = Vec::new();
        let mut offset = None;
        loop {
            let (page, next) = self.scroll(filter, PAGE, offset, false)?;
            records.extend(page);
            match next {
                Some(next) => offset = Some(next),
                None => return Ok(records),
            }
        }
    }

    /// How many points pass `filter`.
    pub fn count(&self, filter: Option<&Filter>) -> Result<usize> {
        match self {
            Self::Edge(c) => c.count(filter),
            Self::Remote(c) => c.count(filter),
        }
    }

    /// Dense, keyword or hybrid search.
    pub fn search(&self, request: &SearchRequest) -> Result<Vec<Hit>> {
        match self {
            Self::Edge(c) => c.search(request),
            Self::Remote(c) => c.search(request),
        }
    }

    /// Sizes and index state.
    pub fn info(&self) -> Result<CollectionInfo> {
        match self {
            Self::Edge(c) => c.info(),
            Self::Remote(c) => c.info(),
        }
    }

    /// Builds pending indexes now (blocking) instead of waiting for the background.
    pub fn optimize(&self) -> Result<()> {
        match self {
            Self::Edge(c) => c.optimize().map(|_| ()),
            Self::Remote(c) => c.optimize(),
        }
    }

    /// Makes this collection's acknowledged writes durable in the backend's own files.
    pub fn flush(&self) -> Result<()> {
        match self {
            Self::Edge(c) => c.checkpoint(),
            Self::Remote(_) => Ok(()),
        }
    }
}
