//! Agent memory (design note 000): each agent keeps private learnings, a workspace shares a
//! pool of them, promotions move a learning from one to the other with a ledger entry,
//! cross-pollination promotes the confident ones (merging near-duplicates from several
//! agents into one shared learning), and expertise per agent and domain says who to route
//! work to.
//!
//! Four collections, and no number that is read, changed and written back (DESIGN.md,
//! coordination rules):
//! - `agent_learnings`: one point per learning, embedded. Its `audience` is
//!   `agent:<name>` while private and `shared` once shared, so that what an agent may see is
//!   one indexed condition (`audience ∈ {shared, agent:<me>}`) on every read.
//! - `agent_promotions`: the ledger, one record per promoted learning, created if absent
//!   (so a learning is promoted once however many runs race), written before the learning
//!   changes scope and marked `applied` after (the intent: [`Agents::reconcile`] finishes a
//!   promotion a crash interrupted; it runs when agent memory opens and before every run).
//! - `agent_exposures`: one observation per shared learning returned to an agent; the
//!   exposure count is their exact count.
//! - `agent_interactions`: one observation per interaction; expertise is exact counts of
//!   them (facets per domain or agent).
//!
//! Promotions of a workspace run under its exclusive lease, so that two cross-pollination
//! runs at once (threads, processes or servers) run one after the other and the second sees
//! the first's shared learnings: a near-duplicate is merged, not shared twice.

mod error;
mod record;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use error::{AgentError, Result};
pub use record::{
    BestAgent, DEFAULT_DOMAIN, DEFAULT_WORKSPACE, Expertise, Learning, LearningInput,
    PollinationOptions, PollinationReport, Promotion, PromotionEntry, RecalledLearning, Scope,
};

use crate::confidence::wilson_lower_bound;
use crate::embed::Embedder;
use crate::store::coord::idempotency::IdempotencyKeys;
use crate::store::coord::{Acquire, Hlc, LeaseMode, Leases, clock};
use crate::store::{
    Collection, CollectionSpec, Condition, FieldKind, Filter, MAX_LIMIT, Order, Payload, Point,
    PointId, Query, SearchRequest, Store, StoreError,
};

/// The collection of learnings.
pub const LEARNINGS_COLLECTION: &str = "agent_learnings";
/// The promotion ledger.
pub const PROMOTIONS_COLLECTION: &str = "agent_promotions";
/// Exposures of shared learnings.
pub const EXPOSURES_COLLECTION: &str = "agent_exposures";
/// Interactions behind expertise.
pub const INTERACTIONS_COLLECTION: &str = "agent_interactions";
/// A private learning at least this similar (cosine of all-MiniLM-L6-v2 vectors) to a shared
/// one of its workspace is merged into it when promoted. Chosen on the 40 hand-written pairs
/// of `tests/data/learning_duplicates.json` (20 paraphrases, 20 related but different
/// insights; `tests/it/agents/duplicates.rs` prints the grid): at 0.8 precision is 1.0 and
/// recall 0.9 (the closest different pair is at 0.78, the two paraphrases missed at 0.66 and
/// 0.73). A wrong merge loses an insight, a missed one leaves a duplicate: precision first.
pub const DUPLICATE_COSINE: f32 = 0.8;
/// Who a promotion by cross-pollination is attributed to.
pub const CROSS_POLLINATION: &str = "cross-pollination";
/// The expertise score before any interaction (the note's default).
pub const PRIOR_SCORE: f64 = 0.5;
/// Most learnings a listing answers.
pub const MAX_LIST: usize = 1000;
/// Most results of a recall.
pub const MAX_RECALL: usize = 100;
/// Longest promotion reason (characters).
pub const MAX_REASON_CHARS: usize = 1024;
/// Most agents in one cross-pollination run or best-agent question.
pub const MAX_AGENTS: usize = 256;
/// How long a promotion waits for another one of the same workspace to finish.
const LEASE_WAIT: Duration = Duration::from_secs(10);
/// How long a promotion's lease lasts if its holder dies.
const LEASE_TTL: Duration = Duration::from_secs(120);
/// The audience of shared learnings.
const SHARED: &str = "shared";

/// The schema of the learnings collection.
pub fn learnings_spec(dimension: usize) -> CollectionSpec {
    CollectionSpec::new(LEARNINGS_COLLECTION, dimension)
        .with_index("agent", FieldKind::Keyword)
        .with_index("workspace", FieldKind::Keyword)
        .with_index("domain", FieldKind::Keyword)
        .with_index("scope", FieldKind::Keyword)
        .with_index("audience", FieldKind::Keyword)
        .with_index("confidence", FieldKind::Float)
        .with_index("created_at", FieldKind::Integer)
}

/// The schema of the promotion ledger.
pub fn promotions_spec() -> CollectionSpec {
    CollectionSpec::records(PROMOTIONS_COLLECTION)
        .with_index("learning_id", FieldKind::Keyword)
        .with_index("merged_into", FieldKind::Keyword)
        .with_index("workspace", FieldKind::Keyword)
        .with_index("applied", FieldKind::Bool)
}

/// The schema of the exposures collection.
pub fn exposures_spec() -> CollectionSpec {
    CollectionSpec::records(EXPOSURES_COLLECTION)
        .with_index("learning_id", FieldKind::Keyword)
        .with_index("agent", FieldKind::Keyword)
}

/// The schema of the interactions collection.
pub fn interactions_spec() -> CollectionSpec {
    CollectionSpec::records(INTERACTIONS_COLLECTION)
        .with_index("agent", FieldKind::Keyword)
        .with_index("domain", FieldKind::Keyword)
        .with_index("successful", FieldKind::Bool)
}

/// A learning as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LearningRecord {
    content: String,
    source: String,
    sentiment: String,
    confidence: f64,
    tool_name: Option<String>,
    recommendation: String,
    agent: String,
    role: String,
    workspace: String,
    domain: String,
    scope: Scope,
    audience: String,
    created_at: i64,
    at: Hlc,
    #[serde(default)]
    promoted_at: Option<i64>,
    #[serde(default)]
    merged_into: Option<PointId>,
}

/// A ledger entry as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PromotionRecord {
    learning_id: PointId,
    agent: String,
    workspace: String,
    original_scope: Scope,
    promoted_at: i64,
    reason: String,
    promoted_by: String,
    merged_into: Option<PointId>,
    merge_similarity: Option<f32>,
    applied: bool,
}

/// The note's `add_learning` request, as an idempotency key's fingerprint.
#[derive(Serialize)]
struct AddRequest<'a> {
    agent: &'a str,
    content: &'a str,
    source: &'a str,
    sentiment: &'a str,
    confidence: f64,
    tool_name: Option<&'a str>,
    recommendation: &'a str,
    role: &'a str,
    workspace: &'a str,
    domain: &'a str,
    private: bool,
}

/// Agent memory over a store and an embedder.
pub struct Agents {
    learnings: Collection,
    promotions: Collection,
    exposures: Collection,
    interactions: Collection,
    leases: Leases,
    keys: IdempotencyKeys,
    embedder: Arc<dyn Embedder>,
}

impl std::fmt::Debug for Agents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agents").finish_non_exhaustive()
    }
}

impl Agents {
    /// Opens (creating on first use) the four collections, and finishes any promotion a
    /// crash interrupted.
    pub fn new(store: &Store, embedder: Arc<dyn Embedder>) -> Result<Self> {
        let agents = Self {
            learnings: store.collection(&learnings_spec(embedder.dimension()))?,
            promotions: store.collection(&promotions_spec())?,
            exposures: store.collection(&exposures_spec())?,
            interactions: store.collection(&interactions_spec())?,
            leases: Leases::open(store)?,
            keys: IdempotencyKeys::open(store)?,
            embedder,
        };
        agents.reconcile()?;
        Ok(agents)
    }

    /// `add_learning`: stores what `agent` learned, embedded, private unless
    /// `input.private` is false. Durable when it returns. With an idempotency `key`, a retry
    /// stores nothing new and answers the first learning.
    pub fn add_learning(
        &self,
        agent: &str,
        input: LearningInput,
        key: Option<&str>,
    ) -> Result<Learning> {
        let agent = label("agent", agent)?;
        let content = crate::text::canonical(&input.content).into_owned();
        crate::text::check_required("content", &content, crate::text::MAX_TEXT_CHARS)
            .map_err(AgentError::InvalidInput)?;
        let source = label("source", &input.source)?;
        let sentiment = label("sentiment", &input.sentiment)?;
        if !input.confidence.is_finite() || !(0.0..=1.0).contains(&input.confidence) {
            return Err(invalid(format!(
                "confidence is {}; give a number from 0 to 1",
                input.confidence
            )));
        }
        let tool_name = match input.tool_name.as_deref() {
            Some(tool) => Some(label("tool_name", tool)?),
            None => None,
        };
        let recommendation = crate::text::canonical(&input.recommendation).into_owned();
        crate::text::check_optional(
            "recommendation",
            &recommendation,
            crate::text::MAX_TEXT_CHARS,
        )
        .map_err(AgentError::InvalidInput)?;
        let role = match input.role.as_deref() {
            Some(role) => label("role", role)?,
            None => agent.clone(),
        };
        let workspace = workspace(input.workspace.as_deref())?;
        let domain = domain(input.domain.as_deref())?;
        let request = AddRequest {
            agent: &agent,
            content: &content,
            source: &source,
            sentiment: &sentiment,
            confidence: input.confidence,
            tool_name: tool_name.as_deref(),
            recommendation: &recommendation,
            role: &role,
            workspace: &workspace,
            domain: &domain,
            private: input.private,
        };
        let id = match key {
            Some(key) => {
                PointId::from_content(&[b"agent_learning", agent.as_bytes(), key.as_bytes()])
            }
            None => PointId::from(uuid::Uuid::new_v4()),
        };
        self.keys
            .run(&format!("agents/{agent}/learnings"), key, &request, |_| {
                let vector = self.embedder.embed(&content)?;
                let at = clock().now();
                let scope = if input.private {
                    Scope::Private
                } else {
                    Scope::Shared
                };
                let record = LearningRecord {
                    content: content.clone(),
                    source: source.clone(),
                    sentiment: sentiment.clone(),
                    confidence: input.confidence,
                    tool_name: tool_name.clone(),
                    recommendation: recommendation.clone(),
                    audience: audience(scope, &agent),
                    agent: agent.clone(),
                    role: role.clone(),
                    workspace: workspace.clone(),
                    domain: domain.clone(),
                    scope,
                    created_at: at.millis(),
                    at,
                    promoted_at: None,
                    merged_into: None,
                };
                self.learnings.upsert(vec![Point {
                    id,
                    vector,
                    text: content.clone(),
                    payload: to_payload(&record)?,
                }])?;
                Ok(view(id, record, Vec::new()))
            })
    }

    /// One learning as `viewer` may see it: its own (any scope) or a shared one, of
    /// `workspace` when given; `None` (an admin) sees every learning. Anything else is
    /// [`AgentError::UnknownLearning`], as if it did not exist. A shared learning returned
    /// to an agent counts one exposure.
    pub fn get_learning(
        &self,
        viewer: Option<&str>,
        workspace: Option<&str>,
        id: PointId,
    ) -> Result<Learning> {
        let record = self.read(id)?;
        let visible = match viewer {
            None => true,
            Some(viewer) => record.agent == viewer || record.scope == Scope::Shared,
        } && workspace.is_none_or(|ws| ws == record.workspace);
        if !visible {
            return Err(AgentError::UnknownLearning(id.to_string()));
        }
        let mut learnings = self.views(vec![(id, record)])?;
        self.expose(viewer, &learnings)?;
        learnings
            .pop()
            .ok_or_else(|| AgentError::UnknownLearning(id.to_string()))
    }

    /// `get_private_learnings`: the agent's private learnings (of one workspace, or all),
    /// newest first, at most [`MAX_LIST`].
    pub fn get_private_learnings(
        &self,
        agent: &str,
        workspace: Option<&str>,
    ) -> Result<Vec<Learning>> {
        let agent = label("agent", agent)?;
        let mut filter = Filter::all([
            Condition::keyword("agent", agent),
            Condition::keyword("scope", Scope::Private.name()),
        ]);
        if let Some(ws) = workspace {
            filter = filter.and(Condition::keyword("workspace", self::workspace(Some(ws))?));
        }
        self.list(&filter, MAX_LIST)
    }

    /// `get_shared_learnings`: the workspace's shared pool, newest first, at most `limit`
    /// (1 to [`MAX_LIST`]). Each learning returned to `viewer` counts one exposure.
    pub fn get_shared_learnings(
        &self,
        workspace: &str,
        viewer: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Learning>> {
        self.pool(workspace, None, viewer, limit)
    }

    /// `get_learnings_by_domain`: the workspace's shared learnings of one domain.
    pub fn get_learnings_by_domain(
        &self,
        workspace: &str,
        domain: &str,
        viewer: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Learning>> {
        self.pool(workspace, Some(domain), viewer, limit)
    }

    fn pool(
        &self,
        workspace: &str,
        domain: Option<&str>,
        viewer: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Learning>> {
        check_limit(limit, MAX_LIST)?;
        let mut filter = Filter::all([
            Condition::keyword("workspace", self::workspace(Some(workspace))?),
            Condition::keyword("scope", Scope::Shared.name()),
        ]);
        if let Some(d) = domain {
            filter = filter.and(Condition::keyword("domain", self::domain(Some(d))?));
        }
        let learnings = self.list(&filter, limit)?;
        self.expose(viewer, &learnings)?;
        Ok(learnings)
    }

    /// Recall by meaning for `agent`: the `k` learnings of the workspace's shared pool and of
    /// the agent's own private learnings most similar to `query` (hybrid dense + BM25, as
    /// every recall of engram), never another agent's private ones. Shared learnings
    /// returned count one exposure each.
    pub fn recall(
        &self,
        agent: &str,
        workspace: Option<&str>,
        query: &str,
        k: usize,
        domain: Option<&str>,
    ) -> Result<Vec<RecalledLearning>> {
        let agent = label("agent", agent)?;
        check_limit(k, MAX_RECALL)?;
        let query = crate::text::canonical(query).into_owned();
        crate::text::check_required("query", &query, crate::text::MAX_TEXT_CHARS)
            .map_err(AgentError::InvalidInput)?;
        let mut filter = Filter::all([
            Condition::keyword("workspace", self::workspace(workspace)?),
            Condition::KeywordAny {
                field: "audience".into(),
                values: vec![SHARED.into(), audience(Scope::Private, &agent)],
            },
        ]);
        if let Some(d) = domain {
            filter = filter.and(Condition::keyword("domain", self::domain(Some(d))?));
        }
        let vector = self.embedder.embed(&query)?;
        let hits = self.learnings.search(
            &SearchRequest::new(
                Query::Hybrid {
                    vector,
                    text: query,
                },
                k,
            )
            .with_filter(filter),
        )?;
        let mut similarities = Vec::with_capacity(hits.len());
        let mut records = Vec::with_capacity(hits.len());
        for hit in hits {
            similarities.push((hit.score, hit.dense_score.unwrap_or(0.0)));
            records.push((hit.id, parse(LEARNINGS_COLLECTION, hit.id, hit.payload)?));
        }
        let learnings = self.views(records)?;
        self.expose(Some(&agent), &learnings)?;
        Ok(learnings
            .into_iter()
            .zip(similarities)
            .map(|(learning, (similarity, cosine))| RecalledLearning {
                learning,
                similarity,
                cosine,
            })
            .collect())
    }

    /// `promote_learning(id, reason)`: shares a private learning with its workspace (or
    /// merges it into a shared near-duplicate), writing its ledger entry. `acting` is the
    /// agent that asks (it may promote only its own learnings; another's private one is
    /// [`AgentError::UnknownLearning`]), restricted to `workspace` when given; `None` is an
    /// admin. A learning promoted before, or shared from the start, answers
    /// `promoted: false`.
    pub fn promote_learning(
        &self,
        acting: Option<&str>,
        workspace: Option<&str>,
        id: PointId,
        reason: &str,
    ) -> Result<Promotion> {
        let reason = crate::text::canonical(reason).into_owned();
        crate::text::check_required("reason", &reason, MAX_REASON_CHARS)
            .map_err(AgentError::InvalidInput)?;
        let record = self.read(id)?;
        if workspace.is_some_and(|ws| ws != record.workspace) {
            return Err(AgentError::UnknownLearning(id.to_string()));
        }
        if let Some(agent) = acting
            && agent != record.agent
        {
            return match record.scope {
                Scope::Private | Scope::Merged => Err(AgentError::UnknownLearning(id.to_string())),
                Scope::Shared => Ok(Promotion {
                    promoted: false,
                    entry: self.entry(id).ok(),
                }),
            };
        }
        let by = acting.unwrap_or("admin").to_owned();
        let workspace = record.workspace.clone();
        self.under_lease(&workspace, &by, || self.promote(id, &reason, &by))
    }

    /// Promotes `id` (the workspace's lease held): the ledger entry first, then the scope.
    fn promote(&self, id: PointId, reason: &str, by: &str) -> Result<Promotion> {
        if let Some(existing) = self.ledger(id)? {
            return self.promoted_before(id, &existing);
        }
        let Some(stored) = self.learnings.get(&[id], true)?.into_iter().next() else {
            return Err(AgentError::UnknownLearning(id.to_string()));
        };
        let record: LearningRecord = parse(LEARNINGS_COLLECTION, id, stored.payload)?;
        if record.scope != Scope::Private {
            return Ok(Promotion {
                promoted: false,
                entry: None,
            });
        }
        let duplicate = match stored.vector {
            Some(vector) => self.duplicate_of(&record.workspace, id, vector)?,
            None => None,
        };
        let entry = PromotionRecord {
            learning_id: id,
            agent: record.agent.clone(),
            workspace: record.workspace.clone(),
            original_scope: Scope::Private,
            promoted_at: clock().now().millis(),
            reason: reason.to_owned(),
            promoted_by: by.to_owned(),
            merged_into: duplicate.map(|(target, _)| target),
            merge_similarity: duplicate.map(|(_, similarity)| similarity),
            applied: false,
        };
        match self.promotions.create(Point {
            id: ledger_id(id),
            vector: Vec::new(),
            text: String::new(),
            payload: to_payload(&entry)?,
        }) {
            Ok(_) => {}
            // Promoted meanwhile by a caller that did not take the lease (it expired).
            Err(StoreError::Conflict { .. }) => {
                let existing = self.ledger(id)?.ok_or_else(|| StoreError::Unconfirmed {
                    collection: PROMOTIONS_COLLECTION.into(),
                    id: ledger_id(id),
                    message: "the ledger entry conflicted but cannot be read".into(),
                })?;
                return self.promoted_before(id, &existing);
            }
            Err(error) => return Err(error.into()),
        }
        self.apply(&entry)?;
        Ok(Promotion {
            promoted: true,
            entry: Some(self.entry(id)?),
        })
    }

    /// A learning that has a ledger entry: finishes it if a crash interrupted it, and
    /// answers `promoted: false` with the entry.
    fn promoted_before(&self, id: PointId, existing: &PromotionRecord) -> Result<Promotion> {
        if !existing.applied {
            self.apply(existing)?;
        }
        Ok(Promotion {
            promoted: false,
            entry: Some(self.entry(id)?),
        })
    }

    /// Carries out a ledger entry: the learning becomes shared (or merged), then the entry
    /// is marked applied. Each step is idempotent.
    fn apply(&self, entry: &PromotionRecord) -> Result<()> {
        let mut patch = Payload::new();
        let scope = if entry.merged_into.is_some() {
            Scope::Merged
        } else {
            Scope::Shared
        };
        patch.insert("scope".into(), Value::from(scope.name()));
        patch.insert(
            "audience".into(),
            Value::from(audience(scope, &entry.agent)),
        );
        patch.insert("promoted_at".into(), Value::from(entry.promoted_at));
        if let Some(target) = entry.merged_into {
            patch.insert("merged_into".into(), Value::from(target.to_string()));
        }
        self.learnings.set_payload_if(
            &[entry.learning_id],
            patch,
            &Filter::all([Condition::keyword("scope", Scope::Private.name())]),
        )?;
        let mut applied = Payload::new();
        applied.insert("applied".into(), Value::Bool(true));
        self.promotions
            .set_payload(&[ledger_id(entry.learning_id)], applied)?;
        Ok(())
    }

    /// Finishes every promotion whose ledger entry was written but not applied (a crash
    /// between the two). Answers how many.
    pub fn reconcile(&self) -> Result<usize> {
        let pending = self
            .promotions
            .scroll_all(Some(&Filter::all([Condition::Bool {
                field: "applied".into(),
                value: false,
            }])))?;
        for record in &pending {
            let entry: PromotionRecord =
                parse(PROMOTIONS_COLLECTION, record.id, record.payload.clone())?;
            self.apply(&entry)?;
        }
        Ok(pending.len())
    }

    /// The most similar shared learning of the workspace, when at least
    /// [`DUPLICATE_COSINE`] similar.
    fn duplicate_of(
        &self,
        workspace: &str,
        id: PointId,
        vector: Vec<f32>,
    ) -> Result<Option<(PointId, f32)>> {
        let mut request = SearchRequest::new(Query::Dense(vector), 1).with_filter(
            Filter::all([
                Condition::keyword("workspace", workspace),
                Condition::keyword("scope", Scope::Shared.name()),
            ])
            .and_not(Condition::HasId(vec![id])),
        );
        request.score_threshold = Some(DUPLICATE_COSINE);
        Ok(self
            .learnings
            .search(&request)?
            .into_iter()
            .next()
            .map(|hit| (hit.id, hit.dense_score.unwrap_or(hit.score))))
    }

    /// `run_cross_pollination(agent_ids)`: promotes, per agent in the order given, its
    /// private learnings of the workspace at least `confidence_threshold` confident (most
    /// confident first, then oldest), at most `max_promotions_per_agent` each; a learning
    /// that is a near-duplicate of a shared one is merged into it. Runs under the
    /// workspace's lease: two runs at once promote every learning once.
    pub fn run_cross_pollination(
        &self,
        workspace: Option<&str>,
        agents: &[String],
        options: PollinationOptions,
    ) -> Result<PollinationReport> {
        let workspace = self::workspace(workspace)?;
        if agents.is_empty() || agents.len() > MAX_AGENTS {
            return Err(invalid(format!(
                "give 1 to {MAX_AGENTS} agents, not {}",
                agents.len()
            )));
        }
        let agents = distinct_labels("agents", agents)?;
        if !options.confidence_threshold.is_finite()
            || !(0.0..=1.0).contains(&options.confidence_threshold)
        {
            return Err(invalid(format!(
                "confidence_threshold is {}; give a number from 0 to 1",
                options.confidence_threshold
            )));
        }
        if options.max_promotions_per_agent > MAX_LIST {
            return Err(invalid(format!(
                "max_promotions_per_agent is {}; the limit is {MAX_LIST}",
                options.max_promotions_per_agent
            )));
        }
        self.under_lease(&workspace, CROSS_POLLINATION, || {
            self.reconcile()?;
            let mut report = PollinationReport {
                promoted: BTreeMap::new(),
                merged: BTreeMap::new(),
                entries: Vec::new(),
            };
            let reason = format!(
                "Cross-pollination: confidence at least {}",
                options.confidence_threshold
            );
            for agent in &agents {
                let filter = Filter::all([
                    Condition::keyword("agent", agent.clone()),
                    Condition::keyword("workspace", workspace.clone()),
                    Condition::keyword("scope", Scope::Private.name()),
                    Condition::at_least("confidence", options.confidence_threshold),
                ]);
                let mut candidates: Vec<(PointId, LearningRecord)> = self
                    .learnings
                    .scroll_all(Some(&filter))?
                    .into_iter()
                    .map(|r| Ok((r.id, parse(LEARNINGS_COLLECTION, r.id, r.payload)?)))
                    .collect::<Result<_>>()?;
                candidates.sort_by(|(a_id, a), (b_id, b)| {
                    b.confidence
                        .total_cmp(&a.confidence)
                        .then_with(|| a.at.cmp(&b.at))
                        .then_with(|| a_id.cmp(b_id))
                });
                let (mut promoted, mut merged) = (0, 0);
                for (id, _) in candidates {
                    if promoted == options.max_promotions_per_agent {
                        break;
                    }
                    let done = self.promote(id, &reason, CROSS_POLLINATION)?;
                    if let (true, Some(entry)) = (done.promoted, done.entry) {
                        promoted += 1;
                        merged += usize::from(entry.merged_into.is_some());
                        report.entries.push(entry);
                    }
                }
                report.promoted.insert(agent.clone(), promoted);
                report.merged.insert(agent.clone(), merged);
            }
            Ok(report)
        })
    }

    /// `get_promotion_history(learning_id)`: its ledger entry with the exposure count.
    pub fn get_promotion_history(&self, id: PointId) -> Result<PromotionEntry> {
        self.entry(id)
    }

    /// Times the learning (or, for a merged one, the learning it was merged into) was
    /// returned to an agent as a shared learning (exact).
    pub fn exposure_count(&self, id: PointId) -> Result<u64> {
        Ok(self.exposures.count(Some(&Filter::all([Condition::keyword(
            "learning_id",
            id.to_string(),
        )])))? as u64)
    }

    /// `record_interaction(agent, domain, successful)`: one observation (durable when it
    /// returns); answers the agent's expertise in the domain after it. With an idempotency
    /// `key`, a retry records nothing new.
    pub fn record_interaction(
        &self,
        agent: &str,
        domain: &str,
        successful: bool,
        key: Option<&str>,
    ) -> Result<Expertise> {
        let agent = label("agent", agent)?;
        let domain = self::domain(Some(domain))?;
        let id = match key {
            Some(key) => {
                PointId::from_content(&[b"agent_interaction", agent.as_bytes(), key.as_bytes()])
            }
            None => PointId::from(uuid::Uuid::new_v4()),
        };
        let request = (&agent, &domain, successful);
        self.keys.run(
            &format!("agents/{agent}/interactions"),
            key,
            &request,
            |_| {
                let at = clock().now();
                let mut payload = Payload::new();
                payload.insert("agent".into(), Value::from(agent.clone()));
                payload.insert("domain".into(), Value::from(domain.clone()));
                payload.insert("successful".into(), Value::Bool(successful));
                payload.insert("at".into(), Value::from(at.millis()));
                self.interactions.upsert(vec![Point {
                    id,
                    vector: Vec::new(),
                    text: String::new(),
                    payload,
                }])?;
                self.expertise(&agent, &domain)
            },
        )
    }

    /// The agent's record in a domain (exact counts of its interactions).
    pub fn expertise(&self, agent: &str, domain: &str) -> Result<Expertise> {
        let agent = label("agent", agent)?;
        let domain = self::domain(Some(domain))?;
        let of = Filter::all([
            Condition::keyword("agent", agent.clone()),
            Condition::keyword("domain", domain.clone()),
        ]);
        let interactions = self.interactions.count(Some(&of))? as u64;
        let successes = self.interactions.count(Some(&of.and(Condition::Bool {
            field: "successful".into(),
            value: true,
        })))? as u64;
        Ok(expertise(agent, domain, successes, interactions))
    }

    /// `get_expertise_score(agent, domain)`: successes / interactions, 0.5 before any.
    pub fn get_expertise_score(&self, agent: &str, domain: &str) -> Result<f64> {
        Ok(self.expertise(agent, domain)?.score)
    }

    /// `get_expertise_report(agent)`: its record in every domain it has interactions in,
    /// by domain name.
    pub fn get_expertise_report(&self, agent: &str) -> Result<Vec<Expertise>> {
        let agent = label("agent", agent)?;
        let of = Filter::all([Condition::keyword("agent", agent.clone())]);
        let all = self.interactions.facet("domain", Some(&of), MAX_LIMIT)?;
        let successes: BTreeMap<String, usize> = self
            .interactions
            .facet(
                "domain",
                Some(&of.and(Condition::Bool {
                    field: "successful".into(),
                    value: true,
                })),
                MAX_LIMIT,
            )?
            .into_iter()
            .collect();
        let mut report: Vec<Expertise> = all
            .into_iter()
            .map(|(domain, n)| {
                let s = successes.get(&domain).copied().unwrap_or(0);
                expertise(agent.clone(), domain, s as u64, n as u64)
            })
            .collect();
        report.sort_by(|a, b| a.domain.cmp(&b.domain));
        Ok(report)
    }

    /// `get_best_agent_for_domain(domain, agent_ids)`: the candidate with the highest lower
    /// bound of the 95 % Wilson interval of its success ratio (so 1 of 1 does not beat 95 of
    /// 100), with every candidate's record.
    pub fn get_best_agent_for_domain(&self, domain: &str, agents: &[String]) -> Result<BestAgent> {
        let domain = self::domain(Some(domain))?;
        if agents.is_empty() || agents.len() > MAX_AGENTS {
            return Err(invalid(format!(
                "give 1 to {MAX_AGENTS} agents, not {}",
                agents.len()
            )));
        }
        let agents = distinct_labels("agents", agents)?;
        let of = Filter::all([
            Condition::keyword("domain", domain.clone()),
            Condition::KeywordAny {
                field: "agent".into(),
                values: agents.clone(),
            },
        ]);
        let all: BTreeMap<String, usize> = self
            .interactions
            .facet("agent", Some(&of), MAX_LIMIT)?
            .into_iter()
            .collect();
        let successes: BTreeMap<String, usize> = self
            .interactions
            .facet(
                "agent",
                Some(&of.and(Condition::Bool {
                    field: "successful".into(),
                    value: true,
                })),
                MAX_LIMIT,
            )?
            .into_iter()
            .collect();
        let mut ranking: Vec<Expertise> = agents
            .iter()
            .map(|agent| {
                let n = all.get(agent).copied().unwrap_or(0) as u64;
                let s = successes.get(agent).copied().unwrap_or(0) as u64;
                expertise(agent.clone(), domain.clone(), s, n)
            })
            .collect();
        // Stable: ties keep the order given.
        ranking.sort_by(|a, b| {
            b.lower_bound
                .total_cmp(&a.lower_bound)
                .then_with(|| b.interactions.cmp(&a.interactions))
        });
        Ok(BestAgent {
            best: ranking[0].agent.clone(),
            domain,
            ranking,
        })
    }

    /// Runs `work` holding the workspace's promotion lease.
    fn under_lease<T>(
        &self,
        workspace: &str,
        owner: &str,
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let lease = match self.leases.acquire(&Acquire {
            name: format!("agents/promotions/{workspace}"),
            mode: LeaseMode::Exclusive,
            ttl: LEASE_TTL,
            wait: LEASE_WAIT,
            owner: owner.to_owned(),
        }) {
            Ok(lease) => lease,
            Err(StoreError::LeaseHeld { .. }) => return Err(AgentError::Busy(workspace.into())),
            Err(error) => return Err(error.into()),
        };
        let result = work();
        if let Err(error) = self.leases.release(&lease) {
            // The lease lapses on its own after its TTL.
            tracing::warn!("agents: releasing {}: {error}", lease.name);
        }
        result
    }

    /// The learning's record, or [`AgentError::UnknownLearning`].
    fn read(&self, id: PointId) -> Result<LearningRecord> {
        match self.learnings.get(&[id], false)?.into_iter().next() {
            Some(record) => parse(LEARNINGS_COLLECTION, id, record.payload),
            None => Err(AgentError::UnknownLearning(id.to_string())),
        }
    }

    /// The ledger entry of a learning, if it has one.
    fn ledger(&self, id: PointId) -> Result<Option<PromotionRecord>> {
        match self
            .promotions
            .get(&[ledger_id(id)], false)?
            .into_iter()
            .next()
        {
            Some(record) => Ok(Some(parse(
                PROMOTIONS_COLLECTION,
                record.id,
                record.payload,
            )?)),
            None => Ok(None),
        }
    }

    /// The ledger entry as answered, with its exposure count.
    fn entry(&self, id: PointId) -> Result<PromotionEntry> {
        let record = self
            .ledger(id)?
            .ok_or_else(|| AgentError::NotPromoted(id.to_string()))?;
        Ok(PromotionEntry {
            exposure_count: self.exposure_count(record.merged_into.unwrap_or(id))?,
            learning_id: record.learning_id,
            agent: record.agent,
            workspace: record.workspace,
            original_scope: record.original_scope,
            promoted_at: record.promoted_at,
            reason: record.reason,
            promoted_by: record.promoted_by,
            merged_into: record.merged_into,
            merge_similarity: record.merge_similarity,
        })
    }

    /// Learnings passing `filter`, newest first.
    fn list(&self, filter: &Filter, limit: usize) -> Result<Vec<Learning>> {
        let records = self
            .learnings
            .scroll_ordered(Some(filter), &Order::descending("created_at"), limit)?
            .into_iter()
            .map(|r| Ok((r.id, parse(LEARNINGS_COLLECTION, r.id, r.payload)?)))
            .collect::<Result<Vec<_>>>()?;
        self.views(records)
    }

    /// Learnings as answered: shared ones with the agents whose near-duplicates were merged
    /// into them (one read of the ledger for all).
    fn views(&self, records: Vec<(PointId, LearningRecord)>) -> Result<Vec<Learning>> {
        let shared: Vec<String> = records
            .iter()
            .filter(|(_, r)| r.scope == Scope::Shared)
            .map(|(id, _)| id.to_string())
            .collect();
        let mut merged: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if !shared.is_empty() {
            let filter = Filter::all([
                Condition::KeywordAny {
                    field: "merged_into".into(),
                    values: shared,
                },
                Condition::Bool {
                    field: "applied".into(),
                    value: true,
                },
            ]);
            for record in self.promotions.scroll_all(Some(&filter))? {
                let entry: PromotionRecord =
                    parse(PROMOTIONS_COLLECTION, record.id, record.payload)?;
                if let Some(target) = entry.merged_into {
                    merged
                        .entry(target.to_string())
                        .or_default()
                        .push(entry.agent);
                }
            }
        }
        Ok(records
            .into_iter()
            .map(|(id, record)| {
                let others = merged.remove(&id.to_string()).unwrap_or_default();
                view(id, record, others)
            })
            .collect())
    }

    /// One exposure per shared learning returned to `viewer` (nothing for an admin).
    fn expose(&self, viewer: Option<&str>, learnings: &[Learning]) -> Result<()> {
        let Some(viewer) = viewer else {
            return Ok(());
        };
        let at = clock().now().millis();
        let points: Vec<Point> = learnings
            .iter()
            .filter(|l| l.scope == Scope::Shared)
            .map(|l| {
                let mut payload = Payload::new();
                payload.insert("learning_id".into(), Value::from(l.id.to_string()));
                payload.insert("agent".into(), Value::from(viewer));
                payload.insert("workspace".into(), Value::from(l.workspace.clone()));
                payload.insert("at".into(), Value::from(at));
                Point {
                    id: PointId::from(uuid::Uuid::new_v4()),
                    vector: Vec::new(),
                    text: String::new(),
                    payload,
                }
            })
            .collect();
        if !points.is_empty() {
            self.exposures.upsert(points)?;
        }
        Ok(())
    }
}

/// A learning's record as answered.
fn view(id: PointId, record: LearningRecord, merged_agents: Vec<String>) -> Learning {
    let mut corroborated_by: Vec<String> = merged_agents
        .into_iter()
        .filter(|a| a != &record.agent)
        .collect();
    corroborated_by.sort();
    corroborated_by.dedup();
    corroborated_by.insert(0, record.agent.clone());
    Learning {
        id,
        content: record.content,
        source: record.source,
        sentiment: record.sentiment,
        confidence: record.confidence,
        tool_name: record.tool_name,
        recommendation: record.recommendation,
        agent: record.agent,
        role: record.role,
        workspace: record.workspace,
        domain: record.domain,
        scope: record.scope,
        created_at: record.created_at,
        promoted_at: record.promoted_at,
        merged_into: record.merged_into,
        corroborated_by,
    }
}

fn expertise(agent: String, domain: String, successes: u64, interactions: u64) -> Expertise {
    Expertise {
        score: if interactions == 0 {
            PRIOR_SCORE
        } else {
            successes as f64 / interactions as f64
        },
        lower_bound: wilson_lower_bound(successes, interactions),
        agent,
        domain,
        successes,
        interactions,
    }
}

/// Who a learning of `agent` in `scope` is visible to.
fn audience(scope: Scope, agent: &str) -> String {
    match scope {
        Scope::Shared => SHARED.to_owned(),
        // A merged learning is its agent's, like a private one.
        Scope::Private | Scope::Merged => format!("agent:{agent}"),
    }
}

fn ledger_id(learning: PointId) -> PointId {
    PointId::from_content(&[b"agent_promotion", learning.as_uuid().as_bytes()])
}

/// A label (agent, source, domain, …) in its one form, checked.
fn label(field: &str, value: &str) -> Result<String> {
    let value = crate::text::label(value).to_owned();
    crate::text::check_label(field, &value).map_err(AgentError::InvalidInput)?;
    Ok(value)
}

/// Labels each once, in the order given.
fn distinct_labels(field: &str, values: &[String]) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(values.len());
    for value in values {
        let value = label(field, value)?;
        if seen.insert(value.clone()) {
            out.push(value);
        }
    }
    Ok(out)
}

/// A workspace name, [`DEFAULT_WORKSPACE`] when absent.
pub fn workspace(value: Option<&str>) -> Result<String> {
    label("workspace", value.unwrap_or(DEFAULT_WORKSPACE))
}

/// A domain, lower-cased (so `Research` and `research` are one), [`DEFAULT_DOMAIN`] when
/// absent.
fn domain(value: Option<&str>) -> Result<String> {
    Ok(label("domain", value.unwrap_or(DEFAULT_DOMAIN))?.to_lowercase())
}

fn check_limit(limit: usize, max: usize) -> Result<()> {
    if limit == 0 || limit > max {
        return Err(invalid(format!("limit is {limit}; give 1 to {max}")));
    }
    Ok(())
}

fn invalid(message: String) -> AgentError {
    AgentError::InvalidInput(message)
}

fn to_payload<T: Serialize>(value: &T) -> Result<Payload> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) | Err(_) => Err(invalid(
            "the record does not serialise to a JSON object".into(),
        )),
    }
}

fn parse<T: serde::de::DeserializeOwned>(
    collection: &str,
    id: PointId,
    payload: Payload,
) -> Result<T> {
    serde_json::from_value(Value::Object(payload)).map_err(|e| AgentError::Corrupt {
        collection: collection.to_owned(),
        id: id.to_string(),
        message: e.to_string(),
    })
}
