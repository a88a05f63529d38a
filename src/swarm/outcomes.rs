//! Task outcomes and what they teach (design note 004, "Neural Pattern Learning"): every
//! finished task is recorded once, with the situation it ran in; a new situation is matched
//! by meaning against the recorded ones, and the strategies used there are ranked by how
//! often they succeeded, with a confidence interval that says how much evidence there is.
//!
//! - `swarm_outcomes` holds one point per outcome, never changed (coordination rule 2:
//!   counts are aggregated on read, so two servers recording at once lose nothing). Its
//!   vector embeds the *situation*: the task type and the context, without the strategy, so
//!   that similar situations meet whichever strategy they were handled with.
//! - A strategy's expected success rate is `successes / n` over the nearest outcomes that
//!   used it; its interval is the 95 % Wilson score interval and strategies rank by its lower
//!   bound ([`crate::confidence`]), so 1 success in 1 run does not beat 19 in 20.
//! - Insights ([`InsightKind`]) are the same counts over every outcome of a task type.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{Result, SwarmError};
use crate::confidence::wilson_interval;
use crate::embed::Embedder;
use crate::store::coord::idempotency::IdempotencyKeys;
use crate::store::{
    Collection, CollectionSpec, Condition, FieldKind, Filter, Point, PointId, Query, SearchRequest,
    Store, from_payload, to_payload,
};

/// The collection of outcomes.
pub const OUTCOMES_COLLECTION: &str = "swarm_outcomes";
/// Most agents one outcome names.
pub const MAX_AGENTS: usize = 64;
/// Largest context, serialised (bytes).
pub const MAX_CONTEXT_BYTES: usize = 16 << 10;
/// Longest execution time (seconds): a year.
pub const MAX_EXECUTION_SECONDS: f64 = 365.0 * 24.0 * 3600.0;
/// Most agents a situation may say are available: the largest integer every JSON client
/// holds exactly (2⁵³ − 1).
pub const MAX_AVAILABLE_AGENTS: u64 = (1 << 53) - 1;
/// How many nearest outcomes a recommendation weighs by default.
pub const DEFAULT_NEIGHBOURS: usize = 50;
/// Most nearest outcomes a recommendation may weigh.
pub const MAX_NEIGHBOURS: usize = 500;
/// Example outcome ids given per strategy (the nearest first).
const EXAMPLES: usize = 3;

/// The schema of the outcomes collection.
pub fn outcomes_spec(dimension: usize) -> CollectionSpec {
    CollectionSpec::new(OUTCOMES_COLLECTION, dimension)
        .with_index("task_type", FieldKind::Keyword)
        .with_index("strategy", FieldKind::Keyword)
        .with_index("agents", FieldKind::Keyword)
        .with_index("agent_count", FieldKind::Integer)
        .with_index("success", FieldKind::Bool)
        .with_index("recorded_at", FieldKind::Integer)
}

/// `record_task_outcome(task_type, agents, success, execution_time, context)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOutcome {
    /// What kind of task it was (`data_processing`, `code_review`, …): a label.
    pub task_type: String,
    /// The agents that worked on it (1 to 64 labels; repeats count once).
    pub agents: Vec<String>,
    /// Whether it succeeded.
    pub success: bool,
    /// Wall time it took, seconds (0 to a year).
    pub execution_time: f64,
    /// The situation: any JSON object up to 16 KiB (`data_size`, `complexity`, …). A
    /// string `strategy` in it names the strategy when the field below is not given.
    #[serde(default)]
    pub context: Map<String, Value>,
    /// How the swarm went about it (`parallel_processing`, `pair_review`, …; a label). Default: the
    /// context's `strategy`, else the team size (`1-agent`, `3-agent`).
    #[serde(default)]
    pub strategy: Option<String>,
}

/// A recorded outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SwarmOutcome)]
pub struct Outcome {
    /// Its id.
    pub id: String,
    /// What kind of task it was.
    pub task_type: String,
    /// How the swarm went about it.
    pub strategy: String,
    /// The agents that worked on it, each once.
    pub agents: Vec<String>,
    /// Whether it succeeded.
    pub success: bool,
    /// Wall time it took, seconds.
    pub execution_time: f64,
    /// The situation it ran in.
    pub context: Map<String, Value>,
    /// The agent whose key recorded it (`None`: an admin).
    pub recorded_by: Option<String>,
    /// Unix milliseconds of the recording.
    pub recorded_at: i64,
}

/// An outcome as stored: the outcome and the number of agents (what a recommendation
/// filters on when the situation says how many agents are available).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OutcomeRecord {
    #[serde(flatten)]
    outcome: Outcome,
    agent_count: u64,
}

/// A strategy as the outcomes behind it show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SwarmStrategy)]
pub struct Strategy {
    /// Its name.
    pub strategy: String,
    /// One sentence: the strategy, its record and its typical time.
    pub description: String,
    /// `successes / outcomes`.
    pub expected_success_rate: f64,
    /// The 95 % Wilson score interval of the success rate, `[lower, upper]`.
    pub confidence_interval: [f64; 2],
    /// How many outcomes are behind it.
    pub outcomes: u64,
    /// How many of them succeeded.
    pub successes: u64,
    /// Median execution time of those outcomes, seconds.
    pub median_execution_time: f64,
    /// Similarity of its nearest outcome to the situation asked about (engram's hybrid
    /// similarity, 0 to 1; `null` for insights, which weigh every outcome).
    pub similarity: Option<f64>,
    /// Ids of its outcomes nearest to the situation (at most 3).
    pub example_ids: Vec<String>,
}

/// `get_coordination_strategy(context)`: the best strategy and the others, all from the
/// outcomes nearest to the situation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SwarmRecommendation)]
pub struct Recommendation {
    /// The strategy with the highest lower bound of its success interval (`null`: no
    /// outcome is recorded for anything like this situation).
    pub strategy: Option<Strategy>,
    /// The other strategies, best first.
    pub alternatives: Vec<Strategy>,
    /// How many outcomes were weighed.
    pub considered: usize,
    /// Whether they are all of the situation's `task_type` (false when it named none, or
    /// none of that type is recorded and the nearest of any type were weighed).
    pub same_task_type: bool,
}

/// What an insight is about (the note's pattern types that outcomes can show).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SwarmInsightKind)]
pub enum InsightKind {
    /// Which strategy succeeds most for a task type.
    TaskDistribution,
    /// How many agents to put on a task type.
    ResourceAllocation,
    /// Which strategy is fastest among those that succeed for a task type.
    Optimization,
    /// Task types and strategies that fail more often than not.
    Failure,
}

impl InsightKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::TaskDistribution,
        Self::ResourceAllocation,
        Self::Optimization,
        Self::Failure,
    ];

    /// The name used in requests.
    pub fn name(self) -> &'static str {
        match self {
            Self::TaskDistribution => "task_distribution",
            Self::ResourceAllocation => "resource_allocation",
            Self::Optimization => "optimization",
            Self::Failure => "failure",
        }
    }

    /// The kind named `name`, with an error listing the kinds.
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                SwarmError::InvalidInput(format!(
                    "no insight kind {name:?}; the kinds are {}",
                    Self::ALL.map(Self::name).join(", ")
                ))
            })
    }
}

/// `get_learning_insights(kind)`: one thing the recorded outcomes show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = SwarmInsight)]
pub struct Insight {
    /// What it is about.
    pub kind: InsightKind,
    /// The task type it holds for.
    pub task_type: String,
    /// One sentence, with the counts behind it.
    pub description: String,
    /// How sure it is, 0 to 1: the lower bound of the 95 % Wilson interval of the ratio
    /// the insight rests on (successes of the recommended option; failures, for `failure`;
    /// runs faster than the other strategies' median, for `optimization`).
    pub confidence: f64,
    /// What it recommends or warns about: a strategy, or a team size (`3-agent`).
    pub subject: String,
    /// How many outcomes it rests on.
    pub outcomes: u64,
    /// Ids of some of those outcomes (at most 3).
    pub example_ids: Vec<String>,
}

/// The outcomes of a store and what they teach.
pub struct Outcomes {
    collection: Collection,
    embedder: Arc<dyn Embedder>,
    keys: IdempotencyKeys,
}

impl std::fmt::Debug for Outcomes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcomes").finish_non_exhaustive()
    }
}

impl Outcomes {
    /// Opens (creating on first use) the outcomes collection.
    pub fn open(store: &Store, embedder: Arc<dyn Embedder>) -> Result<Self> {
        Ok(Self {
            collection: store.collection(&outcomes_spec(embedder.dimension()))?,
            keys: IdempotencyKeys::open(store)?,
            embedder,
        })
    }

    /// `record_task_outcome`: stores `outcome`, recorded by `agent` (`None`: an admin) at
    /// `now` (Unix milliseconds). Durable when it returns; with an idempotency `key`, a
    /// retry answers the first call's outcome instead of recording it twice.
    pub fn record(
        &self,
        agent: Option<&str>,
        outcome: &NewOutcome,
        now: i64,
        key: Option<&str>,
    ) -> Result<Outcome> {
        let stored = validate(agent, outcome, now)?;
        let request = serde_json::json!({"agent": agent, "outcome": outcome});
        self.keys.run("swarm/outcome", key, &request, |_| {
            let mut stored = stored;
            // With an idempotency key the id derives from it: a retry that takes over a
            // claim whose first run crashed after writing rewrites the same point.
            let id = match key {
                Some(key) => PointId::from_content(&[
                    b"swarm_outcome",
                    agent.unwrap_or_default().as_bytes(),
                    key.as_bytes(),
                ]),
                None => PointId::from(uuid::Uuid::new_v4()),
            };
            stored.outcome.id = id.to_string();
            let text = situation(Some(&stored.outcome.task_type), &stored.outcome.context);
            let vector = self.embedder.embed(&text)?;
            self.collection.upsert(vec![Point {
                id,
                vector,
                text,
                payload: to_payload(&stored)?,
            }])?;
            Ok(stored.outcome)
        })
    }

    /// `get_coordination_strategy(context)`: weighs the `neighbours` outcomes nearest by
    /// meaning to the situation (1 to [`MAX_NEIGHBOURS`]), grouped by strategy. A string
    /// `task_type` in the context keeps to outcomes of that type (the nearest of any type
    /// when none is recorded); a positive integer `available_agents` keeps to outcomes with
    /// at most that many agents.
    pub fn recommend(
        &self,
        context: &Map<String, Value>,
        neighbours: usize,
    ) -> Result<Recommendation> {
        if !(1..=MAX_NEIGHBOURS).contains(&neighbours) {
            return Err(SwarmError::InvalidInput(format!(
                "neighbours is {neighbours}; give 1 to {MAX_NEIGHBOURS}"
            )));
        }
        check_context(context)?;
        let task_type = match context.get("task_type") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) => Some(name("context.task_type", t)?),
            Some(_) => {
                return Err(SwarmError::InvalidInput(
                    "context.task_type must be a string".into(),
                ));
            }
        };
        let task_type = task_type.as_deref();
        let available = match context.get("available_agents") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_u64()
                    .filter(|n| (1..=MAX_AVAILABLE_AGENTS).contains(n))
                    .ok_or_else(|| {
                        SwarmError::InvalidInput(format!(
                            "context.available_agents must be a whole number of agents, 1 \
                             to {MAX_AVAILABLE_AGENTS}"
                        ))
                    })?,
            ),
        };
        let text = situation(task_type, context);
        if crate::text::is_blank(&text) {
            return Err(SwarmError::InvalidInput(
                "the context is empty; describe the situation (task_type and anything else \
                 that matters)"
                    .into(),
            ));
        }
        let vector = self.embedder.embed(&text)?;
        let search = |by_type: Option<&str>| -> Result<Vec<(OutcomeRecord, f64)>> {
            let mut conditions = Vec::new();
            if let Some(t) = by_type {
                conditions.push(Condition::keyword("task_type", t));
            }
            if let Some(n) = available {
                conditions.push(Condition::at_most("agent_count", n as f64));
            }
            let mut request = SearchRequest::new(
                Query::Hybrid {
                    vector: vector.clone(),
                    text: text.clone(),
                },
                neighbours,
            );
            if !conditions.is_empty() {
                request = request.with_filter(Filter::all(conditions));
            }
            self.collection
                .search(&request)?
                .into_iter()
                .map(|hit| {
                    let record: OutcomeRecord =
                        from_payload(OUTCOMES_COLLECTION, hit.id, hit.payload)?;
                    Ok((record, f64::from(hit.score).clamp(0.0, 1.0)))
                })
                .collect()
        };
        let mut same_task_type = task_type.is_some();
        let mut nearest = search(task_type)?;
        if nearest.is_empty() && task_type.is_some() {
            same_task_type = false;
            nearest = search(None)?;
        }
        let groups = grouped(
            nearest.iter().map(|(record, s)| (&record.outcome, *s)),
            |o| o.strategy.clone(),
        );
        let mut strategies: Vec<Strategy> = groups
            .into_iter()
            .map(|(name, members)| summarise(&name, &members, true))
            .collect();
        strategies.sort_by(rank);
        let mut strategies = strategies.into_iter();
        Ok(Recommendation {
            strategy: strategies.next(),
            alternatives: strategies.collect(),
            considered: nearest.len(),
            same_task_type,
        })
    }

    /// `get_learning_insights(kind)`: what every recorded outcome (of `task_type` only, if
    /// given) shows, most confident first. Reads all of them: its cost grows with the
    /// number of outcomes.
    pub fn insights(&self, kind: InsightKind, task_type: Option<&str>) -> Result<Vec<Insight>> {
        let task_type = task_type.map(|t| name("task_type", t)).transpose()?;
        let filter = task_type.map(|t| Filter::all([Condition::keyword("task_type", t)]));
        let mut by_type: BTreeMap<String, Vec<Outcome>> = BTreeMap::new();
        for point in self.collection.scroll_all(filter.as_ref())? {
            let record: OutcomeRecord = from_payload(OUTCOMES_COLLECTION, point.id, point.payload)?;
            by_type
                .entry(record.outcome.task_type.clone())
                .or_default()
                .push(record.outcome);
        }
        let mut insights = Vec::new();
        for (task_type, mut outcomes) in by_type {
            // A stable order (newest first) for the examples.
            outcomes.sort_by(|a, b| {
                b.recorded_at
                    .cmp(&a.recorded_at)
                    .then_with(|| a.id.cmp(&b.id))
            });
            insights.extend(insights_of(kind, &task_type, &outcomes));
        }
        insights.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then_with(|| a.task_type.cmp(&b.task_type))
                .then_with(|| a.subject.cmp(&b.subject))
        });
        Ok(insights)
    }
}

impl super::Swarm {
    /// `record_task_outcome(task_type, agents, success, execution_time, context)`, by
    /// `agent` (`None`: an admin), at the swarm's clock ([`Outcomes::record`]).
    pub fn record_task_outcome(
        &self,
        agent: Option<&str>,
        outcome: &NewOutcome,
        key: Option<&str>,
    ) -> Result<Outcome> {
        self.outcomes().record(agent, outcome, self.now(), key)
    }

    /// `get_coordination_strategy(context)` over the [`DEFAULT_NEIGHBOURS`] nearest
    /// outcomes ([`Outcomes::recommend`]).
    pub fn get_coordination_strategy(
        &self,
        context: &Map<String, Value>,
    ) -> Result<Recommendation> {
        self.outcomes().recommend(context, DEFAULT_NEIGHBOURS)
    }

    /// `get_learning_insights(kind)` over every outcome ([`Outcomes::insights`]).
    pub fn get_learning_insights(&self, kind: InsightKind) -> Result<Vec<Insight>> {
        self.outcomes().insights(kind, None)
    }
}

/// Checks an outcome and builds its record.
fn validate(agent: Option<&str>, outcome: &NewOutcome, now: i64) -> Result<OutcomeRecord> {
    let invalid = SwarmError::InvalidInput;
    let task_type = name("task_type", &outcome.task_type)?;
    if outcome.agents.is_empty() || outcome.agents.len() > MAX_AGENTS {
        return Err(invalid(format!(
            "agents names {} agents; give 1 to {MAX_AGENTS}",
            outcome.agents.len()
        )));
    }
    let mut agents: Vec<String> = Vec::with_capacity(outcome.agents.len());
    for (i, id) in outcome.agents.iter().enumerate() {
        let id = name(&format!("agents[{i}]"), id)?;
        if !agents.contains(&id) {
            agents.push(id);
        }
    }
    if !outcome.execution_time.is_finite()
        || !(0.0..=MAX_EXECUTION_SECONDS).contains(&outcome.execution_time)
    {
        return Err(invalid(format!(
            "execution_time is {}; give seconds from 0 to {MAX_EXECUTION_SECONDS}",
            outcome.execution_time
        )));
    }
    check_context(&outcome.context)?;
    let strategy = match (&outcome.strategy, outcome.context.get("strategy")) {
        (Some(strategy), _) => name("strategy", strategy)?,
        (None, Some(Value::String(strategy))) => name("context.strategy", strategy)?,
        (None, _) => format!("{}-agent", agents.len()),
    };
    let agent_count = agents.len() as u64;
    Ok(OutcomeRecord {
        outcome: Outcome {
            // Set when it is written.
            id: String::new(),
            task_type,
            strategy,
            agents,
            success: outcome.success,
            execution_time: outcome.execution_time,
            context: outcome.context.clone(),
            recorded_by: agent.map(str::to_owned),
            recorded_at: now,
        },
        agent_count,
    })
}

/// A label ([`crate::text::check_label`]) in its one form.
fn name(field: &str, value: &str) -> Result<String> {
    let value = crate::text::label(value);
    crate::text::check_label(field, value).map_err(SwarmError::InvalidInput)?;
    Ok(value.to_owned())
}

fn check_context(context: &Map<String, Value>) -> Result<()> {
    let size = serde_json::to_vec(context).map_or(usize::MAX, |v| v.len());
    if size > MAX_CONTEXT_BYTES {
        return Err(SwarmError::InvalidInput(format!(
            "the context is {size} bytes serialised; the limit is {MAX_CONTEXT_BYTES}"
        )));
    }
    Ok(())
}

/// The text a situation is embedded as: `task type: …` and one `field: value` line per
/// context field (sorted; `_` read as a space, so `data_processing` reads as two words), the
/// strategy and the available agents left out (they are what is chosen, not the
/// situation).
fn situation(task_type: Option<&str>, context: &Map<String, Value>) -> String {
    let words = |s: &str| s.replace('_', " ");
    let mut lines = Vec::new();
    if let Some(task_type) = task_type {
        lines.push(format!("task type: {}", words(task_type)));
    }
    let mut fields: Vec<(&String, &Value)> = context
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "task_type" | "strategy" | "available_agents"))
        .collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (field, value) in fields {
        let value = match value {
            Value::String(s) => words(s),
            other => other.to_string(),
        };
        lines.push(format!("{}: {value}", words(field)));
    }
    crate::text::canonical(&lines.join("\n")).into_owned()
}

/// A strategy's record among `members` (nearest first when `by_meaning`).
fn summarise(name: &str, members: &[(&Outcome, f64)], by_meaning: bool) -> Strategy {
    let outcomes = members.len() as u64;
    let successes = members.iter().filter(|(o, _)| o.success).count() as u64;
    let (lower, upper) = wilson_interval(successes, outcomes);
    let rate = successes as f64 / outcomes.max(1) as f64;
    let median = median(members.iter().map(|(o, _)| o.execution_time));
    Strategy {
        strategy: name.to_owned(),
        description: format!(
            "{name}: {successes} of {outcomes} {}outcomes succeeded ({:.0} %, 95 % interval \
             {:.0}–{:.0} %), median {median:.1} s",
            if by_meaning { "similar " } else { "" },
            rate * 100.0,
            lower * 100.0,
            upper * 100.0
        ),
        expected_success_rate: rate,
        confidence_interval: [lower, upper],
        outcomes,
        successes,
        median_execution_time: median,
        similarity: by_meaning.then(|| members.first().map_or(0.0, |(_, s)| *s)),
        example_ids: members
            .iter()
            .take(EXAMPLES)
            .map(|(o, _)| o.id.clone())
            .collect(),
    }
}

/// Best first: the higher lower bound, then the higher rate, the shorter median time, the
/// name.
fn rank(a: &Strategy, b: &Strategy) -> std::cmp::Ordering {
    b.confidence_interval[0]
        .total_cmp(&a.confidence_interval[0])
        .then_with(|| b.expected_success_rate.total_cmp(&a.expected_success_rate))
        .then_with(|| a.median_execution_time.total_cmp(&b.median_execution_time))
        .then_with(|| a.strategy.cmp(&b.strategy))
}

/// The median (the mean of the middle two for an even count; 0 for none).
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Outcomes of one strategy (or team size) with their similarity to the situation asked
/// about (0 where nothing was asked).
type Members<'a> = Vec<(&'a Outcome, f64)>;

/// Outcomes (with their similarity) grouped by `label`, in first-seen order, each group in
/// the order given (nearest first, for a recommendation).
fn grouped<'a>(
    outcomes: impl IntoIterator<Item = (&'a Outcome, f64)>,
    label: impl Fn(&Outcome) -> String,
) -> Vec<(String, Members<'a>)> {
    let mut groups: HashMap<String, usize> = HashMap::new();
    let mut ordered: Vec<(String, Members<'a>)> = Vec::new();
    for (outcome, similarity) in outcomes {
        let name = label(outcome);
        let at = *groups.entry(name.clone()).or_insert_with(|| {
            ordered.push((name, Vec::new()));
            ordered.len() - 1
        });
        ordered[at].1.push((outcome, similarity));
    }
    ordered
}

fn insights_of(kind: InsightKind, task_type: &str, outcomes: &[Outcome]) -> Vec<Insight> {
    let insight =
        |subject: &str, description: String, confidence: f64, of: &[(&Outcome, f64)]| Insight {
            kind,
            task_type: task_type.to_owned(),
            description,
            confidence,
            subject: subject.to_owned(),
            outcomes: of.len() as u64,
            example_ids: of
                .iter()
                .take(EXAMPLES)
                .map(|(o, _)| o.id.clone())
                .collect(),
        };
    let ranked = |label: fn(&Outcome) -> String| {
        let groups = grouped(outcomes.iter().map(|o| (o, 0.0)), label);
        let mut strategies: Vec<(Strategy, Vec<(&Outcome, f64)>)> = groups
            .into_iter()
            .map(|(name, members)| (summarise(&name, &members, false), members))
            .collect();
        strategies.sort_by(|a, b| rank(&a.0, &b.0));
        strategies
    };
    let others = |ranked: &[(Strategy, Vec<(&Outcome, f64)>)]| {
        ranked[1..]
            .iter()
            .map(|(s, _)| format!("{} ({} of {})", s.strategy, s.successes, s.outcomes))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match kind {
        InsightKind::TaskDistribution | InsightKind::ResourceAllocation => {
            let (label, what): (fn(&Outcome) -> String, &str) = match kind {
                InsightKind::TaskDistribution => (|o: &Outcome| o.strategy.clone(), "strategy"),
                _ => (
                    |o: &Outcome| format!("{}-agent", o.agents.len()),
                    "team size",
                ),
            };
            let ranked = ranked(label);
            let Some((best, members)) = ranked.first() else {
                return Vec::new();
            };
            let description = if ranked.len() == 1 {
                format!(
                    "{task_type}: only one {what} recorded — {}",
                    best.description
                )
            } else {
                format!(
                    "{task_type}: {} is the most reliable {what} — {} of {} succeeded \
                     (95 % interval {:.0}–{:.0} %); others: {}",
                    best.strategy,
                    best.successes,
                    best.outcomes,
                    best.confidence_interval[0] * 100.0,
                    best.confidence_interval[1] * 100.0,
                    others(&ranked)
                )
            };
            vec![insight(
                &best.strategy,
                description,
                best.confidence_interval[0],
                members,
            )]
        }
        InsightKind::Optimization => {
            let ranked = ranked(|o| o.strategy.clone());
            // Successful runs only: a fast failure is not an optimisation.
            let times = |members: &[(&Outcome, f64)]| -> Vec<f64> {
                members
                    .iter()
                    .filter(|(o, _)| o.success)
                    .map(|(o, _)| o.execution_time)
                    .collect()
            };
            // (confidence, runs faster than the others' median, index in ranked, that median)
            let mut best: Option<(f64, usize, usize, f64)> = None;
            for (at, (strategy, members)) in ranked.iter().enumerate() {
                let own = times(members);
                let rest: Vec<f64> = ranked
                    .iter()
                    .filter(|(s, _)| s.strategy != strategy.strategy)
                    .flat_map(|(_, m)| times(m))
                    .collect();
                if own.is_empty() || rest.is_empty() {
                    continue;
                }
                let bar = median(rest.iter().copied());
                let faster = own.iter().filter(|t| **t < bar).count();
                let confidence = wilson_interval(faster as u64, own.len() as u64).0;
                if best.is_none_or(|(c, ..)| confidence > c) {
                    best = Some((confidence, faster, at, bar));
                }
            }
            let Some((confidence, faster, at, bar)) = best else {
                return Vec::new();
            };
            let (strategy, members) = &ranked[at];
            let own = times(members);
            vec![insight(
                &strategy.strategy,
                format!(
                    "{task_type}: {} is the fastest when it succeeds — median {:.1} s; {faster} \
                     of its {} successful runs beat the other strategies' median of {bar:.1} s",
                    strategy.strategy,
                    median(own.iter().copied()),
                    own.len()
                ),
                confidence,
                members,
            )]
        }
        InsightKind::Failure => ranked(|o| o.strategy.clone())
            .iter()
            .filter(|(s, _)| s.successes * 2 < s.outcomes)
            .map(|(s, members)| {
                let failures = s.outcomes - s.successes;
                let (lower, upper) = wilson_interval(failures, s.outcomes);
                let failed: Vec<(&Outcome, f64)> = members
                    .iter()
                    .filter(|(o, _)| !o.success)
                    .copied()
                    .collect();
                Insight {
                    outcomes: s.outcomes,
                    ..insight(
                        &s.strategy,
                        format!(
                            "{task_type}: {} fails more often than not — {failures} of {} \
                             failed (95 % interval {:.0}–{:.0} %)",
                            s.strategy,
                            s.outcomes,
                            lower * 100.0,
                            upper * 100.0
                        ),
                        lower,
                        &failed,
                    )
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(strategy: &str, agents: usize, success: bool, seconds: f64) -> Outcome {
        Outcome {
            id: uuid::Uuid::new_v4().to_string(),
            task_type: "data_processing".into(),
            strategy: strategy.into(),
            agents: (0..agents).map(|i| format!("a{i}")).collect(),
            success,
            execution_time: seconds,
            context: Map::new(),
            recorded_by: None,
            recorded_at: 0,
        }
    }

    #[test]
    fn situation_reads_fields_as_words_in_a_stable_order() {
        let context = serde_json::json!({"data_size": "large", "strategy": "x",
            "available_agents": 5, "complexity": 3, "task_type": "ignored"});
        let Value::Object(context) = context else {
            unreachable!("an object literal")
        };
        assert_eq!(
            situation(Some("data_processing"), &context),
            "task type: data processing\ncomplexity: 3\ndata size: large"
        );
    }

    #[test]
    fn strategies_rank_by_evidence_not_by_raw_rate() {
        // 1 of 1 (rate 1.0, interval 0.21–1) against 9 of 10 (0.90, 0.60–0.98).
        let lucky = [outcome("lucky", 1, true, 10.0)];
        let steady: Vec<Outcome> = (0..10)
            .map(|i| outcome("steady", 2, i != 0, 20.0))
            .collect();
        fn members(o: &[Outcome]) -> Vec<(&Outcome, f64)> {
            o.iter().map(|o| (o, 0.5)).collect()
        }
        let mut ranked = [
            summarise("lucky", &members(&lucky), true),
            summarise("steady", &members(&steady), true),
        ];
        ranked.sort_by(rank);
        assert_eq!(ranked[0].strategy, "steady");
        assert!((ranked[0].confidence_interval[0] - 0.595_850_0).abs() < 1e-6);
        assert!((ranked[1].confidence_interval[0] - 0.206_549_3).abs() < 1e-6);
        assert_eq!(ranked[0].example_ids.len(), EXAMPLES);
    }

    #[test]
    fn insights_of_each_kind() {
        let mut all = Vec::new();
        all.extend((0..8).map(|i| outcome("parallel", 3, i < 7, 60.0 + i as f64)));
        all.extend((0..8).map(|i| outcome("solo", 1, i < 2, 200.0 + i as f64)));
        let one = |kind| insights_of(kind, "data_processing", &all);
        let distribution = one(InsightKind::TaskDistribution);
        assert_eq!(distribution.len(), 1);
        assert_eq!(distribution[0].subject, "parallel");
        assert_eq!(distribution[0].outcomes, 8);
        assert!((distribution[0].confidence - wilson_interval(7, 8).0).abs() < 1e-12);
        assert_eq!(one(InsightKind::ResourceAllocation)[0].subject, "3-agent");
        let fast = one(InsightKind::Optimization);
        assert_eq!(fast[0].subject, "parallel");
        // All 7 successful parallel runs beat solo's successful median (200.5 s).
        assert!((fast[0].confidence - wilson_interval(7, 7).0).abs() < 1e-12);
        let failing = one(InsightKind::Failure);
        assert_eq!(failing.len(), 1);
        assert_eq!(failing[0].subject, "solo");
        assert!((failing[0].confidence - wilson_interval(6, 8).0).abs() < 1e-12);
    }

    #[test]
    fn bad_outcomes_are_refused_with_the_field_named() {
        let good = NewOutcome {
            task_type: "review".into(),
            agents: vec!["a".into(), "a".into(), "b".into()],
            success: true,
            execution_time: 1.5,
            context: Map::new(),
            strategy: None,
        };
        let record = validate(None, &good, 7).expect("valid");
        assert_eq!(record.outcome.agents, ["a", "b"]);
        assert_eq!(record.outcome.strategy, "2-agent");
        for (bad, field) in [
            (
                NewOutcome {
                    execution_time: f64::NAN,
                    ..good.clone()
                },
                "execution_time",
            ),
            (
                NewOutcome {
                    execution_time: -1.0,
                    ..good.clone()
                },
                "execution_time",
            ),
            (
                NewOutcome {
                    task_type: " ".into(),
                    ..good.clone()
                },
                "task_type",
            ),
            (
                NewOutcome {
                    agents: Vec::new(),
                    ..good.clone()
                },
                "agents",
            ),
            (
                NewOutcome {
                    agents: vec!["".into()],
                    ..good.clone()
                },
                "agents[0]",
            ),
            (
                NewOutcome {
                    strategy: Some("a\u{7}".into()),
                    ..good.clone()
                },
                "strategy",
            ),
        ] {
            let error = validate(None, &bad, 7).expect_err("invalid").to_string();
            assert!(error.contains(field), "{error} should name {field}");
        }
    }
}
