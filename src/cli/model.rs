//! `engram model install|info`.

use std::fmt::Write as _;

use engram::embed::{
    ALL_MINILM_L6_V2, BertConfig, ModelSources, ModelSpec, PRECISION_ENV, Precision, Provisioner,
};
use serde::Serialize;

use super::CliResult;
use super::output::Output;

/// `engram model install [--force]`.
pub fn install(sources: &ModelSources, force: bool, json: bool, out: &mut Output) -> CliResult {
    let provisioner = Provisioner::new(ALL_MINILM_L6_V2, sources.clone());
    let installation = provisioner.install(force)?;
    if json {
        out.json(&installation)?;
    } else if installation.changed {
        out.text(&format!(
            "installed {} from the {} into {}\n",
            provisioner.spec().name,
            installation.source,
            installation.dir.display()
        ))?;
    } else {
        out.text(&format!(
            "{} is already installed and verified in {} (use --force to reinstall)\n",
            provisioner.spec().name,
            installation.dir.display()
        ))?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Info<'a> {
    model: &'a str,
    hub_repo: &'a str,
    pip_requirement: &'a str,
    in_use: Option<&'a engram::embed::SourceStatus>,
    config: Option<ConfigSummary>,
    /// The arithmetic embeddings run in here (`bf16-avx512`, `int8-avx2`, `f32-avx2`,
    /// `f32-neon`, `f32-generic`), or why the configured precision cannot run.
    kernel: String,
    /// The instructions its register tiles use on this CPU (e.g. `AVX-512F`), when it runs.
    instructions: Option<&'static str>,
    sources: &'a [engram::embed::SourceStatus],
}

#[derive(Serialize)]
struct ConfigSummary {
    dimension: usize,
    layers: usize,
    heads: usize,
    vocab_size: usize,
}

/// `engram model info`.
pub fn info(sources: &ModelSources, json: bool, out: &mut Output) -> CliResult {
    let provisioner = Provisioner::new(ALL_MINILM_L6_V2, sources.clone());
    let spec = provisioner.spec();
    let statuses = provisioner.status();
    let in_use = statuses.iter().find(|s| s.ready);
    let config = in_use.and_then(|s| read_config(&s.location));
    let resolved = Precision::Auto.resolve();
    let info = Info {
        model: spec.name,
        hub_repo: spec.hub_repo,
        pip_requirement: spec.pip_requirement,
        in_use,
        config,
        kernel: match &resolved {
            Ok(kernel) => kernel.name().to_owned(),
            Err(error) => error.to_string(),
        },
        instructions: resolved.as_ref().ok().map(|kernel| kernel.instructions()),
        sources: &statuses,
    };
    if json {
        out.json(&info)?;
        return Ok(());
    }
    let mut text = String::new();
    let _ = writeln!(text, "model      {} ({})", spec.name, spec.hub_repo);
    match (info.in_use, &info.config) {
        (Some(status), config) => {
            let _ = writeln!(text, "in use     {}: {}", status.source, status.location);
            if let Some(c) = config {
                let _ = writeln!(
                    text,
                    "shape      {} dimensions, {} layers, {} heads, {} word pieces",
                    c.dimension, c.layers, c.heads, c.vocab_size
                );
            }
        }
        (None, _) => {
            let _ = writeln!(
                text,
                "in use     none yet: `engram model install` (or any command that embeds) \
                 installs it"
            );
        }
    }
    let instructions = info
        .instructions
        .map(|i| format!(" with {i}"))
        .unwrap_or_default();
    let _ = writeln!(
        text,
        "arithmetic {}{instructions} ({PRECISION_ENV}=auto|f32|bf16|int8)",
        info.kernel
    );
    let _ = writeln!(text, "sources, in the order engram tries them:");
    for status in &statuses {
        let _ = writeln!(
            text,
            "  {:<20} {:<50} {}",
            status.source.to_string(),
            if status.location.is_empty() {
                "-"
            } else {
                &status.location
            },
            status.status
        );
    }
    out.text(&text)?;
    Ok(())
}

fn read_config(dir: &str) -> Option<ConfigSummary> {
    let bytes = std::fs::read(std::path::Path::new(dir).join(ModelSpec::CONFIG)).ok()?;
    let config: BertConfig = serde_json::from_slice(&bytes).ok()?;
    Some(ConfigSummary {
        dimension: config.hidden_size,
        layers: config.num_hidden_layers,
        heads: config.num_attention_heads,
        vocab_size: config.vocab_size,
    })
}
