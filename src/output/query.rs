//! `--query`: JMESPath over the flat az JSON, compiled before any request so a bad expression
//! costs nothing (exit 2, with where the error is).

use crate::error::{Error, Result};
use jmespath::ast::Ast;
use jmespath::functions::{AvgFn, Function};
use jmespath::{Context, Rcvar, Runtime, SearchResult, Variable};
use serde_json::Value;
use std::sync::LazyLock;

/// The builtin functions, with `avg([])` answering null as the specification (and Python's
/// jmespath, which az uses) says; the crate's builtin fails on it.
static RUNTIME: LazyLock<Runtime> = LazyLock::new(|| {
    let mut runtime = Runtime::new();
    runtime.register_builtin_functions();
    runtime.register_function("avg", Box::new(AvgOfEmptyIsNull(AvgFn::new())));
    runtime
});

struct AvgOfEmptyIsNull(AvgFn);

impl Function for AvgOfEmptyIsNull {
    fn evaluate(&self, args: &[Rcvar], ctx: &mut Context<'_>) -> SearchResult {
        if args.len() == 1 && args[0].as_array().is_some_and(|a| a.is_empty()) {
            return Ok(Rcvar::new(Variable::Null));
        }
        self.0.evaluate(args, ctx)
    }
}

pub struct Query {
    expression: jmespath::Expression<'static>,
}

impl Query {
    /// Parses the expression and checks every function it calls exists, so a typo is refused
    /// before any request rather than after it.
    pub fn compile(text: &str) -> Result<Self> {
        let invalid = |reason: String, offset: usize| {
            Error::usage_with_hint(
                format!("argument --query: invalid jmespath query supplied: '{text}'"),
                format!("{reason} at column {}", offset + 1),
            )
        };
        let expression = RUNTIME
            .compile(text)
            .map_err(|e| invalid(e.reason.to_string(), e.column))?;
        if let Some((name, offset)) = unknown_function(expression.as_ast()) {
            // The parser records the position of the '(' after the name.
            let start = if text.get(offset..).is_some_and(|t| t.starts_with('(')) {
                offset.saturating_sub(name.len())
            } else {
                offset
            };
            return Err(invalid(format!("unknown function {name}()"), start));
        }
        Ok(Query { expression })
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

/// The first call of a function the runtime does not have, with its position.
fn unknown_function(ast: &Ast) -> Option<(String, usize)> {
    let children: Vec<&Ast> = match ast {
        Ast::Function { name, offset, args } => {
            if RUNTIME.get_function(name).is_none() {
                return Some((name.clone(), *offset));
            }
            args.iter().collect()
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => vec![lhs, rhs],
        Ast::Condition {
            predicate, then, ..
        } => vec![predicate, then],
        Ast::Expref { ast, .. } => vec![ast],
        Ast::Flatten { node, .. } | Ast::Not { node, .. } | Ast::ObjectValues { node, .. } => {
            vec![node]
        }
        Ast::MultiList { elements, .. } => elements.iter().collect(),
        Ast::MultiHash { elements, .. } => elements.iter().map(|kv| &kv.value).collect(),
        Ast::Identity { .. }
        | Ast::Field { .. }
        | Ast::Index { .. }
        | Ast::Literal { .. }
        | Ast::Slice { .. } => vec![],
    };
    children.into_iter().find_map(unknown_function)
}

fn multiselect_keys(ast: &Ast) -> Option<Vec<String>> {
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
