//! Episodes and their events, as stored.

use serde::{Deserialize, Serialize};

use crate::memory::Metrics;
use crate::store::{Payload, PointId};

/// Where an episode stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EpisodeStatus {
    /// Started and not ended: in progress, or its process died.
    Running,
    /// Ended successfully.
    Succeeded,
    /// Ended in failure.
    Failed,
    /// Given up without an outcome (typically after its process died).
    Abandoned,
}

impl EpisodeStatus {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
        }
    }
}

/// Where a failed episode's failure showed.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct FailurePoint {
    /// The type of the event that shows the failure.
    pub event_type: String,
    /// The role of the agent that recorded it.
    pub agent_role: String,
    /// The normalised error line, when the event carries an error.
    pub signature: Option<String>,
}

/// One episode of task execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Episode {
    /// The task.
    pub task: String,
    /// Free-form context given at the start.
    #[schema(value_type = Object)]
    pub context: Payload,
    /// Where it stands.
    pub status: EpisodeStatus,
    /// Measurements given at the end.
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, f64>)]
    pub metrics: Metrics,
    /// Unix milliseconds of the start.
    pub started_at: i64,
    /// Unix milliseconds of the end, once ended.
    #[serde(default)]
    pub ended_at: Option<i64>,
    /// Events recorded, counted at the end.
    #[serde(default)]
    pub event_count: Option<u64>,
    /// Where it failed, for failed episodes.
    #[serde(default)]
    pub failure: Option<FailurePoint>,
    /// Why it was abandoned, for abandoned episodes.
    #[serde(default)]
    pub abandon_reason: Option<String>,
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// The episode it belongs to.
    pub episode_id: PointId,
    /// Its position in the episode, from 0.
    pub seq: u64,
    /// What happened: generate, vote, test, error, …
    pub event_type: String,
    /// Who did it: coder, tester, judge, …
    pub agent_role: String,
    /// Details, a JSON object.
    #[schema(value_type = Object)]
    pub data: Payload,
    /// Unix milliseconds when it was recorded.
    pub at: i64,
}

/// An episode with its events in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EpisodeLog {
    /// Its id.
    pub id: PointId,
    /// The episode.
    pub episode: Episode,
    /// Its events, by sequence number.
    pub events: Vec<Event>,
}

/// Failed episodes that went wrong the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FailureGroup {
    /// Where they failed.
    pub failure: FailurePoint,
    /// How many.
    pub count: usize,
    /// Their share of all failed episodes, in `[0, 1]`.
    pub share: f64,
    /// Up to five of them.
    pub examples: Vec<PointId>,
}

/// What went wrong in past failures, most frequent first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FailureReport {
    /// Failed episodes in all.
    pub failed_episodes: usize,
    /// The groups, by count.
    pub groups: Vec<FailureGroup>,
}
