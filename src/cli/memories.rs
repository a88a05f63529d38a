//! `engram memories add|get|search|history|delete`: general memory from the shell, on the
//! data directory or through the server that holds it. Every command prints the API's JSON,
//! for agents that shell out; the rest of the API (sessions, relationships, groups,
//! batches) is the HTTP API's and the Python client's.

use engram::memories::{MemoriesError, MemoryFilters, MemoryInput, Tier};
use engram::store::PointId;
use serde_json::json;

use super::args::{Cli, MemoriesCommand};
use super::output::Output;
use super::{CliResult, Failure, session};

/// Runs one memories command.
pub fn run(cli: &Cli, command: &MemoriesCommand, out: &mut Output) -> CliResult {
    let memory = session::open(cli)?;
    let value: serde_json::Value = match command {
        MemoriesCommand::Add {
            content,
            memory_type,
            tier,
            importance,
            tags,
            parent,
        } => {
            let tier = parse_tier(tier)?;
            let parent = parent.as_deref().map(memory_id).transpose()?;
            let input = MemoryInput {
                memory_type: memory_type.clone(),
                memory_tier: Some(tier),
                importance: Some(*importance),
                tags: tags.clone(),
                parent_id: parent,
                ..MemoryInput::new(content.clone())
            };
            let body = json!({
                "content": content, "memory_type": memory_type, "memory_tier": tier,
                "importance": importance, "tags": tags, "parent_id": parent,
            });
            memory.memories(
                |m| to_json(m.add_memory(input, None)),
                "POST",
                "/v1/memories",
                Some(body),
            )?
        }
        MemoriesCommand::Get { id } => {
            let id = memory_id(id)?;
            memory.memories(
                |m| to_json(m.get_memory(None, id)),
                "GET",
                &format!("/v1/memories/{id}"),
                None,
            )?
        }
        MemoriesCommand::Search {
            query,
            limit,
            memory_type,
            tier,
            tags,
        } => {
            let filters = MemoryFilters {
                memory_type: memory_type.clone(),
                memory_tier: tier.as_deref().map(parse_tier).transpose()?,
                tags: tags.clone(),
                ..MemoryFilters::default()
            };
            let body = json!({
                "query": query, "k": limit,
                "filters": {"memory_type": memory_type, "memory_tier": filters.memory_tier, "tags": tags},
            });
            memory.memories(
                |m| to_json(m.semantic_search(None, query, *limit, &filters)),
                "POST",
                "/v1/memories/semantic-search",
                Some(body),
            )?
        }
        MemoriesCommand::History { id } => {
            let id = memory_id(id)?;
            memory.memories(
                |m| to_json(m.history(None, id)),
                "GET",
                &format!("/v1/memories/{id}/history"),
                None,
            )?
        }
        MemoriesCommand::Delete { id, keep_children } => {
            let id = memory_id(id)?;
            memory.memories(
                |m| to_json(m.delete_memory(None, id, !keep_children)),
                "DELETE",
                &format!("/v1/memories/{id}?cascade={}", !keep_children),
                None,
            )?
        }
    };
    out.json(&value)?;
    Ok(())
}

fn parse_tier(name: &str) -> Result<Tier, Failure> {
    Tier::parse(name).map_err(Failure::usage)
}

fn to_json<T: serde::Serialize>(
    result: Result<T, MemoriesError>,
) -> Result<serde_json::Value, MemoriesError> {
    let value = result?;
    serde_json::to_value(value).map_err(|e| MemoriesError::Task(e.to_string()))
}

fn memory_id(text: &str) -> Result<PointId, Failure> {
    text.parse::<PointId>()
        .map_err(|_| Failure::usage(format!("{text:?} is not a memory id (a UUID)")))
}
