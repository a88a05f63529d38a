//! `engram mcp [--agent NAME]`: MCP over stdin/stdout for one coding agent.
//!
//! When an `engram serve` holds the data directory the tools call it, so many agents share
//! one store. Otherwise this process opens the store (waiting for the directory like any
//! command) and, for an embedded directory, also serves the HTTP API on a loopback port
//! recorded in the lock file, so that other `engram mcp` processes and commands started
//! meanwhile forward to it instead of waiting for the directory. When the process it
//! forwards to ends, the next tool call finds the directory's new holder, or opens it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use engram::Engram;
use engram::config::{Config, ServerConfig, StoreConfig};
use engram::mcp::{Api, EngramMcp, Identity, Reconnect, serve_stdio};
use engram::server::{ServeError, Server, api_router};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::args::{Cli, McpArgs};
use super::serve::serve_failure;
use super::session::{self, Session};
use super::{CliResult, Failure};

/// Serves MCP on stdin/stdout until the client closes stdin.
pub fn run(cli: &Cli, args: &McpArgs) -> CliResult {
    let agent = engram::text::label(&args.agent).to_owned();
    engram::text::check_label("--agent", &agent).map_err(Failure::usage)?;
    let identity = Identity { agent };
    let config = Arc::new(cli.resolve_config()?);
    let session = session::open_config(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::from)?;
    runtime.block_on(async move {
        let host = Arc::new(Host::new(Arc::clone(&config)));
        let api = host.api_for(session).await?;
        let reconnect: Reconnect = {
            let host = Arc::clone(&host);
            Arc::new(move || {
                let host = Arc::clone(&host);
                Box::pin(async move {
                    let config = Arc::clone(&host.config);
                    let session =
                        tokio::task::spawn_blocking(move || session::open_config(&config))
                            .await
                            .map_err(|e| e.to_string())?
                            .map_err(|f| format!("{:#}", f.error))?;
                    host.api_for(session)
                        .await
                        .map_err(|f| format!("{:#}", f.error))
                })
            })
        };
        let served = serve_stdio(EngramMcp::new(api, identity).reconnecting_with(reconnect)).await;
        host.stop().await;
        served?;
        Ok(())
    })
}

/// What this process opened itself: the stores, and the loopback servers sharing them.
struct Host {
    config: Arc<Config>,
    stop: CancellationToken,
    servers: Mutex<Vec<JoinHandle<Result<(), ServeError>>>>,
    stores: Mutex<Vec<Engram>>,
}

impl Host {
    fn new(config: Arc<Config>) -> Self {
        Self {
            config,
            stop: CancellationToken::new(),
            servers: Mutex::new(Vec::new()),
            stores: Mutex::new(Vec::new()),
        }
    }

    /// The API a session offers: the server's, or this process's router over the store it
    /// opened (an embedded one also served on loopback for other processes).
    async fn api_for(&self, session: Session) -> Result<Api, Failure> {
        let engram = match session {
            Session::Server(server) => {
                tracing::info!(
                    "engram mcp: the tools call engram serve at {}",
                    server.base()
                );
                return Ok(Api::Remote(server.remote().clone()));
            }
            Session::Local(engram) => engram,
        };
        match self.config.store {
            StoreConfig::Edge(_) => {
                let loopback = ServerConfig {
                    listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                    ..self.config.server.clone()
                };
                let server = Server::bind(engram.clone(), loopback)
                    .await
                    .map_err(serve_failure)?;
                if let Ok(addr) = server.local_addr() {
                    tracing::info!(
                        "engram mcp: other engram processes on this data directory are served at http://{addr}"
                    );
                }
                // The server flushes the store when it stops.
                let running = tokio::spawn(server.run(self.stop.clone().cancelled_owned()));
                lock(&self.servers).push(running);
            }
            StoreConfig::Remote(_) => lock(&self.stores).push(engram.clone()),
        }
        Ok(Api::InProcess(api_router(engram, &self.config.server)))
    }

    /// Stops the loopback servers and flushes every store this process opened.
    async fn stop(&self) {
        self.stop.cancel();
        let servers: Vec<_> = lock(&self.servers).drain(..).collect();
        for server in servers {
            if let Ok(Err(error)) = server.await {
                tracing::error!("the loopback API failed: {error}");
            }
        }
        let stores: Vec<_> = lock(&self.stores).drain(..).collect();
        for engram in stores {
            let flushed =
                tokio::task::spawn_blocking(move || engram.memory().store().flush()).await;
            if let Ok(Err(error)) = flushed {
                tracing::error!("flushing the store failed: {error}");
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
