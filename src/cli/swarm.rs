//! `engram swarm put|get|list|delete|events`: swarm memory from the shell, on the data
//! directory or through the server that holds it. Every command prints the API's JSON;
//! locks and the event stream are the HTTP API's (a lock outlives one command only as a
//! token the caller keeps, which the HTTP API hands out).

use engram::swarm::{ConflictPolicy, Put};
use serde_json::{Value, json};

use super::args::{Cli, SwarmCommand};
use super::output::Output;
use super::session::path_segment;
use super::{CliResult, Failure, session};

/// Runs one swarm command.
pub fn run(cli: &Cli, command: &SwarmCommand, out: &mut Output) -> CliResult {
    let memory = session::open(cli)?;
    let value: Value = match command {
        SwarmCommand::Put {
            key,
            value,
            policy,
            expected_version,
            ttl_ms,
        } => {
            let value: Value = serde_json::from_str(value).map_err(|error| {
                Failure::usage(format!(
                    "the value is not JSON ({error}); quote text as '\"text\"'"
                ))
            })?;
            let policy: ConflictPolicy = serde_json::from_value(json!(policy)).map_err(|_| {
                Failure::usage(format!(
                    "--policy {policy:?}: give reject, last_write_wins or merge"
                ))
            })?;
            let write = Put {
                key: key.clone(),
                value: value.clone(),
                policy,
                expected_version: *expected_version,
                ttl_ms: *ttl_ms,
                lock: None,
            };
            let body = json!({
                "key": key, "value": value, "policy": policy,
                "expected_version": expected_version, "ttl_ms": ttl_ms,
            });
            memory.swarm(
                |s| to_json(s.put(None, &write, None)),
                "PUT",
                "/v1/swarm/entry",
                Some(body),
            )?
        }
        SwarmCommand::Get { key } => memory.swarm(
            |s| match s.get(key, None)? {
                Some(entry) => to_json(Ok(entry)),
                None => Ok(Value::Null),
            },
            "GET",
            &format!("/v1/swarm/entry?key={}", path_segment(key)),
            None,
        )?,
        SwarmCommand::List {
            prefix,
            limit,
            after,
        } => {
            let mut path = format!(
                "/v1/swarm/entries?prefix={}&limit={limit}",
                path_segment(prefix)
            );
            if let Some(after) = after {
                path.push_str(&format!("&after={}", path_segment(after)));
            }
            memory.swarm(
                |s| to_json(s.list(prefix, *limit, after.as_deref())),
                "GET",
                &path,
                None,
            )?
        }
        SwarmCommand::Delete {
            key,
            expected_version,
        } => {
            let mut path = format!("/v1/swarm/entry?key={}", path_segment(key));
            if let Some(version) = expected_version {
                path.push_str(&format!("&expected_version={version}"));
            }
            memory.swarm(
                |s| {
                    s.delete(None, key, *expected_version, None)
                        .map(|deleted| json!({ "deleted": deleted }))
                },
                "DELETE",
                &path,
                None,
            )?
        }
        SwarmCommand::Events {
            after,
            prefix,
            limit,
        } => {
            let mut path = format!("/v1/events?after={after}&limit={limit}");
            if let Some(prefix) = prefix {
                path.push_str(&format!("&prefix={}", path_segment(prefix)));
            }
            memory.swarm(
                |s| to_json(s.events().read(*after, prefix.as_deref(), *limit)),
                "GET",
                &path,
                None,
            )?
        }
    };
    // A key with no live entry: the same failure whether answered here or by a server (404).
    if value.is_null()
        && let SwarmCommand::Get { key } = command
    {
        return Err(Failure::usage(format!("no live entry under {key}")));
    }
    out.json(&value)?;
    Ok(())
}

fn to_json<T: serde::Serialize>(
    result: Result<T, engram::swarm::SwarmError>,
) -> Result<Value, engram::swarm::SwarmError> {
    let value = result?;
    serde_json::to_value(value).map_err(|e| engram::swarm::SwarmError::Task(e.to_string()))
}
