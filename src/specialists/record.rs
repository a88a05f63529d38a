//! What specialist memory takes and answers: the inputs of `init_specialists`,
//! `record_session` and `record_outcome`, and the state, patterns and context it reads back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::PointId;

/// A specialist to create: its name and the topics it starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialistSpec {
    /// Its name (a label: 1 to 64 characters, no control characters), e.g. `crawdad`.
    pub id: String,
    /// What it knows about before any session, e.g. `["security", "authentication"]`.
    #[serde(default)]
    pub topics: Vec<String>,
}

/// What `init_specialists` did for one specialist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Initialised {
    /// The specialist.
    pub id: String,
    /// `true`: created now; `false`: it existed and keeps its history and topics.
    pub created: bool,
}

/// One concern a specialist raised in a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcernInput {
    /// The concern, e.g. "refresh tokens never expire".
    pub text: String,
    /// Its type, e.g. `security`, `performance`, `visibility` (default `general`).
    #[serde(default = "general")]
    pub kind: String,
}

/// The type of a concern given without one.
pub fn general() -> String {
    "general".to_owned()
}

/// One specialist's part in one deliberation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionInput {
    /// The question put to the council.
    pub question: String,
    /// The specialist's answer (kept up to [`super::MAX_RESPONSE_CHARS`] characters).
    pub response: String,
    /// The concerns it raised.
    pub concerns: Vec<ConcernInput>,
    /// Its decision or vote, if any (e.g. `PROCEED WITH CAUTION`).
    pub decision: Option<String>,
    /// The deliberation this session belongs to (the council's audit hash); a new one
    /// when absent. The same specialist and deliberation again is the same session.
    pub deliberation: Option<String>,
    /// The question's topics when the caller knows them; extracted from the question
    /// (YAKE) when absent.
    pub topics: Option<Vec<String>>,
}

/// How a deliberation's concerns turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The concerns were right (the council required a review, the risk was real).
    Validated,
    /// The concerns did not hold.
    Dismissed,
}

impl Verdict {
    /// The name stored and sent.
    pub fn name(self) -> &'static str {
        match self {
            Self::Validated => "validated",
            Self::Dismissed => "dismissed",
        }
    }
}

/// An earlier concern that a new one repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Repeat {
    /// The earlier concern.
    pub concern: PointId,
    /// Its text.
    pub text: String,
    /// The deliberation it was raised in.
    pub deliberation: String,
    /// Cosine similarity of the two concerns.
    pub similarity: f32,
    /// Cosine similarity of the two questions.
    pub question_similarity: f32,
    /// How that earlier concern turned out (null: no outcome yet).
    pub verdict: Option<Verdict>,
}

/// A concern as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordedConcern {
    /// Its id.
    pub id: PointId,
    /// The concern.
    pub text: String,
    /// Its type.
    pub kind: String,
    /// The earlier concern of this specialist, on a similar question, that it repeats.
    pub repeat_of: Option<Repeat>,
}

/// A recorded session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordedSession {
    /// The specialist.
    pub specialist: String,
    /// The deliberation (give it to `record_outcome`).
    pub deliberation: String,
    /// The session's id.
    pub id: PointId,
    /// The specialist's sessions, this one included, as counted after it was stored.
    pub session_count: u64,
    /// The question's topics.
    pub topics: Vec<String>,
    /// The first 16 hex digits of the question's SHA-256.
    pub question_hash: String,
    /// Characters of the response as sent.
    pub response_chars: usize,
    /// Whether only its first [`super::MAX_RESPONSE_CHARS`] characters were kept.
    pub response_truncated: bool,
    /// The concerns, in the order given.
    pub concerns: Vec<RecordedConcern>,
    /// `true` when this deliberation was already recorded for this specialist with the same
    /// question: nothing new was stored (a retry).
    pub replayed: bool,
}

/// What `record_outcome` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutcomeReport {
    /// The deliberation.
    pub deliberation: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Concerns marked now.
    pub marked: usize,
    /// Concerns that already carried this verdict (a retry).
    pub already: usize,
    /// The specialists whose concerns it covers.
    pub specialists: Vec<String>,
}

/// What a specialist learned about one (topic, concern type): how often its concerns of
/// that type on that topic were validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConcernPattern {
    /// The question's primary topic.
    pub topic: String,
    /// The concern type.
    pub kind: String,
    /// Concerns raised.
    pub raised: u64,
    /// Of those, validated.
    pub validated: u64,
    /// Of those, dismissed.
    pub dismissed: u64,
    /// The 95 % Wilson lower bound of validated / (validated + dismissed)
    /// (`src/confidence.rs`); 0 before any outcome.
    pub precision_lower_bound: f64,
}

/// How often a topic came up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TopicCount {
    /// The topic.
    pub topic: String,
    /// Sessions whose question had it (0 for a starting topic not asked about yet).
    pub sessions: u64,
}

/// A decision a specialist made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    /// The deliberation.
    pub deliberation: String,
    /// The decision.
    pub decision: String,
    /// When (Unix milliseconds).
    pub at: i64,
}

/// A concern as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Concern {
    /// Its id.
    pub id: PointId,
    /// The specialist.
    pub specialist: String,
    /// The deliberation.
    pub deliberation: String,
    /// The concern.
    pub text: String,
    /// Its type.
    pub kind: String,
    /// The question's primary topic.
    pub topic: String,
    /// The concern it repeats, if any.
    pub repeat_of: Option<PointId>,
    /// How it turned out (null: no outcome yet).
    pub verdict: Option<Verdict>,
    /// When it was raised (Unix milliseconds).
    pub at: i64,
}

/// A specialist's competence on a topic: how often its concerns there were validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Expertise {
    /// The topic.
    pub topic: String,
    /// Validated concerns.
    pub validated: u64,
    /// Concerns with an outcome.
    pub judged: u64,
    /// The 95 % Wilson lower bound of validated / judged.
    pub score: f64,
}

/// A concern a specialist keeps raising while no outcome has settled it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PendingRepeat {
    /// The first time it was raised.
    pub concern: PointId,
    /// Its text then.
    pub text: String,
    /// Its type.
    pub kind: String,
    /// Later concerns that repeat it and have no outcome yet.
    pub repeats: u64,
}

/// Everything a specialist remembers, as of now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpecialistState {
    /// The specialist.
    pub id: String,
    /// Sessions recorded (exact: one record each, counted).
    pub session_count: u64,
    /// Every topic seen, most frequent first, the starting topics included.
    pub topics: Vec<TopicCount>,
    /// The latest distinct topics, newest first (at most 10).
    pub recent_topics: Vec<String>,
    /// The latest decisions, newest first (at most 10).
    pub recent_decisions: Vec<Decision>,
    /// Concerns raised.
    pub concerns_raised: u64,
    /// The latest concerns, newest first (at most 10).
    pub recent_concerns: Vec<Concern>,
    /// Patterns learned: (topic, type) with at least one validated concern, best first.
    pub patterns: Vec<ConcernPattern>,
    /// Competence per topic, best first.
    pub expertise: Vec<Expertise>,
    /// Repeated concerns without an outcome, most repeated first.
    pub pending_repeats: Vec<PendingRepeat>,
    /// The first 16 hex digits of the SHA-256 of the latest question.
    pub last_question_hash: Option<String>,
    /// When it was created (Unix milliseconds).
    pub created_at: i64,
    /// When its latest session was recorded (Unix milliseconds; its creation before any).
    pub updated_at: i64,
}

/// A specialist's memory as prompt context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Context {
    /// "[Your experience: N sessions. Recent topics: …. Patterns learned: ….]", never
    /// longer than the budget (in characters); empty when not even the first part fits.
    pub text: String,
    /// Sessions recorded.
    pub session_count: u64,
    /// The topics in the text, newest first.
    pub recent_topics: Vec<String>,
    /// The patterns in the text, best first.
    pub patterns: Vec<ConcernPattern>,
    /// The repeated concerns in the text, most repeated first.
    pub pending_repeats: Vec<PendingRepeat>,
    /// Items left out for the budget.
    pub omitted: usize,
}
