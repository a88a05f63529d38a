//! Golden files: one realistic multi-construct file per language, with expectations checked
//! by hand against the file (line numbers, owners, counts, complexity by counting decision
//! points). Nested functions, methods in classes and impls, decorators, async, generics,
//! arrow functions and Go methods with receivers are all in them.

use engram::extract::{Extraction, Handling, Pattern, PatternKind, SourceLanguage, extract};

use super::fixture;

use PatternKind::{
    Async, Class, Enum, ErrorHandling, Function, Impl, Interface, Method, Struct, Trait,
};

/// (kind, name, owner, start line, cyclomatic complexity)
type Row = (PatternKind, &'static str, Option<&'static str>, usize, u32);

fn extracted(name: &str, language: SourceLanguage) -> (String, Extraction) {
    let source = fixture::read(name);
    let extraction = extract(&source, language).expect("extracts");
    assert_eq!(extraction.error_count, 0, "{name} parses cleanly");
    (source, extraction)
}

fn check(extraction: &Extraction, expected: &[Row]) {
    let got: Vec<(PatternKind, String, Option<String>, usize, u32)> = extraction
        .patterns
        .iter()
        .map(|p| {
            (
                p.kind,
                p.name.clone(),
                p.owner.clone(),
                p.span.start_line,
                p.complexity,
            )
        })
        .collect();
    let want: Vec<(PatternKind, String, Option<String>, usize, u32)> = expected
        .iter()
        .map(|(k, n, o, l, c)| (*k, (*n).to_owned(), o.map(str::to_owned), *l, *c))
        .collect();
    assert_eq!(got, want, "{:#?}", extraction.patterns);
}

fn find<'a>(extraction: &'a Extraction, kind: PatternKind, name: &str) -> &'a Pattern {
    extraction
        .patterns
        .iter()
        .find(|p| p.kind == kind && p.name == name)
        .unwrap_or_else(|| panic!("no {kind:?} {name}"))
}

#[test]
fn python() {
    let (source, e) = extracted("inventory.py", SourceLanguage::Python);
    check(
        &e,
        &[
            (Class, "Item", None, 10, 1),
            (Method, "is_available", Some("Item"), 16, 1),
            (Class, "Inventory", None, 20, 8),
            (Method, "__init__", Some("Inventory"), 26, 1),
            (Method, "from_file", Some("Inventory"), 31, 5),
            (
                ErrorHandling,
                "try/except in from_file",
                Some("from_file"),
                33,
                4,
            ),
            (Method, "reserve", Some("Inventory"), 48, 4),
            (Function, "validate", None, 49, 2),
            (Function, "price_with_tax", None, 60, 1),
        ],
    );
    let item = find(&e, Class, "Item");
    assert_eq!(item.decorators, ["@dataclass(frozen=True)"]);
    assert_eq!(item.doc.as_deref(), Some("A stock keeping unit."));
    assert_eq!(item.method_count, Some(1));
    assert!(
        item.code_in(&source)
            .starts_with("@dataclass(frozen=True)\nclass Item:")
    );
    let inventory = find(&e, Class, "Inventory");
    assert_eq!(inventory.method_count, Some(3));
    assert_eq!(
        inventory.doc.as_deref(),
        Some("Stock levels by SKU.\n\nBacked by a JSON file.")
    );
    let from_file = find(&e, Method, "from_file");
    assert_eq!(from_file.decorators, ["@classmethod"]);
    assert_eq!(from_file.parameters, ["cls", "path", "strict=False"]);
    assert_eq!(
        from_file.signature.as_deref(),
        Some("def from_file(cls, path, *, strict=False)")
    );
    assert!(!from_file.is_async);
    let handler = find(&e, ErrorHandling, "try/except in from_file");
    assert_eq!(handler.handling, Some(Handling::TryExcept));
    let reserve = find(&e, Method, "reserve");
    assert!(reserve.is_async);
    assert_eq!(
        reserve.parameters,
        ["self", "sku", "quantity", "*args", "**kwargs"]
    );
    let available = find(&e, Method, "is_available");
    assert_eq!(available.parameters, ["self", "wanted: int = 1"]);
    assert_eq!(
        available.signature.as_deref(),
        Some("def is_available(self, wanted: int = 1) -> bool")
    );
    let price = find(&e, Function, "price_with_tax");
    assert_eq!(price.decorators, ["@lru_cache(maxsize=None)"]);
    assert_eq!(price.doc, None, "a comment is not a docstring");
}

#[test]
fn rust() {
    let (source, e) = extracted("ledger.rs", SourceLanguage::Rust);
    check(
        &e,
        &[
            (Struct, "Account", None, 8, 1),
            (Enum, "LedgerError", None, 15, 1),
            (Impl, "impl fmt::Display for LedgerError", None, 20, 2),
            (Method, "fmt", Some("LedgerError"), 21, 2),
            (Trait, "Store", None, 32, 1),
            (Method, "get", Some("Store"), 33, 1),
            (Method, "put", Some("Store"), 34, 1),
            (Struct, "Ledger", None, 37, 1),
            (Impl, "impl Ledger<S>", None, 42, 5),
            (Method, "transfer", Some("Ledger"), 44, 4),
            (
                ErrorHandling,
                "? propagation in transfer",
                Some("transfer"),
                44,
                4,
            ),
            (Method, "report", Some("Ledger"), 59, 2),
            (Function, "cents", None, 60, 1),
            (
                ErrorHandling,
                "match on Result in report",
                Some("report"),
                63,
                2,
            ),
            (Function, "sync_all", None, 70, 1),
            (Async, "async block in sync_all", Some("sync_all"), 71, 1),
            (Function, "parse_accounts", None, 75, 3),
            (
                ErrorHandling,
                "? propagation in closure",
                Some("closure"),
                78,
                3,
            ),
        ],
    );
    let account = find(&e, Struct, "Account");
    assert_eq!(account.decorators, ["#[derive(Debug, Clone, PartialEq)]"]);
    assert_eq!(account.doc.as_deref(), Some("An account balance in cents."));
    assert_eq!(account.method_count, Some(0));
    assert!(
        account
            .code_in(&source)
            .starts_with("#[derive(Debug, Clone, PartialEq)]\npub struct")
    );
    assert_eq!(find(&e, Enum, "LedgerError").method_count, Some(1));
    assert_eq!(find(&e, Struct, "Ledger").method_count, Some(2));
    assert_eq!(find(&e, Trait, "Store").method_count, Some(2));
    assert_eq!(find(&e, Impl, "impl Ledger<S>").method_count, Some(2));
    let transfer = find(&e, Method, "transfer");
    assert_eq!(
        transfer.doc.as_deref(),
        Some("Moves `amount` cents from one account to another.")
    );
    assert_eq!(
        transfer.parameters,
        ["&mut self", "from: u64", "to: u64", "amount: i64"]
    );
    assert_eq!(
        transfer.signature.as_deref(),
        Some(
            "pub fn transfer(&mut self, from: u64, to: u64, amount: i64) -> Result<(), LedgerError>"
        )
    );
    let propagation = find(&e, ErrorHandling, "? propagation in transfer");
    assert_eq!(propagation.handling, Some(Handling::QuestionMark));
    assert_eq!(propagation.occurrences, Some(2));
    assert_eq!(
        find(&e, ErrorHandling, "match on Result in report").handling,
        Some(Handling::MatchResult)
    );
    assert_eq!(
        find(&e, Method, "get").signature.as_deref(),
        Some("fn get(&self, id: u64) -> Option<&Account>")
    );
    assert!(find(&e, Function, "sync_all").is_async);
    assert!(!find(&e, Function, "parse_accounts").is_async);
}

#[test]
fn javascript() {
    let (source, e) = extracted("cart.js", SourceLanguage::Javascript);
    check(
        &e,
        &[
            (Function, "subtotal", None, 10, 1),
            (Function, "applyDiscount", None, 14, 3),
            (Class, "Cart", None, 19, 2),
            (Method, "onChange", Some("Cart"), 21, 1),
            (Method, "add", Some("Cart"), 23, 1),
            (Method, "total", Some("Cart"), 28, 1),
            (Method, "checkout", Some("Cart"), 32, 2),
            (
                ErrorHandling,
                "try/catch in checkout",
                Some("checkout"),
                33,
                2,
            ),
            (Method, "[Symbol.iterator]", Some("Cart"), 44, 1),
            (Method, "money", Some("formatters"), 50, 1),
            (Method, "percent", Some("formatters"), 53, 1),
            (Function, "loadCart", None, 56, 2),
        ],
    );
    let subtotal = find(&e, Function, "subtotal");
    assert_eq!(
        subtotal.doc.as_deref(),
        Some("Sums line totals.\n@param {Array} lines")
    );
    assert!(
        subtotal
            .code_in(&source)
            .starts_with("export function subtotal(lines)")
    );
    let discount = find(&e, Function, "applyDiscount");
    assert_eq!(discount.parameters, ["amount", "code"]);
    assert!(
        discount
            .code_in(&source)
            .starts_with("const applyDiscount = (amount, code) =>")
    );
    assert_eq!(find(&e, Class, "Cart").method_count, Some(4));
    assert_eq!(find(&e, Method, "add").parameters, ["item", "qty = 1"]);
    assert!(find(&e, Method, "checkout").is_async);
    assert_eq!(
        find(&e, ErrorHandling, "try/catch in checkout").handling,
        Some(Handling::TryCatch)
    );
    assert_eq!(find(&e, Method, "percent").parameters, ["value"]);
    assert!(find(&e, Function, "loadCart").is_async);
}

/// A function expression that names itself is extracted wherever it stands: called at once,
/// passed as a callback, returned; assigned, it is one pattern under its own name.
#[test]
fn named_function_expressions_are_functions_wherever_they_stand() {
    let source = "(function load() { return 1; })();\n\
                  items.forEach(function visit(item) { if (item) { use(item); } });\n\
                  const handler = function inner() {};\n\
                  function outer() { return function* ids() { yield 1; }; }\n\
                  run(function () {});\n";
    for language in [SourceLanguage::Javascript, SourceLanguage::Typescript] {
        let e = extract(source, language).expect("extracts");
        assert_eq!(e.error_count, 0, "{language:?}");
        check(
            &e,
            &[
                (Function, "load", None, 1, 1),
                (Function, "visit", None, 2, 2),
                (Function, "inner", None, 3, 1),
                (Function, "outer", None, 4, 1),
                (Function, "ids", None, 4, 1),
            ],
        );
    }
}

#[test]
fn typescript() {
    let (source, e) = extracted("repository.ts", SourceLanguage::Typescript);
    check(
        &e,
        &[
            (Interface, "Entity", None, 3, 1),
            (Interface, "Repository", None, 8, 1),
            (Enum, "CacheMode", None, 14, 1),
            (Function, "Logged", None, 19, 1),
            (Class, "BaseRepository", None, 21, 5),
            (Method, "constructor", Some("BaseRepository"), 25, 1),
            (Method, "find", Some("BaseRepository"), 28, 4),
            (Method, "save", Some("BaseRepository"), 39, 2),
            (ErrorHandling, "try/catch in save", Some("save"), 40, 2),
            (Function, "byId", None, 52, 1),
            (Function, "isStale", None, 55, 2),
        ],
    );
    assert_eq!(find(&e, Interface, "Entity").method_count, Some(0));
    assert_eq!(find(&e, Interface, "Repository").method_count, Some(2));
    assert_eq!(find(&e, Class, "BaseRepository").method_count, Some(5));
    let found = find(&e, Method, "find");
    assert_eq!(found.decorators, ["@Logged"]);
    assert!(found.code_in(&source).starts_with("@Logged\n  async find("));
    assert!(found.is_async);
    assert_eq!(found.parameters, ["id: string"]);
    assert_eq!(
        find(&e, Method, "constructor").parameters,
        ["private mode: CacheMode = CacheMode.Memory"]
    );
    assert_eq!(find(&e, Function, "byId").parameters, ["items: T[]"]);
    assert_eq!(
        find(&e, Function, "isStale").parameters,
        ["entity: T", "maxAgeMs = 60_000"]
    );
}

#[test]
fn tsx() {
    let (source, e) = extracted("profile.tsx", SourceLanguage::Tsx);
    check(
        &e,
        &[
            (Interface, "ProfileProps", None, 3, 1),
            (Function, "Profile", None, 9, 3),
            (Function, "load", None, 13, 2),
            (ErrorHandling, "try/catch in load", Some("load"), 14, 2),
            (Function, "Avatar", None, 27, 1),
            (Class, "ErrorBoundary", None, 29, 2),
            (
                Method,
                "getDerivedStateFromError",
                Some("ErrorBoundary"),
                32,
                1,
            ),
            (Method, "render", Some("ErrorBoundary"), 36, 2),
        ],
    );
    let profile = find(&e, Function, "Profile");
    assert_eq!(profile.doc.as_deref(), Some("Shows a user's profile card."));
    assert_eq!(profile.parameters, ["{ userId, onError }: ProfileProps"]);
    assert!(find(&e, Function, "load").is_async);
    assert!(
        find(&e, Function, "Avatar")
            .code_in(&source)
            .starts_with("export const Avatar = ({ url }")
    );
    assert_eq!(find(&e, Class, "ErrorBoundary").method_count, Some(2));
    assert_eq!(find(&e, Interface, "ProfileProps").method_count, Some(0));
}

#[test]
fn go() {
    let (source, e) = extracted("server.go", SourceLanguage::Go);
    check(
        &e,
        &[
            (Struct, "Store", None, 12, 1),
            (Interface, "Getter", None, 18, 1),
            (Struct, "Pair", None, 23, 1),
            (Function, "NewStore", None, 29, 1),
            (Method, "Get", Some("Store"), 34, 1),
            (Method, "Keys", Some("Store"), 41, 2),
            (Method, "ServeHTTP", Some("Store"), 49, 5),
            (
                ErrorHandling,
                "if err != nil in ServeHTTP",
                Some("ServeHTTP"),
                51,
                2,
            ),
            (Function, "Replicate", None, 67, 5),
            (Async, "goroutine in Replicate", Some("Replicate"), 70, 1),
            (Async, "select in Replicate", Some("Replicate"), 76, 3),
            (
                ErrorHandling,
                "if err != nil in Replicate",
                Some("Replicate"),
                78,
                2,
            ),
            (Function, "Map", None, 86, 2),
        ],
    );
    let store = find(&e, Struct, "Store");
    assert_eq!(store.method_count, Some(3));
    assert_eq!(
        store.doc.as_deref(),
        Some("Store is a concurrency-safe map.")
    );
    assert!(store.code_in(&source).starts_with("type Store struct"));
    assert_eq!(find(&e, Interface, "Getter").method_count, Some(2));
    assert_eq!(find(&e, Struct, "Pair").method_count, Some(0));
    let get = find(&e, Method, "Get");
    assert_eq!(get.parameters, ["s *Store", "key string"]);
    assert_eq!(get.doc.as_deref(), Some("Get returns the value of key."));
    assert_eq!(
        get.signature.as_deref(),
        Some("func (s *Store) Get(key string) (string, bool)")
    );
    assert_eq!(
        find(&e, ErrorHandling, "if err != nil in ServeHTTP").handling,
        Some(Handling::IfErrNotNil)
    );
    assert_eq!(
        find(&e, Function, "Map").parameters,
        ["items []T", "f func(T) U"]
    );
}
