//! What agent memory takes and answers: a learning to add, a learning as an agent sees it,
//! the promotion ledger, cross-pollination's report and expertise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::PointId;

/// The workspace of a learning given without one.
pub const DEFAULT_WORKSPACE: &str = "default";
/// The domain of a learning given without one.
pub const DEFAULT_DOMAIN: &str = "general";

/// Who a learning is visible to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Only the agent that learned it.
    Private,
    /// Every agent of its workspace.
    Shared,
    /// Promoted as a near-duplicate of a shared learning, which now counts this agent among
    /// those that corroborate it (`merged_into`); seen only by its agent.
    Merged,
}

impl Scope {
    /// The name stored and sent.
    pub fn name(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Shared => "shared",
            Self::Merged => "merged",
        }
    }
}

/// A learning to add (the note's `add_learning` arguments, with the agent's role, workspace
/// and domain).
#[derive(Debug, Clone, PartialEq)]
pub struct LearningInput {
    /// What was learned, e.g. "Clear requirements reduce debugging time".
    pub content: String,
    /// Where it came from, e.g. `user_feedback`, `self_evaluation`.
    pub source: String,
    /// `positive`, `negative` or `neutral` (any label).
    pub sentiment: String,
    /// How sure the agent is, in [0, 1].
    pub confidence: f64,
    /// The tool it concerns, if any.
    pub tool_name: Option<String>,
    /// What to do about it.
    pub recommendation: String,
    /// The agent's role, e.g. `researcher` (default: the agent's name).
    pub role: Option<String>,
    /// The workspace whose pool it may join (default [`DEFAULT_WORKSPACE`]).
    pub workspace: Option<String>,
    /// Its domain, e.g. `research` (default [`DEFAULT_DOMAIN`]).
    pub domain: Option<String>,
    /// Private (the default) or shared at once.
    pub private: bool,
}

impl LearningInput {
    /// A private learning with the note's defaults: neutral, confidence 0.8.
    pub fn new(content: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            source: source.into(),
            sentiment: "neutral".into(),
            confidence: 0.8,
            tool_name: None,
            recommendation: String::new(),
            role: None,
            workspace: None,
            domain: None,
            private: true,
        }
    }

    /// With this confidence.
    pub fn confidence(mut self, confidence: f64) -> Self {
        self.confidence = confidence;
        self
    }

    /// In this domain.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// In this workspace.
    pub fn workspace(mut self, workspace: impl Into<String>) -> Self {
        self.workspace = Some(workspace.into());
        self
    }

    /// Shared at once instead of private.
    pub fn shared(mut self) -> Self {
        self.private = false;
        self
    }
}

/// A learning as an agent sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Learning {
    /// Its id.
    pub id: PointId,
    /// What was learned.
    pub content: String,
    /// Where it came from.
    pub source: String,
    /// Its sentiment.
    pub sentiment: String,
    /// The agent's confidence, in [0, 1].
    pub confidence: f64,
    /// The tool it concerns.
    pub tool_name: Option<String>,
    /// What to do about it.
    pub recommendation: String,
    /// The agent that learned it.
    pub agent: String,
    /// That agent's role.
    pub role: String,
    /// Its workspace.
    pub workspace: String,
    /// Its domain.
    pub domain: String,
    /// Private, shared or merged.
    pub scope: Scope,
    /// Unix milliseconds of its creation.
    pub created_at: i64,
    /// Unix milliseconds of its promotion (shared or merged learnings that were private).
    pub promoted_at: Option<i64>,
    /// The shared learning it was merged into, for a merged one.
    pub merged_into: Option<PointId>,
    /// The agents whose learnings this shared one stands for: its own agent, then those of
    /// the near-duplicates merged into it (alphabetically). Only its agent otherwise.
    pub corroborated_by: Vec<String>,
}

/// A learning recalled by meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecalledLearning {
    /// The learning.
    #[serde(flatten)]
    pub learning: Learning,
    /// How well it matches, in `[0, 1]`: the hybrid score of [`crate::store::fusion`] (the
    /// cosine and the keyword match), as every recall of engram answers; absolute, so a
    /// threshold on it can say "nothing relevant".
    pub similarity: f32,
    /// The cosine of the query's and the learning's embeddings (all-MiniLM-L6-v2), in
    /// `[-1, 1]`.
    pub cosine: f32,
}

/// One promotion in the ledger (the note's `get_promotion_history`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PromotionEntry {
    /// The learning promoted.
    pub learning_id: PointId,
    /// The agent that learned it (the note's `bot_id`).
    pub agent: String,
    /// Its workspace.
    pub workspace: String,
    /// Its scope before the promotion (`private`).
    pub original_scope: Scope,
    /// Unix milliseconds of the promotion (the note's `promotion_date`).
    pub promoted_at: i64,
    /// Why (the note's `promotion_reason`).
    pub reason: String,
    /// Who promoted it: the agent itself, an admin, or `cross-pollination` (the note's
    /// `cross_pollinated_by`).
    pub promoted_by: String,
    /// The shared learning it was merged into, when it was a near-duplicate of one.
    pub merged_into: Option<PointId>,
    /// Cosine similarity with `merged_into`.
    pub merge_similarity: Option<f32>,
    /// Times the shared learning was returned to an agent since (one observation each; for a
    /// merged learning, those of the learning it was merged into).
    pub exposure_count: u64,
}

/// What one promotion did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Promotion {
    /// `true`: promoted now; `false`: it was promoted before (the ledger has one entry per
    /// learning) or was shared from the start.
    pub promoted: bool,
    /// The ledger entry (absent for a learning shared from the start).
    pub entry: Option<PromotionEntry>,
}

/// Cross-pollination's knobs (the note's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PollinationOptions {
    /// Only private learnings at least this confident are promoted (default 0.75).
    pub confidence_threshold: f64,
    /// At most this many promotions per agent per run (default 3).
    pub max_promotions_per_agent: usize,
}

impl Default for PollinationOptions {
    fn default() -> Self {
        Self {
            confidence_threshold: 0.75,
            max_promotions_per_agent: 3,
        }
    }
}

/// What a cross-pollination run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PollinationReport {
    /// Learnings promoted per agent (merged ones included): the note's `{bot_id: count}`.
    pub promoted: BTreeMap<String, usize>,
    /// Of those, how many were merged into a shared near-duplicate, per agent.
    pub merged: BTreeMap<String, usize>,
    /// The ledger entries written by this run, in the order they were made.
    pub entries: Vec<PromotionEntry>,
}

/// An agent's record in one domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AgentExpertise)]
pub struct Expertise {
    /// The agent.
    pub agent: String,
    /// The domain.
    pub domain: String,
    /// successes / interactions (the note's definition); 0.5 before any interaction.
    pub score: f64,
    /// Lower bound of the 95 % Wilson interval of successes / interactions (0 before any):
    /// what agents are ranked by, so that 1 of 1 does not beat 95 of 100.
    pub lower_bound: f64,
    /// Successful interactions.
    pub successes: u64,
    /// All interactions (the sample size).
    pub interactions: u64,
}

/// The best agent for a domain, and how every candidate ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BestAgent {
    /// The domain.
    pub domain: String,
    /// The candidate with the highest lower bound (ties: more interactions, then the order
    /// given).
    pub best: String,
    /// Every candidate, best first.
    pub ranking: Vec<Expertise>,
}
