//! Python parity: for every function of the CoSQA corpus (6,267 snippets), the functions,
//! methods and classes the extractor finds, with their names and start lines, equal what
//! Python's own `ast` module finds (`tests/support/python_ast_defs.py`).
//!
//! Excluded: snippets that Python 3's `ast` cannot parse (Python 2 code: `print x`,
//! `except E, e`) have no reference; the test lists them and requires there be few.

use std::path::Path;
use std::process::Command;

use engram::extract::{PatternKind, SourceLanguage, extract};
use serde::Deserialize;

use crate::common::shared_dir;

#[derive(Debug, Deserialize)]
struct Reference {
    index: usize,
    parsed: bool,
    defs: Vec<(String, String, usize)>,
}

/// Most snippets Python 3 may fail to parse (20 of 6,267 with CPython 3.11).
const MAX_UNPARSABLE: usize = 40;

#[test]
fn functions_methods_and_classes_match_python_ast_on_cosqa() {
    let corpus_path = shared_dir().join("data/cosqa/code_idx_map.txt");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/python_ast_defs.py");
    let python = std::env::var("ENGRAM_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let output = Command::new(&python)
        .arg(&script)
        .arg(&corpus_path)
        .output()
        .unwrap_or_else(|e| panic!("{python} could not run the ast reference: {e}"));
    assert!(
        output.status.success(),
        "the ast reference failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let references: Vec<Reference> = String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("reference line"))
        .collect();

    let corpus: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&corpus_path).expect("corpus"))
            .expect("corpus json");
    let mut snippets = vec![String::new(); corpus.len()];
    for (code, index) in corpus {
        let index = usize::try_from(index.as_u64().expect("index")).expect("index");
        snippets[index] = code;
    }
    assert_eq!(references.len(), 6267, "CoSQA holds 6,267 snippets");

    let mut compared = 0;
    let mut definitions = 0;
    let mut unparsable = Vec::new();
    let mut mismatches = Vec::new();
    for reference in &references {
        if !reference.parsed {
            unparsable.push(reference.index);
            continue;
        }
        let extraction =
            extract(&snippets[reference.index], SourceLanguage::Python).expect("extracts");
        let mut ours: Vec<(String, String, usize)> = extraction
            .patterns
            .iter()
            .filter(|p| {
                matches!(
                    p.kind,
                    PatternKind::Function | PatternKind::Method | PatternKind::Class
                )
            })
            .map(|p| (p.kind.name().to_owned(), p.name.clone(), p.span.start_line))
            .collect();
        ours.sort_by(|a, b| (a.2, &a.0, &a.1).cmp(&(b.2, &b.0, &b.1)));
        compared += 1;
        definitions += reference.defs.len();
        if ours != reference.defs {
            mismatches.push(format!(
                "snippet {}: ast {:?}, extractor {:?}",
                reference.index, reference.defs, ours
            ));
        }
    }
    eprintln!(
        "python parity: {compared} snippets, {definitions} definitions compared; \
         {} excluded (Python 3's ast cannot parse them): {unparsable:?}",
        unparsable.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {compared} snippets differ from ast:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        definitions >= 6300,
        "too few definitions compared: {definitions}"
    );
    assert!(
        unparsable.len() <= MAX_UNPARSABLE,
        "{} snippets excluded",
        unparsable.len()
    );
}
