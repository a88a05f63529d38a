//! `engram specialists init|list|record|outcome|show|context`.

use std::fmt::Write as _;

use engram::specialists::{ConcernInput, SessionInput, SpecialistSpec, SpecialistState, Verdict};

use super::args::{Cli, SpecialistCommand};
use super::output::{Output, ellipsize};
use super::{CliResult, session};

/// Runs one specialists command.
pub fn run(cli: &Cli, command: &SpecialistCommand, out: &mut Output) -> CliResult {
    let memory = session::open(cli)?;
    match command {
        SpecialistCommand::Init { specialists } => {
            let specs = specialists.iter().map(|s| spec(s)).collect();
            let mut text = String::new();
            for done in memory.init_specialists(specs)? {
                let state = if done.created {
                    "created"
                } else {
                    "exists (kept)"
                };
                let _ = writeln!(text, "{:<20} {state}", done.id);
            }
            out.text(&text)?;
        }
        SpecialistCommand::List { json } => {
            let listed = memory.list_specialists()?;
            if *json {
                let listed: Vec<_> = listed
                    .iter()
                    .map(|(id, n)| serde_json::json!({"id": id, "session_count": n}))
                    .collect();
                out.json(&listed)?;
            } else if listed.is_empty() {
                out.text("no specialist yet; create them with `engram specialists init`\n")?;
            } else {
                let mut text = String::new();
                for (id, n) in &listed {
                    let _ = writeln!(text, "{id:<20} {n} sessions");
                }
                out.text(&text)?;
            }
        }
        SpecialistCommand::Record {
            specialist,
            question,
            response,
            concerns,
            decision,
            deliberation,
            topics,
            json,
        } => {
            let input = SessionInput {
                question: question.clone(),
                response: response.clone(),
                concerns: concerns.iter().map(|c| concern(c)).collect(),
                decision: decision.clone(),
                deliberation: deliberation.clone(),
                topics: topics.clone(),
            };
            let recorded = memory.record_session(specialist, input)?;
            if *json {
                out.json(&recorded)?;
            } else {
                let mut text = format!(
                    "{} session {} of deliberation {}; topics: {}\n",
                    recorded.specialist,
                    recorded.session_count,
                    recorded.deliberation,
                    list(&recorded.topics)
                );
                for c in &recorded.concerns {
                    let _ = write!(text, "  [{}] {}", c.kind, ellipsize(&c.text, 70));
                    match &c.repeat_of {
                        Some(r) => {
                            let _ = writeln!(
                                text,
                                "\n      repeats {:?} (deliberation {}, {:.2} similar, {})",
                                ellipsize(&r.text, 60),
                                r.deliberation,
                                r.similarity,
                                r.verdict.map_or("no outcome yet", Verdict::name)
                            );
                        }
                        None => text.push('\n'),
                    }
                }
                out.text(&text)?;
            }
        }
        SpecialistCommand::Outcome {
            deliberation,
            validated,
            dismissed: _,
            specialists,
            outcome,
        } => {
            let verdict = if *validated {
                Verdict::Validated
            } else {
                Verdict::Dismissed
            };
            let only = (!specialists.is_empty()).then_some(specialists.as_slice());
            let report = memory.record_outcome(deliberation, verdict, only, outcome.as_deref())?;
            out.text(&format!(
                "deliberation {}: {} concerns {} now, {} already; specialists: {}\n",
                report.deliberation,
                report.marked,
                report.verdict.name(),
                report.already,
                list(&report.specialists)
            ))?;
        }
        SpecialistCommand::Show { specialist, json } => {
            let state = memory.specialist_state(specialist)?;
            if *json {
                out.json(&state)?;
            } else {
                out.text(&render_state(&state))?;
            }
        }
        SpecialistCommand::Context {
            specialist,
            budget,
            json,
        } => {
            let context = memory.specialist_context(specialist, *budget)?;
            if *json {
                out.json(&context)?;
            } else {
                out.text(&format!("{}\n", context.text))?;
            }
        }
    }
    Ok(())
}

/// `NAME` or `NAME=TOPIC,TOPIC`.
fn spec(text: &str) -> SpecialistSpec {
    match text.split_once('=') {
        Some((id, topics)) => SpecialistSpec {
            id: id.to_owned(),
            topics: topics
                .split(',')
                .filter(|t| !t.trim().is_empty())
                .map(str::to_owned)
                .collect(),
        },
        None => SpecialistSpec {
            id: text.to_owned(),
            topics: Vec::new(),
        },
    }
}

/// `KIND=TEXT` when what precedes the first `=` is one word, else `TEXT` of type general.
fn concern(text: &str) -> ConcernInput {
    match text.split_once('=') {
        Some((kind, rest))
            if !kind.trim().is_empty() && !kind.trim().contains(char::is_whitespace) =>
        {
            ConcernInput {
                text: rest.to_owned(),
                kind: kind.trim().to_owned(),
            }
        }
        _ => ConcernInput {
            text: text.to_owned(),
            kind: engram::specialists::general(),
        },
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn render_state(state: &SpecialistState) -> String {
    let mut text = format!(
        "specialist {}\nsessions   {}\nconcerns   {}\n",
        state.id, state.session_count, state.concerns_raised
    );
    let _ = writeln!(text, "recent     {}", list(&state.recent_topics));
    if !state.topics.is_empty() {
        let topics: Vec<String> = state
            .topics
            .iter()
            .take(20)
            .map(|t| format!("{} ({})", t.topic, t.sessions))
            .collect();
        let _ = writeln!(text, "topics     {}", topics.join(", "));
    }
    for p in &state.patterns {
        let _ = writeln!(
            text,
            "pattern    {} concerns about {}: {} of {} validated (precision ≥ {:.2}, {} raised)",
            p.kind,
            p.topic,
            p.validated,
            p.validated + p.dismissed,
            p.precision_lower_bound,
            p.raised
        );
    }
    for r in &state.pending_repeats {
        let _ = writeln!(
            text,
            "repeated   {} ×{} without an outcome",
            ellipsize(&r.text, 60),
            r.repeats
        );
    }
    for d in &state.recent_decisions {
        let _ = writeln!(
            text,
            "decided    {}: {}",
            d.deliberation,
            ellipsize(&d.decision, 60)
        );
    }
    text
}
