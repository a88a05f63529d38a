//! The pattern extractor: golden files per language, parity with Python's `ast`,
//! fingerprints, robustness, learning from consensus winners, and the CLI.

mod cli;
mod fingerprint;
mod golden;
mod learn;
mod python_ast;
mod robustness;

/// The realistic multi-construct files in `tests/fixtures/extract`.
pub mod fixture {
    use std::path::Path;

    use engram::extract::SourceLanguage;

    /// Every golden file with its language.
    pub const ALL: [(SourceLanguage, &str); 6] = [
        (SourceLanguage::Python, "inventory.py"),
        (SourceLanguage::Rust, "ledger.rs"),
        (SourceLanguage::Javascript, "cart.js"),
        (SourceLanguage::Typescript, "repository.ts"),
        (SourceLanguage::Tsx, "profile.tsx"),
        (SourceLanguage::Go, "server.go"),
    ];

    /// The path of a golden file.
    pub fn path(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/extract")
            .join(name)
    }

    /// The text of a golden file.
    pub fn read(name: &str) -> String {
        std::fs::read_to_string(path(name)).expect("golden file")
    }
}
