//! `/v1/specialists`: specialist memory (design note 002) — create specialists, record
//! their sessions, record how a deliberation turned out, read a specialist's state and its
//! prompt context.
//!
//! A key bound to an agent acts only as the specialist of that name: it may record and read
//! its own sessions and context, and is refused (403) for any other specialist, for creating
//! specialists and for recording outcomes, which are the council's (an admin key's) calls.

use axum::Extension;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::super::error::ApiError;
use super::super::guard::Caller;
use super::super::idempotency::IdempotencyKey;
use super::super::json::{ApiJson, ApiQuery, query_integer};
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use crate::specialists::{
    ConcernInput, Context, Initialised, MAX_CONCERNS, MAX_INIT, OutcomeReport, RecordedSession,
    SessionInput, SpecialistSpec, SpecialistState, Verdict,
};

/// A specialist to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecialistBody {
    /// Its name, e.g. `crawdad`.
    #[schema(schema_with = schema::label)]
    id: String,
    /// What it knows about before any session.
    #[serde(default)]
    #[schema(schema_with = schema::topics)]
    topics: Vec<String>,
}

/// Specialists to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InitRequest {
    /// 1 to 256 specialists (a name given twice counts once, with its first topics). Those
    /// that exist keep their history.
    #[schema(min_items = 1, max_items = 256)]
    specialists: Vec<SpecialistBody>,
}

/// A concern raised in a session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConcernBody {
    /// The concern.
    #[schema(schema_with = schema::message)]
    text: String,
    /// Its type.
    #[serde(default = "crate::specialists::general")]
    #[schema(schema_with = schema::concern_kind)]
    kind: String,
}

/// A specialist's part in a deliberation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
    /// The question put to the council.
    #[schema(schema_with = schema::message)]
    question: String,
    /// The specialist's answer.
    #[serde(default)]
    #[schema(schema_with = schema::response)]
    response: String,
    /// The concerns it raised (at most 64).
    #[serde(default)]
    #[schema(max_items = 64)]
    concerns: Vec<ConcernBody>,
    /// Its decision or vote.
    #[serde(default)]
    #[schema(schema_with = schema::optional_text)]
    decision: Option<String>,
    /// The deliberation (e.g. the council's audit hash); null: derived from the
    /// Idempotency-Key when there is one, else new. The same specialist and deliberation
    /// again is the same session.
    #[serde(default)]
    #[schema(schema_with = schema::optional_label)]
    deliberation: Option<String>,
    /// The question's topics; null: extracted from the question.
    #[serde(default)]
    #[schema(schema_with = schema::optional_topics)]
    topics: Option<Vec<String>>,
}

/// How a deliberation turned out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    /// `validated`: the concerns were right; `dismissed`: they did not hold.
    verdict: Verdict,
    /// Only these specialists' concerns (null: every specialist of the deliberation).
    #[serde(default)]
    #[schema(schema_with = schema::optional_specialists)]
    specialists: Option<Vec<String>>,
    /// The council's result, e.g. `REVIEW REQUIRED` (kept with the concerns).
    #[serde(default)]
    #[schema(schema_with = schema::optional_outcome)]
    outcome: Option<String>,
}

/// A specialist and how many sessions it has.
#[derive(Debug, Serialize, ToSchema)]
pub struct Listed {
    /// The specialist.
    id: String,
    /// Its sessions.
    session_count: u64,
}

/// The `{name}` of a specialist route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SpecialistPath {
    /// The specialist's name.
    #[param(min_length = 1, max_length = 64)]
    name: String,
}

/// The `{deliberation}` of an outcome.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DeliberationPath {
    /// The deliberation, as the sessions named it.
    #[param(min_length = 1, max_length = 64)]
    deliberation: String,
}

/// How much context.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContextQuery {
    /// The longest text wanted, in characters (1 to 100,000).
    #[serde(default = "two_thousand", deserialize_with = "query_integer")]
    #[param(minimum = 1, maximum = 100_000, default = 2000)]
    budget_chars: usize,
}

fn two_thousand() -> usize {
    2000
}

/// The caller acts as `specialist`: an admin key, or a key bound to that agent. A name that
/// no specialist can have (not a label) is not found.
fn act_as(caller: &Option<Extension<Caller>>, specialist: &str) -> Result<(), ApiError> {
    if crate::text::check_label("specialist", crate::text::label(specialist)).is_err() {
        return Err(ApiError::not_found(format!("no specialist {specialist:?}")));
    }
    Caller::require(caller, "specialist", crate::text::label(specialist))
}

/// Create specialists (idempotent: an existing one keeps its history).
#[utoipa::path(
    post,
    path = "/v1/specialists",
    tag = "specialists",
    operation_id = "initSpecialists",
    request_body(content = InitRequest, example = json!({"specialists": [{"id": "crawdad", "topics": ["security", "authentication", "IoT"]}, {"id": "gecko", "topics": ["performance", "database"]}]})),
    responses(
        (status = 200, description = "Per specialist, whether it was created now", body = [Initialised]),
        (status = 403, description = "A key bound to an agent (forbidden)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn init(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    ApiJson(request): ApiJson<InitRequest>,
) -> Reply<Vec<Initialised>> {
    Caller::require_admin(&caller, "creating specialists")?;
    if request.specialists.len() > MAX_INIT {
        return Err(ApiError::invalid(format!(
            "{} specialists; the limit is {MAX_INIT}",
            request.specialists.len()
        )));
    }
    let specs: Vec<SpecialistSpec> = request
        .specialists
        .into_iter()
        .map(|s| SpecialistSpec {
            id: s.id,
            topics: s.topics,
        })
        .collect();
    blocking(&state, move |e| {
        Ok(e.specialists()?.init_specialists(&specs)?)
    })
    .await
}

/// The specialists (a key bound to an agent sees only its own).
#[utoipa::path(
    get,
    path = "/v1/specialists",
    tag = "specialists",
    operation_id = "listSpecialists",
    responses((status = 200, description = "Specialists by name", body = [Listed]))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
) -> Reply<Vec<Listed>> {
    let only = Caller::agent_of(&caller).map(str::to_owned);
    blocking(&state, move |e| {
        let specialists = e.specialists()?;
        let mut listed = Vec::new();
        for id in specialists.list()? {
            if only.as_ref().is_some_and(|agent| agent != &id) {
                continue;
            }
            let session_count = specialists.session_count(&id)?;
            listed.push(Listed { id, session_count });
        }
        Ok(listed)
    })
    .await
}

/// Everything a specialist remembers.
#[utoipa::path(
    get,
    path = "/v1/specialists/{name}",
    tag = "specialists",
    operation_id = "getSpecialist",
    params(SpecialistPath),
    responses(
        (status = 200, description = "The specialist's state", body = SpecialistState),
        (status = 403, description = "A key bound to another agent (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "No such specialist (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(SpecialistPath { name }): Path<SpecialistPath>,
) -> Reply<SpecialistState> {
    act_as(&caller, &name)?;
    blocking(&state, move |e| Ok(e.specialists()?.state(&name)?)).await
}

/// Record a specialist's session of a deliberation (durable when answered).
#[utoipa::path(
    post,
    path = "/v1/specialists/{name}/sessions",
    tag = "specialists",
    operation_id = "recordSession",
    params(SpecialistPath, IdempotencyKey),
    request_body(content = SessionRequest, example = json!({"question": "Should the IoT gateway accept firmware updates over plain HTTP?", "response": "No: updates must be signed and sent over TLS. [CONCERN] unsigned firmware", "concerns": [{"text": "firmware images are not signed", "kind": "security"}], "decision": "REVIEW REQUIRED", "deliberation": "audit-7f3a"})),
    responses(
        (status = 200, description = "The session, with each concern's repeat (if any)", body = RecordedSession),
        (status = 403, description = "A key bound to another agent (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "No such specialist (not_found)", body = super::super::error::ApiErrorBody),
        (status = 409, description = "This deliberation was recorded for this specialist with another question (session_conflict)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn record(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(SpecialistPath { name }): Path<SpecialistPath>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<SessionRequest>,
) -> Reply<RecordedSession> {
    act_as(&caller, &name)?;
    if request.concerns.len() > MAX_CONCERNS {
        return Err(ApiError::invalid(format!(
            "{} concerns; the limit is {MAX_CONCERNS}",
            request.concerns.len()
        )));
    }
    let deliberation = request
        .deliberation
        .or_else(|| key.as_deref().map(|k| format!("key:{k}")));
    let input = SessionInput {
        question: request.question,
        response: request.response,
        concerns: request
            .concerns
            .into_iter()
            .map(|c| ConcernInput {
                text: c.text,
                kind: c.kind,
            })
            .collect(),
        decision: request.decision,
        deliberation,
        topics: request.topics,
    };
    blocking(&state, move |e| {
        Ok(e.specialists()?.record_session(&name, input)?)
    })
    .await
}

/// A specialist's memory as prompt context, within a budget of characters.
#[utoipa::path(
    get,
    path = "/v1/specialists/{name}/context",
    tag = "specialists",
    operation_id = "specialistContext",
    params(SpecialistPath, ContextQuery),
    responses(
        (status = 200, description = "The text and the items in it", body = Context),
        (status = 403, description = "A key bound to another agent (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "No such specialist (not_found)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn context(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(SpecialistPath { name }): Path<SpecialistPath>,
    ApiQuery(query): ApiQuery<ContextQuery>,
) -> Reply<Context> {
    act_as(&caller, &name)?;
    blocking(&state, move |e| {
        Ok(e.specialists()?.context(&name, query.budget_chars)?)
    })
    .await
}

/// Record how a deliberation turned out: its concerns are validated or dismissed (once).
#[utoipa::path(
    post,
    path = "/v1/deliberations/{deliberation}/outcome",
    tag = "specialists",
    operation_id = "recordOutcome",
    params(DeliberationPath),
    request_body(content = OutcomeRequest, example = json!({"verdict": "validated", "outcome": "REVIEW REQUIRED"})),
    responses(
        (status = 200, description = "What was marked", body = OutcomeReport),
        (status = 403, description = "A key bound to an agent (forbidden)", body = super::super::error::ApiErrorBody),
        (status = 404, description = "No session of this deliberation (not_found)", body = super::super::error::ApiErrorBody),
        (status = 409, description = "The deliberation already has the other verdict (verdict_conflict)", body = super::super::error::ApiErrorBody),
    )
)]
pub async fn outcome(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(DeliberationPath { deliberation }): Path<DeliberationPath>,
    ApiJson(request): ApiJson<OutcomeRequest>,
) -> Reply<OutcomeReport> {
    Caller::require_admin(&caller, "recording an outcome")?;
    if crate::text::check_label("deliberation", crate::text::label(&deliberation)).is_err() {
        return Err(ApiError::not_found(format!(
            "no session of deliberation {deliberation:?} was recorded"
        )));
    }
    blocking(&state, move |e| {
        Ok(e.specialists()?.record_outcome(
            &deliberation,
            request.verdict,
            request.specialists.as_deref(),
            request.outcome.as_deref(),
        )?)
    })
    .await
}
