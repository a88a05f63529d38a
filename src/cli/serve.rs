//! `engram serve [--listen ADDR] [--api-key KEY]…`: the HTTP API until SIGINT or SIGTERM.

use engram::Engram;
use engram::config::{Config, Overrides};
use engram::server::{ServeError, Server, shutdown_signal};

use super::args::{Cli, ServeArgs};
use super::{CliResult, Failure};

/// Opens engram, binds the address and serves; the store is flushed on the way out.
pub fn run(cli: &Cli, args: &ServeArgs) -> CliResult {
    let keys = given_keys(&args.api_keys);
    let agent_keys = given_keys(&args.agent_keys);
    let config = Config::resolve(Overrides {
        listen: args.listen.clone(),
        api_keys: (!keys.is_empty()).then_some(keys),
        agent_keys: (!agent_keys.is_empty()).then_some(agent_keys),
        agent_workspaces: (!args.agent_workspaces.is_empty())
            .then(|| args.agent_workspaces.clone()),
        ..cli.overrides()
    })?;
    let server_config = config.server.clone();
    if !server_config.listen.ip().is_loopback() && !server_config.requires_keys() {
        // Refuse before loading the model.
        return Err(serve_failure(ServeError::KeysRequired(
            server_config.listen,
        )));
    }
    let engram = Engram::open(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::from)?;
    runtime.block_on(async move {
        let server = Server::bind(engram, server_config.clone())
            .await
            .map_err(serve_failure)?;
        let addr = server.local_addr().map_err(serve_failure)?;
        tracing::info!(
            "engram serving on http://{addr} ({})",
            if !server_config.requires_keys() {
                "no API keys: loopback only"
            } else {
                "API keys required"
            }
        );
        server.run(shutdown_signal()).await.map_err(serve_failure)
    })
}

/// Keys given on the command line or in the environment, trimmed, empty ones dropped.
fn given_keys(keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|k| k.trim().to_owned())
        .filter(|k| !k.is_empty())
        .collect()
}

pub(crate) fn serve_failure(error: ServeError) -> Failure {
    match error {
        ServeError::KeysRequired(_) | ServeError::Bind { .. } => Failure::usage(error.to_string()),
        ServeError::Io(error) => Failure::from(error),
    }
}
