//! The JSON Schemas of request fields, with every constraint the server enforces, for the
//! generated OpenAPI document. Each mirrors a check in [`crate::text`] or the route that
//! reads the field, so that what the document allows the server accepts and what it
//! forbids the server refuses (`tests/it/server/openapi.rs` and the schema fuzzer in CI
//! hold the two together).

use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::extract::SourceLanguage;
use crate::memory::{Language, MAX_RECALL};
use crate::text::{
    LABEL_PATTERN, MAX_CONTENT_CHARS, MAX_LABEL_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS,
    VISIBLE_PATTERN,
};

/// Most tags in a request.
pub const MAX_TAGS: usize = crate::memory::input::MAX_TAGS;

fn schema(value: Value) -> RefOr<Schema> {
    match serde_json::from_value::<Schema>(value) {
        Ok(schema) => RefOr::T(schema),
        // The values below are literals checked by the document's own test.
        Err(error) => panic!("an invalid schema literal: {error}"),
    }
}

/// `value` or null.
fn nullable(mut value: Value) -> Value {
    match value.get_mut("type") {
        Some(Value::String(kind)) => {
            let kind = kind.clone();
            value["type"] = json!([kind, "null"]);
            if let Some(Value::Array(values)) = value.get_mut("enum") {
                values.push(Value::Null);
            }
            value
        }
        _ => json!({"oneOf": [value, {"type": "null"}]}),
    }
}

fn required_text(max: usize, description: &str) -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": max,
        "pattern": VISIBLE_PATTERN,
        "description": format!("{description} At most {max} characters, not blank (whitespace and invisible characters do not count)."),
    })
}

/// A name or title.
pub fn title() -> RefOr<Schema> {
    schema(required_text(MAX_TITLE_CHARS, "A short name."))
}

/// Code, a solution or a resolution.
pub fn content() -> RefOr<Schema> {
    schema(required_text(MAX_CONTENT_CHARS, "The content."))
}

/// An error message, problem, task, reason or query.
pub fn message() -> RefOr<Schema> {
    schema(required_text(MAX_TEXT_CHARS, "The text."))
}

/// An optional free text (context).
pub fn context() -> RefOr<Schema> {
    schema(json!({
        "type": "string",
        "maxLength": MAX_TEXT_CHARS,
        "default": "",
        "description": format!("Free text, at most {MAX_TEXT_CHARS} characters; may be empty."),
    }))
}

fn label_value() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_LABEL_CHARS,
        "pattern": LABEL_PATTERN,
    })
}

/// A label: source, pattern type, event type, agent role.
pub fn label() -> RefOr<Schema> {
    let mut value = label_value();
    value["description"] = json!(format!(
        "A label: 1 to {MAX_LABEL_CHARS} characters, something visible, no control characters."
    ));
    schema(value)
}

/// A label or null (the default applies).
pub fn optional_label() -> RefOr<Schema> {
    let mut value = nullable(label_value());
    value["description"] = json!("A label, or null for the default.");
    schema(value)
}

/// Tags: labels, at most [`MAX_TAGS`].
pub fn tags() -> RefOr<Schema> {
    schema(json!({
        "type": "array",
        "items": label_value(),
        "maxItems": MAX_TAGS,
        "default": [],
        "description": format!("Labels, at most {MAX_TAGS}."),
    }))
}

/// A number the store keeps exactly ([`crate::json_number`]): within −2⁶³ ..= 2⁶³ − 1
/// whatever its spelling. (The rule also refuses decimals with more digits than a double
/// holds, which JSON Schema cannot say.)
pub fn exact_number() -> Value {
    json!({"type": "number", "minimum": i64::MIN, "maximum": i64::MAX})
}

/// Any JSON value whose numbers the store keeps exactly. The schema states the rule for the
/// value itself and says it for nested ones: stating it at every depth takes a recursive
/// schema, which client generators do not handle (openapi-python-client 0.29 drops the
/// operations that use one). Built with utoipa's builders: its schema type has no room for
/// an array's "any item" (`items: {}`) when read from a JSON literal.
fn exact_json() -> Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let of = |kind: Type| ObjectBuilder::new().schema_type(kind).build();
    AnyOfBuilder::new()
        .item(of(Type::String))
        .item(of(Type::Boolean))
        .item(of(Type::Null))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Number)
                .minimum(Some(utoipa::Number::Int(i64::MIN as isize)))
                .maximum(Some(utoipa::Number::Int(i64::MAX as isize)))
                .build(),
        )
        .item(
            ArrayBuilder::new()
                .items(
                    ObjectBuilder::new()
                        .schema_type(SchemaType::AnyValue)
                        .build(),
                )
                .build(),
        )
        .item(of(Type::Object))
        .description(Some(
            "Any JSON value. Numbers, at any depth, are kept exactly or refused (422): they \
             must lie within -9223372036854775808..=9223372036854775807 (integers and decimals \
             alike), and decimals within a double's 15-17 significant digits.",
        ))
        .build()
        .into()
}

/// A JSON object whose values are [`exact_json`], or also null.
fn exact_object(nullable: bool, description: &str, default: Option<Value>) -> RefOr<Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let kind = if nullable {
        SchemaType::from_iter([Type::Object, Type::Null])
    } else {
        SchemaType::Type(Type::Object)
    };
    RefOr::T(
        ObjectBuilder::new()
            .schema_type(kind)
            .additional_properties(Some(exact_json()))
            .description(Some(description))
            .default(default)
            .build()
            .into(),
    )
}

/// An episode's context: an object of exact JSON values.
pub fn episode_context() -> RefOr<Schema> {
    exact_object(
        false,
        "Free-form context: a JSON object of at most 64 KiB.",
        Some(json!({})),
    )
}

/// A memory's or session's metadata: an object of exact JSON values (default `{}`).
pub fn memory_metadata() -> RefOr<Schema> {
    exact_object(
        false,
        "Any JSON object of at most 64 KiB, kept with the memory.",
        Some(json!({})),
    )
}

/// New metadata of an update, or null to keep the old.
pub fn optional_memory_metadata() -> RefOr<Schema> {
    exact_object(
        true,
        "A JSON object of at most 64 KiB replacing the old one, or null to keep it.",
        None,
    )
}

/// Tags of an update, or null to keep the old.
pub fn optional_tags() -> RefOr<Schema> {
    schema(json!({
        "type": ["array", "null"],
        "items": label_value(),
        "maxItems": MAX_TAGS,
        "description": format!("Labels (at most {MAX_TAGS}) replacing the old ones, or null to keep them."),
    }))
}

/// Optional text that must have something visible when given (new content).
pub fn optional_message() -> RefOr<Schema> {
    let mut value = nullable(required_text(
        MAX_TEXT_CHARS,
        "The new text, or null to keep it.",
    ));
    value["description"] = json!("The new text, or null to keep it.");
    schema(value)
}

/// 1 to 1000 memory ids.
pub fn memory_ids() -> RefOr<Schema> {
    schema(json!({
        "type": "array",
        "items": {"type": "string", "format": "uuid"},
        "minItems": 1,
        "maxItems": crate::memories::MAX_LIST,
        "description": "Memory ids (UUIDs), 1 to 1000.",
    }))
}

/// A Unix time in milliseconds, or null.
pub fn optional_millis() -> RefOr<Schema> {
    schema(json!({
        "type": ["integer", "null"],
        "minimum": i64::MIN,
        "maximum": i64::MAX,
        "description": "Unix milliseconds, or null.",
    }))
}

/// A lease's guarded value: any exact JSON.
pub fn lease_value() -> RefOr<Schema> {
    RefOr::T(exact_json())
}

/// Measurements: named finite numbers; `success_rate` within [0, 1].
pub fn metrics() -> RefOr<Schema> {
    schema(metrics_value())
}

fn metrics_value() -> Value {
    json!({
        "type": "object",
        "maxProperties": crate::memory::input::MAX_METRICS,
        "propertyNames": label_value(),
        "additionalProperties": exact_number(),
        "properties": {"success_rate": {"type": "number", "minimum": 0, "maximum": 1}},
        "default": {},
        "description": "Named measurements of this use (at most 64); `success_rate`, within [0, 1], is its outcome.",
    })
}

fn language_names() -> Vec<&'static str> {
    Language::accepted_names()
}

/// A memory language by one of its names.
pub fn language() -> RefOr<Schema> {
    schema(json!({
        "type": "string",
        "enum": language_names(),
        "description": "The language, by its name or an alias (lower case).",
    }))
}

/// A memory language or null.
pub fn optional_language() -> RefOr<Schema> {
    schema(nullable(json!({
        "type": "string",
        "enum": language_names(),
        "description": "The language, by its name or an alias (lower case); null for text.",
    })))
}

fn source_fields() -> serde_json::Map<String, Value> {
    let value = json!({
        "code": required_text(
            super::routes::extract::MAX_EXTRACT_CHARS,
            "The source code.",
        ),
        "language": nullable(json!({
            "type": "string",
            "enum": SourceLanguage::accepted_names(),
            "description": "The source language, by its name or an alias (lower case); null to tell it from `file_name`.",
        })),
        "file_name": nullable(json!({
            "type": "string",
            "pattern": SourceLanguage::file_name_pattern(),
            "description": "A file name whose extension is a supported language's (checked whenever given; used when `language` is absent or null).",
        })),
    });
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// Either `language` or `file_name` must be a string.
fn language_or_file_name() -> Value {
    json!([
        {"type": "object", "required": ["language"], "properties": {"language": {"type": "string"}}},
        {"type": "object", "required": ["file_name"], "properties": {"file_name": {"type": "string"}}}
    ])
}

/// `POST /v1/extract`'s body.
pub fn extract_request() -> RefOr<Schema> {
    schema(json!({
        "description": "Source code and its language (named, or told by a file name).",
        "allOf": [
            {
                "type": "object",
                "properties": source_fields(),
                "required": ["code"],
                "additionalProperties": false,
            },
            {"anyOf": language_or_file_name()},
        ],
    }))
}

/// `POST /v1/learn`'s body.
pub fn learn_request() -> RefOr<Schema> {
    let mut properties = source_fields();
    properties.insert(
        "task".into(),
        required_text(MAX_TEXT_CHARS, "The task the round solved."),
    );
    properties.insert(
        "tags".into(),
        json!({
            "type": "array",
            "items": label_value(),
            "maxItems": crate::extract::learn::MAX_TASK_TAGS,
            "default": [],
            "description": format!("Labels for the learned patterns, at most {}.", crate::extract::learn::MAX_TASK_TAGS),
        }),
    );
    let mut metrics = metrics_value();
    // Learning adds the pattern's cyclomatic complexity to the round's metrics.
    metrics["maxProperties"] = json!(crate::memory::input::MAX_METRICS - 1);
    properties.insert("metrics".into(), metrics);
    schema(json!({
        "description": "A consensus winner's code, its language (named, or told by a file name), the task and the round's metrics.",
        "allOf": [
            {
                "type": "object",
                "properties": properties,
                "required": ["code", "task"],
                "additionalProperties": false,
            },
            {"anyOf": language_or_file_name()},
        ],
    }))
}

/// A recall size.
pub fn limit() -> RefOr<Schema> {
    schema(json!({"type": "integer", "minimum": 1, "maximum": MAX_RECALL, "default": 5}))
}

/// A rate within [0, 1], or null.
pub fn optional_rate() -> RefOr<Schema> {
    schema(nullable(
        json!({"type": "number", "minimum": 0, "maximum": 1}),
    ))
}

/// An event's data: an object, or null.
pub fn event_data() -> RefOr<Schema> {
    exact_object(
        true,
        "Details: a JSON object of at most 64 KiB, or null for none.",
        None,
    )
}

/// What custom knowledge is.
pub fn knowledge_type() -> RefOr<Schema> {
    schema(json!({
        "type": "string",
        "enum": crate::knowledge::Category::ACCEPTED_NAMES,
        "description": "design_pattern (pattern), best_practice (practice) or common_error (error).",
    }))
}

/// Custom knowledge's metadata.
pub fn knowledge_metadata() -> RefOr<Schema> {
    use super::routes::knowledge::{
        MAX_METADATA_FIELDS, MAX_METADATA_KEY_CHARS, MAX_METADATA_TAGS, MAX_METADATA_VALUE_CHARS,
    };
    let mut name = label_value();
    name["maxLength"] = json!(MAX_METADATA_KEY_CHARS);
    schema(json!({
        "type": "object",
        "maxProperties": MAX_METADATA_FIELDS,
        "default": {},
        "properties": {
            "language": {"type": "string", "enum": language_names()},
            "tags": {"type": "array", "items": label_value(), "maxItems": MAX_METADATA_TAGS},
            "context": {"type": "string", "maxLength": MAX_TEXT_CHARS},
            "source": label_value(),
        },
        "propertyNames": {
            "anyOf": [
                {"type": "string", "enum": ["language", "tags", "context", "source"]},
                name,
            ]
        },
        "additionalProperties": {
            "anyOf": [
                {"type": "string", "maxLength": MAX_METADATA_VALUE_CHARS, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"},
                exact_number(),
                {"type": "boolean"},
            ]
        },
        "description": "`language`, `tags` (labels), `context` (the cause, for common errors) and `source`; any other field (a string of at most 32 characters, a number or a boolean) becomes a `key:value` tag.",
    }))
}

/// Seed files sent with a seed request, or null.
pub fn seed_files() -> RefOr<Schema> {
    schema(json!({
        "type": ["array", "null"],
        "items": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "minLength": 1},
                "content": {"type": "string"},
            },
            "required": ["path", "content"],
            "additionalProperties": false,
        },
    }))
}

fn lease_name_value() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": crate::store::coord::lease::MAX_NAME_CHARS,
        "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$",
    })
}

/// A lease's name or owner.
pub fn lease_name() -> RefOr<Schema> {
    schema(lease_name_value())
}

/// An owner, or null.
pub fn optional_lease_name() -> RefOr<Schema> {
    schema(nullable(lease_name_value()))
}

/// A lease's fencing epoch.
pub fn epoch() -> RefOr<Schema> {
    schema(json!({"type": "integer", "minimum": 0, "maximum": super::json::MAX_SAFE_INTEGER}))
}

/// A lease's time to live.
pub fn ttl_ms() -> RefOr<Schema> {
    use crate::store::coord::lease::{MAX_TTL, MIN_TTL};
    schema(
        json!({"type": "integer", "minimum": MIN_TTL.as_millis() as u64, "maximum": MAX_TTL.as_millis() as u64}),
    )
}

/// How long to wait for a lease.
pub fn wait_ms() -> RefOr<Schema> {
    use crate::store::coord::lease::MAX_WAIT;
    schema(
        json!({"type": "integer", "minimum": 0, "maximum": MAX_WAIT.as_millis() as u64, "default": 0}),
    )
}

/// A specialist's topics: labels, at most [`crate::specialists::MAX_TOPICS`].
pub fn topics() -> RefOr<Schema> {
    let max = crate::specialists::MAX_TOPICS;
    schema(json!({
        "type": "array",
        "items": label_value(),
        "maxItems": max,
        "default": [],
        "description": format!("Labels (lower-cased when stored), at most {max}."),
    }))
}

/// A session's topics, or null to extract them from the question.
pub fn optional_topics() -> RefOr<Schema> {
    let max = crate::specialists::MAX_TOPICS;
    schema(json!({
        "type": ["array", "null"],
        "items": label_value(),
        "maxItems": max,
        "description": format!("Labels (lower-cased when stored), at most {max}; null: extracted from the question (YAKE)."),
    }))
}

/// A concern's type (default `general`).
pub fn concern_kind() -> RefOr<Schema> {
    let mut value = label_value();
    value["default"] = json!("general");
    value["description"] = json!("The concern's type (a label), e.g. security, performance.");
    schema(value)
}

/// An optional text: a string of at most [`MAX_TEXT_CHARS`] characters, or null.
pub fn optional_text() -> RefOr<Schema> {
    schema(json!({
        "type": ["string", "null"],
        "maxLength": MAX_TEXT_CHARS,
        "description": format!("Free text, at most {MAX_TEXT_CHARS} characters, or null (blank counts as none)."),
    }))
}

/// A specialist's answer: any length; only the first
/// [`crate::specialists::MAX_RESPONSE_CHARS`] characters are kept.
pub fn response() -> RefOr<Schema> {
    let max = crate::specialists::MAX_RESPONSE_CHARS;
    schema(json!({
        "type": "string",
        "default": "",
        "description": format!("The specialist's answer. Kept up to its first {max} characters; a longer one is truncated (the answer says so) within the server's body limit."),
    }))
}

/// Specialist names, or null for all.
pub fn optional_specialists() -> RefOr<Schema> {
    schema(json!({
        "type": ["array", "null"],
        "items": label_value(),
        "minItems": 1,
        "maxItems": crate::specialists::MAX_INIT,
        "description": "Specialist names; null: every specialist of the deliberation.",
    }))
}

/// The council's result of a deliberation, or null.
pub fn optional_outcome() -> RefOr<Schema> {
    schema(json!({
        "type": ["string", "null"],
        "maxLength": MAX_LABEL_CHARS * 4,
        "description": format!("Free text of at most {} characters, or null.", MAX_LABEL_CHARS * 4),
    }))
}

/// A learning's sentiment (default `neutral`).
pub fn sentiment() -> RefOr<Schema> {
    let mut value = label_value();
    value["default"] = json!("neutral");
    value["description"] = json!("positive, negative or neutral (any label).");
    schema(value)
}

/// A promotion's reason.
pub fn reason() -> RefOr<Schema> {
    let max = crate::agents::MAX_REASON_CHARS;
    let mut value = required_text(max, "Why it is promoted.");
    value["default"] = json!("Applicable across team");
    schema(value)
}

/// Agent names, 1 to [`crate::agents::MAX_AGENTS`].
pub fn agents() -> RefOr<Schema> {
    schema(json!({
        "type": "array",
        "items": label_value(),
        "minItems": 1,
        "maxItems": crate::agents::MAX_AGENTS,
        "description": "Agent names, in the order they are taken.",
    }))
}

/// A swarm key's pattern: a category, then two or more non-empty segments without control
/// characters (mirrors `swarm/key.rs`).
const SWARM_KEY_PATTERN: &str =
    "^(swarm|agent|session|global|neural)(/[^/\\x00-\\x1f\\x7f-\\x9f]+){2,}$";
/// A listing prefix's pattern: a category and whole segments, a trailing `/` allowed.
const SWARM_PREFIX_PATTERN: &str =
    "^(swarm|agent|session|global|neural)(/[^/\\x00-\\x1f\\x7f-\\x9f]+)*/?$";

fn swarm_key_value() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": crate::swarm::MAX_KEY_CHARS,
        "pattern": SWARM_KEY_PATTERN,
        "description": "{category}/{subcategory}/{identifier}: the category one of swarm, agent, session, global, neural; segments non-empty, without control characters; at most 255 characters.",
    })
}

fn swarm_prefix_value() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": crate::swarm::MAX_KEY_CHARS,
        "pattern": SWARM_PREFIX_PATTERN,
        "description": "Whole leading segments of keys, starting with a category: swarm/prod lists swarm/prod/….",
    })
}

/// A swarm key.
pub fn swarm_key() -> RefOr<Schema> {
    schema(swarm_key_value())
}

/// A swarm key, or null.
pub fn optional_swarm_key() -> RefOr<Schema> {
    schema(nullable(swarm_key_value()))
}

/// A prefix of swarm keys.
pub fn swarm_prefix() -> RefOr<Schema> {
    schema(swarm_prefix_value())
}

/// A version a write is based on, or null.
pub fn optional_version() -> RefOr<Schema> {
    schema(nullable(
        json!({"type": "integer", "minimum": 0, "maximum": super::json::MAX_SAFE_INTEGER}),
    ))
}

/// A swarm key's time to live, or null.
pub fn optional_swarm_ttl() -> RefOr<Schema> {
    schema(nullable(
        json!({"type": "integer", "minimum": 1, "maximum": crate::swarm::MAX_TTL_MS}),
    ))
}

/// The kinds of event a client may publish.
pub fn publishable_event_kind() -> RefOr<Schema> {
    schema(json!({"type": "string", "enum": ["knowledge_shared", "sync_complete"]}))
}

/// One segment of a swarm key (an agent, a task id, a knowledge type): a label without `/`.
pub fn swarm_segment() -> RefOr<Schema> {
    let mut value = label_value();
    value["pattern"] = json!(LABEL_PATTERN.replace("[^", "[^/"));
    value["description"] = json!(format!(
        "One segment of a key: 1 to {MAX_LABEL_CHARS} characters, something visible, no '/' \
         and no control characters."
    ));
    schema(value)
}

/// The agents of an outcome: 1 to [`crate::swarm::outcomes::MAX_AGENTS`] labels.
pub fn outcome_agents() -> RefOr<Schema> {
    schema(json!({
        "type": "array",
        "items": label_value(),
        "minItems": 1,
        "maxItems": crate::swarm::outcomes::MAX_AGENTS,
        "description": "The agents that worked on it (labels; repeats count once).",
    }))
}

/// A task's execution time in seconds.
pub fn execution_time() -> RefOr<Schema> {
    schema(json!({
        "type": "number",
        "minimum": 0,
        "maximum": crate::swarm::outcomes::MAX_EXECUTION_SECONDS,
        "description": "Seconds, 0 to a year.",
    }))
}

/// The situation of an outcome: an object of exact JSON values (default `{}`).
pub fn outcome_context() -> RefOr<Schema> {
    exact_object(
        false,
        "The situation: a JSON object of at most 16 KiB.",
        Some(json!({})),
    )
}

/// The situation a strategy is asked for: `task_type` a label, `available_agents` a whole
/// number of agents, anything else exact JSON.
pub fn strategy_context() -> RefOr<Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let task_type = match schema(nullable(label_value())) {
        RefOr::T(schema) => schema,
        RefOr::Ref(_) => unreachable!("schema() builds inline schemas"),
    };
    let agents = match schema(json!({
        "type": ["integer", "null"],
        "minimum": 1,
        "maximum": crate::swarm::outcomes::MAX_AVAILABLE_AGENTS,
    })) {
        RefOr::T(schema) => schema,
        RefOr::Ref(_) => unreachable!("schema() builds inline schemas"),
    };
    RefOr::T(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("task_type", task_type)
            .property("available_agents", agents)
            .additional_properties(Some(exact_json()))
            .min_properties(Some(1))
            .description(Some(
                "The situation, at most 16 KiB: task_type keeps to outcomes of that type, \
                 available_agents to outcomes with no more agents; task_type and every other \
                 field but available_agents and strategy are matched by meaning, so at least \
                 one of them is needed (422 otherwise).",
            ))
            .build()
            .into(),
    )
}

/// Any JSON object of exact values (an agent's configuration, a task's progress).
pub fn swarm_object() -> RefOr<Schema> {
    exact_object(
        false,
        "A JSON object (at most 256 KiB serialised).",
        Some(json!({})),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_literal_is_a_schema() {
        type Make = fn() -> RefOr<Schema>;
        let all: [(&str, Make); 38] = [
            ("swarm_segment", swarm_segment),
            ("outcome_agents", outcome_agents),
            ("execution_time", execution_time),
            ("outcome_context", outcome_context),
            ("strategy_context", strategy_context),
            ("swarm_object", swarm_object),
            ("memory_metadata", memory_metadata),
            ("optional_memory_metadata", optional_memory_metadata),
            ("optional_tags", optional_tags),
            ("optional_message", optional_message),
            ("optional_millis", optional_millis),
            ("memory_ids", memory_ids),
            ("agents", agents),
            ("epoch", epoch),
            ("title", title),
            ("content", content),
            ("message", message),
            ("context", context),
            ("label", label),
            ("optional_label", optional_label),
            ("tags", tags),
            ("metrics", metrics),
            ("language", language),
            ("optional_language", optional_language),
            ("extract_request", extract_request),
            ("learn_request", learn_request),
            ("limit", limit),
            ("optional_rate", optional_rate),
            ("event_data", event_data),
            ("episode_context", episode_context),
            ("lease_value", lease_value),
            ("knowledge_type", knowledge_type),
            ("knowledge_metadata", knowledge_metadata),
            ("seed_files", seed_files),
            ("lease_name", lease_name),
            ("optional_lease_name", optional_lease_name),
            ("ttl_ms", ttl_ms),
            ("wait_ms", wait_ms),
        ];
        for (name, make) in all {
            let made = std::panic::catch_unwind(make);
            assert!(made.is_ok(), "{name}");
        }
    }
}
