//! `engram swarm put|get|list|delete|events|outcome|strategy|insights`: swarm memory from
//! the shell, on the data
//! directory or through the server that holds it. Every command prints the API's JSON;
//! locks and the event stream are the HTTP API's (a lock outlives one command only as a
//! token the caller keeps, which the HTTP API hands out).

use engram::swarm::{ConflictPolicy, InsightKind, NewOutcome, Put};
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
        SwarmCommand::Outcome {
            task_type,
            agents,
            failed,
            seconds,
            context,
            strategy,
        } => {
            let outcome = NewOutcome {
                task_type: task_type.clone(),
                agents: agents.clone(),
                success: !failed,
                execution_time: *seconds,
                context: object("--context", context)?,
                strategy: strategy.clone(),
            };
            let body = serde_json::to_value(&outcome).map_err(|e| Failure::usage(e.to_string()))?;
            memory.swarm(
                |s| to_json(s.record_task_outcome(None, &outcome, None)),
                "POST",
                "/v1/swarm/outcomes",
                Some(body),
            )?
        }
        SwarmCommand::Strategy {
            context,
            neighbours,
        } => {
            let context = object("the situation", context)?;
            let body = json!({"context": context, "neighbours": neighbours});
            memory.swarm(
                |s| to_json(s.outcomes().recommend(&context, *neighbours)),
                "POST",
                "/v1/swarm/strategy",
                Some(body),
            )?
        }
        SwarmCommand::Insights { kind, task_type } => {
            let parsed = InsightKind::parse(kind).map_err(|e| Failure::usage(e.to_string()))?;
            let mut path = format!("/v1/swarm/insights?kind={}", parsed.name());
            if let Some(task_type) = task_type {
                path.push_str(&format!("&task_type={}", path_segment(task_type)));
            }
            memory.swarm(
                |s| to_json(s.outcomes().insights(parsed, task_type.as_deref())),
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

/// A JSON object given on the command line.
fn object(what: &str, text: &str) -> Result<serde_json::Map<String, Value>, Failure> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::usage(format!(
            "{what} must be a JSON object ({{...}})"
        ))),
        Err(error) => Err(Failure::usage(format!("{what} is not JSON: {error}"))),
    }
}

fn to_json<T: serde::Serialize>(
    result: Result<T, engram::swarm::SwarmError>,
) -> Result<Value, engram::swarm::SwarmError> {
    let value = result?;
    serde_json::to_value(value).map_err(|e| engram::swarm::SwarmError::Task(e.to_string()))
}
