//! `add_custom_knowledge(title, content, knowledge_type, metadata)`.

use engram::knowledge::{Category, KnowledgeInput, add_custom_knowledge};
use engram::memory::{Language, RecallOptions};
use serde_json::json;

use super::fresh_memory;

fn metadata(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    value.as_object().expect("object").clone()
}

#[test]
fn custom_knowledge_lands_in_the_collection_of_its_kind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let memory = fresh_memory(dir.path());
    let stored = add_custom_knowledge(
        &memory,
        KnowledgeInput {
            title: "OAuth2 Implementation Pattern".to_owned(),
            content: "async def token(form: OAuth2PasswordRequestForm = Depends()):\n    user = authenticate(form.username, form.password)\n    return {\"access_token\": issue(user), \"token_type\": \"bearer\"}\n".to_owned(),
            category: Category::DesignPattern,
            metadata: metadata(json!({"language": "python", "framework": "fastapi"})),
        },
    )
    .expect("store");
    assert!(stored.created);
    let found = memory
        .recall_patterns(
            "log users in with OAuth2 password flow",
            &RecallOptions::top(1),
        )
        .expect("recall");
    let pattern = &found[0].record;
    assert_eq!(pattern.name, "OAuth2 Implementation Pattern");
    assert_eq!(pattern.language, Language::Python);
    assert_eq!(pattern.source, "custom");
    assert_eq!(pattern.pattern_type, "design_pattern");
    assert!(
        pattern.tags.contains(&"framework:fastapi".to_owned()),
        "{:?}",
        pattern.tags
    );

    add_custom_knowledge(
        &memory,
        KnowledgeInput {
            title: "psycopg2.OperationalError: could not connect to server: Connection refused"
                .to_owned(),
            content: "Start PostgreSQL, or point DATABASE_URL at the running server.".to_owned(),
            category: Category::CommonError,
            metadata: metadata(
                json!({"language": "python", "context": "the database is down", "tags": ["db"]}),
            ),
        },
    )
    .expect("store");
    let found = memory
        .recall_errors(
            "psycopg2.OperationalError: could not connect to server: Connection refused\n\tIs the server running on host \"10.0.0.5\" and accepting TCP/IP connections on port 5432?",
            &RecallOptions::top(1),
        )
        .expect("recall");
    assert_eq!(found[0].record.context, "the database is down");
    assert!(found[0].record.tags.contains(&"db".to_owned()));

    add_custom_knowledge(
        &memory,
        KnowledgeInput {
            title: "Feature flags are removed within a sprint of full rollout".to_owned(),
            content: "Stale flags multiply code paths; delete them once rolled out.".to_owned(),
            category: Category::BestPractice,
            metadata: serde_json::Map::new(),
        },
    )
    .expect("store");
    let found = memory
        .recall_solutions(
            "how long should toggles stay in the code",
            &RecallOptions::top(1),
        )
        .expect("recall");
    assert!(found[0].record.problem.starts_with("Feature flags"));

    for (bad, expected) in [
        (json!({"language": "cobol"}), "unknown language"),
        (json!({"tags": 3}), "wrong type"),
        (json!({"nested": {"a": 1}}), "string, number or boolean"),
    ] {
        let error = add_custom_knowledge(
            &memory,
            KnowledgeInput {
                title: "t".to_owned(),
                content: "c".to_owned(),
                category: Category::BestPractice,
                metadata: metadata(bad),
            },
        )
        .expect_err(expected);
        assert!(error.to_string().contains(expected), "{error}");
    }
    let error = add_custom_knowledge(
        &memory,
        KnowledgeInput {
            title: " ".to_owned(),
            content: "c".to_owned(),
            category: Category::BestPractice,
            metadata: serde_json::Map::new(),
        },
    )
    .expect_err("empty");
    assert!(error.to_string().contains("empty"), "{error}");
}
