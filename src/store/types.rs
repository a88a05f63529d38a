//! The records, ids and requests that cross the store boundary. Domain modules speak these;
//! only the backends know Qdrant's types.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::filter::Filter;

/// A point's payload: a JSON object.
pub type Payload = serde_json::Map<String, serde_json::Value>;

/// A point id. Qdrant accepts integers and UUIDs; engram always uses UUIDs so that ids can be
/// derived from content ([`PointId::from_content`]) and never collide across kinds.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = String, format = Uuid)]
pub struct PointId(uuid::Uuid);

impl PointId {
    /// The id whose 128 bits are `n` (handy for tests and generated data).
    pub fn from_u128(n: u128) -> Self {
        Self(uuid::Uuid::from_u128(n))
    }

    /// A stable id derived from `parts`: the same parts always give the same id, so storing
    /// the same thing twice updates it instead of duplicating it.
    pub fn from_content(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        let digest = hasher.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        // Mark it as a name-based (version 5 layout, RFC 9562 variant) UUID.
        bytes[6] = (bytes[6] & 0x0f) | 0x50;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(uuid::Uuid::from_bytes(bytes))
    }

    /// The UUID.
    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl From<uuid::Uuid> for PointId {
    fn from(uuid: uuid::Uuid) -> Self {
        Self(uuid)
    }
}

impl std::fmt::Display for PointId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for PointId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(s).map(Self)
    }
}

/// A point to store: its dense vector, the text that keyword search indexes, and a payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Its id; storing another point with the same id replaces it.
    pub id: PointId,
    /// The dense embedding; its length must be the collection's dimension.
    pub vector: Vec<f32>,
    /// The text BM25 indexes (not stored; put it in the payload too if it must come back).
    pub text: String,
    /// Arbitrary JSON fields; the indexed ones can be filtered on.
    pub payload: Payload,
}

/// A point exactly as stored, with every vector: its dense embedding (empty for a record
/// without one) and the BM25 term weights its text gave (the text itself is not stored).
/// What a snapshot carries, so that a restored point searches exactly as the original did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredPoint {
    /// Its id.
    pub id: PointId,
    /// The dense embedding; empty when the collection has no dense vectors.
    pub vector: Vec<f32>,
    /// The keyword vector (term ids and weights; empty when the text had no terms).
    pub keyword: super::keyword::SparseVector,
    /// Its payload.
    pub payload: Payload,
}

/// A stored point as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its id.
    pub id: PointId,
    /// Its payload.
    pub payload: Payload,
    /// Its dense vector, when asked for.
    pub vector: Option<Vec<f32>>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The point.
    pub id: PointId,
    /// The score the results are ordered by: cosine similarity for dense search, BM25 for
    /// keyword search, the fused score (see [`crate::store::fusion`]) for hybrid search.
    pub score: f32,
    /// Cosine similarity, when the dense half scored this point.
    pub dense_score: Option<f32>,
    /// BM25 score, when the keyword half scored this point.
    pub keyword_score: Option<f32>,
    /// The point's payload.
    pub payload: Payload,
}

/// What to search with.
#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Nearest neighbours of a dense vector by cosine similarity.
    Dense(Vec<f32>),
    /// BM25 over the indexed text.
    Keyword(String),
    /// Both, fused.
    Hybrid {
        /// The dense query vector.
        vector: Vec<f32>,
        /// The keyword query.
        text: String,
    },
}

/// Which half (or both) a search uses; what [`Query`] carries, without the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// Dense vectors only.
    Dense,
    /// BM25 only.
    Keyword,
    /// Both, fused.
    Hybrid,
}

impl Query {
    /// The mode of this query.
    pub fn mode(&self) -> SearchMode {
        match self {
            Self::Dense(_) => SearchMode::Dense,
            Self::Keyword(_) => SearchMode::Keyword,
            Self::Hybrid { .. } => SearchMode::Hybrid,
        }
    }
}

/// A search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// What to search with.
    pub query: Query,
    /// Only points that pass this filter.
    pub filter: Option<Filter>,
    /// At most this many results (1 ..= [`MAX_LIMIT`]).
    pub limit: usize,
    /// Drop results scoring below this.
    pub score_threshold: Option<f32>,
}

impl SearchRequest {
    /// A search for the `limit` best matches of `query`, unfiltered.
    pub fn new(query: Query, limit: usize) -> Self {
        Self {
            query,
            filter: None,
            limit,
            score_threshold: None,
        }
    }

    /// Restricts the search to points that pass `filter`.
    pub fn with_filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }
}

/// How a conditional write treats points that exist and points that do not: Qdrant's
/// `update_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// Insert new points; replace existing ones that pass the condition.
    Upsert,
    /// Insert new points; leave existing ones alone (create-if-absent).
    InsertOnly,
    /// Replace existing points that pass the condition; never insert.
    UpdateOnly,
}

/// What a conditional write did, as far as the backend tells: Qdrant Edge knows how many
/// points passed the condition; a Qdrant server does not say (read back to find out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// This many points were written.
    Points(usize),
    /// The backend does not report it.
    Unknown,
}

/// The order of an ordered scroll: by a numeric payload field (which needs an integer or
/// float index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The payload field.
    pub field: String,
    /// Largest first instead of smallest first.
    pub descending: bool,
}

impl Order {
    /// Smallest `field` first.
    pub fn ascending(field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            descending: false,
        }
    }

    /// Largest `field` first.
    pub fn descending(field: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            descending: true,
        }
    }
}

/// The largest `limit` a search or scroll accepts.
pub const MAX_LIMIT: usize = 10_000;

/// What a collection holds, as the backend counts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CollectionInfo {
    /// The collection's name (without the deployment namespace).
    pub name: String,
    /// Points stored.
    pub points: usize,
    /// Vectors in an index, as the backend counts them: dense vectors in HNSW graphs plus
    /// BM25 vectors (always in an inverted index). Dense vectors outside HNSW are searched
    /// exhaustively.
    pub indexed_vectors: usize,
    /// Storage segments.
    pub segments: usize,
    /// Bytes allocated on disk (not the apparent size of sparse files), when the backend
    /// can tell.
    pub disk_bytes: Option<u64>,
    /// Shards and replicas on a Qdrant server or cluster (`None` for the embedded store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<super::layout::ClusterLayout>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_are_stable_and_separate_parts() {
        let a = PointId::from_content(&[b"ab", b"c"]);
        assert_eq!(a, PointId::from_content(&[b"ab", b"c"]));
        assert_ne!(a, PointId::from_content(&[b"a", b"bc"]));
        assert_eq!(a.as_uuid().get_version_num(), 5);
        let text = a.to_string();
        assert_eq!(text.parse::<PointId>().expect("parse"), a);
    }
}
