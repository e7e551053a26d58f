//! The tree of a parsed `--query` (jmespath.py's `ast.py` node types), each node with its
//! height so the parser can bound nesting without recursing over the tree.

use super::SyntaxError;
use crate::output::pyvalue::PyValue;

/// Deeper than Python's recursion limit lets jmespath.py go (about 250 to 500 levels,
/// depending on the construct), so every expression az accepts is accepted here.
pub const MAX_DEPTH: usize = 600;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
}

#[derive(Debug, Clone)]
pub enum Ast {
    Identity,
    Field(String),
    Literal(PyValue),
    Index(i64),
    Slice([Option<i64>; 3]),
    /// Children applied in turn (`a.b.c`, `a[0][1]`).
    Subexpression(Vec<Node>),
    IndexExpression(Vec<Node>),
    Projection(Box<Node>, Box<Node>),
    ValueProjection(Box<Node>, Box<Node>),
    FilterProjection {
        left: Box<Node>,
        right: Box<Node>,
        condition: Box<Node>,
    },
    Flatten(Box<Node>),
    Comparator(Comparator, Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Pipe(Box<Node>, Box<Node>),
    MultiSelectList(Vec<Node>),
    MultiSelectDict(Vec<(String, Node)>),
    Function {
        name: String,
        args: Vec<Node>,
    },
    Expref(Box<Node>),
}

/// A tree node with its height, kept as the tree is built so depth is checked without recursion.
#[derive(Debug, Clone)]
pub struct Node {
    pub ast: Ast,
    pub(super) depth: usize,
}

impl Node {
    pub(super) fn leaf(ast: Ast) -> Node {
        Node { ast, depth: 1 }
    }
}

pub(super) fn too_deep() -> SyntaxError {
    SyntaxError::new(
        0,
        format!("the expression nests deeper than {MAX_DEPTH} levels"),
    )
}

/// A node of this height, unless that is too deep.
pub(super) fn checked(ast: Ast, depth: usize) -> Result<Node, SyntaxError> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    Ok(Node { ast, depth })
}
