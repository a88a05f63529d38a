//! MCP (Model Context Protocol) for coding agents: engram's memory as fourteen tools
//! ([`tools::TOOLS`]), on the official Rust SDK (`rmcp`), over both standard transports:
//! stdio (`engram mcp`) and Streamable HTTP (`/mcp` on `engram serve`).
//!
//! Every tool call is one call to engram's HTTP API ([`api::Api`]): in this process through
//! the router itself, or at the `engram serve` that holds the data directory. So the tools
//! check input, store and fail exactly as the routes do; a refusal is a tool error
//! (`isError: true`) whose text carries the route's code and hint, and the session goes on.
//! Answers are short text for the model plus the route's JSON as structured content.

pub mod api;
pub mod tools;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio::sync::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

pub use api::{Api, ApiCall, ApiFailure, RemoteApi};

/// Who is calling: taken from configuration (`engram mcp --agent`, `ENGRAM_AGENT`) or, over
/// HTTP, from the agent the caller's API key is bound to; never from a tool's arguments. It is the `source` of what the agent remembers and the
/// `agent_role` of the events it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The agent's name, a label (1 to 64 visible characters).
    pub agent: String,
}

impl Default for Identity {
    fn default() -> Self {
        Self {
            agent: "mcp".into(),
        }
    }
}

/// What the server tells a client about itself at initialisation.
const INSTRUCTIONS: &str = "engram is the swarm's semantic memory. Before fixing an error, call recall with kind \"errors\" and the error message; before a task, recall \"solutions\" or \"episodes\", or suggest_patterns. After fixing an error, call remember_error with what worked. Record long tasks as episodes (start_episode, record_event, end_episode). In a swarm, share state with swarm_get and swarm_put, ask coordination_strategy before a task and record_task_outcome after it.";

/// Finds the API anew when the one in use stops answering (`engram mcp` forwarding to a
/// process that ended): the server now holding the data directory, or this process opening
/// it.
pub type Reconnect =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Api, String>> + Send>> + Send + Sync>;

/// engram's MCP server: the tool list and the calls, for one caller identity.
#[derive(Clone)]
pub struct EngramMcp {
    api: Arc<RwLock<Api>>,
    reconnect: Option<Reconnect>,
    /// Held while reconnecting, so that calls failing together reconnect once.
    reconnecting: Arc<Mutex<()>>,
    identity: Identity,
    tools: Arc<Vec<Tool>>,
}

impl std::fmt::Debug for EngramMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngramMcp")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl EngramMcp {
    /// Tools that call `api` on behalf of `identity`.
    pub fn new(api: Api, identity: Identity) -> Self {
        let tools = tools::TOOLS
            .iter()
            .map(|spec| {
                let Value::Object(schema) = (spec.schema)() else {
                    unreachable!("every tool schema is an object")
                };
                Tool::new(spec.name, spec.description, Arc::new(schema))
                    .with_title(spec.title)
                    .with_annotations(
                        ToolAnnotations::with_title(spec.title)
                            .read_only(spec.read_only)
                            .destructive(false)
                            .open_world(false),
                    )
            })
            .collect();
        Self {
            api: Arc::new(RwLock::new(api)),
            reconnect: None,
            reconnecting: Arc::new(Mutex::new(())),
            identity,
            tools: Arc::new(tools),
        }
    }

    /// The same tools, finding their API again with `reconnect` when it stops answering. A
    /// call that failed so is made again once on the new API; writes carry an idempotency
    /// key, so one that did land before the failure is not applied twice.
    pub fn reconnecting_with(mut self, reconnect: Reconnect) -> Self {
        self.reconnect = Some(reconnect);
        self
    }

    /// Makes `call` on the current API, reconnecting once if it does not answer.
    async fn send(&self, call: ApiCall) -> Result<Value, ApiFailure> {
        let api = self.api.read().await.clone();
        let Some(reconnect) = &self.reconnect else {
            return api.call(call).await;
        };
        // Kept for a second try (bodies can be large: only when one is possible).
        let failure = match api.call(call.clone()).await {
            Err(failure) if failure.code == api::UNAVAILABLE => failure,
            answer => return answer,
        };
        let _one_at_a_time = self.reconnecting.lock().await;
        let current = self.api.read().await.clone();
        // Another call may have reconnected meanwhile.
        let api = if current.same_as(&api) {
            match reconnect().await {
                Ok(api) => {
                    tracing::info!("engram mcp: reconnected ({api:?})");
                    *self.api.write().await = api.clone();
                    api
                }
                Err(error) => {
                    tracing::warn!("engram mcp: cannot reconnect: {error}");
                    return Err(failure);
                }
            }
        } else {
            current
        };
        api.call(call).await
    }

    /// The tools, as `tools/list` gives them.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// Runs tool `name` with `arguments`: its answer, or a tool error (bad arguments, or
    /// the API's refusal with its code and hint). Never a protocol error for a known tool.
    pub async fn call(
        &self,
        name: &str,
        arguments: serde_json::Map<String, Value>,
    ) -> CallToolResult {
        self.call_as(&self.identity, name, arguments, None).await
    }

    /// [`Self::call`] on behalf of `identity`.
    async fn call_as(
        &self,
        identity: &Identity,
        name: &str,
        arguments: serde_json::Map<String, Value>,
        caller: Option<crate::server::Caller>,
    ) -> CallToolResult {
        let call = match tools::call(name, &arguments, identity) {
            Ok(call) => ApiCall { caller, ..call },
            Err(tools::BadArguments(message)) => {
                return tool_error(
                    "invalid_arguments",
                    &message,
                    "call it with the arguments its input schema lists",
                    json!({"code": "invalid_arguments", "message": message}),
                );
            }
        };
        match self.send(call).await {
            Ok(answer) => {
                let text = tools::render(name, &answer);
                // Structured content is an object: lists go under `results`.
                let structured = if answer.is_object() {
                    answer
                } else {
                    json!({ "results": answer })
                };
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                result.structured_content = Some(structured);
                result
            }
            Err(failure) => tool_error(
                &failure.code,
                &failure.message,
                &failure.hint,
                json!({"code": failure.code, "message": failure.message, "hint": failure.hint, "status": failure.status}),
            ),
        }
    }
}

fn tool_error(code: &str, message: &str, hint: &str, detail: Value) -> CallToolResult {
    let text = if hint.is_empty() {
        format!("{code}: {message}")
    } else {
        format!("{code}: {message} (hint: {hint})")
    };
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = Some(json!({ "error": detail }));
    result
}

impl ServerHandler for EngramMcp {
    fn get_info(&self) -> ServerConfig {
        let mut server = Implementation::new("engram", env!("CARGO_PKG_VERSION"));
        server.title = Some("engram: semantic memory for coding agents".into());
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(server)
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|tool| tool.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if self.get_tool(&request.name).is_none() {
            return Err(ErrorData::invalid_params(
                format!("there is no tool {:?}", request.name),
                None,
            ));
        }
        // Over HTTP, a key bound to an agent makes that agent the caller.
        let caller = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<crate::server::Caller>())
            .filter(|caller| caller.agent.is_some())
            .cloned();
        let bound = caller
            .as_ref()
            .and_then(|caller| caller.agent.clone())
            .map(|agent| Identity { agent });
        let identity = bound.as_ref().unwrap_or(&self.identity);
        Ok(self
            .call_as(
                identity,
                &request.name,
                request.arguments.unwrap_or_default(),
                caller,
            )
            .await
            .into())
    }
}

/// Serves MCP over this process's stdin and stdout until the client closes stdin. Nothing
/// but protocol messages goes to stdout.
pub async fn serve_stdio(handler: EngramMcp) -> std::io::Result<()> {
    use rmcp::ServiceExt as _;
    let running = handler
        .serve(rmcp::transport::stdio())
        .await
        .map_err(std::io::Error::other)?;
    running.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

/// The Streamable HTTP endpoint serving `handler`, one session per client; it ends its
/// streams when `shutdown` is cancelled. `any_host`: accept any `Host` header (the server
/// requires API keys); otherwise only loopback names, against DNS rebinding.
pub fn http_service(
    handler: EngramMcp,
    shutdown: CancellationToken,
    any_host: bool,
) -> StreamableHttpService<EngramMcp, LocalSessionManager> {
    let mut config = StreamableHttpServerConfig::default().with_cancellation_token(shutdown);
    if any_host {
        config = config.disable_allowed_hosts();
    }
    StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}
