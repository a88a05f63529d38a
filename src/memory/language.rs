//! Programming languages memory entries are tagged with. A closed list, so that `py` and
//! `python` are one language and a typo is an error instead of a silent new language.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language a memory entry is written in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Python.
    Python,
    /// Rust.
    Rust,
    /// JavaScript.
    Javascript,
    /// TypeScript (and TSX).
    Typescript,
    /// Go.
    Go,
    /// Java.
    Java,
    /// C.
    C,
    /// C++.
    Cpp,
    /// C#.
    Csharp,
    /// Ruby.
    Ruby,
    /// PHP.
    Php,
    /// Kotlin.
    Kotlin,
    /// Swift.
    Swift,
    /// Shell scripts.
    Shell,
    /// SQL.
    Sql,
    /// Language-neutral text (a practice, an episode, a configuration note).
    Text,
}

/// Every language with the names it answers to (the first is canonical).
const NAMES: &[(Language, &[&str])] = &[
    (Language::Python, &["python", "py", "python3"]),
    (Language::Rust, &["rust", "rs"]),
    (Language::Javascript, &["javascript", "js", "node", "jsx"]),
    (Language::Typescript, &["typescript", "ts", "tsx"]),
    (Language::Go, &["go", "golang"]),
    (Language::Java, &["java"]),
    (Language::C, &["c"]),
    (Language::Cpp, &["cpp", "c++", "cxx"]),
    (Language::Csharp, &["csharp", "c#", "cs"]),
    (Language::Ruby, &["ruby", "rb"]),
    (Language::Php, &["php"]),
    (Language::Kotlin, &["kotlin", "kt"]),
    (Language::Swift, &["swift"]),
    (Language::Shell, &["shell", "sh", "bash", "zsh"]),
    (Language::Sql, &["sql"]),
    (Language::Text, &["text", "none", "any", "plain"]),
];

impl Language {
    /// The canonical name, as stored in payloads.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(l, _)| *l == self)
            .map(|(_, names)| names[0])
            .unwrap_or("text")
    }

    /// Canonical names of every language.
    pub fn all_names() -> Vec<&'static str> {
        NAMES.iter().map(|(_, names)| names[0]).collect()
    }

    /// Every name the HTTP API accepts: canonical names and aliases, lower case.
    pub fn accepted_names() -> Vec<&'static str> {
        NAMES
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .collect()
    }

    /// The language called exactly `name` (one of [`Language::accepted_names`]): the HTTP
    /// API's parse, which its OpenAPI document states as an enum. The command line is
    /// more forgiving (case and surrounding spaces; [`FromStr`]).
    pub fn from_exact_name(name: &str) -> Result<Self, UnknownLanguage> {
        NAMES
            .iter()
            .find(|(_, names)| names.contains(&name))
            .map(|(language, _)| *language)
            .ok_or_else(|| UnknownLanguage {
                name: name.to_owned(),
            })
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown language name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language {name:?}; known: {}", Language::all_names().join(", "))]
pub struct UnknownLanguage {
    /// What was asked for.
    pub name: String,
}

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        NAMES
            .iter()
            .find(|(_, names)| names.contains(&wanted.as_str()))
            .map(|(language, _)| *language)
            .ok_or_else(|| UnknownLanguage { name: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_map_to_one_language_and_typos_are_errors() {
        assert_eq!("PY".parse::<Language>(), Ok(Language::Python));
        assert_eq!("golang".parse::<Language>(), Ok(Language::Go));
        assert_eq!("tsx".parse::<Language>(), Ok(Language::Typescript));
        let error = "pyhton".parse::<Language>().expect_err("typo");
        assert!(error.to_string().contains("python, rust"), "{error}");
        for name in Language::all_names() {
            let language: Language = name.parse().expect("canonical name parses");
            assert_eq!(language.name(), name);
            assert_eq!(serde_json::to_value(language).expect("json"), name);
        }
    }
}
