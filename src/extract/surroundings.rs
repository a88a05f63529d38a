//! What is around a node: its nearest ancestors, the comments, attributes and decorators
//! right before it and before each of those ancestors, and its enclosing function.
//!
//! tree-sitter nodes do not store their parent: `Node::parent` and `Node::prev_sibling`
//! walk down from the root, so on deeply nested code calling them per pattern is quadratic.
//! One cursor walk collects the same facts for the nodes that need them, in linear time.

use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::syntax::Syntax;

/// How many ancestors are kept: enough to climb from an arrow function in a class field to
/// the name its class is assigned to.
const ANCESTORS: usize = 4;

/// The surroundings of one node.
#[derive(Debug, Clone, Default)]
pub(super) struct Surroundings<'t> {
    /// Parent, grandparent, … nearest first, at most [`ANCESTORS`].
    ancestors: Vec<Node<'t>>,
    /// For the node (index 0) and each ancestor (index i + 1): the run of comments,
    /// attributes and decorators directly before it among its siblings, in source order.
    trivia: Vec<Vec<Node<'t>>>,
    /// The nearest enclosing function-like node.
    function: Option<Node<'t>>,
}

impl<'t> Surroundings<'t> {
    /// The ancestor `level` steps up (1 is the parent).
    pub(super) fn ancestor(&self, level: usize) -> Option<Node<'t>> {
        level
            .checked_sub(1)
            .and_then(|i| self.ancestors.get(i).copied())
    }

    /// The trivia right before the node (`level` 0) or one of its ancestors.
    pub(super) fn trivia_before(&self, level: usize) -> &[Node<'t>] {
        self.trivia.get(level).map_or(&[], Vec::as_slice)
    }

    /// The nearest enclosing function-like node.
    pub(super) fn function(&self) -> Option<Node<'t>> {
        self.function
    }
}

/// A node on the walk's path from the root.
struct Frame<'t> {
    node: Node<'t>,
    /// The trivia run right before this node.
    trivia_before: Vec<Node<'t>>,
    /// The trivia run among this node's children seen so far.
    children_trivia: Vec<Node<'t>>,
    /// Index in the path of the nearest function-like ancestor.
    function: Option<usize>,
}

/// Whether `node` is trivia: a comment, attribute or decorator standing before a definition.
fn is_trivia(syntax: &Syntax, node: Node<'_>) -> bool {
    syntax.is_comment(node) || matches!(node.kind(), "attribute_item" | "decorator")
}

/// The surroundings of every node in `wanted` and of every function-like node, by node id.
pub(super) fn survey<'t>(
    syntax: &Syntax,
    root: Node<'t>,
    wanted: &HashSet<usize>,
) -> HashMap<usize, Surroundings<'t>> {
    let mut found = HashMap::new();
    let mut path: Vec<Frame<'t>> = Vec::new();
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        let trivia = is_trivia(syntax, node);
        let (trivia_before, function) = match path.last_mut() {
            Some(parent) => {
                let before = if trivia {
                    Vec::new()
                } else {
                    std::mem::take(&mut parent.children_trivia)
                };
                let function = if syntax.functions.contains(&parent.node.kind()) {
                    Some(path.len() - 1)
                } else {
                    parent.function
                };
                (before, function)
            }
            None => (Vec::new(), None),
        };
        path.push(Frame {
            node,
            trivia_before,
            children_trivia: Vec::new(),
            function,
        });
        if wanted.contains(&node.id()) || syntax.functions.contains(&node.kind()) {
            found.insert(node.id(), surroundings(&path));
        }
        if cursor.goto_first_child() {
            continue;
        }
        // Leave nodes until one has a next sibling to enter.
        loop {
            let Some(frame) = path.pop() else {
                return found;
            };
            let Some(parent) = path.last_mut() else {
                return found;
            };
            if is_trivia(syntax, frame.node) {
                parent.children_trivia.push(frame.node);
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
        }
    }
}

/// The surroundings of the last node of `path`.
fn surroundings<'t>(path: &[Frame<'t>]) -> Surroundings<'t> {
    let Some(current) = path.last() else {
        return Surroundings::default();
    };
    let above = path.len() - 1;
    let levels = above.min(ANCESTORS);
    let ancestors = (1..=levels).map(|up| path[above - up].node).collect();
    let trivia = (0..=levels)
        .map(|up| path[above - up].trivia_before.clone())
        .collect();
    Surroundings {
        ancestors,
        trivia,
        function: current.function.map(|i| path[i].node),
    }
}
