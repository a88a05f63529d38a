//! `engram episodes start|event|end|show|recall|failures`.

use std::fmt::Write as _;

use engram::episodes::{Episode, EpisodeLog, EpisodeStatus};
use engram::memory::Metrics;
use engram::store::{Payload, PointId};

use super::args::{Cli, EpisodeCommand};
use super::output::{Output, ellipsize};
use super::{CliResult, Failure, session};

/// Runs one episodes command.
pub fn run(cli: &Cli, command: &EpisodeCommand, out: &mut Output) -> CliResult {
    let episodes = session::open(cli)?;
    match command {
        EpisodeCommand::Start { task, context } => {
            let context = match context {
                Some(json) => object(json, "--context")?,
                None => Payload::new(),
            };
            let id = episodes.start_episode(task, context)?;
            out.text(&format!("{id}\n"))?;
        }
        EpisodeCommand::Event {
            id,
            event_type,
            role,
            data,
        } => {
            let data = match data {
                Some(json) => super::parse_json(json, "--data", "JSON")?,
                None => serde_json::Value::Object(Payload::new()),
            };
            let seq = episodes.record_event(episode_id(id)?, event_type, role, data)?;
            out.text(&format!("{seq}\n"))?;
        }
        EpisodeCommand::End {
            id,
            success,
            failure,
            abandon,
            metrics,
        } => {
            let id = episode_id(id)?;
            let episode = match abandon {
                Some(reason) => episodes.abandon_episode(id, reason)?,
                None => {
                    let metrics: Metrics = match metrics {
                        Some(json) => {
                            super::parse_json(json, "--metrics", "a JSON object of numbers")?
                        }
                        None => Metrics::new(),
                    };
                    episodes.end_episode(id, *success && !*failure, metrics)?
                }
            };
            let mut text = format!(
                "episode {id} {} after {} events\n",
                episode.status.name(),
                episode.event_count.unwrap_or(0)
            );
            if let Some(failure) = &episode.failure {
                let _ = writeln!(
                    text,
                    "failure shown by {} ({}){}",
                    failure.event_type,
                    failure.agent_role,
                    failure
                        .signature
                        .as_deref()
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default()
                );
            }
            out.text(&text)?;
        }
        EpisodeCommand::Show { id: Some(id), json } => {
            let log = episodes.get_episode(episode_id(id)?)?;
            if *json {
                out.json(&log)?;
            } else {
                out.text(&render_log(&log))?;
            }
        }
        EpisodeCommand::Show { id: None, json } => {
            let running = episodes.running_episodes()?;
            if *json {
                let listed: Vec<_> = running
                    .iter()
                    .map(|(id, e)| serde_json::json!({"id": id, "episode": e}))
                    .collect();
                out.json(&listed)?;
            } else if running.is_empty() {
                out.text("no episode is running\n")?;
            } else {
                let mut text = String::from("running (or left behind by a process that died):\n");
                for (id, episode) in &running {
                    let _ = writeln!(text, "  {id}  {}", ellipsize(&episode.task, 70));
                }
                out.text(&text)?;
            }
        }
        EpisodeCommand::Recall {
            task,
            success_only,
            min_score,
            limit,
            json,
        } => {
            let found = episodes.recall_episodes(task, *limit, *success_only, *min_score)?;
            if *json {
                out.json(&found)?;
            } else if found.is_empty() {
                out.text("nothing recalled: no ended episode matches\n")?;
            } else {
                let mut text = String::new();
                for (rank, item) in found.iter().enumerate() {
                    let _ = writeln!(
                        text,
                        "{:>2}. {:.3}  {}  [{}, {} events]  {}",
                        rank + 1,
                        item.similarity,
                        ellipsize(&item.record.task, 60),
                        item.record.status.name(),
                        item.record.event_count.unwrap_or(0),
                        item.id
                    );
                }
                out.text(&text)?;
            }
        }
        EpisodeCommand::Failures { limit, json } => {
            let report = episodes.analyze_failures(*limit)?;
            if *json {
                out.json(&report)?;
            } else if report.groups.is_empty() {
                out.text("no failed episode yet\n")?;
            } else {
                let mut text = format!("{} failed episodes\n\n", report.failed_episodes);
                for group in &report.groups {
                    let _ = writeln!(
                        text,
                        "{:>5} {:>5.1}%  {} ({}){}",
                        group.count,
                        group.share * 100.0,
                        group.failure.event_type,
                        group.failure.agent_role,
                        group
                            .failure
                            .signature
                            .as_deref()
                            .map(|s| format!(": {}", ellipsize(s, 70)))
                            .unwrap_or_default()
                    );
                    let examples: Vec<String> =
                        group.examples.iter().map(|id| id.to_string()).collect();
                    let _ = writeln!(text, "             e.g. {}", examples.join(", "));
                }
                out.text(&text)?;
            }
        }
    }
    Ok(())
}

fn episode_id(text: &str) -> Result<PointId, Failure> {
    text.trim()
        .parse()
        .map_err(|e| Failure::usage(format!("{text:?} is not an episode id (a UUID): {e}")))
}

fn object(json: &str, flag: &str) -> Result<Payload, Failure> {
    match super::parse_json(json, flag, "JSON")? {
        serde_json::Value::Object(map) => Ok(map),
        _ => Err(Failure::usage(format!("{flag} must be a JSON object"))),
    }
}

fn render_log(log: &EpisodeLog) -> String {
    let Episode {
        task,
        status,
        started_at,
        ended_at,
        ..
    } = &log.episode;
    let state = match status {
        EpisodeStatus::Running => {
            "running (not ended: in progress, or its process died)".to_owned()
        }
        other => other.name().to_owned(),
    };
    let mut text = format!("episode {}\ntask     {task}\nstatus   {state}\n", log.id);
    let _ = writeln!(text, "started  {}", time(*started_at));
    if let Some(ended) = ended_at {
        let _ = writeln!(text, "ended    {}", time(*ended));
    }
    let _ = writeln!(text, "events   {}", log.events.len());
    for event in &log.events {
        let data = serde_json::to_string(&event.data).unwrap_or_default();
        let _ = writeln!(
            text,
            "  {:>5}  {}  {:<12} {:<10} {}",
            event.seq,
            time(event.at),
            event.event_type,
            event.agent_role,
            ellipsize(&data, 60)
        );
    }
    text
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| ms.to_string())
}
