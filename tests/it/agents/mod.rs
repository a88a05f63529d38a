//! Agent memory (design note 000): the note's 24 behaviours run through the library and
//! through HTTP (one definition, two callers), isolation with keys bound to agents,
//! concurrent cross-pollination, and the near-duplicate threshold measured on a
//! hand-written set.

mod behaviours;
mod cli;
mod concurrency;
mod duplicates;
mod isolation;

use std::sync::Arc;

use engram::agents::{
    AgentError, Agents, BestAgent, Expertise, Learning, LearningInput, PollinationOptions,
    PollinationReport, Promotion, PromotionEntry, RecalledLearning,
};
use engram::store::{PointId, Store};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::common::shared_embedder;
use crate::server::TestServer;

/// Why a call was refused, as both callers tell it.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    Invalid,
}

/// Agent memory as the note's API, over the library or over HTTP.
pub trait Api {
    fn add(&self, agent: &str, input: LearningInput) -> Result<Learning, Refusal>;
    fn private(&self, agent: &str) -> Vec<Learning>;
    fn get(&self, agent: &str, id: PointId) -> Result<Learning, Refusal>;
    fn promote(&self, agent: &str, id: PointId, reason: &str) -> Result<Promotion, Refusal>;
    fn shared(&self, workspace: &str, viewer: Option<&str>) -> Vec<Learning>;
    fn by_domain(&self, workspace: &str, domain: &str) -> Vec<Learning>;
    fn recall(&self, agent: &str, workspace: &str, query: &str, k: usize) -> Vec<RecalledLearning>;
    fn pollinate(
        &self,
        workspace: &str,
        agents: &[&str],
        options: PollinationOptions,
    ) -> PollinationReport;
    fn history(&self, workspace: &str, id: PointId) -> Result<PromotionEntry, Refusal>;
    fn interact(&self, agent: &str, domain: &str, successful: bool) -> Expertise;
    fn expertise(&self, agent: &str, domain: &str) -> Expertise;
    fn report(&self, agent: &str) -> Vec<Expertise>;
    fn best(&self, domain: &str, agents: &[&str]) -> BestAgent;
}

/// Agent memory over a fresh embedded store in a temp dir.
pub struct Library {
    pub agents: Agents,
    pub store: Store,
    _dir: tempfile::TempDir,
}

impl Library {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_edge(&dir.path().join("data")).expect("store");
        let agents = Agents::new(&store, Arc::clone(shared_embedder()) as _).expect("agents");
        Self {
            agents,
            store,
            _dir: dir,
        }
    }
}

fn refusal(error: AgentError) -> Refusal {
    match error {
        AgentError::UnknownLearning(_) | AgentError::NotPromoted(_) => Refusal::NotFound,
        AgentError::InvalidInput(_) => Refusal::Invalid,
        other => panic!("unexpected failure: {other}"),
    }
}

impl Api for Library {
    fn add(&self, agent: &str, input: LearningInput) -> Result<Learning, Refusal> {
        self.agents
            .add_learning(agent, input, None)
            .map_err(refusal)
    }
    fn private(&self, agent: &str) -> Vec<Learning> {
        self.agents
            .get_private_learnings(agent, None)
            .expect("private")
    }
    fn get(&self, agent: &str, id: PointId) -> Result<Learning, Refusal> {
        self.agents
            .get_learning(Some(agent), None, id)
            .map_err(refusal)
    }
    fn promote(&self, agent: &str, id: PointId, reason: &str) -> Result<Promotion, Refusal> {
        self.agents
            .promote_learning(Some(agent), None, id, reason)
            .map_err(refusal)
    }
    fn shared(&self, workspace: &str, viewer: Option<&str>) -> Vec<Learning> {
        self.agents
            .get_shared_learnings(workspace, viewer, 1000)
            .expect("shared")
    }
    fn by_domain(&self, workspace: &str, domain: &str) -> Vec<Learning> {
        self.agents
            .get_learnings_by_domain(workspace, domain, None, 1000)
            .expect("by domain")
    }
    fn recall(&self, agent: &str, workspace: &str, query: &str, k: usize) -> Vec<RecalledLearning> {
        self.agents
            .recall(agent, Some(workspace), query, k, None)
            .expect("recall")
    }
    fn pollinate(
        &self,
        workspace: &str,
        agents: &[&str],
        options: PollinationOptions,
    ) -> PollinationReport {
        let agents: Vec<String> = agents.iter().map(|a| (*a).to_owned()).collect();
        self.agents
            .run_cross_pollination(Some(workspace), &agents, options)
            .expect("cross-pollination")
    }
    fn history(&self, _workspace: &str, id: PointId) -> Result<PromotionEntry, Refusal> {
        self.agents.get_promotion_history(id).map_err(refusal)
    }
    fn interact(&self, agent: &str, domain: &str, successful: bool) -> Expertise {
        self.agents
            .record_interaction(agent, domain, successful, None)
            .expect("interaction")
    }
    fn expertise(&self, agent: &str, domain: &str) -> Expertise {
        self.agents.expertise(agent, domain).expect("expertise")
    }
    fn report(&self, agent: &str) -> Vec<Expertise> {
        self.agents.get_expertise_report(agent).expect("report")
    }
    fn best(&self, domain: &str, agents: &[&str]) -> BestAgent {
        let agents: Vec<String> = agents.iter().map(|a| (*a).to_owned()).collect();
        self.agents
            .get_best_agent_for_domain(domain, &agents)
            .expect("best")
    }
}

/// The admin key of [`Http`] servers.
pub const ADMIN: &str = "admin-key-0123456789abcdef";

/// Agent memory over a live server, called with an admin key.
pub struct Http {
    pub server: TestServer,
}

impl Http {
    pub fn new() -> Self {
        Self {
            server: TestServer::with(|c| c.api_keys = vec![ADMIN.to_owned()]),
        }
    }
}

fn ok<T: DeserializeOwned>(answer: crate::server::Answer) -> Result<T, Refusal> {
    match answer.status {
        200 => Ok(serde_json::from_value(answer.body).expect("the documented shape")),
        404 => Err(Refusal::NotFound),
        400 | 422 => Err(Refusal::Invalid),
        other => panic!("unexpected status {other}: {:?}", answer.body),
    }
}

fn must<T: DeserializeOwned>(answer: crate::server::Answer) -> T {
    ok(answer).expect("answered 200")
}

/// A learning's JSON body.
pub fn body(input: &LearningInput) -> Value {
    json!({
        "content": input.content,
        "source": input.source,
        "sentiment": input.sentiment,
        // JSON has no NaN: an invalid confidence is sent as the out-of-range number it
        // stands for.
        "confidence": if input.confidence.is_finite() { json!(input.confidence) } else { json!(2.0) },
        "tool_name": input.tool_name,
        "recommendation": input.recommendation,
        "role": input.role,
        "workspace": input.workspace,
        "domain": input.domain,
        "private": input.private,
    })
}

impl Api for Http {
    fn add(&self, agent: &str, input: LearningInput) -> Result<Learning, Refusal> {
        ok(self
            .server
            .post(&format!("/v1/agents/{agent}/learnings"), &body(&input)))
    }
    fn private(&self, agent: &str) -> Vec<Learning> {
        must(self.server.get(&format!("/v1/agents/{agent}/learnings")))
    }
    fn get(&self, agent: &str, id: PointId) -> Result<Learning, Refusal> {
        ok(self
            .server
            .get(&format!("/v1/agents/{agent}/learnings/{id}")))
    }
    fn promote(&self, agent: &str, id: PointId, reason: &str) -> Result<Promotion, Refusal> {
        ok(self.server.post(
            &format!("/v1/agents/{agent}/learnings/{id}/promote"),
            &json!({"reason": reason}),
        ))
    }
    fn shared(&self, workspace: &str, viewer: Option<&str>) -> Vec<Learning> {
        let viewer = viewer.map(|v| format!("&agent={v}")).unwrap_or_default();
        must(self.server.get(&format!(
            "/v1/workspaces/{workspace}/learnings?limit=1000{viewer}"
        )))
    }
    fn by_domain(&self, workspace: &str, domain: &str) -> Vec<Learning> {
        must(self.server.get(&format!(
            "/v1/workspaces/{workspace}/learnings?domain={domain}&limit=1000"
        )))
    }
    fn recall(&self, agent: &str, workspace: &str, query: &str, k: usize) -> Vec<RecalledLearning> {
        must(self.server.post(
            &format!("/v1/agents/{agent}/recall"),
            &json!({"query": query, "k": k, "workspace": workspace}),
        ))
    }
    fn pollinate(
        &self,
        workspace: &str,
        agents: &[&str],
        options: PollinationOptions,
    ) -> PollinationReport {
        must(self.server.post(
            &format!("/v1/workspaces/{workspace}/cross-pollination"),
            &json!({
                "agents": agents,
                "confidence_threshold": options.confidence_threshold,
                "max_promotions_per_agent": options.max_promotions_per_agent,
            }),
        ))
    }
    fn history(&self, workspace: &str, id: PointId) -> Result<PromotionEntry, Refusal> {
        ok(self
            .server
            .get(&format!("/v1/workspaces/{workspace}/promotions/{id}")))
    }
    fn interact(&self, agent: &str, domain: &str, successful: bool) -> Expertise {
        must(self.server.post(
            &format!("/v1/agents/{agent}/interactions"),
            &json!({"domain": domain, "successful": successful}),
        ))
    }
    fn expertise(&self, agent: &str, domain: &str) -> Expertise {
        must(
            self.server
                .get(&format!("/v1/agents/{agent}/expertise/{domain}")),
        )
    }
    fn report(&self, agent: &str) -> Vec<Expertise> {
        must(self.server.get(&format!("/v1/agents/{agent}/expertise")))
    }
    fn best(&self, domain: &str, agents: &[&str]) -> BestAgent {
        must(self.server.post(
            "/v1/agents/best",
            &json!({"domain": domain, "agents": agents}),
        ))
    }
}

/// A private learning of the note's defaults with this confidence.
pub fn learning(content: &str, confidence: f64) -> LearningInput {
    LearningInput::new(content, "self_evaluation").confidence(confidence)
}
