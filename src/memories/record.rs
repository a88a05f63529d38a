//! What general memory takes and answers: a memory to add or update, a memory as stored, a
//! scored search result, sessions, relationships, groups and batch results.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::store::PointId;

/// The type of a memory given without one (the note's default).
pub const DEFAULT_TYPE: &str = "general";

/// How long a memory is meant to last: it sets the half-life of its recency and whether it
/// expires (DESIGN.md, "Scores"; see [`crate::memories::Scoring`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// A conversation's working notes: they expire unless reinforced or promoted.
    Short,
    /// Facts worth days or weeks.
    Medium,
    /// A fact base.
    Long,
}

impl Tier {
    /// The name stored and sent.
    pub fn name(self) -> &'static str {
        match self {
            Self::Short => "short",
            Self::Medium => "medium",
            Self::Long => "long",
        }
    }

    /// The tier of a name, or a message listing the three.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name {
            "short" => Ok(Self::Short),
            "medium" => Ok(Self::Medium),
            "long" => Ok(Self::Long),
            other => Err(format!(
                "memory tier {other:?} is unknown; give short, medium or long"
            )),
        }
    }
}

/// A memory to add (the note's `add_memory` arguments, with the session and agent).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MemoryInput {
    /// What to remember.
    pub content: String,
    /// Its type, e.g. `fact`, `conversation` (default [`DEFAULT_TYPE`]).
    pub memory_type: Option<String>,
    /// Its tier (default short, the note's).
    pub memory_tier: Option<Tier>,
    /// How much it matters, in [0, 1] (default 0.5).
    pub importance: Option<f64>,
    /// Any JSON object the caller keeps with it (at most 64 KiB serialised).
    pub metadata: Option<Map<String, Value>>,
    /// Labels to filter on.
    pub tags: Vec<String>,
    /// The memory it belongs under; it must exist.
    pub parent_id: Option<PointId>,
    /// The session it was made in; it must exist.
    pub session_id: Option<PointId>,
    /// The agent it belongs to (none: every caller may see it).
    pub agent_id: Option<String>,
}

impl MemoryInput {
    /// A memory of `content` with the note's defaults (general, short, importance 0.5).
    pub fn new(content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            ..Self::default()
        }
    }
}

/// Changes to a memory (the note's `update_payload`): absent fields keep their value.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct MemoryUpdate {
    /// New content (re-embedded).
    pub content: Option<String>,
    /// New type.
    pub memory_type: Option<String>,
    /// New tier: promoting a short-term memory to medium or long ends its expiry.
    pub memory_tier: Option<Tier>,
    /// New importance, in [0, 1].
    pub importance: Option<f64>,
    /// New metadata (replaces the old object).
    pub metadata: Option<Map<String, Value>>,
    /// New tags (replace the old ones).
    pub tags: Option<Vec<String>>,
    /// The version the change is based on: any other current version is a conflict and
    /// nothing changes. Without it the change applies to whatever version is current.
    pub expected_version: Option<u64>,
}

/// A memory as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = GeneralMemory)]
pub struct Memory {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: PointId,
    /// What it says.
    pub content: String,
    /// Its type.
    pub memory_type: String,
    /// Its tier.
    pub memory_tier: Tier,
    /// How much it matters, 0 to 1.
    pub importance: f64,
    /// The caller's JSON object.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    /// Its tags.
    pub tags: Vec<String>,
    /// The memory it belongs under.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_id: Option<PointId>,
    /// The session it was made in.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub session_id: Option<PointId>,
    /// The agent it belongs to.
    pub agent_id: Option<String>,
    /// Its version: 1 when added, one more per update.
    pub version: u64,
    /// When it was added (Unix milliseconds).
    pub created_at: i64,
    /// When its current version was written (Unix milliseconds).
    pub updated_at: i64,
    /// When it was last added, updated or reinforced (Unix milliseconds): recency counts
    /// from here.
    pub touched_at: i64,
    /// When it expires (short-term memories only; Unix milliseconds).
    pub expires_at: Option<i64>,
}

/// A memory found by a search, with its score and the score's parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScoredMemory {
    /// The memory.
    pub memory: Memory,
    /// The retrieval score, 0 to 1: the weighted mean of the four parts below
    /// ([`crate::memories::Scoring`]).
    pub score: f64,
    /// How well it matches the query, 0 to 1 (engram's hybrid similarity: absolute).
    pub relevance: f64,
    /// 2^(−age / half-life of its tier), 0 to 1; age counts from `touched_at`.
    pub recency: f64,
    /// 1 − ∏ 1/factor over its reinforcements, 0 to 1.
    pub reinforcement: f64,
}

/// Filters of a search (every one given must hold).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryFilters {
    /// Only this type.
    #[serde(default)]
    pub memory_type: Option<String>,
    /// Only this tier.
    #[serde(default)]
    pub memory_tier: Option<Tier>,
    /// Only memories carrying every one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Only children of this memory.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub parent_id: Option<PointId>,
    /// Only memories of this session.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub session_id: Option<PointId>,
    /// Only members of this context group.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub group_id: Option<PointId>,
    /// Only memories of this agent.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Only memories added at or after this time (Unix milliseconds).
    #[serde(default)]
    pub created_after: Option<i64>,
    /// Only memories added before this time (Unix milliseconds).
    #[serde(default)]
    pub created_before: Option<i64>,
}

/// A memory's versions, oldest first; the last is the current one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemoryHistory {
    /// The memory's id.
    #[schema(value_type = String, format = Uuid)]
    pub id: PointId,
    /// Every version kept, oldest first.
    pub versions: Vec<Memory>,
}

/// What a delete removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deletion {
    /// The memory asked for.
    #[schema(value_type = String, format = Uuid)]
    pub id: PointId,
    /// Memories removed (the memory and, with cascade, its descendants).
    pub deleted: usize,
    /// Children left without a parent (without cascade).
    pub detached: usize,
    /// Relationships removed with them.
    pub relationships: usize,
}

/// A reinforcement's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reinforced {
    /// The memory, with its new `touched_at` (and `expires_at` when short-term).
    pub memory: Memory,
    /// How many reinforcements it has had.
    pub reinforcements: usize,
    /// Its reinforcement now, 0 to 1 (1 − ∏ 1/factor).
    pub reinforcement: f64,
}

/// A session (the note's `create_session`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = MemorySession)]
pub struct Session {
    /// Its id.
    #[schema(value_type = String, format = Uuid)]
    pub id: PointId,
    /// The user it is with.
    pub user_id: String,
    /// Its kind (default `conversation`).
    pub session_type: String,
    /// The caller's JSON object.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    /// The agent that opened it.
    pub agent_id: Option<String>,
    /// When it started (Unix milliseconds).
    pub created_at: i64,
    /// When it ended (Unix milliseconds), if it has.
    pub ended_at: Option<i64>,
}

/// Which way a relationship points from the memory asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The memory is the relationship's source.
    Outgoing,
    /// The memory is the relationship's target.
    Incoming,
}

/// A relationship between two memories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Relationship {
    /// Its id (derived from source, target and type: adding it again changes nothing).
    #[schema(value_type = String, format = Uuid)]
    pub id: PointId,
    /// The memory it starts from.
    #[schema(value_type = String, format = Uuid)]
    pub source_id: PointId,
    /// The memory it points to.
    #[schema(value_type = String, format = Uuid)]
    pub target_id: PointId,
    /// Its type, e.g. `supports`, `contradicts`.
    pub relationship_type: String,
    /// How strong, 0 to 1.
    pub strength: f64,
    /// When it was added (Unix milliseconds).
    pub created_at: i64,
}

/// A memory related to the one asked about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Related {
    /// The other memory.
    pub memory: Memory,
    /// The relationship.
    pub relationship: Relationship,
    /// Whether the memory asked about is its source or its target.
    pub direction: Direction,
}

/// A context group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Group {
    /// Its id (a UUID: unique across servers).
    #[schema(value_type = String, format = Uuid)]
    pub id: PointId,
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// When it was made (Unix milliseconds).
    pub created_at: i64,
}

/// A group's members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupMembers {
    /// The group.
    pub group: Group,
    /// Its members the caller may see, oldest membership first.
    pub memories: Vec<Memory>,
}

/// Why one item of a batch was not stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemError {
    /// A stable code: `invalid_request`, `not_found`, `forbidden`.
    pub code: String,
    /// What is wrong with the item.
    pub message: String,
}

/// One item's result in a batch add: the memory, or why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchItem {
    /// The item's position in the request (from 0).
    pub index: usize,
    /// The memory stored.
    pub memory: Option<Memory>,
    /// Why it was not stored.
    pub error: Option<ItemError>,
}

/// A batch add's results, one per item in request order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BatchAdded {
    /// How many were stored.
    pub stored: usize,
    /// How many were refused.
    pub failed: usize,
    /// One result per item, in request order.
    pub results: Vec<BatchItem>,
}
