//! The evaluation sets in `../shared/data` (see its SOURCES.md), read where they lie.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::BenchError;

/// A document to store: its key in the data set and the text to embed and index.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The data set's own id (CoSQA function index, LoCoMo dialog id).
    pub key: String,
    /// The text.
    pub text: String,
}

/// A query with the keys of the documents that answer it.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// The query text.
    pub text: String,
    /// Keys of correct documents; a hit is any of them.
    pub gold: Vec<String>,
    /// LoCoMo's question category (1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop,
    /// 5 adversarial); 0 for sets without categories.
    pub category: u8,
}

/// A corpus with its questions: one CoSQA index, or one LoCoMo conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// Name, used for the collection (`cosqa`, `locomo-conv-26`).
    pub name: String,
    /// Documents to store.
    pub documents: Vec<Document>,
    /// Questions to ask.
    pub questions: Vec<Question>,
}

fn read(path: &Path) -> Result<String, BenchError> {
    fs_err::read_to_string(path).map_err(|source| BenchError::Data {
        path: path.to_path_buf(),
        message: source.to_string(),
    })
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, BenchError> {
    serde_json::from_str(text).map_err(|e| BenchError::Data {
        path: path.to_path_buf(),
        message: format!("not the expected JSON: {e}"),
    })
}

#[derive(Deserialize)]
struct CosqaQuery {
    doc: String,
    retrieval_idx: u64,
}

/// CoSQA: the 6,267 functions of `cosqa/code_idx_map.txt` and the 500 dev queries.
pub fn cosqa(data: &Path) -> Result<Corpus, BenchError> {
    let map_path = data.join("cosqa/code_idx_map.txt");
    let map: HashMap<String, u64> = parse(&map_path, &read(&map_path)?)?;
    let mut documents: Vec<Document> = map
        .into_iter()
        .map(|(code, idx)| Document {
            key: idx.to_string(),
            text: code,
        })
        .collect();
    documents.sort_by_key(|d| d.key.parse::<u64>().unwrap_or(u64::MAX));
    let dev_path = data.join("cosqa/cosqa-retrieval-dev-500.json");
    let dev: Vec<CosqaQuery> = parse(&dev_path, &read(&dev_path)?)?;
    let questions = dev
        .into_iter()
        .map(|q| Question {
            text: q.doc,
            gold: vec![q.retrieval_idx.to_string()],
            category: 0,
        })
        .collect();
    Ok(Corpus {
        name: "cosqa".to_owned(),
        documents,
        questions,
    })
}

#[derive(Deserialize)]
struct LocomoConversation {
    sample_id: String,
    conversation: serde_json::Map<String, serde_json::Value>,
    qa: Vec<LocomoQa>,
}

#[derive(Deserialize)]
struct LocomoTurn {
    speaker: String,
    dia_id: String,
    text: String,
}

#[derive(Deserialize)]
struct LocomoQa {
    question: String,
    #[serde(default)]
    evidence: Vec<String>,
    category: u8,
}

/// The dialog ids in an evidence entry. A few entries pack several ids into one string
/// (`"D8:6; D9:17"`) or drop the colon's left digit (`"D:11:26"`); every well-formed
/// `D<session>:<turn>` in them counts.
fn evidence_ids(entries: &[String]) -> Vec<String> {
    let mut ids = Vec::new();
    for entry in entries {
        for token in entry.split(|c: char| c == ';' || c.is_whitespace()) {
            let token = token.trim().replace("D:", "D");
            let well_formed = token
                .strip_prefix('D')
                .and_then(|rest| rest.split_once(':'))
                .is_some_and(|(s, t)| {
                    !s.is_empty()
                        && !t.is_empty()
                        && s.bytes().all(|b| b.is_ascii_digit())
                        && t.bytes().all(|b| b.is_ascii_digit())
                });
            if well_formed {
                ids.push(token);
            }
        }
    }
    ids
}

/// LoCoMo: ten conversations, each a corpus of turns (`Speaker: text`, as in the baseline of
/// SOURCES.md) with its questions.
pub fn locomo(data: &Path) -> Result<Vec<Corpus>, BenchError> {
    let path = data.join("locomo/locomo10.json");
    let conversations: Vec<LocomoConversation> = parse(&path, &read(&path)?)?;
    conversations
        .into_iter()
        .map(|conversation| {
            let mut documents = Vec::new();
            let mut sessions: Vec<(u32, &serde_json::Value)> = conversation
                .conversation
                .iter()
                .filter_map(|(key, value)| {
                    let n = key.strip_prefix("session_")?.parse().ok()?;
                    value.is_array().then_some((n, value))
                })
                .collect();
            sessions.sort_by_key(|(n, _)| *n);
            for (_, turns) in sessions {
                let turns: Vec<LocomoTurn> =
                    serde_json::from_value(turns.clone()).map_err(|e| BenchError::Data {
                        path: path.clone(),
                        message: format!("{}: a turn: {e}", conversation.sample_id),
                    })?;
                documents.extend(turns.into_iter().map(|t| Document {
                    key: t.dia_id,
                    text: format!("{}: {}", t.speaker, t.text),
                }));
            }
            let questions = conversation
                .qa
                .into_iter()
                .map(|qa| Question {
                    text: qa.question,
                    gold: evidence_ids(&qa.evidence),
                    category: qa.category,
                })
                .collect();
            let name = format!("locomo-{}", conversation.sample_id.to_ascii_lowercase());
            Ok(Corpus {
                name,
                documents,
                questions,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct PylintDoc {
    message_id: String,
    files: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct PylintMessage {
    message_id: String,
    message: String,
}

/// pylint: the 441 documented messages (their id in words, the code that triggers them and
/// the fixed code) as documents, and the 4,242 messages pylint's functional tests emit as
/// questions; the right answer is the message's own documentation.
pub fn errors(data: &Path) -> Result<Corpus, BenchError> {
    let docs_path = data.join("errors/pylint_message_docs.jsonl");
    let mut documents = Vec::new();
    for (n, line) in read(&docs_path)?.lines().enumerate() {
        let doc: PylintDoc = serde_json::from_str(line).map_err(|e| BenchError::Data {
            path: docs_path.clone(),
            message: format!("line {}: {e}", n + 1),
        })?;
        let mut text = doc.message_id.replace('-', " ");
        for (name, code) in &doc.files {
            let role = if name.starts_with("good") {
                "fixed"
            } else {
                "triggers it"
            };
            text.push_str(&format!(
                "
# {role}:
{code}"
            ));
        }
        documents.push(Document {
            key: doc.message_id,
            text,
        });
    }
    let messages_path = data.join("errors/pylint_functional_messages.jsonl");
    let mut questions = Vec::new();
    for (n, line) in read(&messages_path)?.lines().enumerate() {
        let message: PylintMessage = serde_json::from_str(line).map_err(|e| BenchError::Data {
            path: messages_path.clone(),
            message: format!("line {}: {e}", n + 1),
        })?;
        questions.push(Question {
            text: message.message,
            gold: vec![message.message_id],
            category: 0,
        });
    }
    Ok(Corpus {
        name: "errors".to_owned(),
        documents,
        questions,
    })
}

/// `../shared/data` beside the working folder, or `ENGRAM_BENCH_DATA`.
pub fn default_dir() -> PathBuf {
    std::env::var_os("ENGRAM_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_ids_accept_packed_and_damaged_entries() {
        let entries = [
            "D1:3".to_owned(),
            "D8:6; D9:17".to_owned(),
            "D".to_owned(),
            "D:11:26".to_owned(),
            "D9:1 D4:4".to_owned(),
        ];
        assert_eq!(
            evidence_ids(&entries),
            vec!["D1:3", "D8:6", "D9:17", "D11:26", "D9:1", "D4:4"]
        );
    }
}
