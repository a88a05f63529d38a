//! The tools a coding agent sees: fourteen, each one call to engram's HTTP API ([`super::api`]).
//!
//! Schemas are short and descriptions are written for a model (what the tool is for and when
//! to call it); the API checks every value and its refusals come back as tool errors with the
//! route's code and hint. Recall is one tool with a `kind` rather than four: the arguments
//! are the same, and a smaller tool list costs the agent's context less.
//!
//! Every write carries a fresh idempotency key, so the call made again after a lost answer
//! (or at the server that took over the data directory) is applied once.
//!
//! Identity is not an argument: the caller's agent name comes from configuration (see
//! [`super::Identity`]) and is stored as the `source` of what it remembers and the
//! `agent_role` of the episode events it records.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Identity;
use super::api::ApiCall;

/// A tool's name, title, description, input schema and whether it only reads.
pub struct ToolSpec {
    /// The name an agent calls it by.
    pub name: &'static str,
    /// A short human-readable title.
    pub title: &'static str,
    /// What it is for, for a model.
    pub description: &'static str,
    /// Whether it changes nothing.
    pub read_only: bool,
    /// Its arguments' JSON Schema.
    pub schema: fn() -> Value,
}

fn text(description: &str) -> Value {
    json!({"type": "string", "minLength": 1, "description": description})
}

fn language() -> Value {
    json!({"type": "string", "description": "Programming language, e.g. python, rust, typescript, go, javascript (omit for plain text)."})
}

fn tags() -> Value {
    json!({"type": "array", "items": {"type": "string"}, "maxItems": 32, "description": "Short labels, e.g. [\"auth\", \"http\"]."})
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

/// Every tool, in the order `tools/list` gives them.
pub const TOOLS: [ToolSpec; 14] = [
    ToolSpec {
        name: "recall",
        title: "Recall from memory",
        description: "Find what the swarm learned before, by meaning: error resolutions (`errors`: paste the error message), solutions to problems (`solutions`), code patterns (`patterns`) or past task episodes (`episodes`). Call it before working on an error or a task. Each hit has a similarity in [0, 1] (absolute: below about 0.3 is unrelated); set min_score to get nothing rather than noise.",
        read_only: true,
        schema: || {
            object(
                json!({
                    "kind": {"type": "string", "enum": ["errors", "solutions", "patterns", "episodes"], "description": "What to recall."},
                    "query": text("The error message, problem or task, in your own words or verbatim."),
                    "limit": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
                    "min_score": {"type": "number", "minimum": 0, "maximum": 1, "description": "Leave out hits whose similarity is below this."},
                    "language": language(),
                    "tags": tags(),
                    "success_only": {"type": "boolean", "description": "Episodes only: just the ones that succeeded."}
                }),
                &["kind", "query"],
            )
        },
    },
    ToolSpec {
        name: "remember_error",
        title: "Remember how an error was resolved",
        description: "Store an error message and what resolved it (or what did not: worked=false), so that the next agent that meets the same error gets the resolution from recall. Numbers, paths and ids in the message are normalised, so the same error from another run is recognised; storing it again counts another sighting.",
        read_only: false,
        schema: || {
            object(
                json!({
                    "message": text("The error message or traceback, verbatim."),
                    "resolution": text("What fixed it (or was tried), concretely: the command, the change, the cause."),
                    "worked": {"type": "boolean", "default": true, "description": "Whether the resolution fixed the error."},
                    "context": {"type": "string", "description": "Where it happened: file, command, versions."},
                    "language": language(),
                    "tags": tags()
                }),
                &["message", "resolution"],
            )
        },
    },
    ToolSpec {
        name: "remember_solution",
        title: "Remember a solution",
        description: "Store a problem and the solution that worked, in prose or code, so that recall with kind `solutions` finds it for a similar problem.",
        read_only: false,
        schema: || {
            object(
                json!({
                    "problem": text("The problem, as someone meeting it would describe it."),
                    "solution": text("What solved it."),
                    "context": {"type": "string"},
                    "language": language(),
                    "tags": tags(),
                    "success_rate": {"type": "number", "minimum": 0, "maximum": 1, "description": "How well it worked, if measured."}
                }),
                &["problem", "solution"],
            )
        },
    },
    ToolSpec {
        name: "remember_pattern",
        title: "Remember a code pattern",
        description: "Store one named piece of code worth reusing (a function, class or idiom) with what it is for. To learn every function of a winning file at once, use learn_from_consensus.",
        read_only: false,
        schema: || {
            object(
                json!({
                    "name": text("A short name, e.g. retry_with_backoff."),
                    "code": text("The code."),
                    "language": {"type": "string", "description": "Programming language, e.g. python, rust, typescript, go, javascript."},
                    "context": {"type": "string", "description": "What it is for and when to use it."},
                    "pattern_type": {"type": "string", "description": "A label such as function, class, error_handling."},
                    "tags": tags()
                }),
                &["name", "code", "language"],
            )
        },
    },
    ToolSpec {
        name: "learn_from_consensus",
        title: "Learn from a consensus winner",
        description: "Give engram the code that won a consensus round (or passed review) and the task it solved: it extracts every function, class and error-handling idiom (Python, Rust, JavaScript, TypeScript, Go) and stores them as patterns with the round's success rate.",
        read_only: false,
        schema: || {
            object(
                json!({
                    "code": text("The winning source file."),
                    "task": text("The task it solved."),
                    "language": {"type": "string", "description": "python, rust, javascript, typescript or go; or give file_name."},
                    "file_name": {"type": "string", "description": "The file's name, e.g. retry.py (its extension names the language)."},
                    "success_rate": {"type": "number", "minimum": 0, "maximum": 1, "description": "The round's score."},
                    "tags": tags()
                }),
                &["code", "task"],
            )
        },
    },
    ToolSpec {
        name: "suggest_patterns",
        title: "Suggest patterns for a task",
        description: "Before writing code for a task, get the stored patterns and best practices that fit it, ranked by relevance and past success.",
        read_only: true,
        schema: || {
            object(
                json!({
                    "task": text("The task you are about to do."),
                    "language": language()
                }),
                &["task"],
            )
        },
    },
    ToolSpec {
        name: "start_episode",
        title: "Start an episode",
        description: "Begin recording a task as an episode; returns its id. Record what happens with record_event and finish with end_episode, so that later agents can recall how similar tasks went and analyze_failures can group what went wrong.",
        read_only: false,
        schema: || {
            object(
                json!({
                    "task": text("The task."),
                    "context": {"type": "object", "description": "Facts about the run (JSON object), e.g. {\"repo\": \"api\", \"branch\": \"main\"}."}
                }),
                &["task"],
            )
        },
    },
    ToolSpec {
        name: "record_event",
        title: "Record an episode event",
        description: "Record one step of a running episode: a command run, a test result, an error met, a decision. Events keep their order.",
        read_only: false,
        schema: || {
            object(
                json!({
                    "episode_id": {"type": "string", "format": "uuid", "description": "The id start_episode returned."},
                    "event_type": {"type": "string", "minLength": 1, "description": "A short label: test, error, edit, command, decision, …"},
                    "data": {"type": "object", "description": "Details (JSON object); put an error message under \"error\" so that failures group by it."}
                }),
                &["episode_id", "event_type"],
            )
        },
    },
    ToolSpec {
        name: "end_episode",
        title: "End an episode",
        description: "Finish a running episode with its outcome. A failed episode's last failing event is what analyze_failures groups.",
        read_only: false,
        schema: || {
            object(
                json!({
                    "episode_id": {"type": "string", "format": "uuid"},
                    "success": {"type": "boolean", "description": "Whether the task succeeded."},
                    "success_rate": {"type": "number", "minimum": 0, "maximum": 1, "description": "A finer outcome, if measured."},
                    "metrics": {"type": "object", "additionalProperties": {"type": "number"}, "description": "Other named measurements, e.g. {\"duration_s\": 41}."}
                }),
                &["episode_id", "success"],
            )
        },
    },
    ToolSpec {
        name: "analyze_failures",
        title: "Analyze past failures",
        description: "What went wrong in failed episodes, grouped by the failing step, the agent and the normalised error, largest group first with examples. Call it before a task that failed before.",
        read_only: true,
        schema: || {
            object(
                json!({"limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10, "description": "Most groups to return."}}),
                &[],
            )
        },
    },
    ToolSpec {
        name: "swarm_get",
        title: "Read swarm state",
        description: "Read one key of the swarm's shared state (who leads, which task is whose, what the swarm decided): its JSON value and version. Keys are {category}/{subcategory}/{identifier}, categories swarm, agent, session, global, neural, e.g. swarm/prod/coordination.",
        read_only: true,
        schema: || {
            object(
                json!({"key": {"type": "string", "minLength": 5, "maxLength": 255, "description": "The key, e.g. swarm/prod/coordination."}}),
                &["key"],
            )
        },
    },
    ToolSpec {
        name: "swarm_put",
        title: "Write swarm state",
        description: "Write one key of the swarm's shared state. policy: reject (default: create it, or update it at expected_version; a conflict answers the current version), last_write_wins, or merge (the value is a JSON merge patch into the stored object). Keys under agent/ belong to their agent: write only agent/<yourself>/…. ttl_ms makes the key expire.",
        read_only: false,
        schema: || {
            object(
                json!({
                    "key": {"type": "string", "minLength": 5, "maxLength": 255, "description": "The key, e.g. swarm/prod/coordination."},
                    "value": {"description": "Any JSON value."},
                    "policy": {"type": "string", "enum": ["reject", "last_write_wins", "merge"], "default": "reject"},
                    "expected_version": {"type": "integer", "minimum": 1, "description": "reject only: the version you read; omit to create."},
                    "ttl_ms": {"type": "integer", "minimum": 1, "description": "Expire the key this many milliseconds after the write."}
                }),
                &["key", "value"],
            )
        },
    },
    ToolSpec {
        name: "record_task_outcome",
        title: "Record a task outcome",
        description: "After a swarm task, record how it went: its type, the agents on it (default: you), success, seconds taken, the situation (context) and the strategy used, so that coordination_strategy can recommend what worked in similar situations.",
        read_only: false,
        schema: || {
            object(
                json!({
                    "task_type": text("A label, e.g. data_processing."),
                    "success": {"type": "boolean"},
                    "execution_time": {"type": "number", "minimum": 0, "description": "Seconds the task took."},
                    "agents": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 64, "description": "The agents on the task (default: you)."},
                    "context": {"type": "object", "description": "The situation, e.g. {\"data_size\": \"large\"}."},
                    "strategy": {"type": "string", "description": "How the task was coordinated, e.g. parallel_processing (default: the context's strategy, else the team size)."}
                }),
                &["task_type", "success", "execution_time"],
            )
        },
    },
    ToolSpec {
        name: "coordination_strategy",
        title: "Recommend a coordination strategy",
        description: "Before a swarm task, ask which strategy worked best in similar past situations: the strategy with its expected success rate, a 95 % confidence interval, how many outcomes are behind it and example ids, and the alternatives. Put task_type and available_agents in the context to keep to that type and team size.",
        read_only: true,
        schema: || {
            object(
                json!({
                    "context": {"type": "object", "minProperties": 1, "description": "The situation, e.g. {\"task_type\": \"data_processing\", \"available_agents\": 5}."},
                    "neighbours": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50, "description": "How many similar past outcomes to weigh."}
                }),
                &["context"],
            )
        },
    },
];

/// A tool's arguments were not what its schema says; the message says which and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadArguments(pub String);

fn parse<T: for<'de> Deserialize<'de>>(arguments: &Map<String, Value>) -> Result<T, BadArguments> {
    serde_json::from_value(Value::Object(arguments.clone()))
        .map_err(|e| BadArguments(e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecallArgs {
    kind: String,
    query: String,
    #[serde(default = "five")]
    limit: u32,
    min_score: Option<f64>,
    language: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    success_only: Option<bool>,
}

fn five() -> u32 {
    5
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorArgs {
    message: String,
    resolution: String,
    #[serde(default = "yes")]
    worked: bool,
    #[serde(default)]
    context: String,
    language: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SolutionArgs {
    problem: String,
    solution: String,
    #[serde(default)]
    context: String,
    language: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    success_rate: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternArgs {
    name: String,
    code: String,
    language: String,
    #[serde(default)]
    context: String,
    pattern_type: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LearnArgs {
    code: String,
    task: String,
    language: Option<String>,
    file_name: Option<String>,
    success_rate: Option<f64>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestArgs {
    task: String,
    language: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartArgs {
    task: String,
    #[serde(default)]
    context: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventArgs {
    episode_id: String,
    event_type: String,
    data: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndArgs {
    episode_id: String,
    success: bool,
    success_rate: Option<f64>,
    #[serde(default)]
    metrics: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailuresArgs {
    #[serde(default = "ten")]
    limit: u32,
}

fn ten() -> u32 {
    10
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SwarmGetArgs {
    key: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SwarmPutArgs {
    key: String,
    value: Value,
    policy: Option<String>,
    expected_version: Option<u64>,
    ttl_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeArgs {
    task_type: String,
    success: bool,
    execution_time: f64,
    agents: Option<Vec<String>>,
    context: Option<Map<String, Value>>,
    strategy: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrategyArgs {
    context: Map<String, Value>,
    neighbours: Option<u32>,
}

/// Refuses a write to another agent's keys (`agent/{other}/…`): a tool call acts as the
/// configured agent, as a key bound to that agent does over HTTP. The key is read by swarm
/// memory's own parser; one it refuses goes on to the route, which says why.
fn own_key(key: &str, identity: &Identity) -> Result<(), BadArguments> {
    use crate::swarm::{Category, SwarmKey};
    let owner = SwarmKey::parse(key)
        .ok()
        .filter(|k| k.category() == Category::Agent)
        .map(|k| k.subcategory().to_owned());
    match owner {
        Some(owner) if owner != identity.agent => Err(BadArguments(format!(
            "{key:?} belongs to agent {owner:?}; this caller is agent {:?} and writes only \
             agent/{}/… (or the swarm, session, global and neural keys)",
            identity.agent, identity.agent
        ))),
        _ => Ok(()),
    }
}

/// An episode id as a path segment: only a UUID is one, so nothing else reaches the path.
fn episode(id: &str) -> Result<uuid::Uuid, BadArguments> {
    uuid::Uuid::parse_str(id.trim()).map_err(|_| {
        BadArguments(format!(
            "episode_id {id:?} is not an episode id (a UUID, as start_episode returned it)"
        ))
    })
}

/// Metrics with `success_rate` added when given.
fn metrics(mut metrics: Map<String, Value>, success_rate: Option<f64>) -> Value {
    if let Some(rate) = success_rate {
        metrics.insert("success_rate".into(), json!(rate));
    }
    Value::Object(metrics)
}

/// The API call tool `name` makes with `arguments` for `identity`.
pub fn call(
    name: &str,
    arguments: &Map<String, Value>,
    identity: &Identity,
) -> Result<ApiCall, BadArguments> {
    let source = identity.agent.as_str();
    Ok(match name {
        "recall" => {
            let args: RecallArgs = parse(arguments)?;
            if args.limit == 0 || args.limit > 20 {
                return Err(BadArguments(format!(
                    "limit {} is not within 1..=20",
                    args.limit
                )));
            }
            match args.kind.as_str() {
                "errors" | "solutions" | "patterns" => {
                    if args.success_only.is_some() {
                        return Err(BadArguments("success_only is for kind \"episodes\"".into()));
                    }
                    ApiCall::post(
                        format!("/v1/{}/recall", args.kind),
                        json!({"query": args.query, "limit": args.limit, "min_score": args.min_score, "language": args.language, "tags": args.tags}),
                    )
                }
                "episodes" => {
                    if args.language.is_some() || !args.tags.is_empty() {
                        return Err(BadArguments(
                            "language and tags filter errors, solutions and patterns; episodes are recalled by task only".into(),
                        ));
                    }
                    ApiCall::post(
                        "/v1/episodes/recall",
                        json!({"task": args.query, "limit": args.limit, "min_score": args.min_score, "success_only": args.success_only.unwrap_or(false)}),
                    )
                }
                other => {
                    return Err(BadArguments(format!(
                        "kind {other:?} is not one of errors, solutions, patterns, episodes"
                    )));
                }
            }
        }
        "remember_error" => {
            let args: ErrorArgs = parse(arguments)?;
            ApiCall::post(
                "/v1/errors",
                json!({"message": args.message, "resolution": args.resolution, "success": args.worked, "context": args.context, "language": args.language, "tags": args.tags, "source": source}),
            )
            .once()
        }
        "remember_solution" => {
            let args: SolutionArgs = parse(arguments)?;
            ApiCall::post(
                "/v1/solutions",
                json!({"problem": args.problem, "solution": args.solution, "context": args.context, "language": args.language, "tags": args.tags, "source": source, "metrics": metrics(Map::new(), args.success_rate)}),
            )
            .once()
        }
        "remember_pattern" => {
            let args: PatternArgs = parse(arguments)?;
            ApiCall::post(
                "/v1/patterns",
                json!({"name": args.name, "code": args.code, "language": args.language, "context": args.context, "pattern_type": args.pattern_type, "tags": args.tags, "source": source}),
            )
            .once()
        }
        "learn_from_consensus" => {
            let args: LearnArgs = parse(arguments)?;
            ApiCall::post(
                "/v1/learn",
                json!({"code": args.code, "task": args.task, "language": args.language, "file_name": args.file_name, "tags": args.tags, "metrics": metrics(Map::new(), args.success_rate)}),
            )
            .once()
        }
        "suggest_patterns" => {
            let args: SuggestArgs = parse(arguments)?;
            ApiCall::post(
                "/v1/patterns/suggest",
                json!({"task": args.task, "language": args.language}),
            )
        }
        "start_episode" => {
            let args: StartArgs = parse(arguments)?;
            ApiCall::post(
                "/v1/episodes",
                json!({"task": args.task, "context": args.context}),
            )
            .once()
        }
        "record_event" => {
            let args: EventArgs = parse(arguments)?;
            ApiCall::post(
                format!("/v1/episodes/{}/events", episode(&args.episode_id)?),
                json!({"event_type": args.event_type, "agent_role": source, "data": args.data}),
            )
            .once()
        }
        "end_episode" => {
            let args: EndArgs = parse(arguments)?;
            ApiCall::post(
                format!("/v1/episodes/{}/end", episode(&args.episode_id)?),
                json!({"success": args.success, "metrics": metrics(args.metrics, args.success_rate)}),
            )
            .once()
        }
        "analyze_failures" => {
            let args: FailuresArgs = parse(arguments)?;
            ApiCall::get(format!("/v1/episodes/failures?limit={}", args.limit))
        }
        "swarm_get" => {
            let args: SwarmGetArgs = parse(arguments)?;
            let key = percent_encoding::utf8_percent_encode(
                &args.key,
                percent_encoding::NON_ALPHANUMERIC,
            );
            ApiCall::get(format!("/v1/swarm/entry?key={key}"))
        }
        "swarm_put" => {
            let args: SwarmPutArgs = parse(arguments)?;
            own_key(&args.key, identity)?;
            ApiCall::put(
                "/v1/swarm/entry",
                json!({"key": args.key, "value": args.value, "policy": args.policy.unwrap_or_else(|| "reject".into()), "expected_version": args.expected_version, "ttl_ms": args.ttl_ms}),
            )
            .once()
        }
        "record_task_outcome" => {
            let args: OutcomeArgs = parse(arguments)?;
            let agents = args.agents.unwrap_or_else(|| vec![identity.agent.clone()]);
            ApiCall::post(
                "/v1/swarm/outcomes",
                json!({"task_type": args.task_type, "agents": agents, "success": args.success, "execution_time": args.execution_time, "context": args.context.unwrap_or_default(), "strategy": args.strategy}),
            )
            .once()
        }
        "coordination_strategy" => {
            let args: StrategyArgs = parse(arguments)?;
            let mut body = json!({"context": args.context});
            if let Some(neighbours) = args.neighbours {
                body["neighbours"] = json!(neighbours);
            }
            ApiCall::post("/v1/swarm/strategy", body)
        }
        other => return Err(BadArguments(format!("there is no tool {other:?}"))),
    })
}

/// The longest a field of a hit is quoted in a tool's text answer; the structured answer has
/// it whole.
const QUOTE_CHARS: usize = 600;

fn quote(value: &Value) -> String {
    let text = value.as_str().unwrap_or_default().trim();
    let mut quoted: String = text.chars().take(QUOTE_CHARS).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    quoted
}

/// One recalled hit as a few lines of text: its similarity, then what it holds.
fn hit(rank: usize, hit: &Value) -> String {
    let record = &hit["record"];
    let head = format!(
        "{rank}. similarity {:.3} (id {})",
        hit["similarity"].as_f64().unwrap_or_default(),
        hit["id"].as_str().unwrap_or_default()
    );
    let body = if record.get("error_message").is_some() {
        format!(
            "error: {}\nresolution (worked {:.0} % of {} time{}): {}",
            quote(&record["error_message"]),
            record["success_rate"].as_f64().unwrap_or_default() * 100.0,
            record["seen_count"],
            if record["seen_count"] == 1 { "" } else { "s" },
            quote(&record["resolution"])
        )
    } else if record.get("problem").is_some() {
        format!(
            "problem: {}\nsolution: {}",
            quote(&record["problem"]),
            quote(&record["solution"])
        )
    } else if record.get("code").is_some() {
        format!(
            "pattern {} ({}): {}\n{}",
            quote(&record["name"]),
            record["language"].as_str().unwrap_or("text"),
            quote(&record["context"]),
            quote(&record["code"])
        )
    } else {
        format!(
            "task: {}\nstatus: {}",
            quote(&record["task"]),
            record["status"].as_str().unwrap_or_default()
        )
    };
    format!("{head}\n{body}")
}

/// The text an agent reads for tool `name`'s `answer` (the structured content holds it all).
pub fn render(name: &str, answer: &Value) -> String {
    match name {
        "recall" | "suggest_patterns" => {
            let hits = answer.as_array().map(Vec::as_slice).unwrap_or_default();
            if hits.is_empty() {
                return "Nothing relevant is stored.".into();
            }
            hits.iter()
                .enumerate()
                .map(|(i, h)| hit(i + 1, h))
                .collect::<Vec<_>>()
                .join("\n\n")
        }
        "remember_error" | "remember_solution" | "remember_pattern" => format!(
            "{} (id {}; seen {} time{}).",
            if answer["created"].as_bool() == Some(true) {
                "Stored"
            } else {
                "Already known: counted again"
            },
            answer["id"].as_str().unwrap_or_default(),
            answer["seen_count"],
            if answer["seen_count"] == 1 { "" } else { "s" }
        ),
        "learn_from_consensus" => {
            let patterns = answer["patterns"].as_array().map(Vec::len).unwrap_or(0);
            format!(
                "Learned {patterns} pattern{} from the {} code ({} skipped).",
                if patterns == 1 { "" } else { "s" },
                answer["language"].as_str().unwrap_or_default(),
                answer["skipped"]
            )
        }
        "start_episode" => format!(
            "Episode started: {}. Pass it as episode_id to record_event and end_episode.",
            answer["id"].as_str().unwrap_or_default()
        ),
        "record_event" => format!("Recorded as event {}.", answer["sequence"]),
        "end_episode" => format!(
            "Episode ended: {}.",
            answer["status"].as_str().unwrap_or_default()
        ),
        "analyze_failures" => {
            let groups = answer["groups"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            if groups.is_empty() {
                return format!(
                    "{} failed episodes; nothing to group.",
                    answer["failed_episodes"]
                );
            }
            let mut text = format!("{} failed episodes:", answer["failed_episodes"]);
            for group in groups {
                let failure = &group["failure"];
                text.push_str(&format!(
                    "\n- {}× ({:.0} %) at {} by {}: {}",
                    group["count"],
                    group["share"].as_f64().unwrap_or_default() * 100.0,
                    failure["event_type"].as_str().unwrap_or_default(),
                    failure["agent_role"].as_str().unwrap_or_default(),
                    failure["signature"]
                        .as_str()
                        .unwrap_or("(no error message)")
                ));
            }
            text
        }
        "swarm_get" => format!(
            "{} (version {}): {}",
            answer["key"].as_str().unwrap_or_default(),
            answer["version"],
            answer["value"]
        ),
        "swarm_put" => {
            let entry = &answer["entry"];
            if answer["applied"].as_bool() == Some(false) {
                format!(
                    "Not applied: a later write of {} is stored (version {}).",
                    entry["key"].as_str().unwrap_or_default(),
                    entry["version"]
                )
            } else {
                format!(
                    "Written: {} is at version {}.",
                    entry["key"].as_str().unwrap_or_default(),
                    entry["version"]
                )
            }
        }
        "record_task_outcome" => format!(
            "Recorded outcome {} ({} with strategy {}).",
            answer["id"].as_str().unwrap_or_default(),
            if answer["success"].as_bool() == Some(true) {
                "succeeded"
            } else {
                "failed"
            },
            answer["strategy"].as_str().unwrap_or_default()
        ),
        "coordination_strategy" => match answer["strategy"]["description"].as_str() {
            Some(best) => {
                let mut text = format!("Recommended: {best}");
                for other in answer["alternatives"].as_array().into_iter().flatten() {
                    text.push_str(&format!(
                        "\nAlternative: {}",
                        other["description"].as_str().unwrap_or_default()
                    ));
                }
                text
            }
            None => "No outcome like this is recorded yet.".into(),
        },
        _ => answer.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn identity() -> Identity {
        Identity {
            agent: "coder-1".into(),
        }
    }

    #[test]
    fn every_tool_has_an_object_schema_whose_required_fields_it_declares() {
        // Few enough to cost an agent's context little.
        assert!(TOOLS.len() <= 14);
        for tool in &TOOLS {
            let schema = (tool.schema)();
            assert_eq!(schema["type"], "object", "{}", tool.name);
            let properties = schema["properties"].as_object().expect("properties");
            for required in schema["required"].as_array().expect("required") {
                let required = required.as_str().expect("a name");
                assert!(
                    properties.contains_key(required),
                    "{}: {required}",
                    tool.name
                );
            }
        }
    }

    #[test]
    fn recall_goes_to_the_route_of_its_kind() {
        let call = call(
            "recall",
            &args(json!({"kind": "errors", "query": "KeyError: 'x'", "min_score": 0.4})),
            &identity(),
        )
        .expect("a call");
        assert_eq!(call.path, "/v1/errors/recall");
        assert_eq!(call.body.as_ref().expect("a body")["min_score"], 0.4);
        let call = super::call(
            "recall",
            &args(json!({"kind": "episodes", "query": "deploy", "success_only": true})),
            &identity(),
        )
        .expect("a call");
        assert_eq!(call.path, "/v1/episodes/recall");
        assert_eq!(call.body.as_ref().expect("a body")["task"], "deploy");
    }

    #[test]
    fn the_caller_is_the_configured_agent_never_an_argument() {
        let call = call(
            "remember_error",
            &args(json!({"message": "E", "resolution": "R"})),
            &identity(),
        )
        .expect("a call");
        assert_eq!(call.body.as_ref().expect("a body")["source"], "coder-1");
        let refused = super::call(
            "remember_error",
            &args(json!({"message": "E", "resolution": "R", "source": "someone-else"})),
            &identity(),
        );
        assert!(refused.is_err());
        let id = "8d3f6a52-7c1e-4c59-9a53-0f1b2c3d4e5f";
        let call = super::call(
            "record_event",
            &args(json!({"episode_id": id, "event_type": "test"})),
            &identity(),
        )
        .expect("a call");
        assert_eq!(call.path, format!("/v1/episodes/{id}/events"));
        assert_eq!(call.body.as_ref().expect("a body")["agent_role"], "coder-1");
    }

    #[test]
    fn swarm_tools_act_as_the_configured_agent() {
        // Its own agent keys and the shared categories are written; another agent's are not.
        for key in [
            "agent/coder-1/state",
            "swarm/prod/coordination",
            "global/notes/x",
        ] {
            let call = call(
                "swarm_put",
                &args(json!({"key": key, "value": {"a": 1}})),
                &identity(),
            )
            .expect(key);
            assert_eq!(call.path, "/v1/swarm/entry");
            assert_eq!(call.body.as_ref().expect("a body")["policy"], "reject");
        }
        let refused = call(
            "swarm_put",
            &args(json!({"key": "agent/coder-2/state", "value": 1})),
            &identity(),
        );
        assert!(
            matches!(&refused, Err(BadArguments(m)) if m.contains("coder-2") && m.contains("agent/coder-1/")),
            "{refused:?}"
        );
        // An outcome's agents default to the caller.
        let outcome = call(
            "record_task_outcome",
            &args(json!({"task_type": "review", "success": false, "execution_time": 3})),
            &identity(),
        )
        .expect("a call");
        assert_eq!(
            outcome.body.as_ref().expect("a body")["agents"],
            json!(["coder-1"])
        );
        // A key is a query parameter, encoded.
        let read = call(
            "swarm_get",
            &args(json!({"key": "swarm/a b/c&d"})),
            &identity(),
        )
        .expect("a call");
        assert_eq!(read.path, "/v1/swarm/entry?key=swarm%2Fa%20b%2Fc%26d");
    }

    #[test]
    fn writes_carry_an_idempotency_key_and_reads_do_not() {
        let id = "8d3f6a52-7c1e-4c59-9a53-0f1b2c3d4e5f";
        for (name, arguments) in [
            ("remember_error", json!({"message": "E", "resolution": "R"})),
            (
                "remember_solution",
                json!({"problem": "P", "solution": "S"}),
            ),
            (
                "remember_pattern",
                json!({"name": "n", "code": "c", "language": "go"}),
            ),
            (
                "learn_from_consensus",
                json!({"code": "c", "task": "t", "language": "go"}),
            ),
            ("start_episode", json!({"task": "t"})),
            ("record_event", json!({"episode_id": id, "event_type": "t"})),
            ("end_episode", json!({"episode_id": id, "success": true})),
            ("swarm_put", json!({"key": "swarm/a/b", "value": 1})),
            (
                "record_task_outcome",
                json!({"task_type": "t", "success": true, "execution_time": 1.5}),
            ),
        ] {
            let spec = TOOLS.iter().find(|t| t.name == name).expect("a tool");
            assert!(!spec.read_only, "{name}");
            let call = call(name, &args(arguments), &identity()).expect(name);
            assert!(call.idempotency_key.is_some(), "{name}");
        }
        for (name, arguments) in [
            ("recall", json!({"kind": "errors", "query": "q"})),
            ("suggest_patterns", json!({"task": "t"})),
            ("analyze_failures", json!({})),
            ("swarm_get", json!({"key": "swarm/a/b"})),
            (
                "coordination_strategy",
                json!({"context": {"task_type": "t"}}),
            ),
        ] {
            let spec = TOOLS.iter().find(|t| t.name == name).expect("a tool");
            assert!(spec.read_only, "{name}");
            let call = call(name, &args(arguments), &identity()).expect(name);
            assert_eq!(call.idempotency_key, None, "{name}");
        }
    }

    #[test]
    fn bad_arguments_are_named() {
        for (name, arguments, says) in [
            ("recall", json!({"query": "x"}), "kind"),
            ("recall", json!({"kind": "notes", "query": "x"}), "notes"),
            (
                "recall",
                json!({"kind": "errors", "query": "x", "limit": 0}),
                "limit",
            ),
            (
                "recall",
                json!({"kind": "episodes", "query": "x", "tags": ["a"]}),
                "tags",
            ),
            (
                "record_event",
                json!({"episode_id": "../stats", "event_type": "t"}),
                "episode_id",
            ),
            (
                "end_episode",
                json!({"episode_id": "1", "success": "yes"}),
                "boolean",
            ),
            ("nope", json!({}), "no tool"),
        ] {
            let error = call(name, &args(arguments), &identity()).expect_err(name);
            assert!(error.0.contains(says), "{name}: {}", error.0);
        }
    }

    #[test]
    fn an_empty_recall_says_so_and_hits_show_their_similarity() {
        assert_eq!(render("recall", &json!([])), "Nothing relevant is stored.");
        let text = render(
            "recall",
            &json!([{"id": "i", "similarity": 0.8123, "score": 0.9, "cosine": 0.7,
                     "record": {"error_message": "KeyError: 'x'", "resolution": "check the key", "seen_count": 2, "success_rate": 0.5}}]),
        );
        assert!(text.starts_with("1. similarity 0.812 (id i)"), "{text}");
        assert!(
            text.contains("resolution (worked 50 % of 2 times): check the key"),
            "{text}"
        );
    }
}
