//! `engram agents learn|private|recall|promote|shared|pollinate|history|interact|expertise|best`:
//! agent memory from the shell, on the data directory or through the server that holds it.
//! Every command prints the API's JSON, for agents that shell out.

use engram::agents::{LearningInput, PollinationOptions};
use engram::store::PointId;
use serde_json::json;

use super::args::{AgentCommand, Cli};
use super::output::Output;
use super::session::path_segment as seg;
use super::{CliResult, Failure, session};

/// Runs one agents command.
pub fn run(cli: &Cli, command: &AgentCommand, out: &mut Output) -> CliResult {
    let memory = session::open(cli)?;
    let value: serde_json::Value = match command {
        AgentCommand::Learn {
            agent,
            content,
            source,
            confidence,
            domain,
            workspace,
            shared,
        } => {
            let input = LearningInput {
                domain: domain.clone(),
                workspace: workspace.clone(),
                private: !shared,
                ..LearningInput::new(content.clone(), source.clone()).confidence(*confidence)
            };
            let body = json!({
                "content": content, "source": source, "confidence": confidence,
                "domain": domain, "workspace": workspace, "private": !shared,
            });
            memory.agents(
                |a| to_json(a.add_learning(agent, input, None)),
                "POST",
                &format!("/v1/agents/{}/learnings", seg(agent)),
                Some(body),
            )?
        }
        AgentCommand::Private { agent } => memory.agents(
            |a| to_json(a.get_private_learnings(agent, None)),
            "GET",
            &format!("/v1/agents/{}/learnings", seg(agent)),
            None,
        )?,
        AgentCommand::Recall {
            agent,
            query,
            k,
            workspace,
        } => memory.agents(
            |a| to_json(a.recall(agent, workspace.as_deref(), query, *k, None)),
            "POST",
            &format!("/v1/agents/{}/recall", seg(agent)),
            Some(json!({"query": query, "k": k, "workspace": workspace})),
        )?,
        AgentCommand::Promote { agent, id, reason } => {
            let id = learning_id(id)?;
            memory.agents(
                |a| to_json(a.promote_learning(Some(agent), None, id, reason)),
                "POST",
                &format!("/v1/agents/{}/learnings/{id}/promote", seg(agent)),
                Some(json!({"reason": reason})),
            )?
        }
        AgentCommand::Shared { workspace, domain } => {
            let query = domain
                .as_ref()
                .map(|d| format!("&domain={}", seg(d)))
                .unwrap_or_default();
            memory.agents(
                |a| {
                    to_json(match domain {
                        Some(d) => a.get_learnings_by_domain(workspace, d, None, 1000),
                        None => a.get_shared_learnings(workspace, None, 1000),
                    })
                },
                "GET",
                &format!(
                    "/v1/workspaces/{}/learnings?limit=1000{query}",
                    seg(workspace)
                ),
                None,
            )?
        }
        AgentCommand::Pollinate {
            agents,
            workspace,
            threshold,
            max_per_agent,
        } => {
            let options = PollinationOptions {
                confidence_threshold: *threshold,
                max_promotions_per_agent: *max_per_agent,
            };
            let ws = workspace
                .as_deref()
                .unwrap_or(engram::agents::DEFAULT_WORKSPACE);
            memory.agents(
                |a| to_json(a.run_cross_pollination(workspace.as_deref(), agents, options)),
                "POST",
                &format!("/v1/workspaces/{}/cross-pollination", seg(ws)),
                Some(json!({
                    "agents": agents,
                    "confidence_threshold": threshold,
                    "max_promotions_per_agent": max_per_agent,
                })),
            )?
        }
        AgentCommand::History { id, workspace } => {
            let id = learning_id(id)?;
            memory.agents(
                |a| to_json(a.get_promotion_history(id)),
                "GET",
                &format!("/v1/workspaces/{}/promotions/{id}", seg(workspace)),
                None,
            )?
        }
        AgentCommand::Interact {
            agent,
            domain,
            failed,
        } => memory.agents(
            |a| to_json(a.record_interaction(agent, domain, !failed, None)),
            "POST",
            &format!("/v1/agents/{}/interactions", seg(agent)),
            Some(json!({"domain": domain, "successful": !failed})),
        )?,
        AgentCommand::Expertise { agent } => memory.agents(
            |a| to_json(a.get_expertise_report(agent)),
            "GET",
            &format!("/v1/agents/{}/expertise", seg(agent)),
            None,
        )?,
        AgentCommand::Best { domain, agents } => memory.agents(
            |a| to_json(a.get_best_agent_for_domain(domain, agents)),
            "POST",
            "/v1/agents/best",
            Some(json!({"domain": domain, "agents": agents})),
        )?,
    };
    out.json(&value)?;
    Ok(())
}

fn to_json<T: serde::Serialize>(
    result: Result<T, engram::agents::AgentError>,
) -> Result<serde_json::Value, engram::agents::AgentError> {
    let value = result?;
    serde_json::to_value(value).map_err(|e| engram::agents::AgentError::Task(e.to_string()))
}

fn learning_id(text: &str) -> Result<PointId, Failure> {
    text.parse::<PointId>()
        .map_err(|_| Failure::usage(format!("{text:?} is not a learning id (a UUID)")))
}
