//! Fingerprints: the same function with every identifier renamed, its literals changed and
//! its formatting redone has the same fingerprint; one extra branch changes it.

use engram::extract::{Pattern, SourceLanguage, extract};

/// (language, original, renamed and reformatted, with an extra branch)
const CASES: &[(SourceLanguage, &str, &str, &str)] = &[
    (
        SourceLanguage::Python,
        "def total(items, rate):\n    result = 0\n    for item in items:\n        if item.price > 10:\n            result += item.price * rate\n    return result\n",
        "def   sum_up( xs ,factor, ):\n    # a comment\n    acc=0.5\n    for x in xs :\n        if (x.cost>99): acc += x.cost*factor\n    return acc\n",
        "def total(items, rate):\n    result = 0\n    for item in items:\n        if item.price > 10:\n            result += item.price * rate\n        elif item.price < 0:\n            result -= 1\n    return result\n",
    ),
    (
        SourceLanguage::Rust,
        "fn total(items: &[Item], rate: f64) -> f64 {\n    let mut result = 0.0;\n    for item in items {\n        if item.price > 10.0 {\n            result += item.price * rate;\n        }\n    }\n    result\n}\n",
        "fn sum_up(xs:&[Thing],factor:f64)->f64{let mut acc=0.5;/* c */for x in xs{if x.cost>2.0{acc+=x.cost*factor;}}acc}",
        "fn total(items: &[Item], rate: f64) -> f64 {\n    let mut result = 0.0;\n    for item in items {\n        if item.price > 10.0 {\n            result += item.price * rate;\n        } else if item.price < 0.0 {\n            result -= 1.0;\n        }\n    }\n    result\n}\n",
    ),
    (
        SourceLanguage::Javascript,
        "function total(items, rate) {\n  let result = 0;\n  for (const item of items) {\n    if (item.price > 10) {\n      result += item.price * rate;\n    }\n  }\n  return result;\n}\n",
        "function sumUp (xs, factor,) { let acc = 0.5\n  // c\n  for (const x of xs) { if ((x.cost > 99)) { acc += x.cost * factor } }\n  return acc }\n",
        "function total(items, rate) {\n  let result = 0;\n  for (const item of items) {\n    if (item.price > 10) {\n      result += item.price * rate;\n    }\n    if (item.price < 0) {\n      result -= 1;\n    }\n  }\n  return result;\n}\n",
    ),
    (
        SourceLanguage::Typescript,
        "function total(items: Item[], rate: number): number {\n  let result = 0;\n  for (const item of items) {\n    if (item.price > 10) {\n      result += item.price * rate;\n    }\n  }\n  return result;\n}\n",
        "function sumUp(xs: Thing[], factor: number): number { let acc = 0.5\n  for (const x of xs) { if (x.cost > 99) { acc += x.cost * factor } }\n  return acc\n}\n",
        "function total(items: Item[], rate: number): number {\n  let result = 0;\n  for (const item of items) {\n    if (item.price > 10 && rate > 0) {\n      result += item.price * rate;\n    }\n  }\n  return result;\n}\n",
    ),
    (
        SourceLanguage::Go,
        "func total(items []Item, rate float64) float64 {\n\tresult := 0.0\n\tfor _, item := range items {\n\t\tif item.Price > 10 {\n\t\t\tresult += item.Price * rate\n\t\t}\n\t}\n\treturn result\n}\n",
        "func sumUp(xs []Thing, factor float64) float64 { acc := 0.5; for _, x := range xs { if x.Cost > 2 { acc += x.Cost * factor } }; return acc }\n",
        "func total(items []Item, rate float64) float64 {\n\tresult := 0.0\n\tfor _, item := range items {\n\t\tif item.Price > 10 {\n\t\t\tresult += item.Price * rate\n\t\t} else if item.Price < 0 {\n\t\t\tresult--\n\t\t}\n\t}\n\treturn result\n}\n",
    ),
];

fn only_function(source: &str, language: SourceLanguage) -> Pattern {
    let extraction = extract(source, language).expect("extracts");
    assert_eq!(extraction.error_count, 0, "{language}: {source}");
    let mut functions: Vec<Pattern> = extraction
        .patterns
        .into_iter()
        .filter(|p| p.kind.is_callable())
        .collect();
    assert_eq!(functions.len(), 1, "{language}: {functions:?}");
    functions.remove(0)
}

#[test]
fn renaming_and_reformatting_keep_the_fingerprint_an_extra_branch_changes_it() {
    for (language, original, renamed, branched) in CASES {
        let original = only_function(original, *language);
        let renamed = only_function(renamed, *language);
        let branched = only_function(branched, *language);
        assert_ne!(original.name, renamed.name);
        assert_eq!(
            original.fingerprint, renamed.fingerprint,
            "{language}: renaming and reformatting changed the fingerprint"
        );
        assert_eq!(original.complexity, renamed.complexity, "{language}");
        assert_ne!(
            original.fingerprint, branched.fingerprint,
            "{language}: an extra branch kept the fingerprint"
        );
        assert_eq!(
            branched.complexity,
            original.complexity + 1,
            "{language}: one more decision"
        );
    }
}

#[test]
fn the_same_structure_in_two_languages_has_two_fingerprints() {
    let (_, python, ..) = CASES[0];
    let (_, javascript, ..) = CASES[2];
    let python = only_function(python, SourceLanguage::Python);
    let javascript = only_function(javascript, SourceLanguage::Javascript);
    assert_ne!(python.fingerprint, javascript.fingerprint);
    assert_eq!(python.fingerprint.len(), 16);
}
