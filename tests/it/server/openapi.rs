//! The committed OpenAPI document (`openapi.json`) stays in sync with the server: it lists
//! exactly the routes the server has, the server serves it unchanged, and every request
//! example in it is accepted by a live server.

use std::collections::BTreeSet;

use engram::server::{OPENAPI, ROUTES};
use serde_json::{Value, json};

use super::TestServer;

fn document() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let text = std::fs::read_to_string(path).expect("openapi.json");
    assert_eq!(text, OPENAPI, "the served document is the committed file");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn the_document_lists_exactly_the_routes_and_its_examples_are_accepted() {
    let doc = document();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(documented, routed);

    let s = TestServer::start();
    assert_eq!(s.get("/openapi.json").body, doc);
    // The lease the lease examples act on: (token, epoch) while held.
    let mut held: Option<(Value, Value)> = None;
    for (method, template) in ROUTES {
        let operation = &doc["paths"][template][method.to_lowercase()];
        let path = if template.contains("{id}") {
            let started = s.post(
                "/v1/episodes",
                &json!({"task": "an episode for the examples"}),
            );
            let id = started.body["id"].as_str().expect("id").to_owned();
            template.replace("{id}", &id)
        } else {
            template.replace("{name}", "examples")
        };
        let mut example =
            operation["requestBody"]["content"]["application/json"]["example"].clone();
        if example.get("token").is_some() {
            // Renewing, releasing and writing need the token and epoch of a lease held now.
            let (token, epoch) = held.get_or_insert_with(|| {
                let granted = s.post("/v1/leases/examples/acquire", &json!({"ttl_ms": 60_000}));
                assert_eq!(granted.status, 200, "{:?}", granted.body);
                (granted.body["token"].clone(), granted.body["epoch"].clone())
            });
            example["token"] = token.clone();
            example["epoch"] = epoch.clone();
        }
        let answer = match *method {
            "GET" => s.get(&path),
            _ => {
                assert!(
                    !example.is_null(),
                    "{method} {template} has a request example"
                );
                match *method {
                    "PUT" => s.put(&path, &example),
                    _ => s.post(&path, &example),
                }
            }
        };
        assert_eq!(
            answer.status, 200,
            "{method} {template}: the documented example was refused: {:?}",
            answer.body
        );
        if template.ends_with("/acquire") {
            held = Some((answer.body["token"].clone(), answer.body["epoch"].clone()));
        }
        if template.ends_with("/release") {
            held = None;
        }
        assert!(
            operation["responses"]["200"].is_object(),
            "{method} {template} documents its answer"
        );
    }
    let metrics = s.get("/metrics");
    let text = metrics.body.as_str().expect("text");
    assert!(
        text.contains("engram_http_requests_total{method=\"POST\",route=\"/v1/episodes/{id}/end\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("engram_collection_points{collection=\"code_patterns\"}"),
        "{text}"
    );
}
