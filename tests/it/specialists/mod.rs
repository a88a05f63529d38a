//! Specialist memory (design note 002): the note's five success criteria, repeat detection
//! measured on a hand-written set, outcomes, bad input, and the same through HTTP and the
//! CLI.

mod cli;
mod http;
mod library;
mod repeats;

use std::sync::Arc;

use engram::specialists::{ConcernInput, SessionInput, SpecialistSpec, Specialists};
use engram::store::Store;

use crate::common::shared_embedder;

/// Specialist memory over a fresh embedded store in a temp dir.
pub struct Fixture {
    pub specialists: Specialists,
    pub store: Store,
    _dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_edge(&dir.path().join("data")).expect("store");
        let specialists =
            Specialists::new(&store, Arc::clone(shared_embedder()) as _).expect("specialists");
        Self {
            specialists,
            store,
            _dir: dir,
        }
    }
}

/// The council of the design note, with its starting topics.
pub fn council() -> Vec<SpecialistSpec> {
    [
        ("crawdad", &["security", "authentication", "IoT"][..]),
        ("gecko", &["performance", "database", "optimization"]),
        (
            "turtle",
            &["sustainability", "seven_generations", "long_term"],
        ),
        ("eagle_eye", &["monitoring", "patterns", "visibility"]),
        ("spider", &["integration", "connections", "apis"]),
        ("raven", &["strategy", "planning", "risk"]),
        ("peace_chief", &["consensus", "synthesis", "harmony"]),
    ]
    .into_iter()
    .map(|(id, topics)| SpecialistSpec {
        id: id.to_owned(),
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
    })
    .collect()
}

/// A session of `deliberation` about `question` with concerns of `(kind, text)`.
pub fn session(deliberation: &str, question: &str, concerns: &[(&str, &str)]) -> SessionInput {
    SessionInput {
        question: question.to_owned(),
        response: format!("My view on: {question}"),
        concerns: concerns
            .iter()
            .map(|(kind, text)| ConcernInput {
                text: (*text).to_owned(),
                kind: (*kind).to_owned(),
            })
            .collect(),
        decision: Some("PROCEED WITH CAUTION".to_owned()),
        deliberation: Some(deliberation.to_owned()),
        topics: None,
    }
}
