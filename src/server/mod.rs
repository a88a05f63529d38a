//! `engram serve`: the recall API for consensus engines, JSON over HTTP under `/v1` (axum).
//!
//! Every request passes the guards first (bearer API keys, a bound on requests in flight,
//! a timeout; a body limit); store and model work runs on tokio's blocking pool so one slow
//! search cannot stall the others. Errors are JSON with a stable code (see [`error`]).
//! Shutdown stops accepting, lets in-flight requests finish, then flushes the store.

pub mod error;
mod guard;
pub mod idempotency;
mod json;
mod metrics;
pub mod openapi;
mod quota;
mod routes;
mod schema;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::Engram;
use crate::config::ServerConfig;
use crate::mcp::{Api, EngramMcp, Identity};
pub use error::ApiError;
pub use guard::Caller;
use guard::{Keys, Limits};
use metrics::Metrics;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Listening beyond loopback without API keys would expose memory to the network.
    #[error(
        "refusing to listen on {0} without API keys: set ENGRAM_API_KEYS, --api-key or \
         server.api_keys, or listen on 127.0.0.1"
    )]
    KeysRequired(SocketAddr),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Where MCP's Streamable HTTP endpoint is.
pub const MCP_PATH: &str = "/mcp";

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    engram: Engram,
    seeds_dir: Option<PathBuf>,
    metrics: Metrics,
    /// The OpenAPI document this server serves.
    document: Arc<String>,
    /// Cancelled when the server shuts down: ends the event streams, which would otherwise
    /// keep a graceful shutdown waiting for their clients.
    streams: CancellationToken,
}

/// A handler's result: JSON, or an API error.
pub type Reply<T> = Result<axum::Json<T>, ApiError>;

/// Runs `work` on the blocking pool with the engram handle.
async fn blocking<T, F>(state: &AppState, work: F) -> Reply<T>
where
    T: Send + 'static,
    F: FnOnce(&Engram) -> Result<T, ApiError> + Send + 'static,
{
    let engram = state.engram.clone();
    match tokio::task::spawn_blocking(move || work(&engram)).await {
        Ok(result) => result.map(axum::Json),
        Err(error) => Err(ApiError::internal(format!(
            "the request's work failed: {error}"
        ))),
    }
}

/// The server is up.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`.
    status: &'static str,
    /// engram's version.
    version: &'static str,
}

/// Liveness: answers while the server runs (no key needed).
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    operation_id = "healthz",
    responses((status = 200, description = "Up", body = Health))
)]
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// This document (no key needed).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
async fn openapi(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        state.document.as_str().to_owned(),
    )
}

/// Prometheus metrics: requests by route and status, latencies, points per collection.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    operation_id = "metrics",
    responses((status = 200, description = "The Prometheus text format", content_type = "text/plain", body = String))
)]
async fn prometheus(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let engram = state.engram.clone();
    let collections = tokio::task::spawn_blocking(move || engram.memory().store().stats())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??
        .into_iter()
        .map(|info| (info.name, info.points))
        .collect::<Vec<_>>();
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(&collections),
    ))
}

async fn unknown_route(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_route",
        format!("no route {}", uri.path()),
        "the routes are listed in /openapi.json",
    )
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
        "the routes and their methods are listed in /openapi.json",
    )
}

/// The application's routes with their OpenAPI document: every route is registered through
/// its `#[utoipa::path]` annotation, so the document and the router cannot disagree.
fn api() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use routes::{
        agents, episodes, extract, knowledge, leases, memories, memory, specialists, swarm,
        swarm_agents, swarm_health, swarm_outcomes,
    };
    use utoipa::OpenApi as _;
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(openapi))
        .routes(routes!(prometheus))
        .routes(routes!(memory::store_pattern))
        .routes(routes!(memory::recall_patterns))
        .routes(routes!(extract::suggest))
        .routes(routes!(memory::store_solution))
        .routes(routes!(memory::recall_solutions))
        .routes(routes!(memory::store_error))
        .routes(routes!(memory::recall_errors))
        .routes(routes!(episodes::start, episodes::running))
        .routes(routes!(episodes::recall))
        .routes(routes!(episodes::failures))
        .routes(routes!(episodes::get))
        .routes(routes!(episodes::record))
        .routes(routes!(episodes::end))
        .routes(routes!(episodes::abandon))
        .routes(routes!(extract::extract))
        .routes(routes!(extract::learn))
        .routes(routes!(knowledge::add))
        .routes(routes!(knowledge::seed))
        .routes(routes!(leases::acquire))
        .routes(routes!(leases::renew))
        .routes(routes!(leases::release))
        .routes(routes!(leases::state))
        .routes(routes!(leases::write_value, leases::read_value))
        .routes(routes!(specialists::init, specialists::list))
        .routes(routes!(specialists::get))
        .routes(routes!(specialists::record))
        .routes(routes!(specialists::context))
        .routes(routes!(specialists::outcome))
        .routes(routes!(agents::add_learning, agents::private_learnings))
        .routes(routes!(agents::get_learning))
        .routes(routes!(agents::promote_learning))
        .routes(routes!(agents::recall_learnings))
        .routes(routes!(agents::record_interaction))
        .routes(routes!(agents::expertise_report))
        .routes(routes!(agents::expertise_score))
        .routes(routes!(agents::best_agent))
        .routes(routes!(agents::shared_learnings))
        .routes(routes!(agents::cross_pollinate))
        .routes(routes!(agents::promotion_history))
        .routes(routes!(memories::add_memory))
        .routes(routes!(memories::batch_add))
        .routes(routes!(memories::batch_get))
        .routes(routes!(
            memories::get_memory,
            memories::update_memory,
            memories::delete_memory
        ))
        .routes(routes!(memories::history))
        .routes(routes!(memories::children))
        .routes(routes!(memories::reinforce))
        .routes(routes!(memories::add_relationship))
        .routes(routes!(memories::related))
        .routes(routes!(memories::search))
        .routes(routes!(memories::semantic_search))
        .routes(routes!(memories::create_session, memories::list_sessions))
        .routes(routes!(memories::get_session))
        .routes(routes!(memories::end_session))
        .routes(routes!(memories::create_group))
        .routes(routes!(memories::add_to_group, memories::group_members))
        .routes(routes!(memories::circuit_breaker))
        .routes(routes!(memories::reset_circuit_breaker))
        .routes(routes!(swarm::put, swarm::get, swarm::delete))
        .routes(routes!(swarm::list))
        .routes(routes!(swarm::lock))
        .routes(routes!(swarm::renew))
        .routes(routes!(swarm::unlock))
        .routes(routes!(swarm::events, swarm::publish))
        .routes(routes!(swarm::stream))
        .routes(routes!(swarm_agents::initialize))
        .routes(routes!(swarm_agents::decide))
        .routes(routes!(swarm_agents::progress))
        .routes(routes!(swarm_agents::share))
        .routes(routes!(swarm_outcomes::record))
        .routes(routes!(swarm_outcomes::strategy))
        .routes(routes!(swarm_outcomes::insights))
        .routes(routes!(swarm_health::health))
        .routes(routes!(swarm_health::optimize))
        .routes(routes!(memory::stats))
}

/// The OpenAPI document of the API (what `openapi.json` in the repository holds).
pub fn document() -> utoipa::openapi::OpenApi {
    finished(api().into_openapi())
}

/// The document with what every operation of a shape shares.
fn finished(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::Modify as _;
    openapi::Shared.modify(&mut document);
    document
}

/// Every route: (method, path template), from the document.
pub fn routes() -> Vec<(String, String)> {
    let document = document();
    let mut routes = Vec::new();
    for (path, item) in &document.paths.paths {
        // Writes before reads of the same path, so that a reader finds what a writer made.
        for (method, operation) in [
            ("POST", item.post.is_some()),
            ("PUT", item.put.is_some()),
            ("PATCH", item.patch.is_some()),
            ("DELETE", item.delete.is_some()),
            ("GET", item.get.is_some()),
        ] {
            if operation {
                routes.push((method.to_owned(), path.clone()));
            }
        }
    }
    routes
}

/// The API's routes with their state and no guards: what `/mcp`'s tools call in process, and
/// what `engram mcp` calls when it holds the data directory itself.
pub fn api_router(engram: Engram, config: &ServerConfig) -> Router {
    api_with_state(engram, config, Metrics::default(), CancellationToken::new())
}

fn api_with_state(
    engram: Engram,
    config: &ServerConfig,
    metrics: Metrics,
    streams: CancellationToken,
) -> Router {
    let (api, document) = api().split_for_parts();
    let document = finished(document);
    let gate = engram.clone();
    let state = AppState {
        engram,
        seeds_dir: config.seeds_dir.clone().or_else(|| {
            let built_in = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");
            built_in.is_dir().then_some(built_in)
        }),
        metrics,
        document: Arc::new(openapi::served(&document, config.requires_keys())),
        streams,
    };
    // After routing, so the gate knows the route; inside the key guard, so it knows the
    // caller (MCP's in-process calls carry theirs).
    api.with_state(state)
        .route_layer(axum::middleware::from_fn_with_state(gate, quota::admit))
}

/// The application: every route behind its guards, and MCP at `/mcp`.
pub fn router(engram: Engram, config: &ServerConfig) -> Router {
    router_until(engram, config, CancellationToken::new())
}

/// [`router`] whose MCP streams and event streams end when `shutdown` is cancelled (they
/// would otherwise keep a graceful shutdown waiting).
fn router_until(engram: Engram, config: &ServerConfig, shutdown: CancellationToken) -> Router {
    let metrics = Metrics::default();
    let limits = Limits {
        in_flight: Arc::new(Semaphore::new(config.max_in_flight)),
        timeout: config.request_timeout,
    };
    let app = api_with_state(engram, config, metrics.clone(), shutdown.clone());
    // MCP over Streamable HTTP: each tool call is a call to the routes above, in process,
    // under the same bound on work in flight, timeout and metrics as a request (a tool's
    // work runs while its answer streams, after the /mcp request itself was let through).
    // With API keys every Host is accepted (the key is the guard); without, only loopback
    // names, against DNS rebinding.
    let tools_api = app
        .clone()
        .layer(axum::middleware::from_fn_with_state(
            limits.clone(),
            guard::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            metrics.clone(),
            metrics::record,
        ));
    let mcp = crate::mcp::http_service(
        EngramMcp::new(Api::InProcess(tools_api), Identity::default()),
        shutdown,
        config.requires_keys(),
    );
    let guarded = app
        .route_service(MCP_PATH, mcp)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(Keys::new(
                &config.api_keys,
                &config.agent_keys,
                &config.agent_workspaces,
            )),
            guard::authorize,
        ));
    Router::new()
        .merge(guarded)
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(limits, guard::limit))
        .layer(axum::middleware::from_fn_with_state(
            metrics,
            metrics::record,
        ))
}

/// A bound server, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    engram: Engram,
    config: ServerConfig,
}

impl Server {
    /// Checks the configuration and binds the listen address.
    pub async fn bind(engram: Engram, config: ServerConfig) -> Result<Self, ServeError> {
        if !config.listen.ip().is_loopback() && !config.requires_keys() {
            return Err(ServeError::KeysRequired(config.listen));
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        Ok(Self {
            listener,
            engram,
            config,
        })
    }

    /// The address clients reach it at: the listen address, with loopback standing in for
    /// an unspecified one (0.0.0.0 or ::).
    fn reachable_addr(&self) -> Result<SocketAddr, ServeError> {
        let mut addr = self.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        Ok(addr)
    }

    /// The address it listens on (the real port when 0 was asked for).
    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, lets in-flight requests finish, then flushes the
    /// store.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let engram = self.engram.clone();
        // Idempotency keys are remembered for a day; forget older ones at start-up.
        let swept =
            tokio::task::spawn_blocking(move || engram.memory().idempotency_keys().sweep()).await;
        if let Ok(Err(error)) = swept {
            tracing::warn!("cannot sweep expired idempotency keys: {error}");
        }
        let streams = CancellationToken::new();
        let app = router_until(self.engram.clone(), &self.config, streams.clone());
        // Commands run on the same data directory meanwhile send their requests here.
        let addr = self.reachable_addr()?;
        if let Err(error) = self.engram.memory().store().advertise(addr) {
            tracing::warn!("cannot record the server's address in the lock file: {error}");
        }
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                shutdown.await;
                // MCP sessions' and the event feed's streams never end by themselves.
                streams.cancel();
            })
            .await?;
        let engram = self.engram;
        let flushed = tokio::task::spawn_blocking(move || engram.memory().store().flush()).await;
        match flushed {
            Ok(Ok(())) => tracing::info!("store flushed; bye"),
            Ok(Err(error)) => tracing::error!("flushing the store at shutdown failed: {error}"),
            Err(error) => tracing::error!("flushing the store at shutdown failed: {error}"),
        }
        Ok(())
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT: finishing in-flight requests"),
        () = terminate => tracing::info!("SIGTERM: finishing in-flight requests"),
    }
}
