//! `engram health` and `engram optimize`: the memory health report and the repairs it calls
//! for, on the data directory or through the server that holds it (an admin call there).

use std::fmt::Write as _;

use engram::health::{self, HealthReport, Optimization, Overall};
use serde_json::json;

use super::args::Cli;
use super::output::Output;
use super::stats::human_bytes;
use super::{CliResult, session};

/// Prints the health report.
pub fn report(cli: &Cli, json: bool, out: &mut Output) -> CliResult {
    let memory = session::open(cli)?;
    let report: HealthReport = memory.whole(health::report, "GET", "/v1/swarm/health", None)?;
    if json {
        out.json(&report)?;
        return Ok(());
    }
    let mut text = String::new();
    let verdict = match report.overall_health {
        Overall::Healthy => "healthy",
        Overall::NeedsAttention => "needs attention (engram optimize shows the plan)",
    };
    let _ = writeln!(text, "overall  {verdict}");
    for finding in &report.findings {
        let _ = writeln!(text, "  - {finding}");
    }
    let _ = writeln!(
        text,
        "\nswarm    {} live entries; by category: {}",
        report.swarm.live,
        counts(
            report
                .swarm
                .by_category
                .iter()
                .map(|(k, v)| (k.as_str(), *v))
        )
    );
    let _ = writeln!(
        text,
        "memories {} live, {} expired not swept",
        report.memories.live, report.memories.expired
    );
    if !report.by_agent.is_empty() {
        let _ = writeln!(text, "\n{:<32} {:>8} {:>8}", "agent", "swarm", "memories");
        for (agent, entries) in &report.by_agent {
            let _ = writeln!(
                text,
                "{agent:<32} {:>8} {:>8}",
                entries.swarm_entries, entries.memories
            );
        }
    }
    let _ = writeln!(
        text,
        "\n{:<28} {:>8} {:>8} {:>8} {:>10}",
        "collection", "points", "indexed", "segments", "disk"
    );
    for c in &report.collections {
        let _ = writeln!(
            text,
            "{:<28} {:>8} {:>8} {:>8} {:>10}",
            c.name,
            c.points,
            c.indexed_vectors,
            c.segments,
            c.disk_bytes.map(human_bytes).unwrap_or_else(|| "-".into())
        );
    }
    super::stats::layouts(
        report
            .collections
            .iter()
            .filter_map(|c| c.layout.as_ref().map(|l| (c.name.as_str(), l))),
        &mut text,
    );
    if !report.quotas.is_empty() {
        let _ = writeln!(
            text,
            "\n{:<32} {:>16} {:>22} {:>6}",
            "quota use", "records", "bytes", "share"
        );
        for quota in &report.quotas {
            let limit = |l: Option<u64>| l.map_or("-".to_owned(), |l| l.to_string());
            let _ = writeln!(
                text,
                "{:<32} {:>16} {:>22} {:>5.0}%{}",
                quota.agent,
                format!("{}/{}", quota.usage.entries, limit(quota.entries_limit)),
                format!("{}/{}", quota.usage.bytes, limit(quota.bytes_limit)),
                quota.used_share.unwrap_or(0.0) * 100.0,
                if quota.warning {
                    "  (80 % or more)"
                } else {
                    ""
                }
            );
        }
    }
    if let Some(bytes) = report.disk_bytes {
        let _ = writeln!(text, "{:<28} {:>37}", "total", human_bytes(bytes));
    }
    out.text(&text)?;
    Ok(())
}

/// Prints the optimisation plan, and carries it out with `apply`.
pub fn optimize(cli: &Cli, apply: bool, json: bool, out: &mut Output) -> CliResult {
    let memory = session::open(cli)?;
    let result: Optimization = memory.whole(
        |engram| health::optimize::optimize(engram, apply),
        "POST",
        "/v1/swarm/optimize",
        Some(json!({ "apply": apply })),
    )?;
    if json {
        out.json(&result)?;
        return Ok(());
    }
    let mut text = String::new();
    if result.plan.steps.is_empty() {
        let _ = writeln!(text, "nothing to do: the store is healthy");
    } else if !result.applied {
        let _ = writeln!(
            text,
            "plan (nothing changed; run with --apply to carry it out):"
        );
        for step in &result.plan.steps {
            let _ = writeln!(text, "  - {}", step.detail);
        }
    } else {
        let _ = writeln!(text, "applied:");
        for (step, done) in result.plan.steps.iter().zip(&result.optimizations_applied) {
            let _ = writeln!(text, "  - {} (done: {})", step.detail, done.done);
        }
        if let Some(saved) = result.space_saved {
            let sign = if saved < 0 { "-" } else { "" };
            let _ = writeln!(
                text,
                "space saved: {sign}{}",
                human_bytes(saved.unsigned_abs())
            );
        }
    }
    out.text(&text)?;
    Ok(())
}

fn counts<'a>(items: impl Iterator<Item = (&'a str, usize)>) -> String {
    let parts: Vec<String> = items.map(|(k, v)| format!("{k} {v}")).collect();
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join(", ")
    }
}
