//! Turns the query's captures into patterns: what each construct is called, what it belongs
//! to, its signature, parameters, decorators, doc comment and method count.

use std::collections::{HashMap, HashSet};

use tree_sitter::{Node, QueryCursor, StreamingIterator, Tree};

use super::grammar::Grammar;
use super::language::SourceLanguage;
use super::pattern::{ComplexityClass, Handling, Pattern, PatternKind, Span};
use super::structure::{self, Shape};
use super::surroundings::{self, Surroundings};
use super::syntax::Syntax;

/// What a query capture says a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Capture {
    Function,
    Type,
    ErrorHandling,
    Propagation,
    Async,
}

impl Capture {
    fn of(name: &str) -> Option<Self> {
        match name {
            "function" => Some(Self::Function),
            "type" => Some(Self::Type),
            "error_handling" => Some(Self::ErrorHandling),
            "propagation" => Some(Self::Propagation),
            "async" => Some(Self::Async),
            _ => None,
        }
    }
}

/// The patterns of one parsed source, in source order.
pub(super) fn patterns(
    language: SourceLanguage,
    grammar: &Grammar,
    tree: &Tree,
    source: &str,
) -> Vec<Pattern> {
    let captured = captures(grammar, tree, source);
    let syntax = Syntax::of(language);
    let nodes: HashSet<usize> = captured.iter().map(|(_, node)| node.id()).collect();
    let mut reader = Reader {
        language,
        source,
        shapes: HashMap::new(),
        around: surroundings::survey(syntax, tree.root_node(), &nodes),
        nothing: Surroundings::default(),
    };
    // `?` is counted per enclosing function: (function node, count), in first-seen order.
    let mut propagation: Vec<(Node<'_>, usize)> = Vec::new();
    let mut positions: HashMap<usize, usize> = HashMap::new();
    let mut wanted = HashSet::new();
    for (capture, node) in &captured {
        if *capture != Capture::Propagation {
            wanted.insert(node.id());
        } else if let Some(function) = reader.enclosing_function(*node) {
            match positions.get(&function.id()) {
                Some(at) => propagation[*at].1 += 1,
                None => {
                    positions.insert(function.id(), propagation.len());
                    propagation.push((function, 1));
                    wanted.insert(function.id());
                }
            }
        }
    }
    reader.shapes = structure::measure_all(language, tree.root_node(), &wanted);
    let methods_by_type = reader.methods_by_type(&captured);
    let mut patterns = Vec::new();
    for (capture, node) in &captured {
        match capture {
            Capture::Function => patterns.push(reader.callable(*node)),
            Capture::Type => patterns.push(reader.type_like(*node, &methods_by_type)),
            Capture::ErrorHandling | Capture::Async => {
                patterns.push(reader.construct(*capture, *node));
            }
            Capture::Propagation => {}
        }
    }
    for (function, count) in propagation {
        let owner = reader.callable_name(function);
        let mut pattern = reader.base(
            PatternKind::ErrorHandling,
            format!("? propagation in {owner}"),
            function,
            Anchor {
                node: function,
                level: 0,
            },
        );
        pattern.owner = Some(owner);
        pattern.handling = Some(Handling::QuestionMark);
        pattern.occurrences = Some(count);
        patterns.push(pattern);
    }
    patterns.sort_by(|a, b| {
        (a.span.start_byte, a.kind, &a.name).cmp(&(b.span.start_byte, b.kind, &b.name))
    });
    patterns
}

/// Every captured node once, in the order the query found them.
fn captures<'t>(grammar: &Grammar, tree: &'t Tree, source: &str) -> Vec<(Capture, Node<'t>)> {
    let names = grammar.query.capture_names();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(&grammar.query, tree.root_node(), source.as_bytes());
    let mut seen = HashSet::new();
    let mut captured = Vec::new();
    while let Some(found) = matches.next() {
        for capture in found.captures() {
            let Some(kind) = names
                .get(capture.index as usize)
                .and_then(|n| Capture::of(n))
            else {
                continue;
            };
            if seen.insert((kind, capture.node.id())) {
                captured.push((kind, capture.node));
            }
        }
    }
    captured
}

/// The statement holding a definition, and how many levels above the definition it is.
#[derive(Debug, Clone, Copy)]
struct Anchor<'t> {
    node: Node<'t>,
    level: usize,
}

/// Reads names, signatures and docs out of one source.
struct Reader<'s, 't> {
    language: SourceLanguage,
    source: &'s str,
    /// Complexity and fingerprint of every pattern node, by node id.
    shapes: HashMap<usize, Shape>,
    /// Ancestors, trivia and enclosing function of pattern nodes and functions, by node id.
    around: HashMap<usize, Surroundings<'t>>,
    /// What a node missing from `around` has around it.
    nothing: Surroundings<'t>,
}

impl<'s, 't> Reader<'s, 't> {
    fn text(&self, node: Node<'_>) -> &'s str {
        self.source.get(node.byte_range()).unwrap_or("")
    }

    fn field_text(&self, node: Node<'_>, field: &str) -> Option<String> {
        node.child_by_field_name(field)
            .map(|n| collapse(self.text(n)))
    }

    fn syntax(&self) -> &'static Syntax {
        Syntax::of(self.language)
    }

    fn around(&self, node: Node<'t>) -> &Surroundings<'t> {
        self.around.get(&node.id()).unwrap_or(&self.nothing)
    }

    /// A pattern with the fields every kind has.
    fn base(&self, kind: PatternKind, name: String, node: Node<'t>, anchor: Anchor<'t>) -> Pattern {
        let shape = self.shapes.get(&node.id()).cloned().unwrap_or_else(|| {
            structure::measure_all(self.language, node, &HashSet::from([node.id()]))
                .remove(&node.id())
                .unwrap_or(Shape {
                    complexity: 1,
                    fingerprint: String::new(),
                })
        });
        let code_start = self.decorations(node, anchor).first().map_or_else(
            || anchor.node.start_byte(),
            |first| first.start_byte().min(anchor.node.start_byte()),
        );
        let code_end = anchor.node.end_byte().max(node.end_byte());
        // A span starts at the definition itself, after any decorators it holds (TypeScript
        // methods and classes hold theirs), as Python's `ast` counts lines.
        let mut cursor = node.walk();
        let start = node
            .children(&mut cursor)
            .find(|c| c.kind() != "decorator" && !self.syntax().is_comment(*c))
            .filter(|_| node.child(0).is_some_and(|c| c.kind() == "decorator"))
            .unwrap_or(node);
        Pattern {
            kind,
            name,
            owner: None,
            signature: None,
            parameters: Vec::new(),
            decorators: Vec::new(),
            is_async: false,
            doc: None,
            method_count: None,
            handling: None,
            occurrences: None,
            span: Span {
                start_byte: start.start_byte(),
                end_byte: node.end_byte(),
                start_line: start.start_position().row + 1,
                start_column: start.start_position().column + 1,
                end_line: node.end_position().row + 1,
            },
            complexity: shape.complexity,
            complexity_class: ComplexityClass::of(shape.complexity),
            fingerprint: shape.fingerprint,
            has_errors: node.has_error(),
            code: code_start..code_end,
        }
    }

    /// A function or method.
    fn callable(&self, node: Node<'t>) -> Pattern {
        let owner = self.method_owner(node);
        let kind = if owner.is_some() {
            PatternKind::Method
        } else {
            PatternKind::Function
        };
        let anchor = self.anchor(node);
        let mut pattern = self.base(kind, self.callable_name(node), node, anchor);
        pattern.owner = owner.flatten();
        pattern.signature = Some(self.signature(node));
        pattern.parameters = self.parameters(node);
        pattern.decorators = self.decorator_texts(node, anchor);
        pattern.is_async = is_async(node);
        pattern.doc = self.doc(node, anchor);
        pattern
    }

    /// A class, struct, enum, trait, interface or impl block.
    fn type_like(&self, node: Node<'t>, methods_by_type: &HashMap<String, usize>) -> Pattern {
        let (kind, name, method_count) = match node.kind() {
            "struct_item" | "enum_item" => {
                let name = self.field_text(node, "name").unwrap_or_default();
                let kind = if node.kind() == "struct_item" {
                    PatternKind::Struct
                } else {
                    PatternKind::Enum
                };
                let methods = methods_by_type.get(&name).copied().unwrap_or(0);
                (kind, name, Some(methods))
            }
            "trait_item" => (
                PatternKind::Trait,
                self.field_text(node, "name").unwrap_or_default(),
                Some(count_children(
                    node.child_by_field_name("body"),
                    &["function_item", "function_signature_item"],
                )),
            ),
            "impl_item" => {
                let target = self.field_text(node, "type").unwrap_or_default();
                let name = match self.field_text(node, "trait") {
                    Some(tr) => format!("impl {tr} for {target}"),
                    None => format!("impl {target}"),
                };
                let methods = count_children(node.child_by_field_name("body"), &["function_item"]);
                (PatternKind::Impl, name, Some(methods))
            }
            "type_spec" => {
                let name = self.field_text(node, "name").unwrap_or_default();
                let ty = node.child_by_field_name("type");
                if ty.is_some_and(|t| t.kind() == "interface_type") {
                    let methods = count_children(ty, &["method_elem", "method_spec"]);
                    (PatternKind::Interface, name, Some(methods))
                } else {
                    let methods = methods_by_type.get(&name).copied().unwrap_or(0);
                    (PatternKind::Struct, name, Some(methods))
                }
            }
            "interface_declaration" => (
                PatternKind::Interface,
                self.field_text(node, "name").unwrap_or_default(),
                Some(count_children(
                    node.child_by_field_name("body"),
                    &["method_signature"],
                )),
            ),
            "enum_declaration" => (
                PatternKind::Enum,
                self.field_text(node, "name").unwrap_or_default(),
                None,
            ),
            // Python, JavaScript and TypeScript classes (declarations and expressions).
            _ => {
                let name = self
                    .field_text(node, "name")
                    .or_else(|| self.name_given_by(self.around(node).ancestor(1)))
                    .unwrap_or_else(|| "<anonymous>".to_owned());
                let body = node.child_by_field_name("body");
                let methods = if self.language == SourceLanguage::Python {
                    python_methods(body)
                } else {
                    count_children(
                        body,
                        &[
                            "method_definition",
                            "abstract_method_signature",
                            "method_signature",
                        ],
                    )
                };
                (PatternKind::Class, name, Some(methods))
            }
        };
        let anchor = self.anchor(node);
        let mut pattern = self.base(kind, name, node, anchor);
        pattern.method_count = method_count;
        pattern.decorators = self.decorator_texts(node, anchor);
        pattern.doc = self.doc(node, anchor);
        pattern
    }

    /// An error-handling or async construct, named after the function it is in.
    fn construct(&self, capture: Capture, node: Node<'t>) -> Pattern {
        let (kind, label, handling) = match (capture, node.kind()) {
            (Capture::ErrorHandling, "try_statement")
                if self.language == SourceLanguage::Python =>
            {
                (
                    PatternKind::ErrorHandling,
                    "try/except",
                    Some(Handling::TryExcept),
                )
            }
            (Capture::ErrorHandling, "try_statement") => (
                PatternKind::ErrorHandling,
                "try/catch",
                Some(Handling::TryCatch),
            ),
            (Capture::ErrorHandling, "match_expression") => (
                PatternKind::ErrorHandling,
                "match on Result",
                Some(Handling::MatchResult),
            ),
            (Capture::ErrorHandling, _) => (
                PatternKind::ErrorHandling,
                "if err != nil",
                Some(Handling::IfErrNotNil),
            ),
            (_, "go_statement") => (PatternKind::Async, "goroutine", None),
            (_, "select_statement") => (PatternKind::Async, "select", None),
            _ => (PatternKind::Async, "async block", None),
        };
        let owner = self.enclosing_function(node).map(|f| self.callable_name(f));
        let place = owner.as_deref().unwrap_or("module scope");
        let mut pattern = self.base(
            kind,
            format!("{label} in {place}"),
            node,
            Anchor { node, level: 0 },
        );
        pattern.owner = owner;
        pattern.handling = handling;
        if handling.is_some() {
            pattern.occurrences = Some(1);
        }
        pattern
    }

    /// The function-like node `node` is inside, if any.
    fn enclosing_function(&self, node: Node<'t>) -> Option<Node<'t>> {
        self.around(node).function()
    }

    /// A function's name: its own, or what it is assigned to.
    fn callable_name(&self, node: Node<'t>) -> String {
        if node.kind() == "closure_expression" {
            return "closure".to_owned();
        }
        self.field_text(node, "name")
            .or_else(|| self.name_given_by(self.around(node).ancestor(1)))
            .unwrap_or_else(|| "<anonymous>".to_owned())
    }

    /// The name a JavaScript / TypeScript expression is given by its parent: the
    /// declaration, assignment, key or class field holding it.
    fn name_given_by(&self, parent: Option<Node<'t>>) -> Option<String> {
        let parent = parent?;
        let field = match parent.kind() {
            "variable_declarator" => "name",
            "assignment_expression" => "left",
            "pair" => "key",
            "field_definition" => "property",
            "public_field_definition" => "name",
            _ => return None,
        };
        self.field_text(parent, field)
    }

    /// `Some(owner)` when the function is a method (the owner's name when it has one).
    fn method_owner(&self, node: Node<'t>) -> Option<Option<String>> {
        let around = self.around(node);
        let up = |level: usize| around.ancestor(level);
        let parent = up(1)?;
        match self.language {
            SourceLanguage::Python => {
                let holder = if parent.kind() == "decorated_definition" {
                    2
                } else {
                    1
                };
                let block = up(holder)?;
                let class = up(holder + 1)?;
                (block.kind() == "block" && class.kind() == "class_definition")
                    .then(|| self.field_text(class, "name"))
            }
            SourceLanguage::Rust => {
                if parent.kind() != "declaration_list" {
                    return None;
                }
                let container = up(2)?;
                match container.kind() {
                    "impl_item" => Some(
                        self.field_text(container, "type")
                            .map(|t| base_type_name(&t)),
                    ),
                    "trait_item" => Some(self.field_text(container, "name")),
                    _ => None,
                }
            }
            SourceLanguage::Go => (node.kind() == "method_declaration").then(|| {
                node.child_by_field_name("receiver")
                    .map(|receiver| receiver_type(self.text(receiver)))
            }),
            SourceLanguage::Javascript | SourceLanguage::Typescript | SourceLanguage::Tsx => {
                let holder = match (node.kind(), parent.kind()) {
                    ("method_definition", _) => 1,
                    (_, "field_definition" | "public_field_definition" | "pair") => 2,
                    _ => return None,
                };
                Some(match up(holder)?.kind() {
                    "class_body" => up(holder + 1).and_then(|class| {
                        self.field_text(class, "name")
                            .or_else(|| self.name_given_by(up(holder + 2)))
                    }),
                    _ => self.name_given_by(up(holder + 1)),
                })
            }
        }
    }

    /// The declaration up to the body, whitespace collapsed.
    fn signature(&self, node: Node<'_>) -> String {
        let head = match node.child_by_field_name("body") {
            Some(body) => self
                .source
                .get(node.start_byte()..body.start_byte())
                .unwrap_or(""),
            None => self.text(node),
        };
        collapse(head)
            .trim_end_matches([':', '{', ';'])
            .trim_end()
            .to_owned()
    }

    /// Each parameter as written: Go receivers first, Python's bare `*` and `/` markers left
    /// out.
    fn parameters(&self, node: Node<'_>) -> Vec<String> {
        let mut lists = Vec::new();
        if let Some(receiver) = node.child_by_field_name("receiver") {
            lists.push(receiver);
        }
        match node.child_by_field_name("parameters") {
            Some(list) => lists.push(list),
            // A JavaScript arrow function with one bare parameter.
            None => {
                if let Some(single) = node.child_by_field_name("parameter") {
                    return vec![collapse(self.text(single))];
                }
            }
        }
        let syntax = self.syntax();
        let mut parameters = Vec::new();
        for list in lists {
            let mut cursor = list.walk();
            for child in list.named_children(&mut cursor) {
                if syntax.is_comment(child)
                    || matches!(child.kind(), "keyword_separator" | "positional_separator")
                {
                    continue;
                }
                parameters.push(collapse(self.text(child)));
            }
        }
        parameters
    }

    /// The statement that holds a definition: the decorated definition, the `const`
    /// declaration of an arrow function, the `export` around it.
    fn anchor(&self, node: Node<'t>) -> Anchor<'t> {
        let around = self.around(node);
        let mut anchor = Anchor { node, level: 0 };
        if let Some(parent) = around.ancestor(1) {
            let one_up = Anchor {
                node: parent,
                level: 1,
            };
            match parent.kind() {
                "decorated_definition"
                | "field_definition"
                | "public_field_definition"
                | "pair" => anchor = one_up,
                "type_declaration" if parent.named_child_count() == 1 => anchor = one_up,
                "variable_declarator" | "assignment_expression" => {
                    if let Some(holder) = around.ancestor(2)
                        && match parent.kind() {
                            "variable_declarator" => holder.named_child_count() == 1,
                            _ => holder.kind() == "expression_statement",
                        }
                    {
                        anchor = Anchor {
                            node: holder,
                            level: 2,
                        };
                    }
                }
                _ => {}
            }
        }
        if let Some(export) = around.ancestor(anchor.level + 1)
            && export.kind() == "export_statement"
        {
            anchor = Anchor {
                node: export,
                level: anchor.level + 1,
            };
        }
        anchor
    }

    /// Decorators and attributes of a definition: Python's on its decorated definition,
    /// Rust's attribute items before it, JavaScript's and TypeScript's on it and before it.
    fn decorations(&self, node: Node<'t>, anchor: Anchor<'t>) -> Vec<Node<'t>> {
        let mut found = Vec::new();
        for holder in [anchor.node, node] {
            let mut cursor = holder.walk();
            found.extend(
                holder
                    .children(&mut cursor)
                    .filter(|c| c.kind() == "decorator"),
            );
        }
        found.extend(
            self.around(node)
                .trivia_before(anchor.level)
                .iter()
                .filter(|n| matches!(n.kind(), "attribute_item" | "decorator")),
        );
        found.sort_by_key(|n| n.start_byte());
        found.dedup_by_key(|n| n.id());
        found
    }

    fn decorator_texts(&self, node: Node<'t>, anchor: Anchor<'t>) -> Vec<String> {
        self.decorations(node, anchor)
            .into_iter()
            .map(|d| collapse(self.text(d)))
            .collect()
    }

    /// The docstring (Python) or the doc comment right above the definition.
    fn doc(&self, node: Node<'t>, anchor: Anchor<'t>) -> Option<String> {
        if self.language == SourceLanguage::Python {
            return self.docstring(node);
        }
        let syntax = self.syntax();
        let mut lines_above = Vec::new();
        let mut next_start = anchor.node.start_position().row;
        for sibling in self.around(node).trivia_before(anchor.level).iter().rev() {
            if !syntax.is_comment(*sibling) {
                next_start = sibling.start_position().row;
                continue;
            }
            if last_row(*sibling) + 1 < next_start {
                break;
            }
            let text = self.text(*sibling);
            let is_doc = match self.language {
                SourceLanguage::Rust => {
                    (text.starts_with("///") && !text.starts_with("////"))
                        || (text.starts_with("/**") && !text.starts_with("/***"))
                }
                _ => true,
            };
            if !is_doc {
                break;
            }
            lines_above.push(text);
            next_start = sibling.start_position().row;
        }
        lines_above.reverse();
        let doc = lines_above
            .iter()
            .flat_map(|comment| strip_comment(comment))
            .collect::<Vec<_>>()
            .join("\n");
        let doc = doc.trim();
        (!doc.is_empty()).then(|| doc.to_owned())
    }

    /// Python: the string that is the body's first statement, cleaned like
    /// `inspect.cleandoc`.
    fn docstring(&self, node: Node<'_>) -> Option<String> {
        let body = node.child_by_field_name("body")?;
        let mut cursor = body.walk();
        let first = body
            .named_children(&mut cursor)
            .find(|c| c.kind() != "comment")?;
        if first.kind() != "expression_statement" || first.named_child_count() != 1 {
            return None;
        }
        let string = first.named_child(0)?;
        if string.kind() != "string" {
            return None;
        }
        let start = string.child(0)?.end_byte();
        let end = string
            .child(string.child_count().checked_sub(1)?)?
            .start_byte();
        let raw = self.source.get(start..end)?;
        let doc = cleandoc(raw);
        (!doc.is_empty()).then_some(doc)
    }

    /// Methods per type name: Rust impl blocks and Go receivers of the same file.
    fn methods_by_type(&self, captured: &[(Capture, Node<'_>)]) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for (_, node) in captured {
            match node.kind() {
                "impl_item" => {
                    if let Some(target) = self.field_text(*node, "type") {
                        let methods =
                            count_children(node.child_by_field_name("body"), &["function_item"]);
                        *counts.entry(base_type_name(&target)).or_insert(0) += methods;
                    }
                }
                "method_declaration" => {
                    if let Some(receiver) = node.child_by_field_name("receiver") {
                        *counts
                            .entry(receiver_type(self.text(receiver)))
                            .or_insert(0) += 1;
                    }
                }
                _ => {}
            }
        }
        counts
    }
}

/// The last line a node has text on (a line comment's node may end at the start of the
/// next line, after its newline).
fn last_row(node: Node<'_>) -> usize {
    let end = node.end_position();
    if end.column == 0 && end.row > node.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

/// Whether a function is declared `async`.
fn is_async(node: Node<'_>) -> bool {
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.kind() == "async" {
            return true;
        }
        if child.kind() == "function_modifiers" {
            let mut inner = child.walk();
            if child.children(&mut inner).any(|m| m.kind() == "async") {
                return true;
            }
        }
    }
    false
}

/// How many children of `node` are of one of `kinds`.
fn count_children(node: Option<Node<'_>>, kinds: &[&str]) -> usize {
    node.map_or(0, |node| {
        let mut cursor = node.walk();
        node.named_children(&mut cursor)
            .filter(|c| kinds.contains(&c.kind()))
            .count()
    })
}

/// The functions directly in a Python class body, decorated ones included.
fn python_methods(body: Option<Node<'_>>) -> usize {
    body.map_or(0, |body| {
        let mut cursor = body.walk();
        body.named_children(&mut cursor)
            .filter(|child| match child.kind() {
                "function_definition" => true,
                "decorated_definition" => child
                    .child_by_field_name("definition")
                    .is_some_and(|d| d.kind() == "function_definition"),
                _ => false,
            })
            .count()
    })
}

/// `fmt::Display`, `&'a Point<T>` → `Point`-style base names of Rust types.
fn base_type_name(ty: &str) -> String {
    let ty = ty.trim_start_matches('&').trim_start();
    let ty = ty.strip_prefix("mut ").unwrap_or(ty);
    let ty = if ty.starts_with('\'') {
        ty.split_once(' ').map_or(ty, |(_, rest)| rest)
    } else {
        ty
    };
    let ty = ty.split('<').next().unwrap_or(ty);
    ty.rsplit("::").next().unwrap_or(ty).trim().to_owned()
}

/// `(s *Server[T])` → `Server`: the type of a Go receiver.
fn receiver_type(receiver: &str) -> String {
    let inner = receiver
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')');
    let ty = inner.split_whitespace().last().unwrap_or(inner);
    let ty = ty.trim_start_matches('*');
    ty.split('[').next().unwrap_or(ty).to_owned()
}

/// Whitespace runs as single spaces.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The lines of a comment without its markers (`///`, `//`, `/**`, `*/`, leading `*`).
fn strip_comment(comment: &str) -> Vec<String> {
    let body = comment.trim();
    if let Some(block) = body.strip_prefix("/*") {
        let block = block.strip_suffix("*/").unwrap_or(block);
        let block = block.strip_prefix('*').unwrap_or(block);
        return block
            .lines()
            .map(|line| {
                let line = line.trim();
                line.strip_prefix('*').unwrap_or(line).trim().to_owned()
            })
            .collect();
    }
    body.lines()
        .map(|line| {
            let line = line.trim_start();
            let line = line.trim_start_matches('/');
            line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned()
        })
        .collect()
}

/// Python's `inspect.cleandoc`: the first line stripped, the common indentation of the
/// others removed, blank lines at both ends dropped.
fn cleandoc(raw: &str) -> String {
    let raw = raw.replace('\t', "        ");
    let mut lines: Vec<&str> = raw.lines().collect();
    let margin = lines
        .iter()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut cleaned: Vec<String> = Vec::with_capacity(lines.len());
    for (index, line) in lines.drain(..).enumerate() {
        let line = if index == 0 {
            line.trim_start()
        } else {
            line.get(margin..).unwrap_or_else(|| line.trim_start())
        };
        cleaned.push(line.trim_end().to_owned());
    }
    while cleaned.first().is_some_and(|l| l.is_empty()) {
        cleaned.remove(0);
    }
    while cleaned.last().is_some_and(|l| l.is_empty()) {
        cleaned.pop();
    }
    cleaned.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_references_generics_and_paths() {
        assert_eq!(base_type_name("Point<T>"), "Point");
        assert_eq!(base_type_name("&'a mut geo::Point<T>"), "Point");
        assert_eq!(receiver_type("(s *Server[T])"), "Server");
        assert_eq!(receiver_type("(Config)"), "Config");
    }

    #[test]
    fn docs_lose_their_markers() {
        assert_eq!(strip_comment("/// Adds.\n"), vec!["Adds."]);
        assert_eq!(
            strip_comment("/**\n * Adds two.\n * @param a\n */"),
            vec!["", "Adds two.", "@param a", ""]
        );
        assert_eq!(
            cleandoc("\n    Reads it.\n\n      Indented.\n    "),
            "Reads it.\n\n  Indented."
        );
        assert_eq!(cleandoc("One line."), "One line.");
    }
}
