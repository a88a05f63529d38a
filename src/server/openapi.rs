//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations and
//! the request and response types (their `ToSchema`, with [`super::schema`] stating every
//! constraint the server enforces). `openapi.json` in the repository is this document; a
//! test fails when they differ (`ENGRAM_UPDATE_OPENAPI=1 cargo test --test it
//! server::openapi` rewrites it).
//!
//! What every operation shares is added here, by the operation's shape, so that no handler
//! can forget it: the error responses of the guards (401, 413, 415, malformed JSON 400,
//! 422, 503 and 500), those of an `{id}` (400, 404), of an `Idempotency-Key` (400, 409,
//! 422) and of a lease's `{name}` (404 on reads).

use utoipa::Modify;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, RefOr, Response, ResponseBuilder};

use super::error::ApiErrorBody;

/// The document's root: information, security, tags; the paths come from the router.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "engram",
        description = "Semantic memory for swarms of coding agents: store and recall patterns, solutions, error resolutions and episodes by meaning; leases and idempotency keys for coordination. Errors are {\"error\": {\"code\", \"message\", \"hint\"}} with a stable code (the Error schema lists them). Text fields count characters; blank means nothing but whitespace and invisible characters.",
    ),
    servers((url = "http://127.0.0.1:7437")),
    security(("bearer" = [])),
    components(schemas(ApiErrorBody)),
    tags(
        (name = "memory", description = "Code patterns, solutions and error resolutions"),
        (name = "extraction", description = "The pattern extractor and learning from consensus winners"),
        (name = "knowledge", description = "The curated knowledge base"),
        (name = "episodes", description = "Episodes of task execution"),
        (name = "memories", description = "General memory: memories with tiers, importance, versions, decay and reinforcement; parent/child, relationships, sessions, context groups, batches; the store's circuit breaker"),
        (name = "agents", description = "Agent memory: private learnings, the workspace's shared pool, promotion with a ledger, cross-pollination and expertise"),
        (name = "specialists", description = "Specialist memory: sessions, concerns, outcomes and prompt context per council specialist"),
        (name = "swarm", description = "Swarm memory: keyed state with expiry, locks with fencing, conflict policies; the coordination event feed and its stream"),
        (name = "leases", description = "Leases with fencing, shared by every engram on one store"),
        (name = "service", description = "Health, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// Adds what every operation of a shape has (see the module's documentation); applied to
/// the document once the router has added every path.
pub struct Shared;

fn error(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Error")))
                    .build(),
            )
            .build(),
    )
}

/// Adds a response unless the operation states its own for that status.
fn add(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error(description));
}

fn has_parameter(operation: &Operation, name: &str, place: ParameterIn) -> bool {
    operation.parameters.iter().flatten().any(|p| match p {
        RefOr::T(p) => p.name == name && p.parameter_in == place,
        RefOr::Ref(_) => false,
    })
}

/// Links from an operation's answer to the operations that take what it returns (so that
/// clients and fuzzers can follow them): a started episode's id to the episode routes.
const LINKS: &[(&str, &str, &str, &str)] = &[
    ("startEpisode", "getEpisode", "id", "$response.body#/id"),
    ("startEpisode", "recordEvent", "id", "$response.body#/id"),
    ("startEpisode", "endEpisode", "id", "$response.body#/id"),
    ("startEpisode", "abandonEpisode", "id", "$response.body#/id"),
    ("acquireLease", "leaseState", "name", "$request.path.name"),
    (
        "acquireLease",
        "readLeaseValue",
        "name",
        "$request.path.name",
    ),
];

/// Query parameters without a default, by operation: a parameter whose schema comes from
/// `schema_with` loses its required flag in utoipa's derive (`#[param(required)]` too).
const REQUIRED_QUERY: &[(&str, &str)] = &[
    ("getSwarmEntry", "key"),
    ("deleteSwarmEntry", "key"),
    ("listSwarmEntries", "prefix"),
];

/// Path parameters are required (OpenAPI 3.1 §4.8.12.1), and so are the query parameters of
/// [`REQUIRED_QUERY`]; a parameter whose schema comes from `schema_with` loses that flag in
/// utoipa's derive.
fn require_path_parameters(operation: &mut Operation) {
    let id = operation.operation_id.clone().unwrap_or_default();
    for parameter in operation.parameters.iter_mut().flatten() {
        if let RefOr::T(parameter) = parameter
            && (parameter.parameter_in == ParameterIn::Path
                || (parameter.parameter_in == ParameterIn::Query
                    && REQUIRED_QUERY.contains(&(id.as_str(), parameter.name.as_str()))))
        {
            parameter.required = utoipa::openapi::Required::True;
        }
    }
}

fn add_links(operation: &mut Operation) {
    let Some(id) = operation.operation_id.clone() else {
        return;
    };
    let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") else {
        return;
    };
    for (from, to, parameter, expression) in LINKS {
        if *from == id {
            ok.links.insert(
                (*to).to_owned(),
                RefOr::T(
                    utoipa::openapi::link::LinkBuilder::new()
                        .operation_id(*to)
                        .parameter(*parameter, *expression)
                        .build(),
                ),
            );
        }
    }
}

impl Modify for Shared {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "One of the server's API keys (required when it has keys; a server on loopback may have none).",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let public = super::guard::PUBLIC_PATHS.contains(&path.as_str());
            let methods = [
                ("GET", item.get.as_mut()),
                ("POST", item.post.as_mut()),
                ("PUT", item.put.as_mut()),
                ("PATCH", item.patch.as_mut()),
                ("DELETE", item.delete.as_mut()),
            ];
            for (method, operation) in methods {
                let read = method == "GET";
                let Some(operation) = operation else {
                    continue;
                };
                add_links(operation);
                require_path_parameters(operation);
                if public {
                    operation.security = Some(vec![SecurityRequirement::default()]);
                    continue;
                }
                add(operation, "401", "Missing or wrong API key (unauthorized)");
                if super::quota::stores(method, path) {
                    add(
                        operation,
                        "429",
                        "The key's agent owns as many records as its quota allows (quota_exceeded)",
                    );
                    add(
                        operation,
                        "507",
                        "The key's agent's records take as many bytes as its quota allows (quota_exceeded)",
                    );
                }
                add(
                    operation,
                    "500",
                    "engram's own failure (internal); the server log has the details",
                );
                add(
                    operation,
                    "503",
                    "Overloaded (overloaded, with Retry-After), over the request timeout (timeout), or the store failed or is unreachable (store_unavailable)",
                );
                let body = operation.request_body.is_some();
                let id = has_parameter(operation, "id", ParameterIn::Path);
                let key = has_parameter(operation, "Idempotency-Key", ParameterIn::Header);
                let lease = has_parameter(operation, "name", ParameterIn::Path);
                let query = operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query));
                let mut bad_request = Vec::new();
                if body {
                    bad_request.push("malformed JSON (invalid_json, invalid_body)");
                }
                if id {
                    bad_request.push("an id that is not a UUID (invalid_id)");
                }
                if key {
                    bad_request.push("a malformed Idempotency-Key (invalid_idempotency_key)");
                }
                if !bad_request.is_empty() {
                    add(operation, "400", &capitalise(&bad_request.join("; ")));
                }
                if id {
                    add(operation, "404", "No episode has this id (not_found)");
                }
                if lease && read {
                    add(operation, "404", "Nothing under this name yet (not_found)");
                }
                if key {
                    add(
                        operation,
                        "409",
                        "A request with the same Idempotency-Key is still running (idempotency_in_progress), or the key was first used for another request (idempotency_key_reused)",
                    );
                }
                if body {
                    add(
                        operation,
                        "413",
                        "The body is over the server's limit (body_too_large)",
                    );
                    add(
                        operation,
                        "415",
                        "Not application/json (unsupported_media_type)",
                    );
                }
                if body || query || lease {
                    add(
                        operation,
                        "422",
                        "A value the document does not allow (invalid_request, unsupported_language)",
                    );
                }
            }
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The document as this server serves it: without a security requirement when the server
/// has no API keys (it then needs none).
pub fn served(document: &OpenApi, keys: bool) -> String {
    let mut document = document.clone();
    if !keys {
        document.security = None;
        for item in document.paths.paths.values_mut() {
            for operation in [
                item.get.as_mut(),
                item.put.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.options.as_mut(),
                item.head.as_mut(),
                item.patch.as_mut(),
                item.trace.as_mut(),
                item.query.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                operation.security = None;
            }
        }
    }
    to_json(&document)
}

/// The document as `openapi.json` holds it: pretty JSON and a final newline.
pub fn to_json(document: &OpenApi) -> String {
    let mut text = document
        .to_pretty_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    text.push('\n');
    text
}
