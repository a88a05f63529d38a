//! `add_custom_knowledge(title, content, knowledge_type, metadata)`: one entry of one's own,
//! stored like the seeds of its category (but with source `custom`, and ids from content as
//! every other memory entry).

use super::category::Category;
use crate::memory::{
    ErrorInput, Language, Memory, MemoryError, PatternInput, SolutionInput, Stored,
};

/// The `source` of custom knowledge unless the metadata names another.
pub const CUSTOM_SOURCE: &str = "custom";

/// One piece of knowledge to add.
#[derive(Debug, Clone, PartialEq)]
pub struct KnowledgeInput {
    /// Design patterns: the name; best practices: the practice; common errors: the error
    /// message as printed.
    pub title: String,
    /// Design patterns: the code; best practices: the explanation; common errors: the
    /// resolution.
    pub content: String,
    /// Which collection it goes to.
    pub category: Category,
    /// `language`, `tags` (a list or a comma-separated string), `context` (common errors:
    /// the cause), `source`; any other string, number or boolean field becomes a
    /// `key:value` tag (`{"framework": "fastapi"}` → `framework:fastapi`).
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// Stores `input` in the collection of its category.
pub fn add_custom_knowledge(memory: &Memory, input: KnowledgeInput) -> Result<Stored, MemoryError> {
    add_custom_knowledge_with_key(memory, input, None)
}

/// [`add_custom_knowledge`] with an idempotency key: a retried store counts once.
pub fn add_custom_knowledge_with_key(
    memory: &Memory,
    input: KnowledgeInput,
    key: Option<&str>,
) -> Result<Stored, MemoryError> {
    let idempotency_key = key.map(str::to_owned);
    let invalid = |message: String| MemoryError::InvalidInput(message);
    let mut language = Language::Text;
    let mut tags: Vec<String> = Vec::new();
    let mut context = String::new();
    let mut source = CUSTOM_SOURCE.to_owned();
    for (key, value) in &input.metadata {
        match (key.as_str(), value) {
            ("language", serde_json::Value::String(name)) => {
                language = name
                    .parse()
                    .map_err(|e| invalid(format!("metadata: {e}")))?;
            }
            ("tags", serde_json::Value::String(list)) => tags.extend(
                list.split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty()),
            ),
            ("tags", serde_json::Value::Array(items)) => {
                for item in items {
                    let tag = item
                        .as_str()
                        .ok_or_else(|| invalid("metadata: `tags` must list strings".into()))?;
                    tags.push(tag.to_owned());
                }
            }
            ("context", serde_json::Value::String(text)) => context = text.clone(),
            ("source", serde_json::Value::String(text)) => source = text.clone(),
            ("language" | "tags" | "context" | "source", _) => {
                return Err(invalid(format!("metadata: `{key}` has the wrong type")));
            }
            (_, serde_json::Value::String(text)) => tags.push(format!("{key}:{text}")),
            (_, serde_json::Value::Number(number)) => tags.push(format!("{key}:{number}")),
            (_, serde_json::Value::Bool(flag)) => tags.push(format!("{key}:{flag}")),
            (_, _) => {
                return Err(invalid(format!(
                    "metadata: `{key}` must be a string, number or boolean"
                )));
            }
        }
    }
    let category_tag = input.category.name().to_owned();
    if !tags.contains(&category_tag) {
        tags.push(category_tag);
    }
    match input.category {
        Category::DesignPattern => memory.store_pattern(PatternInput {
            context,
            pattern_type: input.category.name().to_owned(),
            tags,
            source,
            idempotency_key,
            ..PatternInput::new(input.title, input.content, language)
        }),
        Category::BestPractice => memory.store_solution(SolutionInput {
            language,
            context,
            tags,
            source,
            idempotency_key,
            ..SolutionInput::new(input.title, input.content)
        }),
        Category::CommonError => memory.store_error(ErrorInput {
            context,
            language,
            tags,
            source,
            idempotency_key,
            ..ErrorInput::new(input.title, input.content, true)
        }),
    }
}
