//! The tree-sitter grammar and the compiled capture query of each language, built once per
//! process.

use std::sync::OnceLock;

use tree_sitter::{Language, Query};

use super::error::ExtractError;
use super::language::SourceLanguage;

/// A language's grammar and its extraction query.
pub(super) struct Grammar {
    pub(super) language: Language,
    pub(super) query: Query,
}

/// Captures JavaScript, TypeScript and TSX share.
const ECMASCRIPT: &str = include_str!("queries/ecmascript.scm");

/// The query source of each language, kept beside the code in `queries/`.
fn query_source(language: SourceLanguage) -> String {
    match language {
        SourceLanguage::Python => include_str!("queries/python.scm").to_owned(),
        SourceLanguage::Rust => include_str!("queries/rust.scm").to_owned(),
        SourceLanguage::Javascript => {
            format!("{ECMASCRIPT}\n{}", include_str!("queries/javascript.scm"))
        }
        SourceLanguage::Typescript | SourceLanguage::Tsx => {
            format!("{ECMASCRIPT}\n{}", include_str!("queries/typescript.scm"))
        }
        SourceLanguage::Go => include_str!("queries/go.scm").to_owned(),
    }
}

type Slot = OnceLock<Result<Grammar, String>>;

static GRAMMARS: [Slot; 6] = [const { OnceLock::new() }; 6];

impl Grammar {
    /// The grammar of `language`, compiled on first use.
    pub(super) fn of(language: SourceLanguage) -> Result<&'static Grammar, ExtractError> {
        let index = SourceLanguage::ALL
            .iter()
            .position(|l| *l == language)
            .unwrap_or(0);
        GRAMMARS[index]
            .get_or_init(|| {
                let grammar = language.grammar();
                let query = Query::new(&grammar, &query_source(language))
                    .map_err(|e| format!("the {language} query does not compile: {e}"))?;
                Ok(Grammar {
                    language: grammar,
                    query,
                })
            })
            .as_ref()
            .map_err(|message| ExtractError::Grammar(message.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_compiles_against_its_grammar() {
        for language in SourceLanguage::ALL {
            let grammar = Grammar::of(language).unwrap_or_else(|e| panic!("{language}: {e}"));
            assert!(grammar.query.pattern_count() > 0);
        }
    }
}
