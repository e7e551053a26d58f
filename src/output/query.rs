//! `--query`: JMESPath over the flat az JSON, compiled before any request so a bad expression
//! costs nothing (exit 2, with where the error is).

use crate::error::{Error, Result};
use serde_json::Value;

pub struct Query {
    expression: jmespath::Expression<'static>,
}

impl Query {
    pub fn compile(text: &str) -> Result<Self> {
        jmespath::compile(text)
            .map(|expression| Query { expression })
            .map_err(|e| {
                Error::usage_with_hint(
                    format!("argument --query: invalid jmespath query supplied: '{text}'"),
                    format!("{} at column {}", e.reason, e.column + 1),
                )
            })
    }

    pub fn apply(&self, data: &Value) -> Result<Value> {
        let result = self.expression.search(data).map_err(|e| {
            Error::usage_with_hint(
                format!("--query failed on the result: {}", e.reason),
                "check the expression against the JSON output (-o json without --query)",
            )
        })?;
        serde_json::to_value(&*result).map_err(|e| Error::Io(format!("--query result: {e}")))
    }

    /// The keys of a top-level multiselect hash (`[].{a:x, b:y}` or `{a:x}`), in the order
    /// written: the table's columns follow them, as in az.
    pub fn column_order(&self) -> Option<Vec<String>> {
        multiselect_keys(self.expression.as_ast())
    }
}

fn multiselect_keys(ast: &jmespath::ast::Ast) -> Option<Vec<String>> {
    use jmespath::ast::Ast;
    match ast {
        Ast::MultiHash { elements, .. } => Some(elements.iter().map(|kv| kv.key.clone()).collect()),
        Ast::Projection { rhs, .. } => multiselect_keys(rhs),
        Ast::Subexpr { rhs, .. } => multiselect_keys(rhs),
        Ast::Flatten { node, .. } => multiselect_keys(node),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bad_expressions_are_usage_errors() {
        let Err(e) = Query::compile("[?name==") else {
            panic!("must not compile");
        };
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn queries_run_over_the_flat_json() {
        let q = Query::compile("[].name").unwrap();
        assert_eq!(
            q.apply(&json!([{"name": "a"}, {"name": "b"}])).unwrap(),
            json!(["a", "b"])
        );
    }

    #[test]
    fn multiselect_keys_keep_their_written_order() {
        let q = Query::compile("[].{z: name, a: roles}").unwrap();
        assert_eq!(q.column_order().unwrap(), ["z", "a"]);
        assert!(Query::compile("[].name").unwrap().column_order().is_none());
    }
}
