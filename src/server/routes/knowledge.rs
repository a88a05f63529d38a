//! `/v1/knowledge`: custom knowledge and seeding the knowledge base.

use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::super::error::{ApiError, ApiErrorBody};
use super::super::idempotency::IdempotencyKey;
use super::super::json::ApiJson;
use super::super::schema;
use super::super::{AppState, Reply, blocking};
use crate::knowledge::{self, Category, KnowledgeInput, SeedOptions, SeedReport};
use crate::memory::Stored;

/// A piece of knowledge of one's own.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeRequest {
    /// Design patterns: the name; best practices: the practice; common errors: the error
    /// message as printed.
    #[schema(schema_with = schema::title)]
    title: String,
    /// Design patterns: the code; best practices: the explanation; common errors: the
    /// resolution.
    #[schema(schema_with = schema::content)]
    content: String,
    /// Which collection it goes to.
    #[schema(schema_with = schema::knowledge_type)]
    knowledge_type: String,
    /// `language`, `tags`, `context`, `source`; any other field becomes a `key:value` tag.
    #[serde(default)]
    #[schema(schema_with = schema::knowledge_metadata)]
    metadata: serde_json::Map<String, Value>,
}

/// What a seed run does.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedRequest {
    /// Validate and report what would change, store nothing.
    #[serde(default)]
    dry_run: bool,
    /// Delete the entries whose seed file is gone.
    #[serde(default)]
    prune: bool,
    /// Seed files to load instead of the server's seed folder (what `engram seed DIR`
    /// sends to a server holding its data directory); null: the server's folder. Files that
    /// do not parse are refused, all at once, with 422 `invalid_seeds`.
    #[serde(default)]
    #[schema(schema_with = schema::seed_files)]
    files: Option<Vec<SeedFile>>,
}

/// A seed file: its path under the seed folder and its text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    path: String,
    content: String,
}

/// Most `key:value` fields of custom knowledge's metadata, so that with its tags they stay
/// within an entry's 32 tags.
pub const MAX_METADATA_FIELDS: usize = 19;
/// Most tags in custom knowledge's metadata.
pub const MAX_METADATA_TAGS: usize = 12;
/// Longest name of a `key:value` metadata field.
pub const MAX_METADATA_KEY_CHARS: usize = 31;
/// Longest text value of a `key:value` metadata field.
pub const MAX_METADATA_VALUE_CHARS: usize = 32;

/// The metadata rules the document states ([`schema::knowledge_metadata`]): the HTTP API
/// checks them before the library does its own.
fn check_metadata(metadata: &serde_json::Map<String, Value>) -> Result<(), ApiError> {
    let invalid = |message: String| Err(ApiError::invalid(format!("metadata: {message}")));
    if metadata.len() > MAX_METADATA_FIELDS {
        return invalid(format!("at most {MAX_METADATA_FIELDS} fields"));
    }
    for (key, value) in metadata {
        match (key.as_str(), value) {
            ("language", Value::String(name)) => {
                super::language(name)?;
            }
            ("tags", Value::Array(tags)) => {
                if tags.len() > MAX_METADATA_TAGS {
                    return invalid(format!("at most {MAX_METADATA_TAGS} tags"));
                }
                for tag in tags {
                    let Some(tag) = tag.as_str() else {
                        return invalid("`tags` must list strings".into());
                    };
                    crate::text::check_label("tag", tag).map_err(ApiError::invalid)?;
                }
            }
            ("context", Value::String(text)) => {
                crate::text::check_optional("context", text, crate::text::MAX_TEXT_CHARS)
                    .map_err(ApiError::invalid)?;
            }
            ("source", Value::String(text)) => {
                crate::text::check_label("source", text).map_err(ApiError::invalid)?;
            }
            ("language" | "tags" | "context" | "source", _) => {
                return invalid(format!("`{key}` has the wrong type"));
            }
            (_, value) => {
                if key.chars().count() > MAX_METADATA_KEY_CHARS {
                    return invalid(format!(
                        "field names are at most {MAX_METADATA_KEY_CHARS} characters"
                    ));
                }
                crate::text::check_label("metadata field name", key).map_err(ApiError::invalid)?;
                match value {
                    Value::String(text)
                        if text.chars().count() > MAX_METADATA_VALUE_CHARS
                            || text.chars().any(char::is_control) =>
                    {
                        return invalid(format!(
                            "`{key}` must be at most {MAX_METADATA_VALUE_CHARS} characters \
                             without control characters"
                        ));
                    }
                    Value::String(_) | Value::Number(_) | Value::Bool(_) => {}
                    _ => return invalid(format!("`{key}` must be a string, number or boolean")),
                }
            }
        }
    }
    Ok(())
}

/// Add knowledge of one's own (stored like the seeds of its category).
#[utoipa::path(
    post,
    path = "/v1/knowledge",
    tag = "knowledge",
    operation_id = "addKnowledge",
    params(IdempotencyKey),
    request_body(content = KnowledgeRequest, example = json!({
        "title": "Retry with exponential backoff",
        "content": "for attempt in range(5):\n    try:\n        return call()\n    except TransientError:\n        time.sleep(2 ** attempt)",
        "knowledge_type": "pattern",
        "metadata": {"language": "python", "tags": ["resilience"], "framework": "requests"}
    })),
    responses((status = 200, description = "Stored", body = Stored))
)]
pub async fn add(
    State(state): State<AppState>,
    key: IdempotencyKey,
    ApiJson(request): ApiJson<KnowledgeRequest>,
) -> Reply<Stored> {
    let category = Category::from_exact_name(&request.knowledge_type)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    crate::text::check_required("title", &request.title, crate::text::MAX_TITLE_CHARS)
        .map_err(ApiError::invalid)?;
    check_metadata(&request.metadata)?;
    let input = KnowledgeInput {
        title: request.title,
        content: request.content,
        category,
        metadata: request.metadata,
    };
    blocking(&state, move |e| {
        Ok(knowledge::add_custom_knowledge_with_key(
            e.memory(),
            input,
            key.as_deref(),
        )?)
    })
    .await
}

/// Seed the knowledge base: the server's seed folder, or the seed files sent. Takes
/// seconds the first time (every entry is embedded); idempotent by itself (entries are keyed
/// by file and content hash), so an `Idempotency-Key` is checked and changes nothing more.
#[utoipa::path(
    post,
    path = "/v1/knowledge/seed",
    tag = "knowledge",
    operation_id = "seedKnowledge",
    params(IdempotencyKey),
    request_body(content = SeedRequest, example = json!({"dry_run": true})),
    responses(
        (status = 200, description = "Counts per category, and the entries whose file is gone", body = SeedReport),
        (status = 409, description = "This server has no seed folder and no files were sent (no_seeds), or the same Idempotency-Key is still running (idempotency_in_progress) or was first used for another request (idempotency_key_reused)", body = ApiErrorBody),
    )
)]
pub async fn seed(
    State(state): State<AppState>,
    _key: IdempotencyKey,
    ApiJson(request): ApiJson<SeedRequest>,
) -> Reply<SeedReport> {
    let options = SeedOptions {
        dry_run: request.dry_run,
        prune: request.prune,
    };
    if let Some(files) = request.files {
        let files: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|f| (f.path, f.content.into_bytes()))
            .collect();
        return blocking(&state, move |e| {
            let entries = knowledge::parse_files(&files)?;
            Ok(knowledge::seed_entries(
                e.memory(),
                std::path::Path::new("(files sent with the request)"),
                &entries,
                options,
                &mut |_, _| {},
            )?)
        })
        .await;
    }
    let dir = state.seeds_dir.clone().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no_seeds",
            "this server has no seed folder",
            "set server.seeds_dir in engram.toml",
        )
    })?;
    blocking(&state, move |e| {
        Ok(knowledge::seed(e.memory(), &dir, options, &mut |_, _| {})?)
    })
    .await
}
