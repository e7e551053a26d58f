//! Reads one YAML (or JSON) document along a schema: the typed files users write (the
//! desired-state manifest, the audit's ignore file) share it, so every refusal names the file,
//! the line and what is wrong, as a usage error (exit 2) before any request.

use crate::error::{Error, Result};
use libyaml_safer::{Document, Node, NodeData, Parser, ScalarStyle};

/// Parses `text` (`file` names it in messages, `what` says what it is: "the manifest"): exactly
/// one document, not empty.
pub fn document(text: &str, file: &str, what: &str, hint: &'static str) -> Result<Document> {
    let mut input = text.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let document = Document::load(&mut parser).map_err(|e| {
        let line = e.problem_mark().map_or(1, |m| m.line + 1);
        invalid(
            file,
            line,
            format!("not valid YAML or JSON: {}", e.problem()),
            hint,
        )
    })?;
    if document.nodes.is_empty() {
        return Err(invalid(file, 1, format!("{what} is empty"), hint));
    }
    if Document::load(&mut parser).is_ok_and(|next| !next.nodes.is_empty()) {
        return Err(invalid(
            file,
            document.end_mark.line + 1,
            format!("{what} holds several YAML documents; put everything in one"),
            hint,
        ));
    }
    Ok(document)
}

/// `FILE:LINE: what`, with the hint, as a usage error.
pub fn invalid(file: &str, line: u64, what: impl std::fmt::Display, hint: &str) -> Error {
    Error::usage_with_hint(format!("{file}:{line}: {what}"), hint)
}

/// Walks a parsed document along the schema, turning each node into a typed value. The files'
/// own readers are `impl Reader` blocks in their modules.
pub struct Reader<'a> {
    pub doc: &'a Document,
    pub root: &'a Node,
    pub file: &'a str,
    pub hint: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader of a document `document` returned (never empty).
    pub fn new(doc: &'a Document, file: &'a str, hint: &'static str) -> Result<Self> {
        let root = doc
            .nodes
            .first()
            .ok_or_else(|| invalid(file, 1, "the file is empty", hint))?;
        Ok(Reader {
            doc,
            root,
            file,
            hint,
        })
    }

    pub fn node(&self, index: i32) -> &'a Node {
        // Indices come from the parser and are 1-based; a bad one (never seen) reads as the root.
        usize::try_from(index - 1)
            .ok()
            .and_then(|i| self.doc.nodes.get(i))
            .unwrap_or(self.root)
    }

    /// A refusal naming the node's line.
    pub fn error(&self, node: &Node, what: impl std::fmt::Display) -> Error {
        invalid(self.file, node.start_mark.line + 1, what, self.hint)
    }

    /// A scalar's text, `None` for YAML's null (`~`, `null`, nothing).
    pub fn scalar(&self, node: &'a Node, field: &str) -> Result<Option<&'a str>> {
        match &node.data {
            NodeData::Scalar { value, style } => {
                let null = *style == ScalarStyle::Plain
                    && matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL");
                Ok((!null).then_some(value.as_str()))
            }
            _ => Err(self.error(node, format!("{field} must be a string"))),
        }
    }

    pub fn required_scalar(&self, node: &'a Node, field: &str) -> Result<&'a str> {
        self.scalar(node, field)?
            .ok_or_else(|| self.error(node, format!("{field} is empty")))
    }

    /// A mapping's fields, refusing keys not in `allowed`, duplicates, and missing `required` ones.
    pub fn fields(
        &self,
        node: &'a Node,
        what: &str,
        allowed: &[&str],
        required: &[&str],
    ) -> Result<Vec<(&'a str, &'a Node)>> {
        let NodeData::Mapping { pairs, .. } = &node.data else {
            return Err(self.error(node, format!("{what} must be a mapping")));
        };
        let mut fields: Vec<(&'a str, &'a Node)> = Vec::new();
        for pair in pairs {
            let key_node = self.node(pair.key);
            let key = self.required_scalar(key_node, "a key")?;
            if !allowed.contains(&key) {
                return Err(self.error(
                    key_node,
                    format!(
                        "unknown key '{key}' in {what} (expected {})",
                        allowed.join(", ")
                    ),
                ));
            }
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(self.error(key_node, format!("'{key}' is given twice in {what}")));
            }
            fields.push((key, self.node(pair.value)));
        }
        for field in required {
            if !fields.iter().any(|(k, _)| k == field) {
                return Err(self.error(node, format!("{what} has no '{field}'")));
            }
        }
        Ok(fields)
    }

    pub fn items(&self, node: &'a Node, field: &str) -> Result<Vec<&'a Node>> {
        match &node.data {
            NodeData::Sequence { items, .. } => Ok(items.iter().map(|i| self.node(*i)).collect()),
            _ => Err(self.error(node, format!("{field} must be a list"))),
        }
    }
}
