//! Measures of each construct's shape, taken in one post-order walk of the whole syntax tree:
//! cyclomatic complexity and a structural fingerprint.
//!
//! The fingerprint is a Merkle hash of the tree: a node's digest covers its kind and its
//! children's digests in order; identifiers hash as `id`, literals as `lit`, comments and
//! formatting punctuation are left out and optional parentheses are looked through. Renaming
//! every identifier and reformatting leaves it unchanged; an extra branch changes it.
//!
//! One walk serves every construct, however deeply they nest, so the cost is linear in the
//! tree; the walk is iterative, so deeply nested code cannot overflow the stack.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};
use tree_sitter::Node;

use super::language::SourceLanguage;
use super::syntax::{Role, Syntax};

/// Bytes of a child's digest folded into its parent's.
const CHILD_DIGEST: usize = 16;

/// Bytes of the fingerprint (64 bits: collisions need billions of patterns).
const FINGERPRINT_BYTES: usize = 8;

/// The shape of one construct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Shape {
    /// 1 plus the decision points inside.
    pub(super) complexity: u32,
    /// Hex fingerprint of the structure.
    pub(super) fingerprint: String,
}

/// A node being walked.
struct Frame {
    id: usize,
    role: Role,
    /// Open digest of a structural node inside a wanted construct.
    hasher: Option<Sha256>,
    /// Decision points of the node and everything under it so far.
    decisions: u32,
    /// Inside (or at) a wanted construct: only those are measured.
    active: bool,
    wanted: bool,
}

/// The shapes of the nodes in `wanted` (by node id), in one walk from `root`.
pub(super) fn measure_all(
    language: SourceLanguage,
    root: Node<'_>,
    wanted: &HashSet<usize>,
) -> HashMap<usize, Shape> {
    let mut shapes = HashMap::with_capacity(wanted.len());
    if wanted.is_empty() {
        return shapes;
    }
    let syntax = Syntax::of(language);
    let prefix = language.memory_language().name().as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        let is_wanted = wanted.contains(&node.id());
        let active = is_wanted || stack.last().is_some_and(|f| f.active);
        let role = syntax.role(node);
        let mut frame = Frame {
            id: node.id(),
            role,
            hasher: None,
            decisions: 0,
            active,
            wanted: is_wanted,
        };
        if active {
            frame.decisions = syntax.decisions(node);
            if role == Role::Structure {
                let mut hasher = Sha256::new();
                hasher.update(node.kind().as_bytes());
                hasher.update(b"(");
                frame.hasher = Some(hasher);
            }
        }
        stack.push(frame);
        let descend = matches!(role, Role::Structure | Role::Transparent);
        if descend && cursor.goto_first_child() {
            continue;
        }
        // Leave nodes until one has a next sibling to enter.
        loop {
            let Some(frame) = stack.pop() else {
                return shapes;
            };
            finish(frame, &mut stack, &mut shapes, prefix);
            if stack.is_empty() {
                return shapes;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
        }
    }
}

/// Folds a finished node into its parent, and records it if it was wanted.
fn finish(frame: Frame, stack: &mut [Frame], shapes: &mut HashMap<usize, Shape>, prefix: &[u8]) {
    if !frame.active {
        return;
    }
    let contribution: Option<Vec<u8>> = match (frame.role, frame.hasher) {
        (Role::Structure, Some(mut hasher)) => {
            hasher.update(b")");
            let digest = hasher.finalize();
            let mut bytes = Vec::with_capacity(CHILD_DIGEST + 1);
            bytes.push(b'#');
            bytes.extend_from_slice(&digest[..CHILD_DIGEST]);
            Some(bytes)
        }
        (Role::Leaf(token), _) => Some(format!("{token};").into_bytes()),
        _ => None,
    };
    if frame.wanted {
        let mut hasher = Sha256::new();
        hasher.update(prefix);
        if let Some(bytes) = &contribution {
            hasher.update(bytes);
        }
        let digest = hasher.finalize();
        let fingerprint = digest[..FINGERPRINT_BYTES]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        shapes.insert(
            frame.id,
            Shape {
                complexity: frame.decisions.saturating_add(1),
                fingerprint,
            },
        );
    }
    if let Some(parent) = stack.last_mut()
        && parent.active
    {
        parent.decisions = parent.decisions.saturating_add(frame.decisions);
    }
    // The digest goes to the nearest structural ancestor (grouping nodes are looked through).
    if let Some(bytes) = contribution
        && let Some(hasher) = stack
            .iter_mut()
            .rev()
            .find(|f| f.role != Role::Transparent)
            .and_then(|f| f.hasher.as_mut())
    {
        hasher.update(&bytes);
    }
}
