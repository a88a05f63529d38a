//! The source languages the extractor parses, told from a file's extension or named
//! explicitly. A closed list: an unsupported language is an error that names the supported
//! ones, never a silent empty extraction.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::memory::Language;

/// A language the extractor has a grammar for.
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
pub enum SourceLanguage {
    /// Python 3 (and what of Python 2 tree-sitter accepts).
    Python,
    /// Rust.
    Rust,
    /// JavaScript, JSX included.
    Javascript,
    /// TypeScript.
    Typescript,
    /// TypeScript with JSX (a grammar of its own: `<T>x` casts are not allowed in it).
    Tsx,
    /// Go.
    Go,
}

/// Every language with the names and extensions it answers to (the first name is canonical).
const LANGUAGES: &[(SourceLanguage, &[&str], &[&str])] = &[
    (
        SourceLanguage::Python,
        &["python", "py", "python3"],
        &["py", "pyi", "pyw"],
    ),
    (SourceLanguage::Rust, &["rust", "rs"], &["rs"]),
    (
        SourceLanguage::Javascript,
        &["javascript", "js", "jsx", "node"],
        &["js", "mjs", "cjs", "jsx"],
    ),
    (
        SourceLanguage::Typescript,
        &["typescript", "ts"],
        &["ts", "mts", "cts"],
    ),
    (SourceLanguage::Tsx, &["tsx"], &["tsx"]),
    (SourceLanguage::Go, &["go", "golang"], &["go"]),
];

impl SourceLanguage {
    /// Every supported language.
    pub const ALL: [SourceLanguage; 6] = [
        Self::Python,
        Self::Rust,
        Self::Javascript,
        Self::Typescript,
        Self::Tsx,
        Self::Go,
    ];

    /// The canonical name.
    pub fn name(self) -> &'static str {
        LANGUAGES
            .iter()
            .find(|(l, _, _)| *l == self)
            .map(|(_, names, _)| names[0])
            .unwrap_or("python")
    }

    /// The memory language entries extracted from this source are tagged with.
    pub fn memory_language(self) -> Language {
        match self {
            Self::Python => Language::Python,
            Self::Rust => Language::Rust,
            Self::Javascript => Language::Javascript,
            Self::Typescript | Self::Tsx => Language::Typescript,
            Self::Go => Language::Go,
        }
    }

    /// Its tree-sitter grammar.
    pub fn grammar(self) -> tree_sitter::Language {
        match self {
            Self::Python => tree_sitter_python::LANGUAGE.into(),
            Self::Rust => tree_sitter_rust::LANGUAGE.into(),
            Self::Javascript => tree_sitter_javascript::LANGUAGE.into(),
            Self::Typescript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Self::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Self::Go => tree_sitter_go::LANGUAGE.into(),
        }
    }

    /// The language of `path`, from its extension.
    pub fn from_path(path: &Path) -> Result<Self, UnsupportedLanguage> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        extension
            .as_deref()
            .and_then(|ext| {
                LANGUAGES
                    .iter()
                    .find(|(_, _, extensions)| extensions.contains(&ext))
                    .map(|(language, _, _)| *language)
            })
            .ok_or_else(|| UnsupportedLanguage {
                asked: match extension {
                    Some(ext) => format!("the extension .{ext} of {}", path.display()),
                    None => format!("{} (it has no extension)", path.display()),
                },
            })
    }

    /// The source language a memory language is parsed as, when there is a grammar for it
    /// (memory's TypeScript is parsed as plain TypeScript, not TSX).
    pub fn from_memory_language(language: Language) -> Result<Self, UnsupportedLanguage> {
        match language {
            Language::Python => Ok(Self::Python),
            Language::Rust => Ok(Self::Rust),
            Language::Javascript => Ok(Self::Javascript),
            Language::Typescript => Ok(Self::Typescript),
            Language::Go => Ok(Self::Go),
            other => Err(UnsupportedLanguage {
                asked: format!("{other:?}"),
            }),
        }
    }

    /// Every name the HTTP API accepts: canonical names and aliases, lower case.
    pub fn accepted_names() -> Vec<&'static str> {
        LANGUAGES
            .iter()
            .flat_map(|(_, names, _)| names.iter().copied())
            .collect()
    }

    /// The language called exactly `name` (one of [`SourceLanguage::accepted_names`]): the
    /// HTTP API's parse, stated as an enum in its OpenAPI document.
    pub fn from_exact_name(name: &str) -> Result<Self, UnsupportedLanguage> {
        LANGUAGES
            .iter()
            .find(|(_, names, _)| names.contains(&name))
            .map(|(language, _, _)| *language)
            .ok_or_else(|| UnsupportedLanguage {
                asked: format!("{name:?}"),
            })
    }

    /// The language of a file name's extension (case-insensitive), as the HTTP API reads
    /// it: the extension is what follows the last `.` of the name's last `/`-separated
    /// part, and that part must have something before the dot.
    /// [`SourceLanguage::file_name_pattern`] says the same.
    pub fn from_file_name(file_name: &str) -> Result<Self, UnsupportedLanguage> {
        let name = file_name.rsplit('/').next().unwrap_or(file_name);
        let extension = match name.rfind('.') {
            Some(dot) if dot > 0 => Some(name[dot + 1..].to_ascii_lowercase()),
            _ => None,
        };
        extension
            .as_deref()
            .and_then(|ext| {
                LANGUAGES
                    .iter()
                    .find(|(_, _, extensions)| extensions.contains(&ext))
                    .map(|(language, _, _)| *language)
            })
            .ok_or_else(|| UnsupportedLanguage {
                asked: match extension {
                    Some(ext) => format!("the extension .{ext} of {file_name}"),
                    None => format!("{file_name} (it has no extension)"),
                },
            })
    }

    /// A JSON Schema pattern for the file names [`SourceLanguage::from_file_name`] accepts.
    pub fn file_name_pattern() -> String {
        let alternatives: Vec<String> = LANGUAGES
            .iter()
            .flat_map(|(_, _, extensions)| extensions.iter())
            .map(|ext| {
                ext.chars()
                    .map(|c| {
                        if c.is_ascii_alphabetic() {
                            format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                        } else {
                            c.to_string()
                        }
                    })
                    .collect()
            })
            .collect();
        format!("[^/]\\.(?:{})$", alternatives.join("|"))
    }

    /// Canonical names of every supported language.
    pub fn supported() -> String {
        Self::ALL.map(Self::name).join(", ")
    }
}

impl fmt::Display for SourceLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A language the extractor has no grammar for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no grammar for {asked}; supported languages: {} (name one with --language)",
    SourceLanguage::supported()
)]
pub struct UnsupportedLanguage {
    /// What was asked for: a name, or a file's extension.
    pub asked: String,
}

impl FromStr for SourceLanguage {
    type Err = UnsupportedLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        LANGUAGES
            .iter()
            .find(|(_, names, _)| names.contains(&wanted.as_str()))
            .map(|(language, _, _)| *language)
            .ok_or_else(|| UnsupportedLanguage {
                asked: format!("{s:?}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_and_names_map_to_languages() {
        let cases = [
            ("a/b.py", SourceLanguage::Python),
            ("x.RS", SourceLanguage::Rust),
            ("app.jsx", SourceLanguage::Javascript),
            ("m.mjs", SourceLanguage::Javascript),
            ("index.ts", SourceLanguage::Typescript),
            ("view.tsx", SourceLanguage::Tsx),
            ("main.go", SourceLanguage::Go),
        ];
        for (path, language) in cases {
            assert_eq!(SourceLanguage::from_path(Path::new(path)), Ok(language));
        }
        for language in SourceLanguage::ALL {
            assert_eq!(language.name().parse(), Ok(language));
        }
        assert_eq!("golang".parse(), Ok(SourceLanguage::Go));
    }

    #[test]
    fn unsupported_languages_name_the_supported_ones() {
        let error = SourceLanguage::from_path(Path::new("lib.java")).expect_err("java");
        let message = error.to_string();
        assert!(message.contains(".java"), "{message}");
        assert!(
            message.contains("python, rust, javascript, typescript, tsx, go"),
            "{message}"
        );
        let error = SourceLanguage::from_path(Path::new("Makefile")).expect_err("none");
        assert!(error.to_string().contains("no extension"), "{error}");
        assert!("cobol".parse::<SourceLanguage>().is_err());
        assert!(SourceLanguage::from_memory_language(Language::Sql).is_err());
    }
}
